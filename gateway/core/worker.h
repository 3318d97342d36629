// Per-worker-thread state and the shared state every worker reads. A worker owns one
// io_context run by one thread, so its sessions, its upstream pool and its connection list are
// touched by that thread only (the io_context is the strand).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <atomic>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "gateway/core/log.h"
#include "gateway/core/metrics.h"
#include "gateway/core/runtime.h"
#include "gateway/core/upstream.h"

namespace obsgate::gateway {

// Holds the current configuration generation. Workers check the generation counter (one
// relaxed atomic load) per request and refresh their cached pointer only when it changed.
class RuntimeHolder {
 public:
  explicit RuntimeHolder(RuntimePtr rt) : rt_(std::move(rt)), generation_(rt_->generation) {}
  void set(RuntimePtr rt) {
    std::lock_guard lock(mu_);
    rt_ = std::move(rt);
    generation_.store(rt_->generation, std::memory_order_release);
  }
  [[nodiscard]] RuntimePtr get() const {
    std::lock_guard lock(mu_);
    return rt_;
  }
  [[nodiscard]] uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  RuntimePtr rt_;
  std::atomic<uint64_t> generation_;
};

struct Shared {
  GatewayMetrics* metrics = nullptr;
  RuntimeHolder* runtime = nullptr;
  std::shared_ptr<LogSink> access_log;
  std::shared_ptr<LogSink> decision_log;
  std::atomic<bool> draining{false};
  std::atomic<int64_t> open_connections{0};
};

struct ListenerInfo {
  std::string name;
  bool tls = false;
  prometheus::Gauge* open = nullptr;
};

// A live client connection, listed so that a drain can close the idle ones at once.
struct ConnEntry {
  std::function<void()> close;
  bool idle = true;
};

class Worker {
 public:
  // Concurrency hint 1: one thread runs ioc_ (Asio then queues the handlers that thread posts
  // without taking the scheduler's lock). Other threads only post to it (drain) and stop it, so
  // BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO would also be safe; it measured no gain
  // (bench/proxy/RESULTS.md, 2026-11-22).
  explicit Worker(Shared& shared) : shared_(shared), ioc_(1) {}
  asio::io_context& ioc() { return ioc_; }
  Shared& shared() { return shared_; }
  UpstreamPool& pool() { return pool_; }
  std::list<ConnEntry>& conns() { return conns_; }

  // obsgate_http_requests_total{route, method, code}, cached per worker so the request path
  // does one hash lookup instead of building a label map and taking the family's mutex.
  // Methods outside the standard set are counted as "other" (bounded cardinality).
  prometheus::Counter& request_counter(std::string_view route, std::string_view method,
                                       unsigned status);

  // The current runtime; cheap when the generation has not changed.
  const RuntimePtr& runtime() {
    const uint64_t g = shared_.runtime->generation();
    if (!cached_ || cached_->generation != g) {
      cached_ = shared_.runtime->get();
      // Upstream TLS settings or addresses may have changed: pooled connections made under
      // the old generation are dropped by key (see UpstreamRuntime::pool_key).
    }
    return cached_;
  }

 private:
  Shared& shared_;
  asio::io_context ioc_;
  UpstreamPool pool_;
  std::list<ConnEntry> conns_;
  RuntimePtr cached_;
  std::unordered_map<std::string, prometheus::Counter*> request_counters_;
  std::string key_;
};

}  // namespace obsgate::gateway
