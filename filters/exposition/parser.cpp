// The strict text-format parser: one pass over the body, one line at a time. Families are
// resolved the way Prometheus' own text parser (expfmt) does it: a sample name belongs to the
// family that owns it (x_bucket, x_sum and x_count belong to histogram x), else to the family
// of that exact name, else to a new untyped family. Ownership is registered when a family's
// type is known, so ambiguous inputs are refused instead of being guessed at.
#include <algorithm>
#include <limits>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "common/utf8.h"
#include "filters/exposition/exposition.h"
#include "filters/exposition/number.h"

namespace obsgate::filters::exposition {

namespace {

constexpr size_t kNone = std::numeric_limits<size_t>::max();

bool is_blank(char c) { return c == ' ' || c == '\t'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool name_start(char c) { return is_alpha(c) || c == ':'; }
bool name_char(char c) { return is_alpha(c) || is_digit(c) || c == ':'; }
bool label_char(char c) { return is_alpha(c) || is_digit(c); }

// Printable for messages: at most 40 bytes, control bytes as \xNN.
std::string quote(std::string_view s) {
  std::string out = "'";
  for (size_t i = 0; i < s.size() && i < 40; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += s.size() > 40 ? "...'" : "'";
  return out;
}

// A cursor over one line (without its '\n').
struct Cursor {
  std::string_view s;
  size_t pos = 0;

  [[nodiscard]] bool done() const { return pos >= s.size(); }
  [[nodiscard]] char peek() const { return done() ? '\0' : s[pos]; }
  size_t skip_blanks() {
    const size_t start = pos;
    while (!done() && is_blank(s[pos])) {
      ++pos;
    }
    return pos - start;
  }
  std::string_view token() {  // up to the next blank or the end
    const size_t start = pos;
    while (!done() && !is_blank(s[pos])) {
      ++pos;
    }
    return s.substr(start, pos - start);
  }
  std::string_view take_while(bool (*pred)(char)) {
    const size_t start = pos;
    while (!done() && pred(s[pos])) {
      ++pos;
    }
    return s.substr(start, pos - start);
  }
};

bool valid_metric_name(std::string_view n) {
  return !n.empty() && name_start(n[0]) && std::all_of(n.begin(), n.end(), name_char);
}

// The identity of a series: its name and its labels sorted by name, empty-valued labels left
// out (Prometheus: an empty label is an absent label). Values are length-prefixed so that no
// byte inside a value can fake a boundary. Returns a label whose name appears twice, if any.
const Label* build_series_key(std::string_view name, const std::vector<Label>& labels,
                              std::string& key) {
  const Label* small[16];
  std::vector<const Label*> big;
  const Label** sorted = small;
  if (labels.size() > 16) {
    big.resize(labels.size());
    sorted = big.data();
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    sorted[i] = &labels[i];
  }
  std::sort(sorted, sorted + labels.size(),
            [](const Label* a, const Label* b) { return a->name < b->name; });
  key.assign(name);
  for (size_t i = 0; i < labels.size(); ++i) {
    if (i > 0 && sorted[i]->name == sorted[i - 1]->name) {
      return sorted[i];
    }
    if (sorted[i]->value.empty()) {
      continue;
    }
    key += '\0';
    key += sorted[i]->name;
    key += '\0';
    key += std::to_string(sorted[i]->value.size());
    key += ':';
    key += sorted[i]->value;
  }
  return nullptr;
}

struct FamilyState {
  bool typed = false;       // a TYPE line was seen
  bool registered = false;  // its sample names are in owner_
  bool closed = false;      // another family came after it
};

class Parser {
 public:
  Parser(std::string_view body, const Limits& limits) : body_(body), limits_(limits) {}

  Result<Exposition> run() {
    if (body_.size() > limits_.max_bytes) {
      return Status::resource_exhausted("exposition body exceeds " +
                                        std::to_string(limits_.max_bytes) + " bytes");
    }
    size_t start = 0;
    while (start < body_.size()) {
      ++line_;
      const size_t nl = body_.find('\n', start);
      if (nl == std::string_view::npos) {
        return fail("last line does not end with a newline (truncated body?)");
      }
      if (Status s = one_line(body_.substr(start, nl - start)); !s.ok()) {
        return s;
      }
      start = nl + 1;
    }
    return std::move(out_);
  }

 private:
  Status fail(const std::string& msg) const {
    return Status::invalid_argument("line " + std::to_string(line_) + ": " + msg);
  }

  Status one_line(std::string_view text) {
    if (!text.empty() && text.back() == '\r') {
      return fail("carriage return at the end of the line (lines end with \\n only)");
    }
    Cursor c{text};
    c.skip_blanks();
    if (c.done()) {
      return {};
    }
    if (c.peek() == '#') {
      ++c.pos;
      return comment(c);
    }
    return sample(c);
  }

  // `# HELP name text`, `# TYPE name type`, or any other comment.
  Status comment(Cursor& c) {
    c.skip_blanks();
    const std::string_view keyword = c.token();
    if (keyword != "HELP" && keyword != "TYPE") {
      return {};
    }
    c.skip_blanks();
    const std::string_view name = c.token();
    if (name.empty()) {
      return fail(std::string(keyword) + " line without a metric name");
    }
    if (!valid_metric_name(name)) {
      return fail("invalid metric name " + quote(name) + " in " + std::string(keyword) + " line");
    }
    c.skip_blanks();
    const size_t f = family_named(name);
    if (Status s = touch(f); !s.ok()) {
      return s;
    }
    Family& fam = out_.families[f];
    if (keyword == "HELP") {
      if (fam.help) {
        return fail("second HELP line for " + quote(name));
      }
      std::string_view text = c.s.substr(c.pos);
      while (!text.empty() && is_blank(text.back())) {
        text.remove_suffix(1);
      }
      std::string help;
      if (Status s = unescape_help(text, help); !s.ok()) {
        return s;
      }
      fam.help = std::move(help);
      return {};
    }
    const std::string_view type = c.token();
    c.skip_blanks();
    if (!c.done()) {
      return fail("unexpected text after the type in TYPE line: " + quote(c.s.substr(c.pos)));
    }
    if (state_[f].typed) {
      return fail("second TYPE line for " + quote(name));
    }
    if (!fam.samples.empty() || state_[f].registered) {
      return fail("TYPE line for " + quote(name) + " after its samples");
    }
    if (type == "counter") {
      fam.type = MetricType::kCounter;
    } else if (type == "gauge") {
      fam.type = MetricType::kGauge;
    } else if (type == "histogram") {
      fam.type = MetricType::kHistogram;
    } else if (type == "summary") {
      fam.type = MetricType::kSummary;
    } else if (type == "untyped") {
      fam.type = MetricType::kUntyped;
    } else {
      return fail("unknown metric type " + quote(type) +
                  " (counter, gauge, histogram, summary, untyped)");
    }
    state_[f].typed = true;
    return register_names(f);
  }

  Status unescape_help(std::string_view in, std::string& out) const {
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
      if (in[i] != '\\') {
        out += in[i];
        continue;
      }
      if (i + 1 == in.size()) {
        return fail("HELP text ends with a lone backslash");
      }
      const char e = in[++i];
      if (e == '\\') {
        out += '\\';
      } else if (e == 'n') {
        out += '\n';
      } else {
        return fail("invalid escape sequence " + quote(in.substr(i - 1, 2)) + " in HELP text");
      }
    }
    if (!valid_utf8(out)) {
      return fail("HELP text is not valid UTF-8");
    }
    return {};
  }

  Status sample(Cursor& c) {
    const std::string_view name = c.take_while(name_char);
    if (name.empty() || !name_start(name[0])) {
      return fail("expected a metric name, got " + quote(c.s.substr(c.pos)));
    }
    if (++samples_ > limits_.max_samples) {
      return Status::resource_exhausted("exposition has more than " +
                                        std::to_string(limits_.max_samples) + " samples");
    }
    size_t f = kNone;
    if (Status s = resolve(name, f); !s.ok()) {
      return s;
    }
    Sample smp;
    smp.name = std::string(name);
    const size_t blanks = c.skip_blanks();
    if (c.peek() == '{') {
      ++c.pos;
      if (Status s = labels(c, smp.labels); !s.ok()) {
        return s;
      }
      c.skip_blanks();
    } else if (blanks == 0 && !c.done()) {
      return fail("unexpected character " + quote(c.s.substr(c.pos, 1)) + " after metric name");
    }
    const std::string_view value = c.token();
    if (value.empty()) {
      return fail("sample " + quote(name) + " has no value");
    }
    if (!parse_float(value, smp.value)) {
      return fail("invalid sample value " + quote(value));
    }
    c.skip_blanks();
    if (!c.done()) {
      const std::string_view ts = c.token();
      int64_t ms = 0;
      if (!parse_int64(ts, ms)) {
        return fail("invalid timestamp " + quote(ts) + " (integer milliseconds)");
      }
      smp.timestamp_ms = ms;
      c.skip_blanks();
      if (!c.done()) {
        return fail("unexpected text after the timestamp: " + quote(c.s.substr(c.pos)));
      }
    }
    if (Status s = check_sample(out_.families[f], smp); !s.ok()) {
      return s;
    }
    out_.families[f].samples.push_back(std::move(smp));
    return {};
  }

  // After '{': label pairs, an optional trailing comma, '}'.
  Status labels(Cursor& c, std::vector<Label>& out) {
    c.skip_blanks();
    while (c.peek() != '}') {
      if (c.done()) {
        return fail("label set is not closed with '}'");
      }
      Label l;
      const std::string_view n = c.take_while(label_char);
      if (n.empty() || is_digit(n[0])) {
        return fail("expected a label name, got " + quote(c.s.substr(c.pos)));
      }
      if (n.size() >= 2 && n[0] == '_' && n[1] == '_') {
        return fail("label name " + quote(n) + " is reserved (starts with __)");
      }
      l.name = std::string(n);
      c.skip_blanks();
      if (c.peek() != '=') {
        return fail("expected '=' after label name " + quote(n));
      }
      ++c.pos;
      c.skip_blanks();
      if (c.peek() != '"') {
        return fail("expected '\"' to start the value of label " + quote(n));
      }
      ++c.pos;
      if (Status s = label_value(c, l.value); !s.ok()) {
        return s;
      }
      if (out.size() == limits_.max_labels_per_sample) {
        return Status::resource_exhausted("a sample has more than " +
                                          std::to_string(limits_.max_labels_per_sample) +
                                          " labels");
      }
      out.push_back(std::move(l));
      c.skip_blanks();
      if (c.peek() == ',') {
        ++c.pos;
        c.skip_blanks();
      } else if (c.peek() != '}') {
        return fail("expected ',' or '}' after the value of label " + quote(n));
      }
    }
    ++c.pos;
    return {};
  }

  // After the opening quote, up to and including the closing one.
  Status label_value(Cursor& c, std::string& out) {
    while (true) {
      if (c.done()) {
        return fail("label value is not closed with '\"'");
      }
      const char ch = c.s[c.pos++];
      if (ch == '"') {
        break;
      }
      if (ch != '\\') {
        out += ch;
        continue;
      }
      const char e = c.peek();
      ++c.pos;
      if (e == '\\' || e == '"') {
        out += e;
      } else if (e == 'n') {
        out += '\n';
      } else {
        return fail("invalid escape sequence " + quote(c.s.substr(c.pos - 2, 2)) +
                    " in label value");
      }
    }
    if (!valid_utf8(out)) {
      return fail("label value is not valid UTF-8");
    }
    return {};
  }

  // Type rules, duplicate label names, duplicate series.
  Status check_sample(const Family& fam, const Sample& s) {
    std::string key;
    if (const Label* dup = build_series_key(s.name, s.labels, key); dup != nullptr) {
      return fail("label " + quote(dup->name) + " appears twice");
    }
    const bool bucket = fam.type == MetricType::kHistogram && s.name.size() > fam.name.size() &&
                        s.name.compare(fam.name.size(), std::string::npos, "_bucket") == 0;
    const bool quantile = fam.type == MetricType::kSummary && s.name == fam.name;
    if (bucket || quantile) {
      const std::string_view want = bucket ? "le" : "quantile";
      const auto it = std::find_if(s.labels.begin(), s.labels.end(),
                                   [&](const Label& l) { return l.name == want; });
      double v = 0;
      if (it == s.labels.end()) {
        return fail(quote(s.name) + " needs a '" + std::string(want) + "' label");
      }
      if (!parse_float(it->value, v)) {
        return fail("invalid " + std::string(want) + " value " + quote(it->value));
      }
    }
    if (!series_.insert(std::move(key)).second) {
      return fail("duplicate series " + quote(s.name) + " with the same labels");
    }
    return {};
  }

  // The family a sample named `name` belongs to.
  Status resolve(std::string_view name, size_t& f) {
    const std::string n(name);
    if (const auto it = owner_.find(n); it != owner_.end()) {
      f = it->second;
    } else if (const auto jt = by_name_.find(n); jt != by_name_.end()) {
      f = jt->second;
      if (state_[f].registered) {
        const Family& fam = out_.families[f];
        return fail("sample " + quote(name) + " does not belong to " +
                    std::string(type_name(fam.type)) + " " + quote(fam.name) +
                    (fam.type == MetricType::kHistogram ? " (expected _bucket, _sum or _count)"
                                                        : ""));
      }
      if (Status s = register_names(f); !s.ok()) {
        return s;
      }
    } else {
      f = family_named(name);
      if (Status s = register_names(f); !s.ok()) {
        return s;
      }
    }
    return touch(f);
  }

  size_t family_named(std::string_view name) {
    const std::string n(name);
    if (const auto it = by_name_.find(n); it != by_name_.end()) {
      return it->second;
    }
    out_.families.push_back(Family{n, MetricType::kUntyped, std::nullopt, {}});
    state_.emplace_back();
    by_name_.emplace(n, out_.families.size() - 1);
    return out_.families.size() - 1;
  }

  Status register_names(size_t f) {
    const Family& fam = out_.families[f];
    for (std::string& n : owned_sample_names(fam.name, fam.type)) {
      const auto [it, inserted] = owner_.emplace(std::move(n), f);
      if (!inserted && it->second != f) {
        return fail(std::string(type_name(fam.type)) + " " + quote(fam.name) +
                    " clashes with " + quote(out_.families[it->second].name) +
                    " over the sample name " + quote(it->first));
      }
    }
    state_[f].registered = true;
    return {};
  }

  // Makes `f` the family receiving lines; a family never comes back once left.
  Status touch(size_t f) {
    if (f == current_) {
      return {};
    }
    if (state_[f].closed) {
      return fail("lines of family " + quote(out_.families[f].name) +
                  " are not together (it appeared before " +
                  quote(out_.families[current_].name) + ")");
    }
    if (current_ != kNone) {
      state_[current_].closed = true;
    }
    current_ = f;
    series_.clear();
    return {};
  }

  std::string_view body_;
  Limits limits_;
  int line_ = 0;
  size_t samples_ = 0;
  Exposition out_;
  std::vector<FamilyState> state_;                  // parallel to out_.families
  std::unordered_map<std::string, size_t> by_name_;  // family name -> index
  std::unordered_map<std::string, size_t> owner_;    // sample name -> family index
  std::unordered_set<std::string> series_;           // series keys of the current family
  size_t current_ = kNone;
};

}  // namespace

std::string series_key(std::string_view name, const std::vector<Label>& labels) {
  std::string key;
  build_series_key(name, labels, key);
  return key;
}

Result<Exposition> parse(std::string_view body, const Limits& limits) {
  Parser p(body, limits);
  return p.run();
}

std::vector<std::string> owned_sample_names(std::string_view family, MetricType t) {
  const std::string n(family);
  switch (t) {
    case MetricType::kHistogram: return {n + "_bucket", n + "_sum", n + "_count"};
    case MetricType::kSummary: return {n, n + "_sum", n + "_count"};
    case MetricType::kUntyped:
    case MetricType::kCounter:
    case MetricType::kGauge: break;
  }
  return {n};
}

std::string_view type_name(MetricType t) noexcept {
  switch (t) {
    case MetricType::kUntyped: return "untyped";
    case MetricType::kCounter: return "counter";
    case MetricType::kGauge: return "gauge";
    case MetricType::kHistogram: return "histogram";
    case MetricType::kSummary: return "summary";
  }
  return "untyped";
}

}  // namespace obsgate::filters::exposition
