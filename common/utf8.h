// UTF-8 helpers shared by every parser of network input (PromQL, LogQL, remote-write labels,
// query parameters): one definition of "valid", the one Go's utf8.ValidString uses, so that
// obsgate and the Go backends never disagree on which bytes are text.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace obsgate {

// Well-formed UTF-8: no overlong forms, no surrogates (U+D800..U+DFFF), nothing above
// U+10FFFF, no truncated sequences. ASCII runs are checked eight bytes at a time.
inline bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const uint8_t* end = p + s.size();
  while (p != end) {
    while (end - p >= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) != 0) {
        break;
      }
      p += 8;
    }
    if (p == end) {
      return true;
    }
    const uint8_t c = *p;
    if (c < 0x80) {
      ++p;
      continue;
    }
    size_t n = 0;
    uint8_t lo = 0x80;
    uint8_t hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2;
      lo = (c == 0xe0) ? 0xa0 : 0x80;  // overlong
      hi = (c == 0xed) ? 0x9f : 0xbf;  // surrogates
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3;
      lo = (c == 0xf0) ? 0x90 : 0x80;  // overlong
      hi = (c == 0xf4) ? 0x8f : 0xbf;  // > U+10FFFF
    } else {
      return false;
    }
    if (static_cast<size_t>(end - p) <= n) {
      return false;
    }
    if (p[1] < lo || p[1] > hi) {
      return false;
    }
    for (size_t i = 2; i <= n; ++i) {
      if (p[i] < 0x80 || p[i] > 0xbf) {
        return false;
      }
    }
    p += n + 1;
  }
  return true;
}

// Appends the UTF-8 encoding of code point `cp` (callers pass valid scalar values).
inline void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

}  // namespace obsgate
