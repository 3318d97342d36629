#include "filters/exposition/number.h"

#include <charconv>
#include <cmath>
#include <limits>
#include <system_error>

namespace obsgate::filters::exposition {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const char c = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
    if (c != b[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool parse_float(std::string_view s, double& out) {
  if (s.empty()) {
    return false;
  }
  bool negative = false;
  std::string_view body = s;
  if (body[0] == '+' || body[0] == '-') {
    negative = body[0] == '-';
    body.remove_prefix(1);
  }
  if (iequals(body, "inf") || iequals(body, "infinity")) {
    out = negative ? -std::numeric_limits<double>::infinity()
                   : std::numeric_limits<double>::infinity();
    return true;
  }
  if (iequals(s, "nan")) {  // unsigned only, as in Go
    out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  // The decimal grammar, checked by hand: from_chars alone would also take "nan(...)" or hex.
  size_t i = 0;
  size_t int_digits = 0;
  size_t frac_digits = 0;
  while (i < body.size() && digit(body[i])) {
    ++i;
    ++int_digits;
  }
  if (i < body.size() && body[i] == '.') {
    ++i;
    while (i < body.size() && digit(body[i])) {
      ++i;
      ++frac_digits;
    }
  }
  if (int_digits + frac_digits == 0) {
    return false;
  }
  const size_t mantissa_end = i;
  if (i < body.size() && (body[i] == 'e' || body[i] == 'E')) {
    ++i;
    if (i < body.size() && (body[i] == '+' || body[i] == '-')) {
      ++i;
    }
    size_t exp_digits = 0;
    while (i < body.size() && digit(body[i])) {
      ++i;
      ++exp_digits;
    }
    if (exp_digits == 0) {
      return false;
    }
  }
  if (i != body.size()) {
    return false;
  }
  double v = 0;
  const auto r = std::from_chars(body.data(), body.data() + body.size(), v,
                                 std::chars_format::general);
  if (r.ptr != body.data() + body.size()) {
    return false;
  }
  if (r.ec == std::errc::result_out_of_range) {
    // Overflow or underflow? The decimal magnitude of the first significant digit decides:
    // out of range only happens far beyond +-300, so its sign is unambiguous.
    long magnitude = 0;
    size_t first = 0;
    for (; first < mantissa_end; ++first) {
      if (digit(body[first]) && body[first] != '0') {
        break;
      }
    }
    if (first == mantissa_end) {
      v = 0;  // all zeros: cannot be out of range, but be safe
    } else {
      magnitude = first < int_digits ? static_cast<long>(int_digits - first)
                                     : -static_cast<long>(first - int_digits - 1);
      long exp = 0;
      if (mantissa_end < body.size()) {
        std::string_view e = body.substr(mantissa_end + 1);
        const bool neg_exp = !e.empty() && e[0] == '-';
        if (!e.empty() && (e[0] == '+' || e[0] == '-')) {
          e.remove_prefix(1);
        }
        for (const char c : e) {
          exp = std::min(exp * 10 + (c - '0'), 100000L);
        }
        exp = neg_exp ? -exp : exp;
      }
      if (magnitude + exp > 0) {
        return false;  // overflow
      }
      v = 0;  // underflow
    }
  } else if (r.ec != std::errc()) {
    return false;
  }
  out = negative ? -v : v;
  return true;
}

bool parse_int64(std::string_view s, int64_t& out) {
  if (!s.empty() && s[0] == '+') {
    s.remove_prefix(1);
    if (!s.empty() && s[0] == '-') {
      return false;
    }
  }
  if (s.empty()) {
    return false;
  }
  const auto r = std::from_chars(s.data(), s.data() + s.size(), out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

}  // namespace obsgate::filters::exposition
