// Strict base64url (RFC 4648 §5) as used by JOSE (RFC 7515 §2): no padding, no whitespace,
// canonical trailing bits only. Every decoding failure is a plain "no": JOSE inputs are either
// exactly right or rejected.
//
// Thread-safety: pure functions.
//
//   std::string out;
//   if (!obsgate::authz::jwt::base64url_decode("aGk", out)) { /* reject */ }  // out == "hi"
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace obsgate::authz::jwt {

// Decodes `in` into `out` (replacing its contents). Returns false, leaving `out` unspecified,
// on: '=' padding, any character outside [A-Za-z0-9_-], a length of 1 mod 4 (impossible), or
// non-zero unused bits in the last character (non-canonical encodings such as "aGl" vs "aGk").
// The empty string decodes to the empty string.
[[nodiscard]] bool base64url_decode(std::string_view in, std::string& out);

// Encodes without padding.
[[nodiscard]] std::string base64url_encode(std::span<const std::uint8_t> in);
[[nodiscard]] std::string base64url_encode(std::string_view in);

}  // namespace obsgate::authz::jwt
