// Prometheus text exposition format 0.0.4 (the /federate body): hidden labels removed from each
// sample line. A small strict line parser: it only has to find the label pairs, but it refuses
// anything it does not fully understand rather than guess where a label ends.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "common/utf8.h"
#include "filters/response/json_span.h"
#include "filters/response/response.h"

namespace obsgate::filters::response {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): this module's internals

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

Status bad_line(std::size_t line_no, std::string_view why) {
  return bad_upstream("exposition line " + std::to_string(line_no) + ": " + std::string(why));
}

// [a-zA-Z_:][a-zA-Z0-9_:]* for metrics (colon allowed), [a-zA-Z_][a-zA-Z0-9_]* for labels.
std::size_t name_end(std::string_view s, std::size_t i, bool metric) {
  const std::size_t start = i;
  while (i < s.size() &&
         (is_alpha(s[i]) || (metric && s[i] == ':') || (i > start && is_digit(s[i])))) {
    ++i;
  }
  return i;
}

// Go's strconv.ParseFloat accepts more, but Prometheus only prints these forms: decimal with
// optional fraction and exponent, or NaN / +Inf / -Inf (any case).
bool is_float(std::string_view v) {
  std::size_t i = 0;
  if (i < v.size() && (v[i] == '+' || v[i] == '-')) {
    ++i;
  }
  std::string lower(v.substr(i));
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; });
  if (lower == "inf" || lower == "infinity" || (lower == "nan" && i == 0)) {
    return true;
  }
  bool digits = false;
  while (i < v.size() && is_digit(v[i])) {
    ++i;
    digits = true;
  }
  if (i < v.size() && v[i] == '.') {
    ++i;
    while (i < v.size() && is_digit(v[i])) {
      ++i;
      digits = true;
    }
  }
  if (!digits) {
    return false;
  }
  if (i < v.size() && (v[i] == 'e' || v[i] == 'E')) {
    ++i;
    if (i < v.size() && (v[i] == '+' || v[i] == '-')) {
      ++i;
    }
    const std::size_t exp_start = i;
    while (i < v.size() && is_digit(v[i])) {
      ++i;
    }
    if (i == exp_start) {
      return false;
    }
  }
  return i == v.size();
}

bool is_int(std::string_view v) {
  std::size_t i = (!v.empty() && v[0] == '-') ? 1 : 0;
  return i < v.size() && std::all_of(v.begin() + static_cast<std::ptrdiff_t>(i), v.end(), is_digit);
}

// Parses `{...}` starting at s[i] == '{' into `out` (raw_name: the whole `name="value"` pair
// as sent; raw_value unused); returns the index after '}' or a Status.
Result<std::size_t> parse_labels(std::string_view s, std::size_t i, std::size_t line_no,
                                 Labels& out) {
  ++i;
  while (true) {
    while (i < s.size() && is_blank(s[i])) {
      ++i;
    }
    if (i < s.size() && s[i] == '}') {
      return i + 1;  // also accepts a trailing comma, as Prometheus' parsers do
    }
    const std::size_t start = i;
    const std::size_t ne = name_end(s, i, false);
    if (ne == i) {
      return bad_line(line_no, "expected a label name");
    }
    Label l;
    l.name = std::string(s.substr(i, ne - i));
    i = ne;
    while (i < s.size() && is_blank(s[i])) {
      ++i;
    }
    if (i >= s.size() || s[i] != '=') {
      return bad_line(line_no, "expected '=' after label " + l.name);
    }
    ++i;
    while (i < s.size() && is_blank(s[i])) {
      ++i;
    }
    if (i >= s.size() || s[i] != '"') {
      return bad_line(line_no, "label value of " + l.name + " is not quoted");
    }
    for (++i;; ++i) {
      if (i >= s.size()) {
        return bad_line(line_no, "unterminated label value");
      }
      if (s[i] == '"') {
        break;
      }
      if (s[i] != '\\') {
        l.value += s[i];
        continue;
      }
      ++i;
      if (i < s.size() && (s[i] == '\\' || s[i] == '"')) {
        l.value += s[i];
      } else if (i < s.size() && s[i] == 'n') {
        l.value += '\n';
      } else {
        return bad_line(line_no, "invalid escape in label value (only \\\\, \\\" and \\n)");
      }
    }
    ++i;
    l.raw_name = s.substr(start, i - start);
    if (l.name == "__name__") {
      return bad_line(line_no, "__name__ inside the label set");
    }
    for (const Label& other : out) {
      if (other.name == l.name) {
        return bad_line(line_no, "duplicate label " + l.name);
      }
    }
    out.push_back(std::move(l));
    while (i < s.size() && is_blank(s[i])) {
      ++i;
    }
    if (i < s.size() && s[i] == ',') {
      ++i;
      continue;
    }
    if (i < s.size() && s[i] == '}') {
      return i + 1;
    }
    return bad_line(line_no, "expected ',' or '}' after a label");
  }
}

// The part after the labels: blanks, a value, optionally blanks and a timestamp, blanks.
Status check_tail(std::string_view tail, std::size_t line_no) {
  std::vector<std::string_view> tokens;
  std::size_t i = 0;
  if (tail.empty() || !is_blank(tail[0])) {
    return bad_line(line_no, "expected a blank before the value");
  }
  while (i < tail.size()) {
    while (i < tail.size() && is_blank(tail[i])) {
      ++i;
    }
    const std::size_t start = i;
    while (i < tail.size() && !is_blank(tail[i])) {
      ++i;
    }
    if (i > start) {
      tokens.push_back(tail.substr(start, i - start));
    }
  }
  if (tokens.empty() || tokens.size() > 2 || !is_float(tokens[0]) ||
      (tokens.size() == 2 && !is_int(tokens[1]))) {
    return bad_line(line_no, "expected a value and an optional integer timestamp");
  }
  return {};
}

}  // namespace

Result<std::string> strip_hidden_labels_text(std::string_view exposition,
                                             const std::vector<std::string>& hidden) {
  if (!valid_utf8(exposition)) {
    return bad_upstream("exposition is not UTF-8");
  }
  const Hidden h(hidden);
  SeriesKeys keys(SeriesKeys::Hint::kPromQL);
  std::string out;
  out.reserve(exposition.size());
  std::size_t pos = 0;
  std::size_t line_no = 0;
  Labels labels;
  while (pos < exposition.size()) {
    std::size_t nl = exposition.find('\n', pos);
    const bool has_nl = nl != std::string_view::npos;
    if (!has_nl) {
      nl = exposition.size();
    }
    const std::string_view line = exposition.substr(pos, nl - pos);
    pos = has_nl ? nl + 1 : nl;
    ++line_no;
    std::size_t i = 0;
    while (i < line.size() && is_blank(line[i])) {
      ++i;
    }
    if (i == line.size() || line[i] == '#') {
      out += line;  // blank, HELP, TYPE or comment: no sample labels
      out += has_nl ? "\n" : "";
      continue;
    }
    if (line[i] == '{' || line[i] == '"') {
      return bad_line(line_no, "quoted (UTF-8) metric names are not supported");
    }
    const std::size_t ne = name_end(line, i, true);
    if (ne == i) {
      return bad_line(line_no, "expected a metric name");
    }
    const std::string_view name = line.substr(i, ne - i);
    labels.clear();
    labels.push_back(Label{"__name__", std::string(name), {}, {}});  // identity includes it
    std::size_t tail_start = ne;
    if (ne < line.size() && line[ne] == '{') {
      auto end = parse_labels(line, ne, line_no, labels);
      if (!end.ok()) {
        return end.status();
      }
      tail_start = *end;
    }
    const std::string_view tail = line.substr(tail_start);
    if (Status s = check_tail(tail, line_no); !s.ok()) {
      return s;
    }
    Stripped st = strip(labels, h, /*emit_json=*/false);
    if (Status s = keys.add(st); !s.ok()) {
      return s;
    }
    std::string kept;
    if (!st.removed.empty()) {
      for (std::size_t k = 1; k < labels.size(); ++k) {
        if (!h.contains(labels[k].name)) {
          kept += kept.empty() ? "" : ",";
          kept += labels[k].raw_name;
        }
      }
    }
    if (st.removed.empty()) {
      out += line;
    } else {
      out += name;
      if (!kept.empty()) {
        out += '{';
        out += kept;
        out += '}';
      }
      out += tail;
    }
    out += has_nl ? "\n" : "";
  }
  return out;
}

}  // namespace obsgate::filters::response
