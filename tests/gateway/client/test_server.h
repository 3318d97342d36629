// An in-process HTTP/1.1 test server (plain or TLS) on 127.0.0.1:<ephemeral>, running on its
// own thread. It records what it received (method, target, headers, body, SNI, client
// certificate CN) and answers each request with what the handler returns: a normal response,
// a delayed one, raw bytes (malformed responses), or nothing (a hang, until destruction).
// One request per connection. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace obsgate::testing {

struct TestRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string sni;        // TLS: the server name the client sent (empty: none)
  std::string client_cn;  // TLS: the verified client certificate's CN (empty: none)

  [[nodiscard]] std::string header(std::string_view name) const;
};

struct TestReply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds delay{0};  // before answering
  std::string raw;                     // when set: sent verbatim instead of a response
  bool hang = false;                   // never answer (until the server stops)
};

using TestHeaders = std::vector<std::pair<std::string, std::string>>;
inline TestReply reply(unsigned status, TestHeaders headers = {}, std::string body = {}) {
  TestReply r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}
inline TestReply raw_reply(std::string bytes) {
  TestReply r;
  r.raw = std::move(bytes);
  return r;
}
inline TestReply hang_reply() {
  TestReply r;
  r.hang = true;
  return r;
}
inline TestReply delayed_reply(std::string body, std::chrono::milliseconds delay) {
  TestReply r = reply(200, {}, std::move(body));
  r.delay = delay;
  return r;
}

struct TestTlsOptions {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;  // set: request (not require) a client certificate
                               // from this CA
};

class TestHttpServer {
 public:
  using Handler = std::function<TestReply(const TestRequest&)>;

  explicit TestHttpServer(Handler handler, std::optional<TestTlsOptions> tls = std::nullopt);
  ~TestHttpServer();
  TestHttpServer(const TestHttpServer&) = delete;
  TestHttpServer& operator=(const TestHttpServer&) = delete;

  [[nodiscard]] uint16_t port() const;
  // "http(s)://127.0.0.1:<port>" + path
  [[nodiscard]] std::string url(std::string_view path = "") const;
  [[nodiscard]] std::vector<TestRequest> requests() const;
  [[nodiscard]] std::size_t request_count() const;
  void set_handler(Handler handler);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace obsgate::testing
