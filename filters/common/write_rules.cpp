#include "filters/common/write_rules.h"

#include <re2/re2.h>

#include <algorithm>

namespace obsgate::filters {

CompiledMatcher::CompiledMatcher(std::string n, MatchOp o, std::string v)
    : name(std::move(n)), op(o), value(std::move(v)) {}
CompiledMatcher::CompiledMatcher(CompiledMatcher&&) noexcept = default;
CompiledMatcher& CompiledMatcher::operator=(CompiledMatcher&&) noexcept = default;
CompiledMatcher::~CompiledMatcher() = default;

bool CompiledMatcher::regex_matches(std::string_view v) const {
  // The pattern is anchored at compile time; FullMatch anchors again, at no cost.
  return RE2::FullMatch(v, *re);
}

Result<CompiledRule> compile_rule(const Rule& rule, const std::string& where) {
  if (rule.empty()) {
    return Status::invalid_argument(where + ": a rule needs at least one matcher");
  }
  CompiledRule compiled;
  compiled.reserve(rule.size());
  for (size_t j = 0; j < rule.size(); ++j) {
    const Matcher& m = rule[j];
    const std::string at = where + "[" + std::to_string(j) + "]";
    if (m.name.empty()) {
      return Status::invalid_argument(at + ": matcher has an empty label name");
    }
    CompiledMatcher cm(m.name, m.op, m.value);
    if (m.op == MatchOp::kRe || m.op == MatchOp::kNre) {
      RE2::Options opts;
      opts.set_log_errors(false);
      cm.re = std::make_unique<RE2>("^(?:" + m.value + ")$", opts);
      if (!cm.re->ok()) {
        return Status::invalid_argument(at + " (" + m.name + "): invalid RE2 pattern '" +
                                        m.value + "': " + cm.re->error());
      }
    }
    compiled.push_back(std::move(cm));
  }
  return compiled;
}

Status limits_positive(const std::vector<std::pair<const char*, std::size_t>>& fields) {
  for (const auto& [name, v] : fields) {
    if (v == 0) {
      return Status::invalid_argument(std::string("limits.") + name + ": must be > 0");
    }
  }
  return {};
}

void sort_unique(std::vector<std::string>& names) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
}

}  // namespace obsgate::filters
