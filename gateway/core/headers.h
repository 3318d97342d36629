// Header handling for the proxy path: framing checks against request smuggling, hop-by-hop
// removal (RFC 9110 §7.6.1), headers the gateway owns, forwarding headers and request ids.
// Pure functions over values; no I/O.
#pragma once

#include <boost/beast/http/fields.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace obsgate::gateway {

namespace http = boost::beast::http;

// Screens the raw request head (request line + header lines + the blank line) before it is
// parsed. Returns an empty view when acceptable, else a reason token:
//   "bare_lf" (a line ending without CR), "obs_fold" (a header line continued with SP/HTAB),
//   "nul_in_header", "control_char_in_header".
std::string_view screen_raw_head(std::string_view head) noexcept;

// Finds the end of the request head in `data`: the offset just past "\r\n\r\n" (or past a bare
// "\n\n", which screen_raw_head then rejects); npos when incomplete.
size_t find_head_end(std::string_view data) noexcept;

// Checks the parsed request's framing headers. Returns an empty view when acceptable, else a
// reason: "too_many_headers", "duplicate_content_length", "invalid_content_length",
// "content_length_with_transfer_encoding",
// "unsupported_transfer_encoding", "duplicate_host", "missing_host".
std::string_view check_request_framing(const http::fields& f, unsigned version,
                                       size_t max_header_count) noexcept;

// Removes the hop-by-hop headers (Connection, Proxy-Connection, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade) and every header named in Connection, except Content-Length and
// Host, which a Connection header may not remove (that would desynchronise the framing).
void remove_hop_by_hop(http::fields& f);

// True if a comma-separated header value (e.g. Connection) lists `token`, case-insensitively.
bool header_has_token(std::string_view value, std::string_view token) noexcept;

// Removes each named header (names lower-case).
void strip_headers(http::fields& f, const std::vector<std::string>& lower_names);

// A client-supplied X-Request-Id is kept only if it is 1..128 chars of [A-Za-z0-9._:-]
// (no log injection, bounded size); otherwise a new one is generated.
bool valid_request_id(std::string_view id) noexcept;

// 32 lowercase hex characters from a per-thread generator seeded from the OS.
std::string new_request_id();

// Appends `client_ip` to X-Forwarded-For (creating it) and sets X-Forwarded-Proto.
void set_forwarded(http::fields& f, std::string_view client_ip, bool tls);

// The same result written as header lines instead: appends "X-Forwarded-For: <the first
// client value, ", ">client_ip\r\nX-Forwarded-Proto: http[s]\r\n" to `out` and erases both
// fields from `f`, for a head serialised with those lines after its fields (wire.h). No field
// node is allocated.
void move_forwarded_to(std::string& out, http::fields& f, std::string_view client_ip, bool tls);

}  // namespace obsgate::gateway
