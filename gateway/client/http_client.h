// A small asynchronous HTTP/1.1 client for obsgate's own outbound calls (OIDC discovery, JWKS,
// OpenBao fan-out), on Beast and C++20 coroutines.
//
// One request per connection (`Connection: close`); no pooling, no redirects: a 3xx comes back
// as a response like any other status and the caller decides (following a redirect would let a
// key or secret endpoint move to another origin behind the configuration's back). The whole
// exchange (resolve, connect, TLS handshake, write, read) is bounded by `timeout`; the response
// head by `max_header_bytes` and the body by `max_body_bytes` (bigger -> ResourceExhausted).
//
// TLS (https URLs): SNI and host name verification against `server_name` (default: the URL's
// host; no SNI for IP literals, RFC 6066), peer verification always on. Trust comes from
// `tls` when given (a context the caller built, e.g. with a client certificate for mTLS), else
// from `ca_file`, else from the system store.
//
// Errors (never throws): InvalidArgument (bad URL or request), Unavailable (resolve, connect,
// TLS, I/O, malformed response), DeadlineExceeded (timeout), ResourceExhausted (size caps).
// Statuses other than 2xx are not errors: check ClientResponse::status.
//
// Threading: fetch() runs on the awaiting coroutine's executor, which must not run handlers
// concurrently (an io_context run by one thread, or a strand).
//
//   ClientRequest req;
//   req.url = "https://idp.example/.well-known/openid-configuration";
//   req.timeout = 2s;
//   Result<ClientResponse> r = co_await fetch(req);
//   if (r.ok() && r->status == 200) { use(r->body); }
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace boost::asio::ssl {
class context;
}  // namespace boost::asio::ssl

namespace obsgate::gateway::client {

using TlsContextPtr = std::shared_ptr<boost::asio::ssl::context>;

struct ClientRequest {
  std::string url;             // http://host[:port]/path?query or https://...
  std::string method = "GET";  // any token method; a body is sent with Content-Length
  std::vector<std::pair<std::string, std::string>> headers;  // Host/Content-Length are set
  std::string body;
  TlsContextPtr tls;        // https: use this context as it is (verify mode is forced on)
  std::string ca_file;      // https without `tls`: PEM bundle to trust (else the system's)
  std::string server_name;  // https: SNI and verified name; empty: the URL's host
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};  // the whole exchange
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
};

struct ClientResponse {
  unsigned status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // as received, in order
  std::string body;                                          // decoded from chunked if needed

  // The first header of that name (case-insensitive), if any.
  [[nodiscard]] std::optional<std::string_view> header(std::string_view name) const;
};

// Parsed http(s) URL. Only what the client needs: no userinfo (refused), no
// fragment (dropped).
struct Url {
  bool https = false;
  std::string host;    // without brackets for IPv6
  uint16_t port = 0;   // explicit or the scheme's default
  std::string target;  // path + "?" + query, "/" when empty
  // "host", "host:port" or "[v6]:port" as a Host header (default ports
  // omitted).
  [[nodiscard]] std::string host_header() const;
  // True when host is 127.0.0.0/8, ::1 or "localhost".
  [[nodiscard]] bool loopback() const;
};
Result<Url> parse_url(std::string_view url);

// A TLS client context: TLS 1.2+, peer verification on, trust from `ca_file`
// (PEM) or the system store when empty, and optionally a client certificate
// chain + key (PEM files) for mutual TLS. Errors name the file.
Result<TlsContextPtr> make_tls_context(const std::string& ca_file,
                                       const std::string& cert_file = {},
                                       const std::string& key_file = {});

// The exchange, on the current coroutine's executor.
boost::asio::awaitable<Result<ClientResponse>> fetch(ClientRequest req);

// For command-line tools: runs fetch() on a private io_context and blocks until
// it is done.
Result<ClientResponse> fetch_blocking(ClientRequest req);

}  // namespace obsgate::gateway::client
