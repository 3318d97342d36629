#include "gateway/core/upstream.h"

#include <sys/socket.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace obsgate::gateway {

UpstreamConn::UpstreamConn(asio::any_io_executor ex, const UpstreamRuntime& u)
    : pool_key(u.pool_key) {
  // Beast sizes each read by the buffer's free capacity (512 bytes at least): with a fresh
  // buffer a typical API response would arrive in several reads and leave in several writes.
  buffer.reserve(16 * 1024);
  if (u.ssl) {
    tls_.emplace(ex, *u.ssl);
  } else {
    plain_.emplace(ex);
  }
}

bool UpstreamConn::alive() {
  auto& sock = tcp().socket();
  if (!sock.is_open()) {
    return false;
  }
  char b;
  ssize_t n = ::recv(sock.native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n == 0) {
    return false;  // orderly close by the peer
  }
  if (n > 0) {
    return false;  // unsolicited bytes: the exchange state is unknown
  }
  return errno == EAGAIN || errno == EWOULDBLOCK;
}

void UpstreamConn::close() {
  boost::system::error_code ec;
  tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  tcp().socket().close(ec);
}

asio::awaitable<ConnectResult> connect_upstream(const UpstreamRuntime& u,
                                                const config::Timeouts& timeouts) {
  auto ex = co_await asio::this_coro::executor;
  ConnectResult r;
  auto conn = std::make_unique<UpstreamConn>(ex, u);
  boost::system::error_code ec;

  std::vector<asio::ip::tcp::endpoint> endpoints;
  auto addr = asio::ip::make_address(u.cfg->host, ec);
  if (!ec) {
    endpoints.emplace_back(addr, u.cfg->port);
  } else {
    asio::ip::tcp::resolver resolver(ex);
    auto results = co_await resolver.async_resolve(u.cfg->host, std::to_string(u.cfg->port),
                                                   asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      r.error = UpstreamErrorKind::kConnect;
      r.message = "resolve " + u.cfg->host + ": " + ec.message();
      co_return r;
    }
    for (const auto& e : results) {
      endpoints.push_back(e.endpoint());
    }
  }

  // One deadline for all the addresses, tried in order (as asio::async_connect would).
  conn->tcp().expires_after(timeouts.upstream_connect);
  ec = asio::error::host_not_found;
  for (const auto& ep : endpoints) {
    co_await conn->tcp().async_connect(ep, asio::redirect_error(asio::use_awaitable, ec));
    if (!ec || ec == beast::error::timeout) {
      break;
    }
    boost::system::error_code ignored;
    conn->tcp().socket().close(ignored);
  }
  if (ec) {
    r.error = ec == beast::error::timeout ? UpstreamErrorKind::kConnectTimeout
                                          : UpstreamErrorKind::kConnect;
    r.message = "connect " + u.host_header + ": " + ec.message();
    co_return r;
  }
  conn->tcp().socket().set_option(asio::ip::tcp::no_delay(true), ec);

  if (conn->tls()) {
    auto& s = conn->ssl();
    boost::system::error_code not_ip;
    (void)asio::ip::make_address(u.sni, not_ip);
    if (not_ip) {
      // SNI carries host names only (RFC 6066 §3).
      // (SSL_set_tlsext_host_name is a macro with a C cast; this is its expansion.)
      SSL_ctrl(s.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(u.sni.c_str()));
    }
    s.set_verify_callback(asio::ssl::host_name_verification(u.sni));
    conn->tcp().expires_after(timeouts.upstream_connect);
    co_await s.async_handshake(asio::ssl::stream_base::client,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      r.error = ec == beast::error::timeout ? UpstreamErrorKind::kConnectTimeout
                                            : UpstreamErrorKind::kTls;
      r.message = "tls handshake " + u.host_header + ": " + ec.message();
      co_return r;
    }
  }
  r.conn = std::move(conn);
  co_return r;
}

UpstreamConnPtr UpstreamPool::take(const UpstreamRuntime& u, bool check_alive) {
  auto it = idle_.find(u.pool_key);
  if (it == idle_.end()) {
    return nullptr;
  }
  auto& v = it->second;
  while (!v.empty()) {
    UpstreamConnPtr c = std::move(v.back());
    v.pop_back();
    if (!check_alive || c->alive()) {
      return c;
    }
  }
  return nullptr;
}

void UpstreamPool::put(UpstreamConnPtr c, const UpstreamRuntime& u) {
  auto& v = idle_[u.pool_key];
  if (v.size() >= u.cfg->max_idle_connections) {
    c->close();
    return;
  }
  c->idle_since = std::chrono::steady_clock::now();
  v.push_back(std::move(c));
}

void UpstreamPool::sweep(std::chrono::steady_clock::time_point now,
                         const std::vector<UpstreamRuntime>& upstreams) {
  for (auto it = idle_.begin(); it != idle_.end();) {
    const UpstreamRuntime* owner = nullptr;
    for (const auto& u : upstreams) {
      if (u.pool_key == it->first) {
        owner = &u;
      }
    }
    auto& v = it->second;
    std::erase_if(v, [&](const UpstreamConnPtr& c) {
      return owner == nullptr || now - c->idle_since > owner->cfg->idle_timeout;
    });
    it = v.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace obsgate::gateway
