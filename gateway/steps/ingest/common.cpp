#include "gateway/steps/ingest/common.h"

#include <prometheus/registry.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "config/config.h"
#include "gateway/steps/services.h"

namespace obsgate::gateway::ingest {

namespace {

std::string_view module_of(Api api) {
  return api == Api::kRemoteWrite ? "remote_write" : "loki_push";
}

void record_denial(Request& r, std::string_view reason) {
  r.decision.recorded = true;
  r.decision.allow = false;
  r.decision.reason = std::string(reason);
}

}  // namespace

Result<std::shared_ptr<Common>> Common::build(const config::Config& cfg,
                                              const config::Route& route, Services& services,
                                              Api api) {
  const std::string where =
      "route '" + route.name + "': enforcer '" + std::string(module_of(api)) + "': ";
  if (route.auth != config::AuthMode::kRequired) {
    return Status::invalid_argument(where + "needs auth: required (the write tenant comes from "
                                            "the principal)");
  }
  auto c = std::make_shared<Common>();
  c->api = api;
  if (const config::Upstream* up = cfg.find_upstream(route.upstream); up != nullptr) {
    c->upstream = *up;
    if (!up->tenant_header.empty()) {
      for (const config::Tenant& t : cfg.tenants.tenants) {  // a bad mapping fails the load
        if (!t.write) {
          continue;
        }
        if (auto v = tenant_header_value(*up, t.name); !v.ok()) {
          return Status::invalid_argument(where + v.status().message());
        }
      }
    }
  }
  auto policy = authz::Policy::compile(cfg.tenants);
  if (!policy.ok()) {
    return Status::invalid_argument(where + policy.status().message());
  }
  c->policy = std::move(policy).value();
  try {  // prometheus-cpp reports registry conflicts by throwing; this is load time
    ::prometheus::Registry* reg = services.registry;
    if (reg == nullptr) {
      c->own_registry = std::make_shared<::prometheus::Registry>();
      reg = c->own_registry.get();
    }
    c->metrics = std::make_unique<IngestMetrics>(*reg);
  } catch (const std::exception& ex) {
    return Status::internal(where + "metrics: " + ex.what());
  }
  return c;
}

Action respond(Request& r, Api api, unsigned status, std::string message,
               std::string_view reason) {
  r.reply = StepReply{};
  r.reply.status = status;
  r.reply.message = std::move(message);
  r.reply.reason = std::string(module_of(api)) + "_denied{" + std::string(reason) + "}";
  return Action::kRespond;
}

std::optional<authz::WriteAccess> resolve_tenant(Request& r, const Common& c) {
  if (!r.authenticated) {
    // The chain puts authentication first, so this is a wiring bug: fail closed with a 500
    // (a 401 would need the authn step's WWW-Authenticate challenge, RFC 6750 section 3).
    record_denial(r, "chain_misconfigured");
    respond(r, c.api, 500, "the route has no authentication step", "chain_misconfigured");
    return std::nullopt;
  }
  if (r.tenant_repeated) {
    record_denial(r, "tenant_header_repeated");
    respond(r, c.api, 400, "the X-Obsgate-Tenant header may be given once",
            "tenant_header_repeated");
    return std::nullopt;
  }
  std::optional<std::string_view> header;
  if (!r.tenant.empty()) {
    header = r.tenant;
  }
  auto access = c.policy->write(r.principal, header);
  if (!access.ok()) {
    const bool ambiguous = access.status().code() == Code::kInvalidArgument;
    const std::string_view reason = ambiguous ? "tenant_ambiguous"
                                    : header  ? "tenant_header"
                                              : "no_write_policy";
    record_denial(r, reason);
    respond(r, c.api, ambiguous ? 400 : 403, access.status().message(), reason);
    return std::nullopt;
  }
  return std::move(access).value();
}

Result<std::string> tenant_header_value(const config::Upstream& up, const std::string& tenant) {
  auto it = std::find_if(up.tenant_ids.begin(), up.tenant_ids.end(),
                         [&](const auto& kv) { return kv.first == tenant; });
  std::string id = it == up.tenant_ids.end() ? tenant : it->second;
  // One tenant per write: Loki's and Mimir's multi-tenant form `a|b` is for reads only.
  if (id.empty() || id.find('|') != std::string::npos) {
    return Status::invalid_argument("tenant '" + tenant + "' has no usable " + up.tenant_header +
                                    " value");
  }
  return id;
}

bool set_tenant_header(Request& r, const Common& c, const std::string& tenant) {
  if (!c.upstream || c.upstream->tenant_header.empty()) {
    return true;
  }
  auto v = tenant_header_value(*c.upstream, tenant);
  if (!v.ok()) {  // checked at load for every tenant with a write section
    record_denial(r, "tenant_header_value");
    respond(r, c.api, 500, v.status().message(), "tenant_header_value");
    return false;
  }
  r.head.set(c.upstream->tenant_header, *v);
  return true;
}

unsigned http_status(const Status& s) noexcept {
  switch (s.code()) {
    case Code::kInvalidArgument: return 400;
    case Code::kPermissionDenied: return 403;
    case Code::kResourceExhausted: return 413;
    default: return 500;
  }
}

std::string_view denied_reason(std::string_view message) noexcept {
  const size_t open = message.find("_denied{");
  if (open == std::string_view::npos) {
    return {};
  }
  const size_t start = open + 8;
  const size_t close = message.find('}', start);
  if (close == std::string_view::npos) {
    return {};
  }
  return message.substr(start, close - start);
}

}  // namespace obsgate::gateway::ingest
