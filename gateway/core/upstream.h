// Upstream connections and the per-worker keep-alive pool.
//
// Each worker thread owns one UpstreamPool (no locking: a worker's io_context runs on one
// thread). A connection is returned to the pool only after a complete, keep-alive exchange;
// anything else (errors, a client that went away mid-stream) closes it.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "config/config.h"
#include "gateway/core/deadline_stream.h"
#include "gateway/core/metrics.h"
#include "gateway/core/runtime.h"

namespace obsgate::gateway {

namespace beast = boost::beast;
namespace asio = boost::asio;

class UpstreamConn {
 public:
  UpstreamConn(asio::any_io_executor ex, const UpstreamRuntime& u);
  UpstreamConn(const UpstreamConn&) = delete;
  UpstreamConn& operator=(const UpstreamConn&) = delete;

  [[nodiscard]] bool tls() const { return tls_.has_value(); }
  DeadlineStream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *plain_; }
  beast::ssl_stream<DeadlineStream>& ssl() { return *tls_; }
  DeadlineStream& plain() { return *plain_; }

  // True when the socket is still open and the peer has neither closed it nor sent unsolicited
  // bytes (a non-blocking MSG_PEEK; no wait).
  bool alive();
  void close();

  beast::flat_buffer buffer;  // bytes read past the last response
  std::string pool_key;
  std::chrono::steady_clock::time_point idle_since;

 private:
  std::optional<DeadlineStream> plain_;
  std::optional<beast::ssl_stream<DeadlineStream>> tls_;
};

using UpstreamConnPtr = std::unique_ptr<UpstreamConn>;

struct ConnectResult {
  UpstreamConnPtr conn;  // null on failure
  std::optional<UpstreamErrorKind> error;
  std::string message;  // for the log; never sent to clients verbatim
};

// Resolves, connects (within timeouts.upstream_connect) and, for https, handshakes with SNI
// and host name verification.
asio::awaitable<ConnectResult> connect_upstream(const UpstreamRuntime& u,
                                                const config::Timeouts& timeouts);

class UpstreamPool {
 public:
  // An idle connection for this upstream, or null. With check_alive, each candidate is probed
  // with a non-blocking MSG_PEEK first (one syscall): callers that cannot replay the request
  // (a body is being streamed) ask for it; callers that can replay skip it and retry once on
  // a fresh connection instead.
  UpstreamConnPtr take(const UpstreamRuntime& u, bool check_alive);
  // Keeps the connection for reuse, unless the pool for that upstream is full.
  void put(UpstreamConnPtr c, const UpstreamRuntime& u);
  // Closes connections idle for longer than their upstream's idle_timeout.
  void sweep(std::chrono::steady_clock::time_point now,
             const std::vector<UpstreamRuntime>& upstreams);
  void clear() { idle_.clear(); }

 private:
  std::unordered_map<std::string, std::vector<UpstreamConnPtr>> idle_;
};

}  // namespace obsgate::gateway
