#include "filters/scope/scope.h"

#include <re2/re2.h>

#include <algorithm>
#include <memory>

namespace obsgate::filters {

std::string_view match_op_string(MatchOp op) noexcept {
  switch (op) {
    case MatchOp::kEq: return "=";
    case MatchOp::kNeq: return "!=";
    case MatchOp::kRe: return "=~";
    case MatchOp::kNre: return "!~";
  }
  return "=";
}

bool Scope::is_hidden(std::string_view label) const {
  return std::binary_search(hidden_labels.begin(), hidden_labels.end(), label);
}

std::string values_regex(const std::vector<std::string>& values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out += '|';
    }
    out += RE2::QuoteMeta(values[i]);
  }
  return out;
}

Result<Matcher> make_matcher(std::string name, MatchOp op, const std::vector<std::string>& values) {
  if (name.empty()) {
    return Status::invalid_argument("matcher has an empty label name");
  }
  if (values.empty()) {
    return Status::invalid_argument("matcher on '" + name + "' has no value");
  }
  Matcher m{std::move(name), op, {}};
  if (op == MatchOp::kRe || op == MatchOp::kNre) {
    if (values.size() != 1) {
      return Status::invalid_argument("regex matcher on '" + m.name + "' takes exactly one pattern");
    }
    RE2 re("^(?:" + values[0] + ")$", RE2::Quiet);
    if (!re.ok()) {
      return Status::invalid_argument("matcher on '" + m.name + "': invalid RE2 pattern '" +
                                      values[0] + "': " + re.error());
    }
    m.value = values[0];
    return m;
  }
  if (values.size() == 1) {
    m.value = values[0];
    return m;
  }
  m.op = (op == MatchOp::kEq) ? MatchOp::kRe : MatchOp::kNre;
  m.value = values_regex(values);
  return m;
}

Scope union_of(const std::vector<const Scope*>& scopes) {
  Scope out;
  for (const Scope* s : scopes) {
    out.unrestricted = out.unrestricted || s->unrestricted;
    out.rules.insert(out.rules.end(), s->rules.begin(), s->rules.end());
    out.hidden_labels.insert(out.hidden_labels.end(), s->hidden_labels.begin(),
                             s->hidden_labels.end());
  }
  std::sort(out.hidden_labels.begin(), out.hidden_labels.end());
  out.hidden_labels.erase(std::unique(out.hidden_labels.begin(), out.hidden_labels.end()),
                          out.hidden_labels.end());
  return out;
}

namespace {

// Literal alternatives of an equality or a regex made only of escaped literals joined by '|'.
std::optional<std::vector<std::string>> literal_alternatives(const Matcher& m) {
  if (m.op == MatchOp::kEq) {
    return std::vector<std::string>{m.value};
  }
  if (m.op != MatchOp::kRe) {
    return std::nullopt;
  }
  std::vector<std::string> alts;
  std::string cur;
  for (size_t i = 0; i < m.value.size(); ++i) {
    char c = m.value[i];
    if (c == '\\') {
      if (i + 1 >= m.value.size()) {
        return std::nullopt;
      }
      char n = m.value[++i];
      // Only escaped punctuation is a literal; \d, \w, \b... are classes or assertions.
      if ((n >= 'a' && n <= 'z') || (n >= 'A' && n <= 'Z') || (n >= '0' && n <= '9')) {
        return std::nullopt;
      }
      cur += n;
    } else if (c == '|') {
      alts.push_back(cur);
      cur.clear();
    } else if (std::string_view(".^$*+?()[]{}").find(c) != std::string_view::npos) {
      return std::nullopt;
    } else {
      cur += c;
    }
  }
  alts.push_back(cur);
  return alts;
}

Rule sorted_rule(Rule r) {
  std::sort(r.begin(), r.end(), [](const Matcher& a, const Matcher& b) {
    return std::tie(a.name, a.op, a.value) < std::tie(b.name, b.op, b.value);
  });
  return r;
}

}  // namespace

std::optional<Rule> collapse(const std::vector<Rule>& rules) {
  if (rules.empty()) {
    return std::nullopt;
  }
  if (rules.size() == 1) {
    return rules.front();
  }
  // Find the one label on which rules differ; every other matcher must be identical.
  std::vector<Rule> sorted;
  sorted.reserve(rules.size());
  for (const Rule& r : rules) {
    sorted.push_back(sorted_rule(r));
  }
  const size_t n = sorted.front().size();
  for (const Rule& r : sorted) {
    if (r.size() != n) {
      return std::nullopt;
    }
  }
  std::optional<size_t> diff_index;
  for (size_t i = 0; i < n; ++i) {
    for (const Rule& r : sorted) {
      if (r[i].name != sorted.front()[i].name) {
        return std::nullopt;
      }
      if (!(r[i] == sorted.front()[i])) {
        if (diff_index && *diff_index != i) {
          return std::nullopt;
        }
        diff_index = i;
      }
    }
  }
  if (!diff_index) {
    return sorted.front();  // all rules identical
  }
  // The differing label must not also appear in another matcher of the rule (e.g. a != on it).
  const std::string& label = sorted.front()[*diff_index].name;
  for (size_t i = 0; i < n; ++i) {
    if (i != *diff_index && sorted.front()[i].name == label) {
      return std::nullopt;
    }
  }
  std::vector<std::string> values;
  for (const Rule& r : sorted) {
    auto alts = literal_alternatives(r[*diff_index]);
    if (!alts) {
      return std::nullopt;
    }
    for (auto& a : *alts) {
      if (std::find(values.begin(), values.end(), a) == values.end()) {
        values.push_back(std::move(a));
      }
    }
  }
  Rule out = sorted.front();
  out[*diff_index] = Matcher{label, values.size() == 1 ? MatchOp::kEq : MatchOp::kRe,
                             values.size() == 1 ? values.front() : values_regex(values)};
  return out;
}

bool matches(const Matcher& m, const std::map<std::string, std::string, std::less<>>& labels) {
  auto it = labels.find(m.name);
  const std::string empty;
  const std::string& v = it == labels.end() ? empty : it->second;
  switch (m.op) {
    case MatchOp::kEq: return v == m.value;
    case MatchOp::kNeq: return v != m.value;
    case MatchOp::kRe:
    case MatchOp::kNre: {
      // Compiled per call: this is for config-time checks and tests, not the hot path.
      RE2 re("^(?:" + m.value + ")$", RE2::Quiet);
      bool hit = re.ok() && RE2::FullMatch(v, re);
      return m.op == MatchOp::kRe ? hit : !hit;
    }
  }
  return false;
}

bool matches(const Rule& r, const std::map<std::string, std::string, std::less<>>& labels) {
  return std::all_of(r.begin(), r.end(), [&](const Matcher& m) { return matches(m, labels); });
}

bool matches(const Scope& s, const std::map<std::string, std::string, std::less<>>& labels) {
  if (s.unrestricted) {
    return true;
  }
  return std::any_of(s.rules.begin(), s.rules.end(),
                     [&](const Rule& r) { return matches(r, labels); });
}

}  // namespace obsgate::filters
