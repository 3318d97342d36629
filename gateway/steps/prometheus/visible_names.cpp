#include "gateway/steps/prometheus/visible_names.h"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <utility>

#include "config/config.h"
#include "gateway/client/http_client.h"
#include "gateway/routing/params.h"
#include "gateway/steps/query_api/upstream.h"

namespace obsgate::gateway::prom_api {

namespace {

constexpr size_t kMaxNamesBody = size_t{16} << 20;

}  // namespace

VisibleNamesFetcher upstream_visible_names() {
  return [](const config::Config& cfg, const config::Route& route,
            const std::vector<std::string>& selectors)
             -> boost::asio::awaitable<Result<std::set<std::string>>> {
    routing::Params p;
    for (const auto& s : selectors) {
      p.add("match[]", s);
    }
    const std::string target = "/api/v1/label/__name__/values?" + routing::encode_params(p);
    auto prepared = query_api::upstream_request(cfg, route, target);
    if (!prepared.ok()) {
      co_return prepared.status();
    }
    client::ClientRequest req = std::move(prepared).value();
    req.max_body_bytes = kMaxNamesBody;
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
