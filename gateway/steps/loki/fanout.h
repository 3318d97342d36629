// The default UpstreamFetcher of the loki step: sends an UpstreamCall to the route's upstream
// over gateway/client (one connection per call, the upstream's TLS settings,
// server.timeouts.upstream_response as the whole-exchange deadline, the response body capped at
// server.limits.max_buffered_body_bytes).
//
// filter_detected() is the pure response filter for detected_labels / detected_fields: entries
// of the array under `key` whose "label" is hidden are removed (Unavailable for a body that is
// not an object with that array).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "gateway/steps/loki/loki.h"

namespace obsgate::gateway::loki_api {

UpstreamFetcher upstream_fetcher();

Result<std::string> filter_detected(std::string_view body, std::string_view key,
                                    const std::vector<std::string>& hidden);

}  // namespace obsgate::gateway::loki_api
