#include "gateway/steps/query_api/upstream.h"

#include <string>
#include <utility>

#include "config/config.h"

namespace obsgate::gateway::query_api {

Result<client::ClientRequest> upstream_request(const config::Config& cfg,
                                               const config::Route& route,
                                               std::string_view target) {
  const config::Upstream* up = cfg.find_upstream(route.upstream);
  if (up == nullptr) {
    return Status::internal("route '" + route.name + "': no upstream");
  }
  // IPv6 literals are bracketed in URLs.
  const std::string host = up->host.find(':') != std::string::npos ? "[" + up->host + "]"
                                                                   : up->host;
  client::ClientRequest req;
  req.url = std::string(up->https ? "https://" : "http://") + host + ":" +
            std::to_string(up->port) + up->base_path + std::string(target);
  req.timeout = cfg.server.timeouts.upstream_response;
  if (up->tls) {
    if (!up->tls->cert_file.empty()) {
      auto ctx =
          client::make_tls_context(up->tls->ca_file, up->tls->cert_file, up->tls->key_file);
      if (!ctx.ok()) {
        return ctx.status();
      }
      req.tls = std::move(ctx).value();
    }
    req.ca_file = up->tls->ca_file;
    req.server_name = up->tls->server_name;
  }
  return req;
}

}  // namespace obsgate::gateway::query_api
