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
    {"y", 365ULL * 24 * 3600 * 1000000000ULL},
    {"w", 7ULL * 24 * 3600 * 1000000000ULL},
    {"d", 24ULL * 3600 * 1000000000ULL},
    {"h", 3600ULL * 1000000000ULL},
    {"m", 60ULL * 1000000000ULL},
    {"s", 1000000000ULL},
    {"ms", 1000000ULL},
};

constexpr Unit kGoUnits[] = {
    {"ns", 1},       {"us", 1000},      {"\xC2\xB5s", 1000},   {"\xCE\xBCs", 1000},
    {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000ULL}, {"h", 3600000000000ULL},
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
      {"", 1},
      {"b", 1},
      {"k", 1e3},
      {"kb", 1e3},
      {"ki", 1024.0},
      {"kib", 1024.0},
      {"m", 1e6},
      {"mb", 1e6},
      {"mi", 1048576.0},
      {"mib", 1048576.0},
      {"g", 1e9},
      {"gb", 1e9},
      {"gi", 1073741824.0},
      {"gib", 1073741824.0},
      {"t", 1e12},
      {"tb", 1e12},
      {"ti", 1099511627776.0},
      {"tib", 1099511627776.0},
      {"p", 1e15},
      {"pb", 1e15},
      {"pi", 1125899906842624.0},
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

}  // namespace obsgate::filters::logql::detail
