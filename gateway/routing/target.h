// Request-target parsing and path normalisation: the one place that decides which path a request
// names. The normalised path is what the router matches AND what the gateway forwards upstream,
// so the two can never disagree.
//
// Accepted form: origin-form only (RFC 9112 §3.2.1), "/path" or "/path?query". absolute-form
// ("http://h/p"), authority-form ("h:443"), asterisk-form ("*") and fragments ("#") are
// rejected with InvalidArgument (-> 400).
//
// Path rules, applied in one left-to-right pass (normalise_path):
//   1. The path must be non-empty and start with "/".
//   2. Percent-escapes must be "%" HEXDIG HEXDIG; "%zz", "%4" and a trailing "%" are rejected.
//   3. Escapes of unreserved characters (ALPHA DIGIT - . _ ~) are decoded: "%41" -> "A",
//      "%7e" -> "~", "%2E" -> ".". Every other escape is kept, with its hex in uppercase:
//      "%3a" -> "%3A", "%c3%a9" -> "%C3%A9".
//   4. Rejected as ambiguous (different servers read them differently): "%2F" (encoded slash),
//      "%5C" (encoded backslash), a raw "\", "%00" or a raw NUL, any control character
//      (< 0x20 or 0x7F) raw or escaped, a raw space, and raw bytes >= 0x80 (send UTF-8 escaped).
//   5. Other raw bytes outside RFC 3986 pchar (`"<>[]^`{|}`, and "?" or "#" when normalise_path
//      is called directly) are percent-encoded, so each path has exactly one spelling.
//   6. Repeated slashes collapse ("//api//v1" -> "/api/v1"); this happens before step 7, so
//      "/a//../b" -> "/b".
//   7. Dot segments are removed as in RFC 3986 §5.2.4, including ones spelt with "%2E":
//      "/a/./b" -> "/a/b", "/a/b/../c" -> "/a/c", "/a/b/.." -> "/a/", "/a/%2e%2E/b" -> "/b".
//      A ".." that would climb above the root ("/../x", "/a/../../x") is rejected, not clamped.
//   8. A trailing slash is kept: "/a/" and "/a" are different paths. ";" is ordinary data.
// The output is idempotent (normalising it again returns it unchanged) and contains no "//",
// no "." or ".." segment, no lowercase escape and no escape of an unreserved character.
//
// Query rules (parse_target): the query is returned raw, byte for byte, for parse_params. It is
// only screened: control characters, raw spaces, raw bytes >= 0x80 and malformed escapes are
// rejected. Decoding, NUL checks and canonical re-encoding happen in params.h.
//
// Errors: Status::invalid_argument with a message that is exactly one of the reason tokens
// below (whitespace-free, a bounded set: fit for the access log detail
// "routing_denied{<reason>}" and for a metric label).
//
// Thread-safety: pure functions. Cost: one pass; allocations only for the output strings
// (path and raw_query, when longer than the small-string buffer).
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace obsgate::routing {

namespace reason {
inline constexpr std::string_view kTargetEmpty = "target_empty";
inline constexpr std::string_view kAsteriskForm = "target_asterisk_form";
inline constexpr std::string_view kAbsoluteForm = "target_absolute_form";
inline constexpr std::string_view kAuthorityForm = "target_authority_form";
inline constexpr std::string_view kNotOriginForm = "target_not_origin_form";
inline constexpr std::string_view kFragment = "target_fragment";
inline constexpr std::string_view kPathEmpty = "path_empty";
inline constexpr std::string_view kPathNotAbsolute = "path_not_absolute";
inline constexpr std::string_view kPathInvalidEscape = "path_invalid_escape";
inline constexpr std::string_view kPathEncodedSlash = "path_encoded_slash";
inline constexpr std::string_view kPathEncodedBackslash = "path_encoded_backslash";
inline constexpr std::string_view kPathBackslash = "path_backslash";
inline constexpr std::string_view kPathNul = "path_nul";
inline constexpr std::string_view kPathControlChar = "path_control_char";
inline constexpr std::string_view kPathSpace = "path_space";
inline constexpr std::string_view kPathNonAscii = "path_non_ascii";
inline constexpr std::string_view kPathAboveRoot = "path_above_root";
inline constexpr std::string_view kQueryInvalidEscape = "query_invalid_escape";
inline constexpr std::string_view kQueryControlChar = "query_control_char";
inline constexpr std::string_view kQuerySpace = "query_space";
inline constexpr std::string_view kQueryNonAscii = "query_non_ascii";
}  // namespace reason

struct RequestTarget {
  std::string path;       // normalised (rules above); always starts with "/"
  std::string raw_query;  // bytes after the first "?", unmodified; empty if none
  bool has_query = false;  // true for "/p?" too (an empty but present query)

  friend bool operator==(const RequestTarget&, const RequestTarget&) = default;
};

// Parses an HTTP request-target (the second token of the request line).
// Example: parse_target("//api//v1/./query?query=up") -> {"/api/v1/query", "query=up", true}.
Result<RequestTarget> parse_target(std::string_view target);

// The request-target to forward upstream: path, then "?" and raw_query if has_query.
// Example: to_target({"/api/v1/query", "query=up", true}) -> "/api/v1/query?query=up".
std::string to_target(const RequestTarget& target);

// Normalises a path component alone (no query, no fragment) by the rules above.
Result<std::string> normalise_path(std::string_view path);

// As normalise_path, writing into `out` (cleared first) so a caller can reuse its capacity.
// On error `out` holds unspecified contents.
Status normalise_path_into(std::string_view path, std::string& out);

}  // namespace obsgate::routing
