// Every self-metric of the gateway core, declared in one place. Families are registered once
// on the injected registry; handles are looked up at runtime-build time (per route, per
// upstream) so the request path only touches atomics.
//
// Label cardinality is bounded: route names come from config, methods from a fixed set
// ("other" otherwise), codes are HTTP status codes, kinds and results are enums here.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <string_view>

namespace obsgate::gateway {

enum class UpstreamErrorKind { kConnect, kConnectTimeout, kResponseTimeout, kReset, kProtocol, kTls };
std::string_view upstream_error_kind_name(UpstreamErrorKind k) noexcept;

struct GatewayMetrics {
  explicit GatewayMetrics(prometheus::Registry& registry);

  // obsgate_http_requests_total{route, method, code}
  prometheus::Family<prometheus::Counter>& requests;
  // obsgate_http_request_duration_seconds{route, component=total|gateway|upstream}
  prometheus::Family<prometheus::Histogram>& duration;
  // obsgate_upstream_errors_total{upstream, kind}
  prometheus::Family<prometheus::Counter>& upstream_errors;
  // obsgate_upstream_connections_total{upstream, result=new|reused}
  prometheus::Family<prometheus::Counter>& upstream_connections;
  // obsgate_open_connections{listener}
  prometheus::Family<prometheus::Gauge>& open_connections;
  // obsgate_local_replies_total{reason}: requests answered by the gateway itself
  prometheus::Family<prometheus::Counter>& local_replies;
  // obsgate_config_reloads_total{result=success|failure}
  prometheus::Family<prometheus::Counter>& reloads;
  // obsgate_config_last_reload_success (0/1)
  prometheus::Gauge& last_reload_success;
  // obsgate_build_info{version, revision} 1
  prometheus::Family<prometheus::Gauge>& build_info;

  static const prometheus::Histogram::BucketBoundaries& latency_buckets();
};

}  // namespace obsgate::gateway
