#include "gateway/steps/openbao/fetch.h"

namespace obsgate::gateway::openbao {

namespace {

client::ClientRequest base_request(const NodeTarget& node, std::string_view path,
                                   std::chrono::milliseconds timeout) {
  client::ClientRequest req;
  req.url = node.base + std::string(path);
  req.timeout = timeout;
  req.tls = node.tls;
  if (node.cfg->tls) {
    req.server_name = node.cfg->tls->server_name;
  }
  return req;
}

}  // namespace

Result<std::vector<NodeTarget>> make_targets(const config::OpenBaoConfig& cfg) {
  std::vector<NodeTarget> out;
  for (const config::OpenBaoNode& n : cfg.nodes) {
    NodeTarget t;
    t.cfg = &n;
    const bool v6 = n.host.find(':') != std::string::npos;
    t.base = std::string(n.https ? "https://" : "http://") + (v6 ? "[" : "") + n.host +
             (v6 ? "]" : "") + ":" + std::to_string(n.port) + n.base_path;
    if (n.https) {
      const config::UpstreamTls tls = n.tls.value_or(config::UpstreamTls{});
      auto ctx = client::make_tls_context(tls.ca_file, tls.cert_file, tls.key_file);
      if (!ctx.ok()) {
        return Status::invalid_argument("openbao node '" + n.name +
                                        "': " + ctx.status().message());
      }
      t.tls = std::move(ctx).value();
    }
    out.push_back(std::move(t));
  }
  return out;
}

boost::asio::awaitable<HealthAnswer> check_health(NodeTarget node,
                                                  std::chrono::milliseconds timeout) {
  client::ClientRequest req = base_request(node, "/v1/sys/health", timeout);
  req.max_body_bytes = 64 * 1024;
  auto r = co_await client::fetch(std::move(req));
  if (!r.ok()) {
    co_return HealthAnswer{Health::kUnreachable, r.status().message()};
  }
  co_return HealthAnswer{health_from_status(r->status), "status " + std::to_string(r->status)};
}

boost::asio::awaitable<ScrapeAnswer> scrape(NodeTarget node, std::optional<std::string> token,
                                            std::chrono::milliseconds timeout,
                                            size_t max_body_bytes) {
  client::ClientRequest req = base_request(node, "/v1/sys/metrics?format=prometheus", timeout);
  req.max_body_bytes = max_body_bytes;
  req.headers.emplace_back("Accept", "text/plain; version=0.0.4");
  if (token) {
    req.headers.emplace_back("X-Vault-Token", *token);
  }
  auto r = co_await client::fetch(std::move(req));
  ScrapeAnswer a;
  if (!r.ok()) {
    a.detail = r.status().message();
    switch (r.status().code()) {
      case Code::kDeadlineExceeded: a.result = ScrapeResult::kTimeout; break;
      case Code::kResourceExhausted: a.result = ScrapeResult::kTooLarge; break;
      default: a.result = ScrapeResult::kUnreachable; break;
    }
    co_return a;
  }
  a.status = r->status;
  a.result = r->status == 200 ? ScrapeResult::kOk : ScrapeResult::kBadStatus;
  a.content_type = std::string(r->header("Content-Type").value_or("text/plain; version=0.0.4"));
  a.body = std::move(r->body);
  a.detail = "status " + std::to_string(a.status);
  co_return a;
}

}  // namespace obsgate::gateway::openbao
