// gateway/client/http_client: URL parsing (pure) and real exchanges against an
// in-process plain/TLS test server, asserting what the server received as well
// as what the client got.
#include "gateway/client/http_client.h"

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <vector>

#include "tests/gateway/client/test_certs.h"
#include "tests/gateway/client/test_server.h"

namespace obsgate::gateway::client {
namespace {

using testing::TestHttpServer;
using testing::TestReply;
using testing::TestRequest;
using testing::TestTlsOptions;
using namespace std::chrono_literals;

// ---- composable checks
// ------------------------------------------------------------------

using Check = std::function<void(const Result<ClientResponse>&, const TestHttpServer&)>;

Check is_ok() {
  return [](const Result<ClientResponse>& r, const TestHttpServer&) {
    INFO(r.status().to_string());
    REQUIRE(r.ok());
  };
}
Check has_code(Code c) {
  return [c](const Result<ClientResponse>& r, const TestHttpServer&) {
    INFO(r.status().to_string());
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == c);
  };
}
Check has_status(unsigned s) {
  return [s](const Result<ClientResponse>& r, const TestHttpServer&) {
    REQUIRE(r.ok());
    CHECK(r->status == s);
  };
}
Check has_body(std::string b) {
  return [b](const Result<ClientResponse>& r, const TestHttpServer&) {
    REQUIRE(r.ok());
    CHECK(r->body == b);
  };
}
Check has_header(std::string k, std::string v) {
  return [k, v](const Result<ClientResponse>& r, const TestHttpServer&) {
    REQUIRE(r.ok());
    REQUIRE(r->header(k).has_value());
    CHECK(*r->header(k) == v);
  };
}
Check server_saw(std::function<void(const TestRequest&)> f) {
  return [f](const Result<ClientResponse>&, const TestHttpServer& s) {
    auto reqs = s.requests();
    REQUIRE(reqs.size() == 1);
    f(reqs[0]);
  };
}
Check server_saw_nothing() {
  return
      [](const Result<ClientResponse>&, const TestHttpServer& s) { CHECK(s.request_count() == 0); };
}

// ---- URL parsing
// --------------------------------------------------------------------------

TEST_CASE("parse_url", "[client]") {
  struct Case {
    std::string name;
    std::string url;
    bool ok;
    bool https;
    std::string host;
    uint16_t port;
    std::string target;
    std::string host_header;
  };
  const std::vector<Case> cases = {
      {"http default port", "http://idp.example/jwks", true, false, "idp.example", 80, "/jwks",
       "idp.example"},
      {"https default port", "https://idp.example", true, true, "idp.example", 443, "/",
       "idp.example"},
      {"explicit port and query", "https://127.0.0.1:8443/a/b?x=1&y=%20", true, true, "127.0.0.1",
       8443, "/a/b?x=1&y=%20", "127.0.0.1:8443"},
      {"ipv6 literal", "http://[::1]:9000/p", true, false, "::1", 9000, "/p", "[::1]:9000"},
      {"fragment dropped", "http://h/p#frag", true, false, "h", 80, "/p", "h"},
      {"scheme case-insensitive", "HTTPS://h/", true, true, "h", 443, "/", "h"},
      {"not http", "ftp://h/", false, false, "", 0, "", ""},
      {"relative", "/jwks", false, false, "", 0, "", ""},
      {"userinfo refused", "https://user:pw@h/", false, false, "", 0, "", ""},
      {"empty host", "http:///p", false, false, "", 0, "", ""},
      {"port zero", "http://h:0/", false, false, "", 0, "", ""},
      {"port too big", "http://h:65536/", false, false, "", 0, "", ""},
      {"port not a number", "http://h:ab/", false, false, "", 0, "", ""},
      {"percent in host", "http://a%2eb/", false, false, "", 0, "", ""},
      {"space", "http://h/a b", false, false, "", 0, "", ""},
      {"empty", "", false, false, "", 0, "", ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto u = parse_url(c.url);
      INFO(u.status().to_string());
      REQUIRE(u.ok() == c.ok);
      if (!c.ok) {
        CHECK(u.status().code() == Code::kInvalidArgument);
        continue;
      }
      CHECK(u->https == c.https);
      CHECK(u->host == c.host);
      CHECK(u->port == c.port);
      CHECK(u->target == c.target);
      CHECK(u->host_header() == c.host_header);
    }
  }
}

TEST_CASE("Url::loopback", "[client]") {
  struct Case {
    std::string url;
    bool loopback;
  };
  const std::vector<Case> cases = {{"http://127.0.0.1/", true},   {"http://127.8.9.1/", true},
                                   {"http://[::1]/", true},       {"http://LocalHost:1/", true},
                                   {"http://10.0.0.1/", false},   {"http://localhost.evil/", false},
                                   {"http://example.org/", false}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.url) {
      auto u = parse_url(c.url);
      REQUIRE(u.ok());
      CHECK(u->loopback() == c.loopback);
    }
  }
}

// ---- plain HTTP exchanges
// ----------------------------------------------------------------

TEST_CASE("fetch over plain HTTP", "[client]") {
  struct Case {
    std::string name;
    std::function<void(ClientRequest&)> request;  // url preset to server + "/path?q=1"
    TestReply reply;
    std::vector<Check> checks;
  };
  const std::string big(2000, 'x');
  const std::vector<Case> cases = {
      {"GET 200",
       [](ClientRequest&) {},
       testing::reply(200, {{"Content-Type", "application/json"}, {"Cache-Control", "max-age=60"}},
                      "{}"),
       {is_ok(), has_status(200), has_body("{}"), has_header("cache-control", "max-age=60"),
        server_saw([](const TestRequest& r) {
          CHECK(r.method == "GET");
          CHECK(r.target == "/path?q=1");
          CHECK(r.header("Host").rfind("127.0.0.1:", 0) == 0);
          CHECK(r.header("Connection") == "close");
          CHECK(r.body.empty());
        })}},
      {"POST with body and headers",
       [](ClientRequest& q) {
         q.method = "POST";
         q.body = "a=1";
         q.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                      {"X-Vault-Token", "t"}};
       },
       testing::reply(201, {}, "made"),
       {has_status(201), has_body("made"), server_saw([](const TestRequest& r) {
          CHECK(r.method == "POST");
          CHECK(r.body == "a=1");
          CHECK(r.header("Content-Length") == "3");
          CHECK(r.header("X-Vault-Token") == "t");
        })}},
      {"404 is a response, not an error",
       [](ClientRequest&) {},
       testing::reply(404, {}, "nope"),
       {has_status(404), has_body("nope")}},
      {"redirect is not followed",
       [](ClientRequest&) {},
       testing::reply(302, {{"Location", "http://127.0.0.1:1/elsewhere"}}),
       {has_status(302), has_header("Location", "http://127.0.0.1:1/elsewhere"),
        server_saw([](const TestRequest&) {})}},
      {"chunked body decoded",
       [](ClientRequest&) {},
       testing::raw_reply("HTTP/1.1 200 OK\r\nTransfer-Encoding: "
                          "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"),
       {has_status(200), has_body("abcde")}},
      {"body read to close",
       [](ClientRequest&) {},
       testing::raw_reply("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil-eof"),
       {has_body("until-eof")}},
      {"body above the cap",
       [](ClientRequest& q) { q.max_body_bytes = 1000; },
       testing::reply(200, {}, big),
       {has_code(Code::kResourceExhausted)}},
      {"body at the cap",
       [](ClientRequest& q) { q.max_body_bytes = 2000; },
       testing::reply(200, {}, big),
       {has_status(200), has_body(big)}},
      {"header above the cap",
       [](ClientRequest& q) { q.max_header_bytes = 100; },
       testing::reply(200, {{"X-Big", big}}),
       {has_code(Code::kResourceExhausted)}},
      {"malformed response",
       [](ClientRequest&) {},
       testing::raw_reply("NOT HTTP AT ALL\r\n\r\n"),
       {has_code(Code::kUnavailable)}},
      {"server hangs: total timeout",
       [](ClientRequest& q) { q.timeout = 200ms; },
       testing::hang_reply(),
       {has_code(Code::kDeadlineExceeded)}},
      {"slow answer within timeout",
       [](ClientRequest& q) { q.timeout = 5s; },
       testing::delayed_reply("late", 50ms),
       {has_body("late")}},
      {"bad method",
       [](ClientRequest& q) { q.method = "GE T"; },
       TestReply{},
       {has_code(Code::kInvalidArgument), server_saw_nothing()}},
      {"header injection",
       [](ClientRequest& q) {
         q.headers = {{"X-A", "v\r\nX-B: w"}};
       },
       TestReply{},
       {has_code(Code::kInvalidArgument), server_saw_nothing()}},
      {"bad header name",
       [](ClientRequest& q) {
         q.headers = {{"X A", "v"}};
       },
       TestReply{},
       {has_code(Code::kInvalidArgument), server_saw_nothing()}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      TestHttpServer server([&](const TestRequest&) { return c.reply; });
      ClientRequest req;
      req.url = server.url("/path?q=1");
      req.timeout = 5s;
      c.request(req);
      auto r = fetch_blocking(req);
      for (const auto& check : c.checks) {
        check(r, server);
      }
    }
  }
}

TEST_CASE("fetch: connection refused and bad URL", "[client]") {
  uint16_t closed_port = 0;
  {
    TestHttpServer s([](const TestRequest&) { return TestReply{}; });
    closed_port = s.port();
  }
  struct Case {
    std::string name;
    std::string url;
    Code code;
  };
  const std::vector<Case> cases = {
      {"refused", "http://127.0.0.1:" + std::to_string(closed_port) + "/", Code::kUnavailable},
      {"not a URL", "127.0.0.1/x", Code::kInvalidArgument},
      {"unresolvable name", "http://name.invalid/", Code::kUnavailable},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      ClientRequest req;
      req.url = c.url;
      req.timeout = 3s;
      auto r = fetch_blocking(req);
      INFO(r.status().to_string());
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == c.code);
    }
  }
}

// ---- TLS
// ------------------------------------------------------------------------------------

TEST_CASE("fetch over TLS: trust, SNI, host names, client certificates", "[client][tls]") {
  testing::TestPki pki;
  struct Case {
    std::string name;
    bool other_cert;   // server presents other.example instead of localhost
    std::string host;  // URL host
    std::function<void(ClientRequest&, const testing::TestPki&)> request;
    std::vector<Check> checks;
  };
  const std::vector<Case> cases = {
      {"trusted CA, name host: SNI sent",
       false,
       "localhost",
       [](ClientRequest& q, const testing::TestPki& p) { q.ca_file = p.ca_cert; },
       {has_status(200), server_saw([](const TestRequest& r) {
          CHECK(r.sni == "localhost");
          CHECK(r.client_cn.empty());
        })}},
      {"trusted CA, IP host: IP SAN verified, no SNI",
       false,
       "127.0.0.1",
       [](ClientRequest& q, const testing::TestPki& p) { q.ca_file = p.ca_cert; },
       {has_status(200), server_saw([](const TestRequest& r) { CHECK(r.sni.empty()); })}},
      {"unrelated CA refused",
       false,
       "localhost",
       [](ClientRequest& q, const testing::TestPki& p) { q.ca_file = p.other_ca_cert; },
       {has_code(Code::kUnavailable), server_saw_nothing()}},
      {"system trust store does not know the test CA",
       false,
       "localhost",
       [](ClientRequest&, const testing::TestPki&) {},
       {has_code(Code::kUnavailable), server_saw_nothing()}},
      {"certificate for another name refused",
       true,
       "localhost",
       [](ClientRequest& q, const testing::TestPki& p) { q.ca_file = p.ca_cert; },
       {has_code(Code::kUnavailable), server_saw_nothing()}},
      {"server_name override matches the certificate",
       true,
       "127.0.0.1",
       [](ClientRequest& q, const testing::TestPki& p) {
         q.ca_file = p.ca_cert;
         q.server_name = "other.example";
       },
       {has_status(200),
        server_saw([](const TestRequest& r) { CHECK(r.sni == "other.example"); })}},
      {"client certificate via make_tls_context",
       false,
       "localhost",
       [](ClientRequest& q, const testing::TestPki& p) {
         auto ctx = make_tls_context(p.ca_cert, p.client_cert, p.client_key);
         REQUIRE(ctx.ok());
         q.tls = *ctx;
       },
       {has_status(200),
        server_saw([](const TestRequest& r) { CHECK(r.client_cn == "client-a"); })}},
      {"missing ca_file",
       false,
       "localhost",
       [](ClientRequest& q, const testing::TestPki& p) { q.ca_file = p.dir + "/none.pem"; },
       {has_code(Code::kInvalidArgument), server_saw_nothing()}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      TestTlsOptions tls{c.other_cert ? pki.other_server_cert : pki.server_cert,
                         c.other_cert ? pki.other_server_key : pki.server_key, pki.ca_cert};
      TestHttpServer server([](const TestRequest&) { return testing::reply(200, {}, "tls-ok"); },
                            tls);
      ClientRequest req;
      req.url = "https://" + c.host + ":" + std::to_string(server.port()) + "/x";
      req.timeout = 5s;
      c.request(req, pki);
      auto r = fetch_blocking(req);
      for (const auto& check : c.checks) {
        check(r, server);
      }
    }
  }
}

TEST_CASE("make_tls_context errors name the file", "[client][tls]") {
  testing::TestPki pki;
  struct Case {
    std::string name;
    std::string ca, cert, key;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {"missing CA", pki.dir + "/nope.pem", "", "", "nope.pem"},
      {"cert without key", pki.ca_cert, pki.client_cert, "", "both"},
      {"key does not parse", pki.ca_cert, pki.client_cert, pki.ca_cert, "key_file"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = make_tls_context(c.ca, c.cert, c.key);
      REQUIRE_FALSE(r.ok());
      CHECK(r.status().code() == Code::kInvalidArgument);
      CHECK(r.status().message().find(c.mentions) != std::string::npos);
    }
  }
}

}  // namespace
}  // namespace obsgate::gateway::client
