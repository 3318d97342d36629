// Internal to gateway/routing: byte classes and hex helpers shared by the path normaliser, the
// parameter codec and the router. Not part of the public API; include only from this folder.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace obsgate::routing::pct {

// RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~".
constexpr bool is_unreserved(unsigned char c) noexcept {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// RFC 3986 §3.3 pchar minus pct-encoded: unreserved / sub-delims / ":" / "@".
constexpr bool is_pchar(unsigned char c) noexcept {
  switch (c) {
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+': case ',':
    case ';': case '=': case ':': case '@':
      return true;
    default:
      return is_unreserved(c);
  }
}

// Control characters: C0 and DEL.
constexpr bool is_control(unsigned char c) noexcept { return c < 0x20 || c == 0x7F; }

// Value of one hex digit, or -1.
constexpr int hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  return -1;
}

inline constexpr char kUpperHex[] = "0123456789ABCDEF";

// Appends "%XX" with uppercase hex.
inline void append_escape(std::string& out, unsigned char c) {
  const char esc[3] = {'%', kUpperHex[c >> 4], kUpperHex[c & 0xF]};
  out.append(esc, 3);
}

}  // namespace obsgate::routing::pct
