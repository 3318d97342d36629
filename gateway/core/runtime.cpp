#include "gateway/core/runtime.h"

#include <openssl/ssl.h>

#include <algorithm>

#include "gateway/steps/chain.h"

namespace obsgate::gateway {

namespace {

Result<std::shared_ptr<boost::asio::ssl::context>> client_tls(const config::Upstream& u) {
  namespace ssl = boost::asio::ssl;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx->set_verify_mode(ssl::verify_peer, ec);
  const config::UpstreamTls tls = u.tls.value_or(config::UpstreamTls{});
  if (tls.ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
  } else {
    ctx->load_verify_file(tls.ca_file, ec);
  }
  if (ec) {
    return Status::invalid_argument("upstream '" + u.name + "': cannot load CA: " + ec.message());
  }
  if (!tls.cert_file.empty()) {
    ctx->use_certificate_chain_file(tls.cert_file, ec);
    if (!ec) {
      ctx->use_private_key_file(tls.key_file, ssl::context::pem, ec);
    }
    if (ec) {
      return Status::invalid_argument("upstream '" + u.name +
                                      "': cannot load client certificate: " + ec.message());
    }
  }
  return ctx;
}

}  // namespace

Result<std::shared_ptr<const Runtime>> Runtime::build(config::ConfigPtr cfg,
                                                       GatewayMetrics& metrics,
                                                       uint64_t generation,
                                                       Services& services,
                                                       const ChainBuilder& chain_builder) {
  std::vector<routing::RouteSpec> specs;
  specs.reserve(cfg->routes.size());
  for (const auto& r : cfg->routes) {
    specs.push_back({r.name, r.methods, r.path});
  }
  auto router = routing::Router::build(std::move(specs));
  if (!router.ok()) {
    return Status::invalid_argument(cfg->source + ": routes: " + router.status().message());
  }
  std::shared_ptr<Runtime> rt(new Runtime(std::move(router).value()));
  rt->cfg = cfg;
  rt->generation = generation;

  for (const auto& u : cfg->upstreams) {
    UpstreamRuntime ur;
    ur.cfg = &u;
    const bool default_port = u.port == (u.https ? 443 : 80);
    const bool v6 = u.host.find(':') != std::string::npos;
    ur.host_header = v6 ? "[" + u.host + "]" : u.host;
    if (!default_port) {
      ur.host_header += ":" + std::to_string(u.port);
    }
    ur.sni = (u.tls && !u.tls->server_name.empty()) ? u.tls->server_name : u.host;
    ur.pool_key = u.name + "|" + u.url + "|" + ur.sni;
    if (u.https) {
      auto ctx = client_tls(u);
      if (!ctx.ok()) {
        return Status::invalid_argument(cfg->source + ": " + ctx.status().message());
      }
      ur.ssl = std::move(ctx).value();
      // A new TLS context means new trust settings: never reuse connections made under the
      // old ones.
      ur.pool_key += "|gen" + std::to_string(generation);
    }
    ur.conn_new = &metrics.upstream_connections.Add({{"upstream", u.name}, {"result", "new"}});
    ur.conn_reused =
        &metrics.upstream_connections.Add({{"upstream", u.name}, {"result", "reused"}});
    for (size_t k = 0; k < ur.errors.size(); ++k) {
      ur.errors[k] = &metrics.upstream_errors.Add(
          {{"upstream", u.name},
           {"kind", std::string(upstream_error_kind_name(static_cast<UpstreamErrorKind>(k)))}});
    }
    rt->upstreams.push_back(std::move(ur));
  }

  for (const auto& r : cfg->routes) {
    RouteRuntime rr;
    rr.cfg = &r;
    for (size_t i = 0; i < cfg->upstreams.size(); ++i) {
      if (cfg->upstreams[i].name == r.upstream) {
        rr.upstream = i;
      }
    }
    rr.allowed_params = r.query_params;
    std::sort(rr.allowed_params.begin(), rr.allowed_params.end());
    const auto& b = GatewayMetrics::latency_buckets();
    rr.total = &metrics.duration.Add({{"route", r.name}, {"component", "total"}}, b);
    rr.gateway = &metrics.duration.Add({{"route", r.name}, {"component", "gateway"}}, b);
    rr.upstream_time = &metrics.duration.Add({{"route", r.name}, {"component", "upstream"}}, b);
    auto chain = chain_builder ? chain_builder(*cfg, r, services) : build_chain(*cfg, r, services);
    if (!chain.ok()) {
      return Status::invalid_argument(cfg->source + ": " + chain.status().message());
    }
    rr.steps = std::move(chain).value();
    rt->routes.push_back(std::move(rr));
  }
  return std::shared_ptr<const Runtime>(std::move(rt));
}

}  // namespace obsgate::gateway
