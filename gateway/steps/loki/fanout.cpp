#include "gateway/steps/loki/fanout.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <memory>
#include <utility>

#include "config/config.h"
#include "gateway/client/http_client.h"
#include "gateway/steps/query_api/upstream.h"

namespace obsgate::gateway::loki_api {

namespace {

namespace asio = boost::asio;

// Shared by the waiting step and its workers; the last worker to finish wakes the step by
// cancelling `wake` (a timer that never expires by itself).
struct FanoutState {
  explicit FanoutState(const asio::any_io_executor& ex) : wake(ex) {}
  UpstreamFetcher fetch;
  const config::Config* cfg = nullptr;
  const config::Route* route = nullptr;
  std::vector<UpstreamCall> calls;
  FetchResults results;
  size_t next = 0;     // the next call to start
  size_t running = 0;  // workers not yet finished
  bool failed = false;
  asio::steady_timer wake;
};

bool is_failure(const Result<UpstreamAnswer>& r) { return !r.ok() || r->status != 200; }

// One worker: takes the next call until none is left or one has failed. Parameters are a
// named shared_ptr only (GCC 12 coroutine parameter bugs: no temporaries).
asio::awaitable<void> worker(std::shared_ptr<FanoutState> st) {
  while (!st->failed && st->next < st->calls.size()) {
    const size_t i = st->next++;
    Result<UpstreamAnswer> res = Status::internal("the fan-out call did not complete");
    try {  // a fetcher must not throw; if one does, the request fails instead of hanging
      res = co_await st->fetch(*st->cfg, *st->route, std::move(st->calls[i]));
    } catch (const std::exception& ex) {
      res = Status::internal(std::string("fan-out call failed: ") + ex.what());
    } catch (...) {  // not a std::exception: still one failed call, never a lost worker
      res = Status::internal("fan-out call failed");
    }
    st->failed = st->failed || is_failure(res);
    st->results[i] = std::move(res);
  }
  if (--st->running == 0) {
    st->wake.cancel();
  }
}

}  // namespace

asio::awaitable<FetchResults> fetch_all(UpstreamFetcher fetch, const config::Config& cfg,
                                        const config::Route& route,
                                        std::vector<UpstreamCall> calls, size_t max_in_flight) {
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<FanoutState>(ex);
  st->fetch = std::move(fetch);
  st->cfg = &cfg;
  st->route = &route;
  st->calls = std::move(calls);
  st->results.resize(st->calls.size());
  st->wake.expires_at(asio::steady_timer::time_point::max());
  const size_t workers = std::min(std::max<size_t>(max_in_flight, 1), st->calls.size());
  st->running = workers;
  for (size_t w = 0; w < workers; ++w) {
    asio::co_spawn(ex, worker(st), asio::detached);
  }
  // co_spawn dispatches: a worker runs inline here until its first suspension, and one whose
  // fetch completes without suspending has finished before the wait below. `running` is set
  // before the first spawn for that reason (never count workers as they start). The loop also
  // covers a wake-up that is not the last worker's (none today; a spurious one is harmless).
  while (st->running > 0) {
    boost::system::error_code ec;
    co_await st->wake.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(st->results);
}

UpstreamFetcher upstream_fetcher() {
  return [](const config::Config& cfg, const config::Route& route,
            UpstreamCall call) -> boost::asio::awaitable<Result<UpstreamAnswer>> {
    const std::string target = call.path + (call.query.empty() ? "" : "?" + call.query);
    auto prepared = query_api::upstream_request(cfg, route, target);
    if (!prepared.ok()) {
      co_return prepared.status();
    }
    client::ClientRequest req = std::move(prepared).value();
    req.method = std::move(call.method);
    req.headers = std::move(call.headers);
    if (!call.body.empty()) {
      req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
      req.body = std::move(call.body);
    }
    req.max_body_bytes = cfg.server.limits.max_buffered_body_bytes;
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

}  // namespace obsgate::gateway::loki_api
