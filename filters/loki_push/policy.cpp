// Policy compilation (config-load time), the reason vocabulary, and header detection.
#include <algorithm>

#include "common/utf8.h"
#include "filters/logql/logql.h"
#include "filters/loki_push/internal.h"

namespace obsgate::filters::loki_push {
namespace {

Status limits_valid(const Limits& l) {
  if (Status s = filters::limits_positive({
          {"max_body_bytes", l.max_body_bytes},
          {"max_decompressed_bytes", l.max_decompressed_bytes},
          {"max_streams", l.max_streams},
          {"max_entries", l.max_entries},
          {"max_line_bytes", l.max_line_bytes},
          {"max_labels_per_stream", l.max_labels_per_stream},
          {"max_label_name_bytes", l.max_label_name_bytes},
          {"max_label_value_bytes", l.max_label_value_bytes},
          {"max_structured_metadata_pairs", l.max_structured_metadata_pairs},
          {"max_violations", l.max_violations},  // reject mode reports violations.front()
      });
      !s.ok()) {
    return s;
  }
  // Protobuf messages of 2 GiB and more do not parse anywhere; the output must. zlib and
  // snappy take 32-bit lengths.
  if (l.max_decompressed_bytes >= (size_t{1} << 31)) {
    return Status::invalid_argument("limits.max_decompressed_bytes: must be < 2 GiB");
  }
  if (l.max_body_bytes >= (size_t{1} << 31)) {
    return Status::invalid_argument("limits.max_body_bytes: must be < 2 GiB");
  }
  return {};
}

Result<std::vector<CompiledRule>> compile_rules(const std::vector<filters::Rule>& rules,
                                                const std::string& field, std::string& text,
                                                std::vector<std::string>* each_text) {
  std::vector<CompiledRule> out;
  for (size_t i = 0; i < rules.size(); ++i) {
    auto compiled = filters::compile_rule(rules[i], field + "[" + std::to_string(i) + "]");
    if (!compiled.ok()) {
      return compiled.status();
    }
    logql::Selector shown;
    for (const filters::Matcher& m : rules[i]) {
      shown.matchers.push_back({m.name, m.op, {m.value, false}});
    }
    std::string one;
    logql::put_selector(one, shown);
    if (!text.empty()) {
      text += " or ";
    }
    text += one;
    if (each_text != nullptr) {
      each_text->push_back(std::move(one));
    }
    out.push_back(std::move(compiled).value());
  }
  return out;
}

}  // namespace

bool Enforcer::Impl::is_forbidden(std::string_view name) const {
  return !forbidden.empty() && std::binary_search(forbidden.begin(), forbidden.end(), name);
}

Result<std::shared_ptr<const Enforcer::Impl>> compile_policy(PushPolicy policy) {
  auto impl = std::make_shared<Enforcer::Impl>();
  if (Status s = limits_valid(policy.limits); !s.ok()) {
    return s;
  }
  const Limits& lim = policy.limits;
  if (!policy.tenant_label.empty()) {
    if (!detail::valid_label_name(policy.tenant_label)) {
      return Status::invalid_argument("tenant_label: '" + policy.tenant_label +
                                      "' is not a valid label name");
    }
    if (policy.tenant_value.empty()) {
      return Status::invalid_argument("tenant_value: required when tenant_label ('" +
                                      policy.tenant_label + "') is set");
    }
    if (!valid_utf8(policy.tenant_value)) {
      return Status::invalid_argument("tenant_value: not valid UTF-8");
    }
    if (policy.tenant_label.size() > lim.max_label_name_bytes ||
        policy.tenant_value.size() > lim.max_label_value_bytes) {
      return Status::invalid_argument("tenant_label/tenant_value: longer than the label limits");
    }
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
    if (f == policy.tenant_label) {
      return Status::invalid_argument(where + ": the tenant label '" + f +
                                      "' cannot be forbidden");
    }
    impl->forbidden.push_back(f);
  }
  // Hidden labels are never readable, so nobody may write them either. The tenant label may be
  // hidden from readers while the gateway still stamps it: it is exempt.
  for (const std::string& h : policy.write_scope.hidden_labels) {
    if (!h.empty() && h != policy.tenant_label) {
      impl->forbidden.push_back(h);
    }
  }
  filters::sort_unique(impl->forbidden);

  if (!policy.write_scope.unrestricted) {
    auto rules = compile_rules(policy.write_scope.rules, "write_scope.rules", impl->scope_text,
                               nullptr);
    if (!rules.ok()) {
      return rules.status();
    }
    impl->scope_rules = std::move(rules).value();
  }
  std::string audit_all;
  auto audit = compile_rules(policy.audit_streams, "audit_streams", audit_all, &impl->audit_text);
  if (!audit.ok()) {
    return audit.status();
  }
  impl->audit_rules = std::move(audit).value();
  impl->policy = std::move(policy);
  return std::shared_ptr<const Enforcer::Impl>(std::move(impl));
}

std::string_view reason_name(Reason r) noexcept {
  switch (r) {
    case Reason::kInvalidLabels: return "invalid_labels";
    case Reason::kLimit: return "limit";
    case Reason::kTenantMismatch: return "tenant_mismatch";
    case Reason::kForbiddenLabel: return "forbidden_label";
    case Reason::kAuditStream: return "audit_stream";
    case Reason::kOutOfScope: return "out_of_scope";
  }
  return "unknown";
}

Status Outcome::status() const {
  if (!rejected || violations.empty()) {
    return {};
  }
  const Violation& v = violations.front();
  std::string msg = "loki_push_denied{" + std::string(reason_name(v.reason)) + "}: stream " +
                    v.stream + ": " + v.detail;
  switch (v.reason) {
    case Reason::kInvalidLabels:
    case Reason::kLimit:
      return Status::invalid_argument(std::move(msg));  // the data is wrong, whoever sends it
    case Reason::kTenantMismatch:
    case Reason::kForbiddenLabel:
    case Reason::kAuditStream:
    case Reason::kOutOfScope:
      break;
  }
  return Status::permission_denied(std::move(msg));  // this writer may not write it
}

namespace {

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
  }
  return out;
}

}  // namespace

Result<BodyType> detect_body_type(std::string_view content_type,
                                  std::string_view content_encoding) {
  BodyType t;
  const std::string media = lower_trimmed(content_type.substr(0, content_type.find(';')));
  if (media == "application/json") {
    t.format = Format::kJson;
  } else if (media.empty() || media == "application/x-protobuf") {
    t.format = Format::kProtobuf;
  } else {
    return Status::invalid_argument("loki_push: unsupported Content-Type '" +
                                    std::string(content_type.substr(0, 128)) +
                                    "': send application/x-protobuf or application/json");
  }
  const std::string enc = lower_trimmed(content_encoding);
  if (enc.empty() || enc == "identity" || (enc == "snappy" && t.format == Format::kProtobuf)) {
    t.encoding = Encoding::kIdentity;
  } else if (enc == "gzip") {
    t.encoding = Encoding::kGzip;
  } else {
    return Status::invalid_argument("loki_push: unsupported Content-Encoding '" +
                                    std::string(content_encoding.substr(0, 128)) +
                                    "': send gzip or no encoding");
  }
  return t;
}

}  // namespace obsgate::filters::loki_push
