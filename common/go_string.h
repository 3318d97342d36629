// Go string literals as strconv.Unquote and strconv.Quote treat them: PromQL and LogQL both take
// Go's quoted strings, and the printers must write back what Go reads as the same value. One copy
// for both languages, so their escaping can't drift.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/utf8.h"

namespace obsgate::go_string {

namespace detail {
inline int hex_value(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}
}  // namespace detail

// Decodes the body (quotes removed) of a "..." (quote '"') or '...' (quote '\'') literal into
// `out` (appended). Returns nullptr, or the error as Go phrases it: an unescaped quote or newline,
// an unknown escape, a bad hex/octal digit, an octal value over 255, a surrogate or out-of-range
// \u/\U code point. \x and octal escapes give raw bytes; \u and \U give UTF-8.
inline const char* unescape(std::string_view body, char quote, std::string& out) {
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c == quote || c == '\n') {
      return "invalid syntax";
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= body.size()) {
      return "unterminated escape sequence";
    }
    const char e = body[i];
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"':
      case '\'':
        if (e != quote) {
          return "unknown escape sequence";
        }
        out += e;
        break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t len = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        if (i + len >= body.size()) {  // needs body[i+1 .. i+len]
          return "illegal character in escape sequence";
        }
        uint32_t v = 0;
        for (size_t k = 1; k <= len; ++k) {
          const int h = detail::hex_value(body[i + k]);
          if (h < 0) {
            return "illegal character in escape sequence";
          }
          v = (v << 4) | static_cast<uint32_t>(h);
        }
        i += len;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
            return "escape sequence is an invalid Unicode code point";
          }
          append_utf8(out, v);
        }
        break;
      }
      default: {
        if (e < '0' || e > '7') {
          return "unknown escape sequence";
        }
        if (i + 2 >= body.size()) {
          return "illegal character in escape sequence";
        }
        uint32_t v = 0;
        for (size_t k = 0; k < 3; ++k) {
          const char d = body[i + k];
          if (d < '0' || d > '7') {
            return "illegal character in escape sequence";
          }
          v = v * 8 + static_cast<uint32_t>(d - '0');
        }
        if (v > 255) {
          return "octal escape value > 255";
        }
        i += 2;
        out += static_cast<char>(v);
      }
    }
  }
  return nullptr;
}

// Appends `s` as a double-quoted literal with strconv.Quote's escapes: \" \\ \a \b \f \n \r \t
// \v, other control bytes and DEL as \xNN (lower-case hex), valid UTF-8 sequences copied, and
// bytes that are not part of one (they come from \x escapes) as \xNN.
inline void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto hex_byte = [&out](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 0xF];
  };
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      const size_t len =
          (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      if (len > 1 && i + len <= s.size() && valid_utf8(s.substr(i, len))) {
        out.append(s.substr(i, len));
        i += len;
      } else {
        hex_byte(c);
        ++i;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\a': out += "\\a"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\v': out += "\\v"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          hex_byte(c);
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

}  // namespace obsgate::go_string
