#include "filters/logql/values.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

namespace obsgate::filters::logql::detail {
namespace {

constexpr uint64_t kMaxDur = uint64_t{1} << 63;  // Go's bound, before the sign is applied
constexpr int64_t kMs = 1000000;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

struct Unit {
  const char* name;
  uint64_t mult;
};

// Prometheus units, biggest first: their index is the order they must appear in.
constexpr Unit kModelUnits[] = {
    {"y", 365ULL * 24 * 3600 * 1000000000ULL}, {"w", 7ULL * 24 * 3600 * 1000000000ULL},
    {"d", 24ULL * 3600 * 1000000000ULL},       {"h", 3600ULL * 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},              {"s", 1000000000ULL},
    {"ms", 1000000ULL},
};

constexpr Unit kGoUnits[] = {
    {"ns", 1},          {"us", 1000},       {"\xC2\xB5s", 1000}, {"\xCE\xBCs", 1000},
    {"ms", 1000000},    {"s", 1000000000},  {"m", 60000000000ULL}, {"h", 3600000000000ULL},
};

}  // namespace

std::optional<int64_t> parse_model_duration(std::string_view s) {
  if (s == "0") {
    return 0;
  }
  if (s.empty()) {
    return std::nullopt;
  }
  uint64_t dur = 0;
  int last = -1;
  while (!s.empty()) {
    if (!is_digit(s[0])) {
      return std::nullopt;
    }
    size_t i = 0;
    uint64_t v = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (v > (std::numeric_limits<uint64_t>::max() - 9) / 10) {
        return std::nullopt;
      }
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
    }
    s.remove_prefix(i);
    for (i = 0; i < s.size() && !is_digit(s[i]); ++i) {
    }
    if (i == 0) {
      return std::nullopt;
    }
    std::string_view u = s.substr(0, i);
    s.remove_prefix(i);
    int pos = -1;
    for (int k = 0; k < static_cast<int>(std::size(kModelUnits)); ++k) {
      if (u == kModelUnits[k].name) {
        pos = k;
      }
    }
    if (pos < 0 || pos <= last) {
      return std::nullopt;  // unknown unit, or units out of order
    }
    last = pos;
    const uint64_t mult = kModelUnits[pos].mult;
    if (v > kMaxDur / mult) {
      return std::nullopt;
    }
    dur += v * mult;
    if (dur > kMaxDur - 1) {
      return std::nullopt;
    }
  }
  return static_cast<int64_t>(dur);
}

std::optional<int64_t> parse_go_duration(std::string_view s) {
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") {
    return 0;
  }
  if (s.empty()) {
    return std::nullopt;
  }
  uint64_t d = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || is_digit(s[0]))) {
      return std::nullopt;
    }
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && is_digit(s[i]); ++i) {
      if (v > kMaxDur / 10) {
        return std::nullopt;
      }
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMaxDur) {
        return std::nullopt;
      }
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    bool post = false;
    uint64_t f = 0;
    double scale = 1;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      for (i = 0; i < s.size() && is_digit(s[i]); ++i) {
        if (overflow) {
          continue;
        }
        if (f > (kMaxDur - 1) / 10) {
          overflow = true;
          continue;
        }
        const uint64_t y = f * 10 + static_cast<uint64_t>(s[i] - '0');
        if (y > kMaxDur) {
          overflow = true;
          continue;
        }
        f = y;
        scale *= 10;
      }
      post = i > 0;
      s.remove_prefix(i);
    }
    if (!pre && !post) {
      return std::nullopt;
    }
    for (i = 0; i < s.size() && s[i] != '.' && !is_digit(s[i]); ++i) {
    }
    if (i == 0) {
      return std::nullopt;
    }
    std::string_view u = s.substr(0, i);
    s.remove_prefix(i);
    uint64_t unit = 0;
    for (const Unit& k : kGoUnits) {
      if (u == k.name) {
        unit = k.mult;
      }
    }
    if (unit == 0 || v > kMaxDur / unit) {
      return std::nullopt;
    }
    v *= unit;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit) / scale));
      if (v > kMaxDur) {
        return std::nullopt;
      }
    }
    d += v;
    if (d > kMaxDur) {
      return std::nullopt;
    }
  }
  if (neg) {
    return d == kMaxDur ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(d);
  }
  if (d > kMaxDur - 1) {
    return std::nullopt;
  }
  return static_cast<int64_t>(d);
}

std::optional<int64_t> parse_duration(std::string_view s) {
  if (auto d = parse_model_duration(s)) {
    return d;
  }
  return parse_go_duration(s);
}

std::optional<uint64_t> parse_bytes(std::string_view s) {
  size_t last = 0;
  while (last < s.size() && (is_digit(s[last]) || s[last] == '.')) {
    ++last;
  }
  auto f = parse_float(s.substr(0, last));
  if (!f) {
    return std::nullopt;
  }
  std::string unit(s.substr(last));
  for (char& c : unit) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  struct Size {
    const char* name;
    double mult;
  };
  static constexpr Size kSizes[] = {
      {"", 1},      {"b", 1},          {"k", 1e3},        {"kb", 1e3},      {"ki", 1024.0},
      {"kib", 1024.0}, {"m", 1e6},     {"mb", 1e6},       {"mi", 1048576.0}, {"mib", 1048576.0},
      {"g", 1e9},   {"gb", 1e9},       {"gi", 1073741824.0}, {"gib", 1073741824.0},
      {"t", 1e12},  {"tb", 1e12},      {"ti", 1099511627776.0}, {"tib", 1099511627776.0},
      {"p", 1e15},  {"pb", 1e15},      {"pi", 1125899906842624.0},
      {"pib", 1125899906842624.0},
  };
  for (const Size& z : kSizes) {
    if (unit == z.name) {
      const double v = *f * z.mult;
      if (!(v < 18446744073709551615.0)) {
        return std::nullopt;
      }
      return static_cast<uint64_t>(v);
    }
  }
  return std::nullopt;
}

std::optional<double> parse_float(std::string_view s) {
  if (s.empty()) {
    return std::nullopt;
  }
  double v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::general);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::optional<int64_t> parse_int(std::string_view s) {
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
  }
  int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || r.ec != std::errc() || r.ptr != s.data() + s.size()) {
    return std::nullopt;
  }
  return v;
}

std::string format_range(int64_t ns) {
  if (ns <= 0) {
    return "0s";
  }
  std::string out;
  auto ms = static_cast<uint64_t>(ns / kMs);
  for (const Unit& u : kModelUnits) {
    const uint64_t m = u.mult / static_cast<uint64_t>(kMs);
    if (ms >= m) {
      out += std::to_string(ms / m);
      out += u.name;
      ms %= m;
    }
  }
  return out.empty() ? "0s" : out;
}

std::string format_duration(int64_t ns) {
  if (ns >= 0 && ns % kMs == 0) {
    return format_range(ns);
  }
  // Go style, biggest unit h, so that a negative value still reads back.
  std::string out = ns < 0 ? "-" : "";
  uint64_t v = ns < 0 ? uint64_t{0} - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  for (size_t i = std::size(kGoUnits); i-- > 0;) {
    const Unit& u = kGoUnits[i];
    if (u.name[0] == '\xC2' || u.name[0] == '\xCE') {
      continue;  // µs/μs: us is enough
    }
    if (v >= u.mult) {
      out += std::to_string(v / u.mult);
      out += u.name;
      v %= u.mult;
    }
  }
  return out;
}

std::string format_number(double v) {
  if (v == 0 && std::signbit(v)) {
    return "-0.0";  // "-0" would lex as a duration
  }
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, r.ptr);
}

bool valid_utf8(std::string_view s) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<size_t>(len) > n) {
      return false;
    }
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<size_t>(k)]);
      if ((cc & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<size_t>(len);
  }
  return true;
}

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

void append_utf8(std::string& out, uint32_t cp) {
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
          append_utf8(out, v);
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
