#include "filters/loki_push/json_reader.h"

#include <cstdint>
#include <cstring>

#include "common/utf8.h"

namespace obsgate::filters::loki_push::detail {
namespace {

int hex(char c) {
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

// Four hex digits at s[i..i+4), or -1.
int32_t hex4(std::string_view s, size_t i) {
  if (i + 4 > s.size()) {
    return -1;
  }
  int32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    const int h = hex(s[i + k]);
    if (h < 0) {
      return -1;
    }
    v = (v << 4) | h;
  }
  return v;
}

// Length of the UTF-8 sequence a lead byte >= 0x80 announces, 0 when it cannot lead.
size_t utf8_len(uint8_t c) {
  if (c >= 0xC2 && c <= 0xDF) {
    return 2;
  }
  if (c >= 0xE0 && c <= 0xEF) {
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    return 4;
  }
  return 0;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// True when none of the eight bytes at p needs a look: no '"', no '\\', nothing below 0x20
// and nothing at or above 0x80 (the classic SWAR zero-byte tests; exact for "none").
bool plain8(const char* p) {
  constexpr uint64_t kOnes = 0x0101010101010101ull;
  constexpr uint64_t kHigh = 0x8080808080808080ull;
  uint64_t w;
  std::memcpy(&w, p, 8);
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t slash = w ^ (kOnes * '\\');
  const uint64_t hits = ((quote - kOnes) & ~quote) | ((slash - kOnes) & ~slash) |
                        ((w - kOnes * 0x20) & ~w) | w;
  return (hits & kHigh) == 0;
}

}  // namespace

bool JsonReader::string(std::string_view& raw, bool& escaped) {
  ws();
  if (i_ >= s_.size() || s_[i_] != '"') {
    return false;
  }
  const size_t start = ++i_;
  escaped = false;
  const size_t n = s_.size();
  while (true) {
    // Fast path: eight bytes at a time while none is '"', '\\', a control or a non-ASCII byte.
    while (i_ + 8 <= n && plain8(s_.data() + i_)) {
      i_ += 8;
    }
    while (i_ < n) {
      const auto c = static_cast<uint8_t>(s_[i_]);
      if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) {
        break;
      }
      ++i_;
    }
    if (i_ >= n) {
      return false;
    }
    const auto c = static_cast<uint8_t>(s_[i_]);
    if (c == '"') {
      raw = s_.substr(start, i_ - start);
      ++i_;
      return true;
    }
    if (c < 0x20) {
      return false;  // control characters must be escaped
    }
    if (c >= 0x80) {
      const size_t len = utf8_len(c);
      if (len == 0 || i_ + len > n || !valid_utf8(s_.substr(i_, len))) {
        return false;
      }
      i_ += len;
      continue;
    }
    // A backslash escape.
    escaped = true;
    if (++i_ >= n) {
      return false;
    }
    const char e = s_[i_++];
    if (e != 'u') {
      if (e != '"' && e != '\\' && e != '/' && e != 'b' && e != 'f' && e != 'n' && e != 'r' &&
          e != 't') {
        return false;
      }
      continue;
    }
    const int32_t u = hex4(s_, i_);
    if (u < 0) {
      return false;
    }
    i_ += 4;
    if (u >= 0xDC00 && u <= 0xDFFF) {
      return false;  // a lone low surrogate
    }
    if (u >= 0xD800 && u <= 0xDBFF) {
      if (i_ + 2 > n || s_[i_] != '\\' || s_[i_ + 1] != 'u') {
        return false;  // a high surrogate without its low half
      }
      const int32_t lo = hex4(s_, i_ + 2);
      if (lo < 0xDC00 || lo > 0xDFFF) {
        return false;
      }
      i_ += 6;
    }
  }
}

std::string_view JsonReader::value(std::string_view raw, bool escaped,
                                   std::string& scratch) const {
  if (!escaped) {
    return raw;
  }
  // `raw` was validated by string(): every escape is complete and well-formed.
  scratch.clear();
  for (size_t i = 0; i < raw.size(); ++i) {
    // Copy the run up to the next escape in one append.
    const size_t next = raw.find('\\', i);
    if (next != i) {
      const size_t end = next == std::string_view::npos ? raw.size() : next;
      scratch.append(raw.substr(i, end - i));
      i = end;
      if (i == raw.size()) {
        break;
      }
    }
    const char e = raw[++i];
    switch (e) {
      case 'b': scratch += '\b'; break;
      case 'f': scratch += '\f'; break;
      case 'n': scratch += '\n'; break;
      case 'r': scratch += '\r'; break;
      case 't': scratch += '\t'; break;
      case 'u': {
        auto cp = static_cast<uint32_t>(hex4(raw, i + 1));
        i += 4;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          const auto lo = static_cast<uint32_t>(hex4(raw, i + 3));
          cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          i += 6;
        }
        append_utf8(scratch, cp);
        break;
      }
      default: scratch += e; break;  // " \ /
    }
  }
  return scratch;
}

size_t JsonReader::decoded_size(std::string_view raw, bool escaped) {
  if (!escaped) {
    return raw.size();
  }
  size_t n = raw.size();
  for (size_t i = raw.find('\\'); i != std::string_view::npos; i = raw.find('\\', i)) {
    if (raw[i + 1] != 'u') {
      n -= 1;  // two characters, one byte
      i += 2;
      continue;
    }
    const auto cp = static_cast<uint32_t>(hex4(raw, i + 2));
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      n -= 12 - 4;  // a surrogate pair: twelve characters, four bytes
      i += 12;
    } else {
      n -= 6 - (cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3);
      i += 6;
    }
  }
  return n;
}

bool JsonReader::literal(std::string_view word) {
  if (s_.substr(i_, word.size()) != word) {
    return false;
  }
  i_ += word.size();
  return true;
}

bool JsonReader::number() {
  const size_t n = s_.size();
  if (i_ < n && s_[i_] == '-') {
    ++i_;
  }
  if (i_ >= n || !is_digit(s_[i_])) {
    return false;
  }
  if (s_[i_] == '0') {
    ++i_;
  } else {
    while (i_ < n && is_digit(s_[i_])) {
      ++i_;
    }
  }
  if (i_ < n && s_[i_] == '.') {
    ++i_;
    if (i_ >= n || !is_digit(s_[i_])) {
      return false;
    }
    while (i_ < n && is_digit(s_[i_])) {
      ++i_;
    }
  }
  if (i_ < n && (s_[i_] == 'e' || s_[i_] == 'E')) {
    ++i_;
    if (i_ < n && (s_[i_] == '+' || s_[i_] == '-')) {
      ++i_;
    }
    if (i_ >= n || !is_digit(s_[i_])) {
      return false;
    }
    while (i_ < n && is_digit(s_[i_])) {
      ++i_;
    }
  }
  return true;
}

bool JsonReader::skip_value(int depth) {
  ws();
  if (i_ >= s_.size() || depth > kMaxDepth) {
    return false;
  }
  std::string_view raw;
  bool escaped = false;
  switch (s_[i_]) {
    case '"': return string(raw, escaped);
    case 't': return literal("true");
    case 'f': return literal("false");
    case 'n': return literal("null");
    case '{':
      ++i_;
      if (eat('}')) {
        return true;
      }
      do {
        if (!string(raw, escaped) || !eat(':') || !skip_value(depth + 1)) {
          return false;
        }
      } while (eat(','));
      return eat('}');
    case '[':
      ++i_;
      if (eat(']')) {
        return true;
      }
      do {
        if (!skip_value(depth + 1)) {
          return false;
        }
      } while (eat(','));
      return eat(']');
    default: return number();
  }
}

void append_json_string(std::string& out, std::string_view v) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  size_t run = 0;  // start of the pending run of bytes that need no escaping
  for (size_t i = 0; i < v.size(); ++i) {
    const auto c = static_cast<uint8_t>(v[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      continue;
    }
    out.append(v.substr(run, i - run));
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += kHex[c >> 4];
        out += kHex[c & 15];
    }
  }
  out.append(v.substr(run));
  out += '"';
}

}  // namespace obsgate::filters::loki_push::detail
