// The ingest steps: `enforcer: remote_write` (Prometheus remote-write 1.0) and
// `enforcer: loki_push` (/loki/api/v1/push), stamped and checked per tenant (issues 5 and 6).
//
// Per request (after the authentication step set Request::principal):
//   1. on_request: the body type is checked from the headers alone (remote-write:
//      filters::remote_write::detect_version; 2.0 or another media type -> 415 naming 1.0;
//      a Content-Encoding other than snappy -> 415. Loki: filters::loki_push::detect_body_type,
//      unknown types -> 415). The write tenant is resolved by authz::Policy::write() alone
//      (see policy.h): the X-Obsgate-Tenant header narrows; a writer with several write
//      tenants and no header -> 400 asking for it; a tenant the principal does not belong to
//      -> 403 (also for unrestricted roles: they do not grant writes). Towards an upstream with
//      `tenant_header` (X-Scope-OrgID), the header is set from the tenant, mapped through
//      `tenant_ids` (the client's value was already stripped by the session).
//   2. on_request_body (the session buffers the body under server.limits.max_buffered_body_bytes,
//      else 413; the filters' own Limits cap sizes before and after decompression): the tenant's
//      enforcer runs. Malformed -> 400, over a request cap -> 413, a policy violation in reject
//      mode -> 400/403 naming the first offending series or stream and rule. In drop mode the
//      offending series/streams are counted (metrics, decision log) and the rest forwarded.
//      Remote-write forwards the enforced body with Content-Encoding: snappy and
//      X-Prometheus-Remote-Write-Version: 0.1.0; Loki push forwards it with the same
//      Content-Type and no Content-Encoding (the enforcer never gzips).
//   3. The upstream's answer is relayed untouched (status, Retry-After, body): 5xx and 429 stay
//      retryable for the client, 4xx stays 4xx, and an upstream that fails before answering is
//      a 502/504 from the session. Nothing here ever answers 2xx itself.
// Loki push only: streams matching `tenants.audit.streams` are writable only by the principal
// configured as `tenants.audit.shipper` (authz::WriteAccess::audit_shipper); the tenant's
// `write:` section supplies tenant label, scope rules, forbidden labels, violation mode and the
// body-size limits (max_compressed_bytes / max_uncompressed_bytes); per-stream caps keep
// Loki's defaults.
//
// Decision log: one line per request that reached enforcement: allow/deny, the reason
// (`ok`, `dropped`, or the filter's reason such as `tenant_mismatch`), and extra fields
// write_tenant, series/streams accepted and dropped. Self-metrics: metrics.h.
#pragma once

#include "common/status.h"
#include "gateway/steps/step.h"

namespace obsgate::gateway::ingest {

// Both validate the route (`auth: required`) and compile, for every tenant with a `write:`
// section, its enforcer(s) once per config generation. Errors name the route.
Result<StepFactoryPtr> make_remote_write_step(const config::Config& cfg,
                                              const config::Route& route, Services& services);
Result<StepFactoryPtr> make_loki_push_step(const config::Config& cfg, const config::Route& route,
                                           Services& services);

}  // namespace obsgate::gateway::ingest
