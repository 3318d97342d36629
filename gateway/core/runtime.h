// The runtime view of one configuration generation: the route table, per-route and
// per-upstream data the request path needs (TLS contexts, metric handles). Built once per
// (re)load from a validated Config, then shared read-only by every worker thread as
// std::shared_ptr<const Runtime>. A failed build leaves the running generation untouched.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/config.h"
#include "gateway/core/metrics.h"
#include "gateway/routing/router.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway {

struct UpstreamRuntime {
  const config::Upstream* cfg = nullptr;
  std::shared_ptr<boost::asio::ssl::context> ssl;  // https upstreams only
  std::string host_header;                         // "host[:port]" as sent upstream
  std::string sni;                                 // SNI and verified name
  std::string pool_key;                            // identifies compatible pooled connections
  prometheus::Counter* conn_new = nullptr;
  prometheus::Counter* conn_reused = nullptr;
  std::array<prometheus::Counter*, 6> errors{};  // by UpstreamErrorKind
};

struct RouteRuntime {
  const config::Route* cfg = nullptr;
  size_t upstream = 0;  // index into Runtime::upstreams
  std::vector<std::string> allowed_params;  // sorted; ignored if unsafe_any_query_params
  prometheus::Histogram* total = nullptr;
  prometheus::Histogram* gateway = nullptr;
  prometheus::Histogram* upstream_time = nullptr;
  // The route's processing steps (authentication, enforcer), in order; empty = plain proxy.
  std::vector<StepFactoryPtr> steps;
};

// Builds a route's steps; the default is build_chain() (gateway/steps/chain.h). Tests inject
// their own to drive the session with scripted steps.
using ChainBuilder = std::function<Result<std::vector<StepFactoryPtr>>(
    const config::Config&, const config::Route&, Services&)>;

struct Runtime {
  config::ConfigPtr cfg;
  routing::Router router;
  std::vector<UpstreamRuntime> upstreams;
  std::vector<RouteRuntime> routes;
  uint64_t generation = 0;

  // Builds and validates everything that needs more than the YAML schema: route patterns and
  // overlaps (errors cite the route by name), TLS material, each route's step chain.
  static Result<std::shared_ptr<const Runtime>> build(config::ConfigPtr cfg,
                                                       GatewayMetrics& metrics,
                                                       uint64_t generation, Services& services,
                                                       const ChainBuilder& chain = {});

 private:
  explicit Runtime(routing::Router r) : router(std::move(r)) {}
};

using RuntimePtr = std::shared_ptr<const Runtime>;

}  // namespace obsgate::gateway
