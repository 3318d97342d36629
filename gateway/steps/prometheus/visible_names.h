// The default VisibleNamesFetcher of the prometheus step: asks the route's upstream for
// /api/v1/label/__name__/values with the scope's match[] selectors, over gateway/client (one
// connection per call, the upstream's TLS settings, server.timeouts.upstream_response as the
// whole-exchange deadline, a 16 MiB body cap). Used for /api/v1/metadata only.
#pragma once

#include "gateway/steps/prometheus/prometheus.h"

namespace obsgate::gateway::prom_api {

VisibleNamesFetcher upstream_visible_names();

// Parses a Prometheus label-values response {"status":"success","data":["a","b"]} (pure;
// Unavailable for anything else).
Result<std::set<std::string>> parse_label_values(std::string_view body);

}  // namespace obsgate::gateway::prom_api
