// The per-stream judgement shared by the protobuf and JSON walks: label parsing, the policy's
// rules in a fixed order, entry-level checks, and the bookkeeping of the outcome.
#include <algorithm>

#include "common/utf8.h"
#include "filters/logql/logql.h"
#include "filters/loki_push/internal.h"

namespace obsgate::filters::loki_push::detail {
namespace {

constexpr size_t kMessageCap = 1024;

std::string quoted(std::string_view s) {
  logql::Selector one;
  one.matchers.push_back({"x", filters::MatchOp::kEq, {std::string(s.substr(0, 256)), false}});
  std::string out;
  logql::put_selector(out, one);  // {x="..."}: reuse the LogQL quoting, then unwrap it
  return out.substr(3, out.size() - 4);
}

std::string_view value_of(const Labels& sorted, std::string_view name) {
  for (const logql::LabelMatcher& m : sorted.matchers) {
    if (m.name == name) {
      return m.value.value;
    }
  }
  return {};
}

bool matches_rule(const CompiledRule& rule, const Labels& labels) {
  // A missing label reads as "".
  return filters::rule_matches(rule, [&](std::string_view name) { return value_of(labels, name); });
}

void add(Counts& into, const Counts& c) {
  into.streams += c.streams;
  into.entries += c.entries;
  into.line_bytes += c.line_bytes;
}

}  // namespace

bool valid_label_name(std::string_view name) {
  if (name.empty()) {
    return false;
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!letter && (i == 0 || c < '0' || c > '9')) {
      return false;
    }
  }
  return true;
}

bool parse_label_string(std::string_view text, Labels& out, std::string& error) {
  std::string_view t = text;
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t' || t.front() == '\n')) {
    t.remove_prefix(1);
  }
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\n')) {
    t.remove_suffix(1);
  }
  if (t.size() < 2 || t.front() != '{' || t.back() != '}') {
    error = "labels are not a {...} label set";
    return false;
  }
  auto parsed = logql::parse(t);
  if (!parsed.ok()) {
    const Status st = parsed.status();  // by value: status() returns a copy
    const std::string& m = st.message();
    // The LogQL rule "at least one matcher that does not match the empty string" is, for a
    // label set, "no label with a value", which is what Loki says about it.
    error = m.find("empty-compatible") != std::string::npos
                ? "stream has no labels: only = matchers with a value count"
                : "labels do not parse: " + m;
    return false;
  }
  auto* q = std::get_if<logql::LogQuery>(&parsed.value()->node);
  if (q == nullptr || !q->pipeline.empty()) {
    error = "labels are not a {...} label set";
    return false;
  }
  for (const logql::LabelMatcher& m : q->selector.matchers) {
    if (m.op != filters::MatchOp::kEq) {
      error = "only = is allowed in stream labels, got " + m.name +
              std::string(filters::match_op_string(m.op)) + quoted(m.value.value);
      return false;
    }
  }
  out = std::move(q->selector);
  for (logql::LabelMatcher& m : out.matchers) {
    m.value.raw = false;  // re-rendered with Go quoting, never as a raw string
  }
  return true;
}

Verdict judge_labels(const Enforcer::Impl& p, const Labels& received, Labels& fwd) {
  const PushPolicy& pol = p.policy;
  const Limits& lim = pol.limits;
  fwd.matchers.clear();
  fwd.matchers.reserve(received.matchers.size() + 1);
  for (const logql::LabelMatcher& m : received.matchers) {
    if (m.name.empty()) {
      return fail(Reason::kInvalidLabels, "empty label name");
    }
    if (!valid_label_name(m.name)) {
      return fail(Reason::kInvalidLabels, "label name " + quoted(m.name) +
                                              " is not a valid label name");
    }
    fwd.matchers.push_back(m);
  }
  std::sort(fwd.matchers.begin(), fwd.matchers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (size_t i = 1; i < fwd.matchers.size(); ++i) {
    if (fwd.matchers[i - 1].name == fwd.matchers[i].name) {
      return fail(Reason::kInvalidLabels, "duplicate label name " + fwd.matchers[i].name);
    }
  }
  // Loki drops labels with an empty value: an empty value and an absent label are the same.
  std::erase_if(fwd.matchers, [](const auto& m) { return m.value.value.empty(); });
  if (fwd.matchers.empty()) {
    return fail(Reason::kInvalidLabels, "stream has no labels");
  }
  for (const logql::LabelMatcher& m : fwd.matchers) {
    if (m.name.size() > lim.max_label_name_bytes) {
      return fail(Reason::kLimit, "label name longer than " +
                                      std::to_string(lim.max_label_name_bytes) + " bytes");
    }
    if (m.value.value.size() > lim.max_label_value_bytes) {
      return fail(Reason::kLimit, "value of label " + m.name + " longer than " +
                                      std::to_string(lim.max_label_value_bytes) + " bytes");
    }
  }
  if (!pol.tenant_label.empty()) {
    auto it = std::lower_bound(fwd.matchers.begin(), fwd.matchers.end(), pol.tenant_label,
                               [](const auto& m, const std::string& n) { return m.name < n; });
    if (it == fwd.matchers.end() || it->name != pol.tenant_label) {
      fwd.matchers.insert(it, {pol.tenant_label, filters::MatchOp::kEq, {pol.tenant_value, false}});
    } else if (it->value.value != pol.tenant_value) {
      return fail(Reason::kTenantMismatch, "label " + pol.tenant_label + "=" +
                                               quoted(it->value.value) + " is not your tenant " +
                                               quoted(pol.tenant_value));
    }
  }
  if (fwd.matchers.size() > lim.max_labels_per_stream) {
    return fail(Reason::kLimit, std::to_string(fwd.matchers.size()) +
                                    " labels, more than the limit of " +
                                    std::to_string(lim.max_labels_per_stream));
  }
  for (const logql::LabelMatcher& m : fwd.matchers) {
    if (p.is_forbidden(m.name)) {
      return fail(Reason::kForbiddenLabel, "label " + m.name + " is forbidden");
    }
  }
  if (!pol.may_write_audit) {
    for (size_t i = 0; i < p.audit_rules.size(); ++i) {
      if (matches_rule(p.audit_rules[i], fwd)) {
        return fail(Reason::kAuditStream, "matches the audit streams " + p.audit_text[i] +
                                              ", which only the audit shipper may write");
      }
    }
  }
  if (!pol.write_scope.unrestricted) {
    const bool in_scope = std::any_of(p.scope_rules.begin(), p.scope_rules.end(),
                                      [&](const CompiledRule& r) { return matches_rule(r, fwd); });
    if (!in_scope) {
      return fail(Reason::kOutOfScope, p.scope_rules.empty()
                                           ? "the write scope grants no streams"
                                           : "matches no write scope rule: " + p.scope_text);
    }
  }
  return {};
}

void EntryChecker::line(size_t bytes) {
  ++index_;
  if (issue_.ok && bytes > p_.policy.limits.max_line_bytes) {
    issue_ = fail(Reason::kLimit, "entry " + std::to_string(index_) + ": line of " +
                                      std::to_string(bytes) + " bytes exceeds the limit of " +
                                      std::to_string(p_.policy.limits.max_line_bytes));
  }
}

void EntryChecker::metadata_name(std::string_view name) {
  if (!issue_.ok) {
    return;
  }
  auto at = [&] { return "entry " + std::to_string(index_) + ": structured metadata "; };
  if (name.empty()) {
    issue_ = fail(Reason::kInvalidLabels, at() + "with an empty name");
  } else if (!valid_utf8(name)) {
    issue_ = fail(Reason::kInvalidLabels, at() + "name is not valid UTF-8");
  } else if (name == p_.policy.tenant_label) {
    issue_ = fail(Reason::kTenantMismatch,
                  at() + std::string(name) + " would shadow the tenant label");
  } else if (p_.is_forbidden(name)) {
    issue_ = fail(Reason::kForbiddenLabel, at() + std::string(name) + " is forbidden");
  }
}

void EntryChecker::metadata_count(size_t pairs) {
  const size_t limit = p_.policy.limits.max_structured_metadata_pairs;
  if (issue_.ok && pairs > limit) {
    issue_ = fail(Reason::kLimit, "entry " + std::to_string(index_) + ": " +
                                      std::to_string(pairs) +
                                      " structured metadata pairs, more than the limit of " +
                                      std::to_string(limit));
  }
}

std::string render_for_message(const Labels& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.matchers.size(); ++i) {
    if (out.size() > kMessageCap) {
      out += ", ...";
      break;
    }
    if (i > 0) {
      out += ", ";
    }
    const logql::LabelMatcher& m = labels.matchers[i];
    out += valid_label_name(m.name) ? m.name : quoted(m.name);
    out += '=';
    out += quoted(m.value.value);
  }
  out += '}';
  return out;
}

bool record(const Enforcer::Impl& p, Outcome& out, const Verdict& v, const Counts& c,
            const Labels& received, std::string_view raw_labels) {
  if (v.ok) {
    add(out.accepted, c);
    return true;
  }
  ++out.violations_total;
  add(out.dropped[static_cast<size_t>(v.reason)], c);
  if (out.violations.size() < p.policy.limits.max_violations) {
    std::string shown;
    if (raw_labels.empty()) {
      shown = render_for_message(received);
    } else if (raw_labels.size() <= kMessageCap && valid_utf8(raw_labels)) {
      shown.assign(raw_labels);
    } else {
      shown = quoted(raw_labels.substr(0, kMessageCap));
    }
    out.violations.push_back({v.reason, std::move(shown), v.detail});
  }
  if (p.policy.on_violation == PushPolicy::OnViolation::kReject) {
    out.rejected = true;
    out.body.clear();
    return false;
  }
  return true;
}

}  // namespace obsgate::filters::loki_push::detail
