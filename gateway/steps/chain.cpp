#include "gateway/steps/chain.h"

#include <string>

#include "config/config.h"
#include "gateway/steps/authn/authn.h"
#include "gateway/steps/ingest/ingest.h"
#include "gateway/steps/loki/loki.h"
#include "gateway/steps/openbao/openbao.h"
#include "gateway/steps/prometheus/prometheus.h"

namespace obsgate::gateway {

namespace {

// Each enforcer module adds its case in build_chain(); until then a route naming it fails to
// load, so nothing reaches a backend unenforced.
[[maybe_unused]] Status unavailable(const config::Route& route) {
  return Status::invalid_argument("route '" + route.name + "': enforcer '" +
                                  std::string(config::enforcer_name(route.enforcer)) +
                                  "' is not available in this build");
}

}  // namespace

Result<std::vector<StepFactoryPtr>> build_chain(const config::Config& cfg,
                                                const config::Route& route,
                                                Services& services) {
  std::vector<StepFactoryPtr> chain;
  if (route.auth == config::AuthMode::kRequired) {
    // Authentication runs first: no later step sees a request without a principal.
    auto authn = authn::make_authn_step(cfg, route, services);
    if (!authn.ok()) {
      return authn.status();
    }
    chain.push_back(std::move(authn).value());
  }
  switch (route.enforcer) {
    case config::Enforcer::kNone:
      break;
    case config::Enforcer::kPrometheusQuery: {
      auto step = prom_api::make_prometheus_step(cfg, route, services);
      if (!step.ok()) {
        return step.status();
      }
      chain.push_back(std::move(step).value());
      break;
    }
    case config::Enforcer::kOpenBaoActive:
    case config::Enforcer::kOpenBaoNode:
    case config::Enforcer::kOpenBaoFanout: {
      auto step = openbao::make_openbao_step(cfg, route, services);
      if (!step.ok()) {
        return step.status();
      }
      chain.push_back(std::move(step).value());
      break;
    }
    case config::Enforcer::kLokiQuery:
    case config::Enforcer::kLokiTail: {
      auto step = loki_api::make_loki_step(cfg, route, services);
      if (!step.ok()) {
        return step.status();
      }
      chain.push_back(std::move(step).value());
      break;
    }
    case config::Enforcer::kLokiPush:
    case config::Enforcer::kRemoteWrite: {
      auto step = route.enforcer == config::Enforcer::kRemoteWrite
                      ? ingest::make_remote_write_step(cfg, route, services)
                      : ingest::make_loki_push_step(cfg, route, services);
      if (!step.ok()) {
        return step.status();
      }
      chain.push_back(std::move(step).value());
      break;
    }
  }
  return chain;
}

}  // namespace obsgate::gateway
