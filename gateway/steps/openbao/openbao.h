// The OpenBao metrics steps (issue 7): `enforcer: openbao_active`, `openbao_node` and
// `openbao_fanout`. Each answers locally with what it fetched from the nodes of the `openbao:`
// section (config/openbao.md); the route's own upstream only decides the error format. Nothing
// of the client's request reaches OpenBao: obsgate builds each node request itself, with only
// the token from `token_file` (X-Vault-Token). Who may call a route is the route's `roles:`
// (authentication runs first): metrics readers for the active route, the collector identity
// for the node and fan-out routes.
//
//   openbao_active  GET /v1/sys/metrics (any path): the active node's metrics. The active node
//                   is found by sweeping /v1/sys/health on every node in parallel (200 =
//                   active) and cached for `health_cache`; a failed request to a cached
//                   node forgets it, sweeps again and retries once. Only
//                   format=prometheus (or no format) is accepted: 400 otherwise. Needs
//                   `token_file`.
//   openbao_node    a path with a {node} parameter, e.g. /openbao/nodes/{node}/metrics: that
//                   node's metrics (token unless the node has unauthenticated_metrics);
//                   unknown node -> 404.
//   openbao_fanout  e.g. /openbao/nodes/metrics: every node's health and metrics in parallel,
//                   each bounded by `scrape_timeout`, merged by filters/exposition (node label,
//                   openbao_node_up, openbao_node_health_state). A node that fails, hangs or
//                   answers something that is not a valid exposition shows as down; the
//                   fan-out itself always answers 200 in the text format 0.0.4.
// Statuses: 400 bad format parameter, 404 unknown node, 502 node failure / no active node /
// token file unreadable, 504 node timeout (single-node routes).
//
// Shared state (token, active node, health, self-metrics: node_state.h) comes from
// Services::openbao when the server provides it, else one NodeState per factory.
#pragma once

#include "common/status.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway::openbao {

// Validates the route against the openbao: section (present; token_file for the active route;
// a {node} path parameter for the node route; GET/HEAD only) and builds the node clients.
// Errors name the route.
Result<StepFactoryPtr> make_openbao_step(const config::Config& cfg, const config::Route& route,
                                         Services& services);

}  // namespace obsgate::gateway::openbao
