#include "authz/policy/policy.h"

#include <algorithm>

namespace obsgate::authz {

namespace rw = filters::remote_write;

struct Policy::Compiled {
  std::string name;
  std::optional<filters::Scope> metrics;
  std::optional<filters::Scope> logs;
  std::optional<rw::Enforcer> write;
};

namespace {

// A client-chosen value quoted back in an error: printable ASCII only (others become '?'), at
// most 64 bytes, so a reply or a log line can't carry control bytes or an unbounded header.
std::string printable(std::string_view v) {
  constexpr size_t kMax = 64;
  std::string out;
  for (size_t i = 0; i < v.size() && i < kMax; ++i) {
    const char c = v[i];
    out += (c >= 0x20 && c < 0x7F) ? c : '?';
  }
  if (v.size() > kMax) {
    out += "...";
  }
  return out;
}

bool any_role_in(const Principal& p, const std::vector<std::string>& sorted_roles) {
  return std::any_of(p.roles.begin(), p.roles.end(), [&](const std::string& r) {
    return std::binary_search(sorted_roles.begin(), sorted_roles.end(), r);
  });
}

bool has_tenant(const Principal& p, std::string_view tenant) {
  return std::find(p.tenants.begin(), p.tenants.end(), tenant) != p.tenants.end();
}

filters::Scope to_scope(const config::ReadScope& s) {
  filters::Scope out;
  out.rules = s.rules;
  out.hidden_labels = s.hidden_labels;
  std::sort(out.hidden_labels.begin(), out.hidden_labels.end());
  out.hidden_labels.erase(std::unique(out.hidden_labels.begin(), out.hidden_labels.end()),
                          out.hidden_labels.end());
  return out;
}

std::string signal_name(bool metrics) { return metrics ? "metrics" : "logs"; }

}  // namespace

Policy::Policy() = default;
Policy::~Policy() = default;

Result<PolicyPtr> Policy::compile(const config::TenantsConfig& cfg) {
  std::shared_ptr<Policy> p(new Policy());
  p->unrestricted_scope_.unrestricted = true;
  for (const config::Tenant& t : cfg.tenants) {
    Compiled c;
    c.name = t.name;
    if (t.metrics) {
      if (t.metrics->rules.empty()) {
        return Status::invalid_argument("tenant '" + t.name + "': metrics has no rules");
      }
      c.metrics = to_scope(*t.metrics);
    }
    if (t.logs) {
      if (t.logs->rules.empty()) {
        return Status::invalid_argument("tenant '" + t.name + "': logs has no rules");
      }
      c.logs = to_scope(*t.logs);
      filters::logql::LogsPolicy probe{*c.logs, cfg.audit.streams, false};
      if (Status st = filters::logql::validate(probe); !st.ok()) {
        return Status::invalid_argument("tenant '" + t.name + "': logs: " + st.message());
      }
    }
    if (t.write) {
      auto e = rw::Enforcer::create(t.write->policy);
      if (!e.ok()) {
        return Status::invalid_argument("tenant '" + t.name + "': write: " +
                                        e.status().message());
      }
      c.write.emplace(std::move(e).value());
    }
    p->tenants_.push_back(std::move(c));
  }
  std::sort(p->tenants_.begin(), p->tenants_.end(),
            [](const Compiled& a, const Compiled& b) { return a.name < b.name; });
  for (size_t i = 1; i < p->tenants_.size(); ++i) {
    if (p->tenants_[i - 1].name == p->tenants_[i].name) {
      return Status::invalid_argument("duplicate tenant '" + p->tenants_[i].name + "'");
    }
  }
  p->unrestricted_roles_ = cfg.unrestricted_roles;
  std::sort(p->unrestricted_roles_.begin(), p->unrestricted_roles_.end());
  p->auditor_roles_ = cfg.audit.auditor_roles;
  std::sort(p->auditor_roles_.begin(), p->auditor_roles_.end());
  p->audit_streams_ = cfg.audit.streams;
  p->shipper_ = cfg.audit.shipper;
  return PolicyPtr(std::move(p));
}

const Policy::Compiled* Policy::find(std::string_view tenant) const {
  auto it = std::lower_bound(tenants_.begin(), tenants_.end(), tenant,
                             [](const Compiled& c, std::string_view n) { return c.name < n; });
  return (it != tenants_.end() && it->name == tenant) ? &*it : nullptr;
}

bool Policy::is_unrestricted(const Principal& p) const {
  return any_role_in(p, unrestricted_roles_);
}

bool Policy::is_auditor(const Principal& p) const { return any_role_in(p, auditor_roles_); }

bool Policy::is_audit_shipper(const Principal& p) const {
  if (!shipper_) {
    return false;
  }
  const config::AuditShipper& s = *shipper_;
  if (!s.issuer.empty() && s.issuer != p.issuer) {
    return false;
  }
  if (!s.subject.empty() && s.subject != p.subject) {
    return false;
  }
  if (!s.cert_identity.empty() && s.cert_identity != p.cert_identity) {
    return false;
  }
  return !s.subject.empty() || !s.cert_identity.empty();  // never match on nothing
}

// `tenants`, when given, receives the tenants whose rules make the scope.
Result<MetricsScopeRef> Policy::read(Signal s, const Principal& p,
                                     std::optional<std::string_view> header,
                                     std::vector<std::string>* tenants) const {
  const bool metrics = s == Signal::kMetrics;
  auto section = [&](const Compiled& c) -> const filters::Scope* {
    const auto& o = metrics ? c.metrics : c.logs;
    return o ? &*o : nullptr;
  };
  const bool unrestricted = is_unrestricted(p);
  MetricsScopeRef out;
  if (header) {
    const Compiled* c = find(*header);
    if (c == nullptr || (!unrestricted && !has_tenant(p, *header))) {
      return Status::permission_denied("the " + std::string(kTenantHeader) +
                                       " header names a tenant this principal does not belong "
                                       "to");
    }
    const filters::Scope* scope = section(*c);
    if (scope == nullptr) {
      return Status::permission_denied("tenant '" + c->name + "' has no " + signal_name(metrics) +
                                       " scope");
    }
    out.scope = scope;
    if (tenants != nullptr) {
      tenants->push_back(c->name);
    }
    return out;
  }
  if (unrestricted) {
    out.scope = &unrestricted_scope_;
    return out;
  }
  // Most principals have one tenant: no vector for them.
  const filters::Scope* first = nullptr;
  std::vector<const filters::Scope*> scopes;
  for (const std::string& t : p.tenants) {
    if (const Compiled* c = find(t); c != nullptr) {
      if (const filters::Scope* scope = section(*c); scope != nullptr) {
        if (first == nullptr) {
          first = scope;
        } else {
          if (scopes.empty()) {
            scopes.push_back(first);
          }
          scopes.push_back(scope);
        }
        if (tenants != nullptr) {
          tenants->push_back(c->name);
        }
      }
    }
  }
  if (first == nullptr) {
    return Status::permission_denied("no " + signal_name(metrics) +
                                     " scope is configured for this principal's tenants");
  }
  if (scopes.empty()) {
    out.scope = first;
    return out;
  }
  out.owned = std::make_shared<const filters::Scope>(filters::union_of(scopes));
  out.scope = out.owned.get();
  return out;
}

Result<MetricsAccess> Policy::metrics(const Principal& p,
                                      std::optional<std::string_view> tenant_header) const {
  MetricsAccess out;
  auto r = read(Signal::kMetrics, p, tenant_header, &out.tenants);
  if (!r.ok()) {
    return r.status();
  }
  out.scope = *r->scope;
  return out;
}

Result<MetricsScopeRef> Policy::metrics_scope(
    const Principal& p, std::optional<std::string_view> tenant_header) const {
  return read(Signal::kMetrics, p, tenant_header, nullptr);
}

Result<LogsAccess> Policy::logs(const Principal& p,
                                std::optional<std::string_view> tenant_header) const {
  LogsAccess out;
  auto r = read(Signal::kLogs, p, tenant_header, &out.tenants);
  if (!r.ok()) {
    return r.status();
  }
  out.policy.scope = *r->scope;
  out.policy.audit_streams = audit_streams_;
  out.policy.auditor = is_auditor(p);
  return out;
}

Result<WriteAccess> Policy::write(const Principal& p,
                                  std::optional<std::string_view> tenant_header) const {
  const bool shipper = is_audit_shipper(p);
  if (tenant_header) {
    // Own tenants only: unrestricted roles are for reads and do not widen this.
    const Compiled* c = has_tenant(p, *tenant_header) ? find(*tenant_header) : nullptr;
    if (c == nullptr) {
      return Status::permission_denied(
          "this principal may not write as tenant '" + printable(*tenant_header) +
          "': it does not belong to it (the " + std::string(kTenantHeader) +
          " header must name one of its own tenants; unrestricted roles do not grant writes)");
    }
    if (!c->write) {
      return Status::permission_denied("tenant '" + c->name + "' has no write policy");
    }
    return WriteAccess{c->name, &*c->write, shipper};
  }
  const Compiled* only = nullptr;
  for (const std::string& t : p.tenants) {
    const Compiled* c = find(t);
    if (c == nullptr || !c->write || c == only) {
      continue;
    }
    if (only != nullptr) {
      return Status::invalid_argument("this principal may write as several tenants ('" +
                                      only->name + "', '" + c->name + "'): name one with the " +
                                      std::string(kTenantHeader) + " header");
    }
    only = c;
  }
  if (only == nullptr) {
    return Status::permission_denied("no write policy is configured for this principal's "
                                     "tenants");
  }
  return WriteAccess{only->name, &*only->write, shipper};
}

}  // namespace obsgate::authz
