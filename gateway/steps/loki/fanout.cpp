#include "gateway/steps/loki/fanout.h"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <utility>

#include "config/config.h"
#include "gateway/client/http_client.h"

namespace obsgate::gateway::loki_api {

namespace {

std::string base_url(const config::Upstream& u) {
  std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  return std::string(u.https ? "https://" : "http://") + host + ":" + std::to_string(u.port) +
         u.base_path;
}

}  // namespace

UpstreamFetcher upstream_fetcher() {
  return [](const config::Config& cfg, const config::Route& route,
            UpstreamCall call) -> boost::asio::awaitable<Result<UpstreamAnswer>> {
    const config::Upstream* up = cfg.find_upstream(route.upstream);
    if (up == nullptr) {
      co_return Status::internal("route '" + route.name + "': no upstream");
    }
    client::ClientRequest req;
    req.method = std::move(call.method);
    req.url = base_url(*up) + call.path + (call.query.empty() ? "" : "?" + call.query);
    req.headers = std::move(call.headers);
    if (!call.body.empty()) {
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      req.body = std::move(call.body);
    }
    req.timeout = cfg.server.timeouts.upstream_response;
    req.max_body_bytes = cfg.server.limits.max_buffered_body_bytes;
    if (up->tls) {
      if (!up->tls->cert_file.empty()) {
        auto ctx = client::make_tls_context(up->tls->ca_file, up->tls->cert_file,
                                            up->tls->key_file);
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
    if (auto enc = res->header("Content-Encoding"); enc && !enc->empty() && *enc != "identity") {
      co_return Status::unavailable("the upstream answered with Content-Encoding " +
                                    std::string(*enc));
    }
    co_return UpstreamAnswer{res->status, std::move(res->body)};
  };
}

Result<std::string> filter_detected(std::string_view body, std::string_view key,
                                    const std::vector<std::string>& hidden) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) {
    return Status::unavailable("not a JSON object");
  }
  auto* arr = v.get_object().if_contains(key);
  if (arr == nullptr || arr->is_null()) {
    return std::string(body);  // nothing detected
  }
  if (!arr->is_array()) {
    return Status::unavailable("\"" + std::string(key) + "\" is not an array");
  }
  boost::json::array kept;
  for (auto& entry : arr->get_array()) {
    const auto* label = entry.is_object() ? entry.get_object().if_contains("label") : nullptr;
    if (label == nullptr || !label->is_string()) {
      return Status::unavailable("an entry of \"" + std::string(key) + "\" has no label");
    }
    const std::string_view name(label->get_string().data(), label->get_string().size());
    if (!std::binary_search(hidden.begin(), hidden.end(), name, std::less<>())) {
      kept.push_back(std::move(entry));
    }
  }
  *arr = std::move(kept);
  return boost::json::serialize(v);
}

}  // namespace obsgate::gateway::loki_api
