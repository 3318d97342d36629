// obsgate's configuration: plain structs, parsed and validated once at load, then shared
// read-only as std::shared_ptr<const Config>. Nothing rereads the raw file after load.
//
// The YAML schema, with an example for every field, is documented in config/README.md.
// Errors from load_* name the file, the line and column, and the key path, e.g.
//   obsgate.yaml:12:5: routes[2].upstream: unknown upstream 'prometeus'
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/identity.h"
#include "config/openbao.h"
#include "config/tenants.h"
#include "config/upstream_tls.h"

namespace obsgate::config {

using Duration = std::chrono::milliseconds;

enum class ClientCertMode { kNone, kOptional, kRequire };

struct ServerTls {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // required unless client_cert is kNone
  ClientCertMode client_cert = ClientCertMode::kNone;
};

struct Listener {
  std::string name;
  std::string address = "127.0.0.1";
  uint16_t port = 0;
  std::optional<ServerTls> tls;
};

struct Limits {
  size_t max_header_bytes = 16 * 1024;   // request line + headers; over it: 431
  size_t max_header_count = 100;         // over it: 431
  uint64_t max_body_bytes = 1ULL << 30;  // streamed request bodies; over it: 413
  size_t max_buffered_body_bytes = 16 * 1024 * 1024;  // bodies a filter must see whole
};

struct Timeouts {
  Duration request_read{std::chrono::seconds(30)};  // first byte to end of header; body inactivity
  Duration idle{std::chrono::seconds(60)};          // keep-alive wait for the next request
  Duration upstream_connect{std::chrono::seconds(5)};
  Duration upstream_response{std::chrono::seconds(60)};  // header wait and body inactivity
  Duration drain{std::chrono::seconds(30)};              // SIGTERM grace period
};

struct Server {
  unsigned worker_threads = 0;  // 0 = number of cores
  std::vector<Listener> listeners;
  Limits limits;
  Timeouts timeouts;
  bool expose_error_reasons = true;  // false: local replies omit the machine-readable reason
};

struct Admin {
  std::string address = "127.0.0.1";
  uint16_t port = 0;
};

struct Logging {
  std::string access_log = "stdout";   // "stdout", "stderr", "off", or a file path
  std::string decision_log = "stderr";
};

// The backend API an upstream speaks: it decides the format of local error replies.
enum class ApiFlavor { kGeneric, kPrometheus, kLoki, kOpenBao };

struct Upstream {
  std::string name;
  std::string url;  // as written
  bool https = false;
  std::string host;
  uint16_t port = 0;
  std::string base_path;  // prefix prepended to forwarded paths; "" or "/x" (no trailing '/')
  ApiFlavor api = ApiFlavor::kGeneric;
  std::optional<UpstreamTls> tls;
  size_t max_idle_connections = 64;  // per worker thread
  Duration idle_timeout{std::chrono::seconds(30)};
  std::vector<std::string> strip_request_headers;  // lower-case
  // Towards multi-tenant backends (Loki, Mimir/Cortex): the header set from the request's
  // tenant (any client value is stripped). Empty name: no tenant header is sent.
  std::string tenant_header;                                   // e.g. "X-Scope-OrgID"
  std::vector<std::pair<std::string, std::string>> tenant_ids;  // tenant -> header value
};

enum class AuthMode { kRequired, kUnsafeNone };

// What a route accepts as proof of identity (auth: required).
struct Accept {
  bool token = true;        // Authorization: Bearer <JWT> from a configured provider
  bool certificate = true;  // a verified mTLS client certificate mapped to an identity
};

// The processing step a route runs between authentication and forwarding. The names are the
// YAML values of `enforcer:`.
enum class Enforcer {
  kNone,             // "none": forward as is (parameter allowlist still applies)
  kPrometheusQuery,  // "prometheus": the Prometheus HTTP API, scoped per tenant
  kLokiQuery,        // "loki": the Loki query API, scoped per tenant, audit streams apart
  kLokiTail,         // "loki_tail": the Loki tail WebSocket
  kLokiPush,         // "loki_push": Loki push, stamped/checked per tenant
  kRemoteWrite,      // "remote_write": Prometheus remote-write, stamped/checked per tenant
  kOpenBaoActive,    // "openbao_active": /v1/sys/metrics on the active node, token injected
  kOpenBaoNode,      // "openbao_node": one node's metrics listener ({node} path parameter)
  kOpenBaoFanout,    // "openbao_fanout": every node's metrics merged, with a node label
};

struct Route {
  std::string name;
  std::vector<std::string> methods;
  std::string path;  // exact, or with {param} whole segments
  std::string upstream;
  AuthMode auth = AuthMode::kRequired;
  std::vector<std::string> roles_any_of;
  Accept accept;
  bool forward_token = false;  // the client's Authorization header reaches the upstream
  Enforcer enforcer = Enforcer::kNone;
  // Query parameters that may reach the backend. Anything else: 400. unsafe_any_query_params
  // lets every parameter through (opt-in passthrough).
  std::vector<std::string> query_params;
  bool unsafe_any_query_params = false;
};

struct Config {
  std::string source;  // file name, for messages
  Server server;
  Admin admin;
  Logging logging;
  std::vector<Upstream> upstreams;
  std::vector<Route> routes;
  IdentityConfig identity;
  TenantsConfig tenants;
  OpenBaoConfig openbao;

  [[nodiscard]] const Upstream* find_upstream(std::string_view name) const;
};

using ConfigPtr = std::shared_ptr<const Config>;

// Parses and validates. Every error names file:line:col and the key path.
Result<ConfigPtr> load_file(const std::string& path);
Result<ConfigPtr> load_string(const std::string& yaml, const std::string& source_name);

// The headers stripped from client requests by default for every upstream (lower-case):
// credentials and tenant headers the gateway owns towards backends.
const std::vector<std::string>& default_stripped_headers();

std::string_view api_flavor_name(ApiFlavor f) noexcept;
std::string_view enforcer_name(Enforcer e) noexcept;

}  // namespace obsgate::config
