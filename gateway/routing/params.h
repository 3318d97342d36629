// Query-string and application/x-www-form-urlencoded parameters: one decoder for both, one
// canonical encoder, and the URL+body merge that enforces the parameter-pollution rule.
//
// parse_params rules:
//   - pairs are separated by "&"; empty pairs ("a=1&&b=2", a leading or trailing "&") are
//     skipped; a pair without "=" is a key with an empty value ("a" -> ("a", ""));
//     "=v" is the empty key with value "v"; only the first "=" splits ("a=b=c" -> ("a", "b=c")).
//   - "+" decodes to a space; "%" HEXDIG HEXDIG decodes to that byte (case-insensitive hex).
//   - rejected (InvalidArgument, message = one reason token below): a malformed escape ("%zz",
//     "%4", trailing "%"), a NUL byte raw or decoded ("%00"), a raw ";" (Go's net/http, which
//     Prometheus and Loki use, silently drops pairs containing ";": accepting them would let us
//     and the upstream see different parameters), and more than max_pairs pairs.
//   - decoded keys and values may hold any other byte; if any key or value is not valid UTF-8,
//     Params::has_invalid_utf8() is set (the caller decides whether that matters).
// encode_params is canonical: "k=v" joined by "&", every byte but unreserved (ALPHA DIGIT
// - . _ ~) percent-encoded with uppercase hex, a space as "%20", always with "=". For any input
// that parses, parse_params(encode_params(p)) == p.
//
// Thread-safety: values and pure functions.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace obsgate::routing {

namespace reason {
inline constexpr std::string_view kParamsInvalidEscape = "params_invalid_escape";
inline constexpr std::string_view kParamsNul = "params_nul";
inline constexpr std::string_view kParamsSemicolon = "params_semicolon";
inline constexpr std::string_view kParamsTooMany = "params_too_many";
// merge_url_and_form: "params_duplicate{<key>}", where <key> is from the caller's
// single-valued set (so the message stays bounded and safe to log).
inline constexpr std::string_view kParamsDuplicate = "params_duplicate";
}  // namespace reason

// An ordered multimap: pairs in input order, duplicates kept.
class Params {
 public:
  using Entry = std::pair<std::string, std::string>;

  Params() = default;
  explicit Params(std::vector<Entry> entries);  // computes has_invalid_utf8()

  void add(std::string key, std::string value);
  // Replaces every occurrence of key by one pair at the first occurrence's position (appends
  // if absent). For enforcers that rewrite e.g. "query".
  void set(std::string_view key, std::string value);
  // Removes every occurrence; returns how many were removed.
  size_t erase(std::string_view key);

  [[nodiscard]] std::vector<std::string_view> get_all(std::string_view key) const;
  [[nodiscard]] size_t count(std::string_view key) const;
  [[nodiscard]] std::optional<std::string_view> first(std::string_view key) const;

  [[nodiscard]] const std::vector<Entry>& entries() const { return entries_; }
  [[nodiscard]] size_t size() const { return entries_.size(); }
  [[nodiscard]] bool empty() const { return entries_.empty(); }
  [[nodiscard]] auto begin() const { return entries_.begin(); }
  [[nodiscard]] auto end() const { return entries_.end(); }
  // True if any key or value is not well-formed UTF-8.
  [[nodiscard]] bool has_invalid_utf8() const { return invalid_utf8_; }

  friend bool operator==(const Params&, const Params&) = default;

 private:
  std::vector<Entry> entries_;
  bool invalid_utf8_ = false;
};

inline constexpr size_t kDefaultMaxParams = 10000;

// Parses "a=1&b=x+y&c=%2F" (no leading "?"). Example: parse_params("a=1&a=2&b")
//   -> {("a","1"), ("a","2"), ("b","")}.
Result<Params> parse_params(std::string_view urlencoded, size_t max_pairs = kDefaultMaxParams);

// Canonical form, e.g. {("q","up{a=\"b c\"}")} -> "q=up%7Ba%3D%22b%20c%22%7D".
std::string encode_params(const Params& params);

// Which parameters may appear at most once across URL and body (e.g. "query", "time",
// "start", "end"). Keys not listed are multi-valued (e.g. "match[]"). Build once, share.
struct ParamPolicy {
  std::vector<std::string> single_valued;

  [[nodiscard]] bool is_single_valued(std::string_view key) const;
};

// Merges the URL query's and a form body's parameters for an enforcer. A single-valued key seen
// more than once in total (twice in the URL, twice in the body, or once in each) is an
// InvalidArgument "params_duplicate{<key>}". The result lists the body's pairs first, then the
// URL's: the order Go's Request.Form uses, so for a multi-valued key we forward values in the
// order Prometheus and Loki would read them. For a GET, pass an empty `form`.
Result<Params> merge_url_and_form(const Params& url, const Params& form,
                                  const ParamPolicy& policy);

// True if s is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace obsgate::routing
