#include "tests/gateway/client/test_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cctype>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace obsgate::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string TestRequest::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return v;
    }
  }
  return {};
}

struct TestHttpServer::Impl {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::optional<asio::ssl::context> ssl;
  mutable std::mutex mu;
  Handler handler;
  std::vector<TestRequest> seen;
  std::thread thread;
  uint16_t port = 0;

  template <class Stream>
  asio::awaitable<void> serve(Stream& s, TestRequest& rq) {  // rq: the caller's, it awaits us
    boost::system::error_code ec;
    beast::flat_buffer buf;
    http::request_parser<http::string_body> p;
    p.body_limit(16 * 1024 * 1024);
    co_await http::async_read(s, buf, p, asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    auto& m = p.get();
    rq.method = std::string(m.method_string());
    rq.target = std::string(m.target());
    for (const auto& f : m) {
      rq.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    rq.body = m.body();
    Handler h;
    {
      std::lock_guard lock(mu);
      seen.push_back(rq);
      h = handler;
    }
    TestReply reply = h(rq);
    asio::steady_timer t(ioc);
    if (reply.hang) {
      t.expires_after(std::chrono::hours(1));
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    if (reply.delay.count() > 0) {
      t.expires_after(reply.delay);
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    if (!reply.raw.empty()) {
      co_await asio::async_write(s, asio::buffer(reply.raw),
                                 asio::redirect_error(asio::use_awaitable, ec));
      co_return;
    }
    http::response<http::string_body> res{static_cast<http::status>(reply.status), 11};
    for (const auto& [k, v] : reply.headers) {
      res.insert(k, v);
    }
    res.body() = reply.body;
    if (!res.has_content_length() && !res.chunked()) {
      res.prepare_payload();
    }
    res.keep_alive(false);
    co_await http::async_write(s, res, asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> session(tcp::socket sock) {
    boost::system::error_code ec;
    if (!ssl) {
      beast::tcp_stream s(std::move(sock));
      TestRequest rq;
      co_await serve(s, rq);
      s.socket().shutdown(tcp::socket::shutdown_both, ec);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> s(beast::tcp_stream(std::move(sock)), *ssl);
    co_await s.async_handshake(asio::ssl::stream_base::server,
                               asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      co_return;
    }
    TestRequest rq;
    if (const char* sni = SSL_get_servername(s.native_handle(), TLSEXT_NAMETYPE_host_name)) {
      rq.sni = sni;
    }
    if (X509* peer = SSL_get1_peer_certificate(s.native_handle())) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      rq.client_cn = cn;
      X509_free(peer);
    }
    co_await serve(s, rq);
    beast::get_lowest_layer(s).socket().shutdown(tcp::socket::shutdown_both, ec);
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket sock =
          co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        co_return;
      }
      asio::co_spawn(ioc, session(std::move(sock)), asio::detached);
    }
  }
};

TestHttpServer::TestHttpServer(Handler handler, std::optional<TestTlsOptions> tls)
    : impl_(std::make_unique<Impl>()) {
  impl_->handler = std::move(handler);
  if (tls) {
    impl_->ssl.emplace(asio::ssl::context::tls_server);
    impl_->ssl->use_certificate_chain_file(tls->cert_file);
    impl_->ssl->use_private_key_file(tls->key_file, asio::ssl::context::pem);
    if (!tls->client_ca_file.empty()) {
      impl_->ssl->load_verify_file(tls->client_ca_file);
      impl_->ssl->set_verify_mode(asio::ssl::verify_peer);
    }
  }
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->port = impl_->acceptor.local_endpoint().port();
  asio::co_spawn(impl_->ioc, impl_->accept_loop(), asio::detached);
  impl_->thread = std::thread([this] { impl_->ioc.run(); });
}

TestHttpServer::~TestHttpServer() {
  impl_->ioc.stop();
  impl_->thread.join();
}

uint16_t TestHttpServer::port() const { return impl_->port; }

std::string TestHttpServer::url(std::string_view path) const {
  return std::string(impl_->ssl ? "https" : "http") +
         "://127.0.0.1:" + std::to_string(impl_->port) + std::string(path);
}

std::vector<TestRequest> TestHttpServer::requests() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen;
}

std::size_t TestHttpServer::request_count() const {
  std::lock_guard lock(impl_->mu);
  return impl_->seen.size();
}

void TestHttpServer::set_handler(Handler handler) {
  std::lock_guard lock(impl_->mu);
  impl_->handler = std::move(handler);
}

}  // namespace obsgate::testing
