#include "gateway/client/http_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <cctype>

namespace obsgate::gateway::client {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 9110 token characters (methods, header names).
bool is_token(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  return std::all_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool has_ctl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

Status io_error(std::string_view where, const boost::system::error_code& ec,
                const std::string& url) {
  std::string m = url + ": " + std::string(where) + ": " + ec.message();
  if (ec == beast::error::timeout || ec == asio::error::operation_aborted) {
    return Status::deadline_exceeded(url + ": timed out during " + std::string(where));
  }
  if (ec == http::error::body_limit || ec == http::error::header_limit ||
      ec == http::error::buffer_overflow) {
    return Status::resource_exhausted(std::move(m));
  }
  return Status::unavailable(std::move(m));
}

// Sends the request and reads the response on an established (and, for https,
// handshaken) stream. The deadline was set on the lowest layer by the caller.
template <class Stream>
asio::awaitable<Result<ClientResponse>> exchange(Stream& stream, const ClientRequest& req,
                                                 const Url& u) {
  http::request<http::string_body> msg;
  msg.method_string(req.method);
  msg.target(u.target);
  msg.version(11);
  msg.set(http::field::host, u.host_header());
  for (const auto& [k, v] : req.headers) {
    msg.insert(k, v);
  }
  msg.set(http::field::connection, "close");
  if (!msg.has_content_length() &&
      (!req.body.empty() || req.method == "POST" || req.method == "PUT" || req.method == "PATCH")) {
    msg.body() = req.body;
    msg.prepare_payload();
  }
  boost::system::error_code ec;
  co_await http::async_write(stream, msg, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return io_error("write", ec, req.url);
  }
  beast::flat_buffer buf;
  http::response_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(req.max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
  parser.body_limit(req.max_body_bytes);
  co_await http::async_read(stream, buf, parser, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return io_error("read", ec, req.url);
  }
  auto res = parser.release();
  ClientResponse out;
  out.status = res.result_int();
  for (const auto& f : res) {
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  }
  out.body = std::move(res.body());
  co_return out;
}

// Resolves with the deadline enforced by a timer (the resolver has none of its
// own). The shared state outlives whichever of the two completions comes last.
asio::awaitable<Result<tcp::resolver::results_type>> resolve(const Url& u,
                                                             Clock::time_point deadline,
                                                             const std::string& url) {
  auto ex = co_await asio::this_coro::executor;
  struct Race {
    explicit Race(const asio::any_io_executor& e) : resolver(e), timer(e) {}
    tcp::resolver resolver;
    asio::steady_timer timer;
    bool timed_out = false;
  };
  auto race = std::make_shared<Race>(ex);
  race->timer.expires_at(deadline);
  race->timer.async_wait([race](const boost::system::error_code& ec) {
    if (!ec) {
      race->timed_out = true;
      race->resolver.cancel();
    }
  });
  boost::system::error_code ec;
  auto results = co_await race->resolver.async_resolve(
      u.host, std::to_string(u.port), asio::redirect_error(asio::use_awaitable, ec));
  race->timer.cancel();
  if (race->timed_out) {
    co_return Status::deadline_exceeded(url + ": timed out resolving " + u.host);
  }
  if (ec) {
    co_return Status::unavailable(url + ": resolve " + u.host + ": " + ec.message());
  }
  co_return results;
}

asio::awaitable<Result<ClientResponse>> fetch_impl(const ClientRequest& req) {
  auto u = parse_url(req.url);
  if (!u.ok()) {
    co_return u.status();
  }
  if (!is_token(req.method)) {
    co_return Status::invalid_argument("bad HTTP method '" + req.method + "'");
  }
  for (const auto& [k, v] : req.headers) {
    if (!is_token(k) || has_ctl(v)) {
      co_return Status::invalid_argument("bad request header '" + k + "'");
    }
  }
  const std::string& sni = req.server_name.empty() ? u->host : req.server_name;
  if (has_ctl(sni) || sni.empty()) {
    co_return Status::invalid_argument("bad server_name '" + sni + "'");
  }
  TlsContextPtr ctx = req.tls;
  if (u->https && !ctx) {
    auto made = make_tls_context(req.ca_file);
    if (!made.ok()) {
      co_return made.status();
    }
    ctx = std::move(made).value();
  }

  auto ex = co_await asio::this_coro::executor;
  const Clock::time_point deadline = Clock::now() + req.timeout;
  std::vector<tcp::endpoint> endpoints;
  boost::system::error_code ec;
  const auto addr = asio::ip::make_address(u->host, ec);
  if (!ec) {
    endpoints.emplace_back(addr, u->port);
  } else {
    auto r = co_await resolve(*u, deadline, req.url);
    if (!r.ok()) {
      co_return r.status();
    }
    for (const auto& e : *r) {
      endpoints.push_back(e.endpoint());
    }
  }

  beast::tcp_stream tcp_stream(ex);
  tcp_stream.expires_at(deadline);
  co_await tcp_stream.async_connect(endpoints, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return io_error("connect", ec, req.url);
  }
  tcp_stream.socket().set_option(tcp::no_delay(true), ec);
  if (!u->https) {
    co_return co_await exchange(tcp_stream, req, *u);
  }

  beast::ssl_stream<beast::tcp_stream> tls(std::move(tcp_stream), *ctx);
  boost::system::error_code not_ip;
  (void)asio::ip::make_address(sni, not_ip);
  if (not_ip) {
    // SNI carries host names only (RFC 6066 §3). SSL_set_tlsext_host_name is a
    // macro with a C cast; this is its expansion.
    SSL_ctrl(tls.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(sni.c_str()));
  }
  tls.set_verify_mode(asio::ssl::verify_peer);
  tls.set_verify_callback(asio::ssl::host_name_verification(sni));
  beast::get_lowest_layer(tls).expires_at(deadline);
  co_await tls.async_handshake(asio::ssl::stream_base::client,
                               asio::redirect_error(asio::use_awaitable, ec));
  if (ec) {
    co_return io_error("tls handshake", ec, req.url);
  }
  // No close_notify exchange: the response is complete (framed) and the socket
  // is dropped.
  co_return co_await exchange(tls, req, *u);
}

}  // namespace

std::optional<std::string_view> ClientResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (iequals(k, name)) {
      return std::string_view(v);
    }
  }
  return std::nullopt;
}

std::string Url::host_header() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != (https ? 443 : 80)) {
    h += ":" + std::to_string(port);
  }
  return h;
}

bool Url::loopback() const {
  if (iequals(host, "localhost")) {
    return true;
  }
  boost::system::error_code ec;
  const auto a = asio::ip::make_address(host, ec);
  return !ec && a.is_loopback();
}

Result<Url> parse_url(std::string_view url) {
  auto r = boost::urls::parse_uri(url);
  if (!r) {
    return Status::invalid_argument("'" + std::string(url) + "' is not an absolute URL");
  }
  const boost::urls::url_view& v = *r;
  Url u;
  const std::string scheme(v.scheme());
  if (iequals(scheme, "https")) {
    u.https = true;
  } else if (!iequals(scheme, "http")) {
    return Status::invalid_argument("'" + std::string(url) + "': only http and https URLs");
  }
  if (v.has_userinfo()) {
    return Status::invalid_argument("'" + std::string(url) + "': user info is not allowed");
  }
  switch (v.host_type()) {
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::name:
      u.host = std::string(v.encoded_host());
      break;
    case boost::urls::host_type::ipv6:
      u.host = v.host_ipv6_address().to_string();
      break;
    default:
      return Status::invalid_argument("'" + std::string(url) + "': bad host");
  }
  if (u.host.empty() || u.host.find('%') != std::string::npos) {
    return Status::invalid_argument("'" + std::string(url) + "': bad host");
  }
  if (v.has_port()) {
    const std::string_view p = v.port();
    if (p.empty() || p.size() > 5 || v.port_number() == 0) {
      return Status::invalid_argument("'" + std::string(url) + "': bad port");
    }
    u.port = v.port_number();
  } else {
    u.port = u.https ? 443 : 80;
  }
  u.target = std::string(v.encoded_path());
  if (u.target.empty()) {
    u.target = "/";
  }
  if (u.target.front() != '/') {
    return Status::invalid_argument("'" + std::string(url) + "': bad path");
  }
  if (v.has_query()) {
    u.target += "?";
    u.target += std::string(v.encoded_query());
  }
  return u;
}

Result<TlsContextPtr> make_tls_context(const std::string& ca_file, const std::string& cert_file,
                                       const std::string& key_file) {
  auto ctx = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_client);
  boost::system::error_code ec;
  ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1,
                   ec);
  ctx->set_verify_mode(asio::ssl::verify_peer, ec);
  if (ca_file.empty()) {
    ctx->set_default_verify_paths(ec);
    if (ec) {
      return Status::unavailable("system trust store: " + ec.message());
    }
  } else {
    ctx->load_verify_file(ca_file, ec);
    if (ec) {
      return Status::invalid_argument("ca_file " + ca_file + ": " + ec.message());
    }
  }
  if (cert_file.empty() != key_file.empty()) {
    return Status::invalid_argument("a client certificate needs both cert_file and key_file");
  }
  if (!cert_file.empty()) {
    ctx->use_certificate_chain_file(cert_file, ec);
    if (ec) {
      return Status::invalid_argument("cert_file " + cert_file + ": " + ec.message());
    }
    ctx->use_private_key_file(key_file, asio::ssl::context::pem, ec);
    if (ec) {
      return Status::invalid_argument("key_file " + key_file + ": " + ec.message());
    }
  }
  return ctx;
}

asio::awaitable<Result<ClientResponse>> fetch(ClientRequest req) {
  // `req` is owned by this frame for the whole exchange.
  co_return co_await fetch_impl(req);
}

Result<ClientResponse> fetch_blocking(ClientRequest req) {
  asio::io_context ioc{1};
  std::optional<Result<ClientResponse>> out;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await fetch(std::move(req))); },
      asio::detached);
  ioc.run();
  if (!out) {
    return Status::internal("fetch did not complete");
  }
  return std::move(*out);
}

}  // namespace obsgate::gateway::client
