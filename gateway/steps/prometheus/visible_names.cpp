#include "gateway/steps/prometheus/visible_names.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <utility>

#include "config/config.h"
#include "gateway/client/http_client.h"
#include "gateway/routing/params.h"

namespace obsgate::gateway::prom_api {

namespace {

constexpr size_t kMaxNamesBody = size_t{16} << 20;

std::string base_url(const config::Upstream& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return std::string(u.https ? "https://" : "http://") + host + ":" + std::to_string(u.port) +
         u.base_path;
}

}  // namespace

VisibleNamesFetcher upstream_visible_names() {
  return [](const config::Config& cfg, const config::Route& route,
            const std::vector<std::string>& selectors)
             -> boost::asio::awaitable<Result<std::set<std::string>>> {
    const config::Upstream* up = cfg.find_upstream(route.upstream);
    if (up == nullptr) {
      co_return Status::internal("route '" + route.name + "': no upstream");
    }
    routing::Params p;
    for (const auto& s : selectors) {
      p.add("match[]", s);
    }
    client::ClientRequest req;
    req.url = base_url(*up) + "/api/v1/label/__name__/values?" + routing::encode_params(p);
    req.timeout = cfg.server.timeouts.upstream_response;
    req.max_body_bytes = kMaxNamesBody;
    if (up->tls) {
      if (!up->tls->cert_file.empty()) {
        auto ctx =
            client::make_tls_context(up->tls->ca_file, up->tls->cert_file, up->tls->key_file);
        if (!ctx.ok()) {
          co_return ctx.status();
        }
        req.tls = std::move(ctx).value();
      }
      req.ca_file = up->tls->ca_file;
      req.server_name = up->tls->server_name;
    }
    auto res = co_await client::fetch(std::move(req));
    if (!res.ok()) {
      co_return res.status();
    }
    if (res->status != 200) {
      co_return Status::unavailable("label values: upstream answered " +
                                    std::to_string(res->status));
    }
    co_return parse_label_values(res->body);
  };
}

}  // namespace obsgate::gateway::prom_api
