// A request of a step's own to the route's upstream (the loki fan-out, the prometheus metadata
// names lookup), prepared the way the session would reach that upstream: its base URL (scheme,
// host, port, base path), its TLS settings (CA, client certificate, SNI name), and
// server.timeouts.upstream_response as the whole-exchange deadline. The caller sets the
// method, headers, body and body cap, then sends it with client::fetch().
// Internal when the route has no upstream; a TLS context error names the file. Pure apart from
// reading the TLS files named in the config.
#pragma once

#include <string_view>

#include "common/status.h"
#include "gateway/client/http_client.h"

namespace obsgate::config {
struct Config;
struct Route;
}  // namespace obsgate::config

namespace obsgate::gateway::query_api {

// `target`: the path below the upstream's base path, with its query ("/api/v1/x?a=b").
Result<client::ClientRequest> upstream_request(const config::Config& cfg,
                                               const config::Route& route,
                                               std::string_view target);

}  // namespace obsgate::gateway::query_api
