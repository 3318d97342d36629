#include "gateway/core/metrics.h"

namespace obsgate::gateway {

std::string_view upstream_error_kind_name(UpstreamErrorKind k) noexcept {
  switch (k) {
    case UpstreamErrorKind::kConnect: return "connect";
    case UpstreamErrorKind::kConnectTimeout: return "connect_timeout";
    case UpstreamErrorKind::kResponseTimeout: return "response_timeout";
    case UpstreamErrorKind::kReset: return "reset";
    case UpstreamErrorKind::kProtocol: return "protocol";
    case UpstreamErrorKind::kTls: return "tls";
  }
  return "protocol";
}

const prometheus::Histogram::BucketBoundaries& GatewayMetrics::latency_buckets() {
  static const prometheus::Histogram::BucketBoundaries kBuckets = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10,   30};
  return kBuckets;
}

GatewayMetrics::GatewayMetrics(prometheus::Registry& r)
    : requests(prometheus::BuildCounter()
                   .Name("obsgate_http_requests_total")
                   .Help("HTTP requests answered, by route, method and status code.")
                   .Register(r)),
      duration(prometheus::BuildHistogram()
                   .Name("obsgate_http_request_duration_seconds")
                   .Help("Request latency by route; component=upstream is time spent waiting "
                         "on the backend, component=gateway the rest.")
                   .Register(r)),
      upstream_errors(prometheus::BuildCounter()
                          .Name("obsgate_upstream_errors_total")
                          .Help("Failed exchanges with upstreams, by kind.")
                          .Register(r)),
      upstream_connections(prometheus::BuildCounter()
                               .Name("obsgate_upstream_connections_total")
                               .Help("Upstream connections used, new or reused from the pool.")
                               .Register(r)),
      open_connections(prometheus::BuildGauge()
                           .Name("obsgate_open_connections")
                           .Help("Client connections currently open, by listener.")
                           .Register(r)),
      local_replies(prometheus::BuildCounter()
                        .Name("obsgate_local_replies_total")
                        .Help("Requests answered by obsgate itself instead of a backend, by "
                              "reason.")
                        .Register(r)),
      reloads(prometheus::BuildCounter()
                  .Name("obsgate_config_reloads_total")
                  .Help("Configuration reloads, by result.")
                  .Register(r)),
      last_reload_success(prometheus::BuildGauge()
                              .Name("obsgate_config_last_reload_success")
                              .Help("1 if the last configuration reload succeeded.")
                              .Register(r)
                              .Add({})),
      build_info(prometheus::BuildGauge()
                     .Name("obsgate_build_info")
                     .Help("Build information; always 1.")
                     .Register(r)) {
  last_reload_success.Set(1);
  // Exported as 0 from start-up, so alerts on failures have a series before the first reload.
  reloads.Add({{"result", "success"}});
  reloads.Add({{"result", "failure"}});
}

}  // namespace obsgate::gateway
