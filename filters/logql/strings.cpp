// String literals: Go's unquoting rules (as strutil.Unquote applies them) and quoting back.
#include <cstdint>

#include "filters/logql/values.h"

namespace obsgate::filters::logql::detail {


namespace {

int hex_val(char c) {
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


}  // namespace

std::optional<std::string> unquote(std::string_view q) {
  if (q.size() < 2 || q.front() != '"' || q.back() != '"') {
    return std::nullopt;
  }
  std::string_view s = q.substr(1, q.size() - 2);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '"' || c == '\n') {
      return std::nullopt;
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= s.size()) {
      return std::nullopt;
    }
    const char e = s[i];
    switch (e) {
      case 'a': out += '\a'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'v': out += '\v'; break;
      case '\\': out += '\\'; break;
      case '"': out += '"'; break;
      case 'x':
      case 'u':
      case 'U': {
        const size_t len = e == 'x' ? 2 : (e == 'u' ? 4 : 8);
        if (i + len >= s.size()) {  // needs s[i+1 .. i+len]
          return std::nullopt;
        }
        uint32_t v = 0;
        for (size_t k = 1; k <= len; ++k) {
          const int h = hex_val(s[i + k]);
          if (h < 0) {
            return std::nullopt;
          }
          v = (v << 4) | static_cast<uint32_t>(h);
        }
        i += len;
        if (e == 'x') {
          out += static_cast<char>(v);
        } else {
          if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
            return std::nullopt;
          }
          ::obsgate::append_utf8(out, v);
        }
        break;
      }
      default: {
        if (e < '0' || e > '7' || i + 2 >= s.size()) {
          return std::nullopt;
        }
        uint32_t v = 0;
        for (size_t k = 0; k < 3; ++k) {
          const char d = s[i + k];
          if (d < '0' || d > '7') {
            return std::nullopt;
          }
          v = v * 8 + static_cast<uint32_t>(d - '0');
        }
        if (v > 255) {
          return std::nullopt;
        }
        i += 2;
        out += static_cast<char>(v);
      }
    }
  }
  return out;
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Copy a whole valid sequence; escape a stray byte.
      size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
      if (len > 1 && i + len <= s.size() && valid_utf8(s.substr(i, len))) {
        out.append(s.substr(i, len));
        i += len;
        continue;
      }
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
      ++i;
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
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

}  // namespace obsgate::filters::logql::detail
