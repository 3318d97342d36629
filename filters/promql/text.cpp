// Text rules shared by the lexer, parser and printer: Go string unquoting (common/go_string.h),
// legacy name checks, and compound durations.
#include <limits>
#include <string>

#include "common/go_string.h"
#include "filters/promql/lexer.h"

namespace obsgate::filters::promql {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace


bool is_legacy_label_name(std::string_view s) {
  if (s.empty() || !is_alpha(s[0])) {
    return false;
  }
  for (char c : s) {
    if (!is_alnum(c)) {
      return false;
    }
  }
  return true;
}

bool is_legacy_metric_name(std::string_view s) {
  if (s.empty() || !(is_alpha(s[0]) || s[0] == ':')) {
    return false;
  }
  for (char c : s) {
    if (!is_alnum(c) && c != ':') {
      return false;
    }
  }
  return true;
}

const char* unquote(std::string_view tok, std::string& out, bool& has_escapes) {
  out.clear();
  has_escapes = false;
  const char quote = tok.front();
  std::string_view body = tok.substr(1, tok.size() - 2);
  if (quote == '`' || body.find('\\') == std::string_view::npos) {
    return nullptr;  // the caller uses body as is
  }
  has_escapes = true;
  return go_string::unescape(body, quote, out);
}

const char* parse_duration(std::string_view s, int64_t& ms) {
  // Units in the only order allowed: y w d h m s ms.
  constexpr int64_t kUnitMs[] = {365LL * 86400000, 7LL * 86400000, 86400000, 3600000, 60000,
                                 1000, 1};
  int last = -1;
  ms = 0;
  size_t i = 0;
  if (s.empty()) {
    return "empty duration string";
  }
  while (i < s.size()) {
    size_t d0 = i;
    while (i < s.size() && is_digit(s[i])) {
      ++i;
    }
    if (i == d0) {
      return "not a valid duration string";
    }
    int64_t v = 0;
    for (size_t k = d0; k < i; ++k) {
      if (v > (std::numeric_limits<int64_t>::max() - 9) / 10) {
        return "duration out of range";
      }
      v = v * 10 + (s[k] - '0');
    }
    size_t u0 = i;
    while (i < s.size() && !is_digit(s[i])) {
      ++i;
    }
    std::string_view unit = s.substr(u0, i - u0);
    int idx = -1;
    constexpr std::string_view kUnits[] = {"y", "w", "d", "h", "m", "s", "ms"};
    for (int k = 0; k < 7; ++k) {
      if (unit == kUnits[k]) {
        idx = k;
      }
    }
    if (idx < 0) {
      return unit.empty() ? "missing unit in duration" : "unknown unit in duration";
    }
    if (idx <= last) {
      return "not a valid duration string";
    }
    last = idx;
    if (v > std::numeric_limits<int64_t>::max() / kUnitMs[idx] ||
        ms > std::numeric_limits<int64_t>::max() - v * kUnitMs[idx]) {
      return "duration out of range";
    }
    ms += v * kUnitMs[idx];
  }
  return nullptr;
}

bool equals_lower(std::string_view s, std::string_view lower_word) {
  if (s.size() != lower_word.size()) {
    return false;
  }
  for (size_t i = 0; i < s.size(); ++i) {
    if (lower(s[i]) != lower_word[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace obsgate::filters::promql
