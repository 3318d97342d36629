// Internal to the OpenBao steps: the calls obsgate makes to OpenBao nodes, on the requesting
// session's executor, through gateway/client (one connection per call, bounded by a timeout).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "config/openbao.h"
#include "gateway/client/http_client.h"
#include "gateway/steps/openbao/node_state.h"

namespace obsgate::gateway::openbao {

// One node, ready to be called: its base URL and TLS context built once per config generation.
struct NodeTarget {
  const config::OpenBaoNode* cfg = nullptr;
  std::string base;  // "http(s)://host[:port][/base]"
  client::TlsContextPtr tls;
};

// Builds the targets of every configured node; errors name the node (bad TLS files).
Result<std::vector<NodeTarget>> make_targets(const config::OpenBaoConfig& cfg);

struct HealthAnswer {
  Health health = Health::kUnknown;
  std::string detail;  // for logs
};

// GET /v1/sys/health (no token, OpenBao's default status codes).
boost::asio::awaitable<HealthAnswer> check_health(NodeTarget node,
                                                  std::chrono::milliseconds timeout);

struct ScrapeAnswer {
  ScrapeResult result = ScrapeResult::kUnreachable;
  unsigned status = 0;  // the node's status when it answered
  std::string content_type;
  std::string body;
  std::string detail;  // for logs
};

// GET /v1/sys/metrics?format=prometheus, with X-Vault-Token when `token` is set. kOk means
// status 200 (the body is not parsed here). Arguments are taken by value: the coroutine may
// start after the caller's frame moved on.
boost::asio::awaitable<ScrapeAnswer> scrape(NodeTarget node, std::optional<std::string> token,
                                            std::chrono::milliseconds timeout,
                                            size_t max_body_bytes);

// Runs every job concurrently on the current (single-threaded) executor and returns their
// results in order once all are done. Each job must bound its own duration and not throw (a
// job that throws leaves a default T).
template <typename T>
boost::asio::awaitable<std::vector<T>> all_of(std::vector<boost::asio::awaitable<T>> jobs) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  struct Shared {
    explicit Shared(asio::any_io_executor e, size_t n) : results(n), pending(n), done(e) {}
    std::vector<T> results;
    size_t pending;
    asio::steady_timer done;
  };
  auto s = std::make_shared<Shared>(ex, jobs.size());
  s->done.expires_at(asio::steady_timer::time_point::max());
  for (size_t i = 0; i < jobs.size(); ++i) {
    asio::co_spawn(ex, std::move(jobs[i]), [s, i](const std::exception_ptr& e, T v) {
      if (!e) {
        s->results[i] = std::move(v);
      }
      if (--s->pending == 0) {
        s->done.cancel();
      }
    });
  }
  if (s->pending > 0) {
    boost::system::error_code ec;
    co_await s->done.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  co_return std::move(s->results);
}

}  // namespace obsgate::gateway::openbao
