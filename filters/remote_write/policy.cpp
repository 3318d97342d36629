// Policy compilation (config-load time) and the small helpers shared with the enforcement walk.
#include <algorithm>

#include "filters/remote_write/compiled_policy.h"
#include "filters/remote_write/wire.h"

namespace obsgate::filters::remote_write {
namespace {

constexpr std::string_view kMetricName = "__name__";

Status limits_valid(const Limits& l) {
  if (Status s = filters::limits_positive({
          {"max_compressed_bytes", l.max_compressed_bytes},
          {"max_uncompressed_bytes", l.max_uncompressed_bytes},
          {"max_series", l.max_series},
          {"max_samples", l.max_samples},
          {"max_labels_per_series", l.max_labels_per_series},
          {"max_label_name_bytes", l.max_label_name_bytes},
          {"max_label_value_bytes", l.max_label_value_bytes},
          {"max_violations", l.max_violations},  // reject mode reports violations.front()
      });
      !s.ok()) {
    return s;
  }
  // libprotobuf refuses messages of 2 GiB and more; so must we, for the output to re-parse.
  if (l.max_uncompressed_bytes >= (size_t{1} << 31)) {
    return Status::invalid_argument("limits.max_uncompressed_bytes: must be < 2 GiB");
  }
  return {};
}

void append_escaped(std::string& out, std::string_view v) {
  const bool utf8 = wire::valid_utf8(v);
  static constexpr char kHex[] = "0123456789abcdef";
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8)) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
}

std::string render_rule(const filters::CompiledRule& rule) {
  std::string s = "{";
  for (size_t i = 0; i < rule.size(); ++i) {
    if (i > 0) {
      s += ", ";
    }
    s += rule[i].name;
    s += filters::match_op_string(rule[i].op);
    s += '"';
    append_escaped(s, rule[i].value);
    s += '"';
  }
  s += '}';
  return s;
}

std::string_view value_of(const std::vector<LabelRef>& labels, std::string_view name) {
  for (const LabelRef& l : labels) {
    if (l.name == name) {
      return l.value;
    }
  }
  return {};
}

}  // namespace

bool Enforcer::Impl::in_scope(const std::vector<LabelRef>& labels) const {
  if (rules.empty()) {
    return true;
  }
  // The label set as forwarded: the tenant label is stamped when absent.
  auto value = [&](std::string_view name) {
    std::string_view v = value_of(labels, name);
    if (v.empty() && !policy.tenant_label.empty() && name == policy.tenant_label) {
      v = policy.tenant_value;
    }
    return v;
  };
  return std::any_of(rules.begin(), rules.end(), [&](const filters::CompiledRule& rule) {
    return filters::rule_matches(rule, value);
  });
}

Result<std::shared_ptr<const Enforcer::Impl>> compile_policy(WritePolicy policy) {
  auto impl = std::make_shared<Enforcer::Impl>();
  if (Status s = limits_valid(policy.limits); !s.ok()) {
    return s;
  }
  const Limits& lim = policy.limits;
  if (!policy.tenant_label.empty()) {
    if (policy.tenant_value.empty()) {
      return Status::invalid_argument("tenant_value: required when tenant_label ('" +
                                      policy.tenant_label + "') is set");
    }
    if (policy.tenant_label == kMetricName) {
      return Status::invalid_argument("tenant_label: '__name__' cannot be the tenant label");
    }
    if (!wire::valid_utf8(policy.tenant_label) || !wire::valid_utf8(policy.tenant_value)) {
      return Status::invalid_argument("tenant_label/tenant_value: not valid UTF-8");
    }
    if (policy.tenant_label.size() > lim.max_label_name_bytes ||
        policy.tenant_value.size() > lim.max_label_value_bytes) {
      return Status::invalid_argument("tenant_label/tenant_value: longer than the label limits");
    }
    std::string label;
    wire::put_len_field(label, 1, policy.tenant_label);
    wire::put_len_field(label, 2, policy.tenant_value);
    wire::put_len_field(impl->stamp, 1, label);
  } else if (!policy.tenant_value.empty()) {
    return Status::invalid_argument("tenant_value: set ('" + policy.tenant_value +
                                    "') without a tenant_label");
  }

  for (size_t i = 0; i < policy.forbidden_labels.size(); ++i) {
    const std::string& f = policy.forbidden_labels[i];
    const std::string where = "forbidden_labels[" + std::to_string(i) + "]";
    if (f.empty()) {
      return Status::invalid_argument(where + ": empty label name");
    }
    if (f == kMetricName || f == policy.tenant_label) {
      return Status::invalid_argument(where + ": '" + f + "' cannot be forbidden");
    }
    impl->forbidden.push_back(f);
  }
  filters::sort_unique(impl->forbidden);
  for (const std::string& f : impl->forbidden) {
    const auto c = static_cast<uint8_t>(f[0]);
    impl->forbidden_first[c >> 6] |= uint64_t{1} << (c & 63);
  }

  for (size_t i = 0; i < policy.write_scope.size(); ++i) {
    auto compiled =
        filters::compile_rule(policy.write_scope[i], "write_scope[" + std::to_string(i) + "]");
    if (!compiled.ok()) {
      return compiled.status();
    }
    if (!impl->scope_text.empty()) {
      impl->scope_text += " or ";
    }
    impl->scope_text += render_rule(*compiled);
    impl->rules.push_back(std::move(compiled).value());
  }
  impl->policy = std::move(policy);
  return std::shared_ptr<const Enforcer::Impl>(std::move(impl));
}

std::string render_series(const std::vector<LabelRef>& labels, size_t max_bytes) {
  std::string s = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    if (s.size() > max_bytes) {
      s += ", ...";
      break;
    }
    if (i > 0) {
      s += ", ";
    }
    append_escaped(s, labels[i].name);
    s += "=\"";
    append_escaped(s, labels[i].value.substr(0, max_bytes));
    s += '"';
  }
  s += '}';
  return s;
}

std::string_view reason_name(Reason r) noexcept {
  switch (r) {
    case Reason::kInvalidLabels: return "invalid_labels";
    case Reason::kLimit: return "limit";
    case Reason::kMissingName: return "missing_name";
    case Reason::kTenantMismatch: return "tenant_mismatch";
    case Reason::kForbiddenLabel: return "forbidden_label";
    case Reason::kSchema: return "schema";
    case Reason::kOutOfScope: return "out_of_scope";
  }
  return "unknown";
}

Status Outcome::status() const {
  if (!rejected || violations.empty()) {
    return {};
  }
  const Violation& v = violations.front();
  std::string msg = "remote_write_denied{" + std::string(reason_name(v.reason)) + "}: series " +
                    v.series + ": " + v.detail;
  switch (v.reason) {
    case Reason::kInvalidLabels:
    case Reason::kLimit:
    case Reason::kMissingName:
      return Status::invalid_argument(std::move(msg));  // the data is wrong, whoever sends it
    case Reason::kTenantMismatch:
    case Reason::kForbiddenLabel:
    case Reason::kSchema:
    case Reason::kOutOfScope:
      break;
  }
  return Status::permission_denied(std::move(msg));  // this writer may not write it
}

}  // namespace obsgate::filters::remote_write
