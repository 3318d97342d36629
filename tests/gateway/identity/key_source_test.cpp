// gateway/identity/key_source: the pure document rules (tables) and the real
// sources against an in-process HTTP(S) server, asserting what the server was
// asked as well as the result.
#include "gateway/identity/key_source.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>

#include "tests/gateway/client/test_certs.h"
#include "tests/gateway/client/test_server.h"
#include "tests/gateway/identity/fakes.h"

namespace obsgate::gateway::identity {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using obsgate::testing::hang_reply;
using obsgate::testing::reply;
using obsgate::testing::TestHttpServer;
using obsgate::testing::TestReply;
using obsgate::testing::TestRequest;

TEST_CASE("parse_max_age", "[identity][source]") {
  struct Case {
    std::string header;
    std::optional<long> seconds;
  };
  const std::vector<Case> cases = {
      {"max-age=60", 60},
      {"public, max-age=3600", 3600},
      {"MAX-AGE=5 , must-revalidate", 5},
      {"max-age=\"120\"", 120},
      {"max-age=0", 0},
      {"no-store", 0},
      {"max-age=600, no-cache", 0},
      {"public", std::nullopt},
      {"", std::nullopt},
      {"max-age=", std::nullopt},
      {"max-age=-1", std::nullopt},
      {"max-age=1e3", std::nullopt},
      {"max-age=60, max-age=70", std::nullopt},
      {"max-age=99999999999999999999999", 10L * 365 * 24 * 3600},
      {"s-maxage=60", std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION("'" << c.header << "'") {
      auto r = parse_max_age(c.header);
      REQUIRE(r.has_value() == c.seconds.has_value());
      if (c.seconds) {
        CHECK(*r == std::chrono::seconds(*c.seconds));
      }
    }
  }
}

TEST_CASE("check_key_url", "[identity][source]") {
  struct Case {
    std::string url;
    std::string issuer;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"https://idp.example/jwks", "https://idp.example", true},
      {"https://other.example/jwks", "https://idp.example", true},
      {"http://idp.example/jwks", "https://idp.example", false},
      {"http://idp.example/jwks", "http://idp.example", false},
      {"http://127.0.0.1:9/jwks", "http://127.0.0.1:8", true},
      {"http://localhost:9/jwks", "http://localhost:8/realms/x", true},
      {"http://127.0.0.1:9/jwks", "https://127.0.0.1:8", false},
      {"http://127.0.0.1:9/jwks", "http://localhost:8", false},
      {"http://10.0.0.1/jwks", "http://127.0.0.1", false},
      {"ftp://idp.example/jwks", "https://idp.example", false},
      {"not a url", "https://idp.example", false},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.url << " for " << c.issuer) {
      Status st = check_key_url(c.url, c.issuer);
      INFO(st.to_string());
      CHECK(st.ok() == c.ok);
    }
  }
}

TEST_CASE("parse_discovery", "[identity][source]") {
  const std::string iss = "https://idp.example/realms/obs";
  struct Case {
    std::string name;
    std::string body;
    std::string want;  // jwks_uri, or a fragment of the error
    bool ok;
  };
  const std::vector<Case> cases = {
      {"valid",
       R"({"issuer":"https://idp.example/realms/obs","jwks_uri":"https://idp.example/certs","x":[1,{"y":2}]})",
       "https://idp.example/certs", true},
      {"issuer with trailing slash differs",
       R"({"issuer":"https://idp.example/realms/obs/","jwks_uri":"https://idp.example/certs"})",
       "is not the configured issuer", false},
      {"issuer case differs",
       R"({"issuer":"https://IDP.example/realms/obs","jwks_uri":"https://idp.example/certs"})",
       "is not the configured issuer", false},
      {"no issuer", R"({"jwks_uri":"https://idp.example/certs"})", "no \"issuer\"", false},
      {"issuer not a string", R"({"issuer":1,"jwks_uri":"https://idp.example/certs"})",
       "no \"issuer\"", false},
      {"no jwks_uri", R"({"issuer":"https://idp.example/realms/obs"})", "no \"jwks_uri\"", false},
      {"http jwks_uri",
       R"({"issuer":"https://idp.example/realms/obs","jwks_uri":"http://idp.example/certs"})",
       "not https", false},
      {"duplicate issuer",
       R"({"issuer":"https://evil","issuer":"https://idp.example/realms/obs","jwks_uri":"https://idp.example/certs"})",
       "discovery document", false},
      {"not an object", R"(["issuer"])", "discovery document", false},
      {"not JSON", "<html>", "discovery document", false},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = parse_discovery(c.body, iss);
      INFO(r.status().to_string());
      REQUIRE(r.ok() == c.ok);
      if (c.ok) {
        CHECK(*r == c.want);
      } else {
        CHECK(r.status().code() == Code::kInvalidArgument);
        CHECK(r.status().message().find(c.want) != std::string::npos);
      }
    }
  }
  CHECK(discovery_url("https://a/b/") == "https://a/b/.well-known/openid-configuration");
  CHECK(discovery_url("https://a") == "https://a/.well-known/openid-configuration");
}

Result<FetchedKeys> run_fetch(KeySource& s) {
  asio::io_context ioc;
  std::optional<Result<FetchedKeys>> out;
  asio::co_spawn(
      ioc, [&]() -> asio::awaitable<void> { out.emplace(co_await s.fetch()); }, asio::detached);
  ioc.run();
  REQUIRE(out.has_value());
  return std::move(*out);
}

// An issuer served by a TestHttpServer: documents by path, with optional
// headers.
struct Idp {
  std::map<std::string, TestReply> docs;
  std::mutex mu;
  TestHttpServer server;
  explicit Idp(std::optional<obsgate::testing::TestTlsOptions> tls = std::nullopt)
      : server(
            [this](const TestRequest& r) {
              std::lock_guard lock(mu);
              auto it = docs.find(r.target);
              return it == docs.end() ? reply(404, {}, "no") : it->second;
            },
            tls) {}
  void set(const std::string& path, TestReply r) {
    std::lock_guard lock(mu);
    docs[path] = std::move(r);
  }
  std::vector<std::string> targets() const {
    std::vector<std::string> t;
    for (const auto& r : server.requests()) {
      t.push_back(r.target);
    }
    return t;
  }
};

std::string discovery_doc(const std::string& issuer, const std::string& jwks_uri) {
  return "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + jwks_uri + "\"}";
}

TEST_CASE("discovery source against a local issuer", "[identity][source]") {
  const std::string wk = "/.well-known/openid-configuration";
  struct Case {
    std::string name;
    std::function<void(Idp&, ProviderKeysConfig&)> setup;
    Code code;                         // kOk for success
    std::vector<std::string> targets;  // what the issuer was asked, in order
    std::optional<long> max_age_s;
  };
  const std::string jwks = testing::make_jwks({"k1", "k2"});
  const std::vector<Case> cases = {
      {"discovery then JWKS, max-age passed on",
       [&](Idp& i, ProviderKeysConfig& c) {
         i.set(wk, reply(200, {}, discovery_doc(c.issuer, c.issuer + "/jwks")));
         i.set("/jwks", reply(200, {{"Cache-Control", "public, max-age=300"}}, jwks));
       },
       Code::kOk,
       {wk, "/jwks"},
       300},
      {"issuer with a path",
       [&](Idp& i, ProviderKeysConfig& c) {
         c.issuer += "/realms/obs";
         i.set("/realms/obs" + wk, reply(200, {}, discovery_doc(c.issuer, c.issuer + "/certs")));
         i.set("/realms/obs/certs", reply(200, {}, jwks));
       },
       Code::kOk,
       {"/realms/obs" + wk, "/realms/obs/certs"},
       std::nullopt},
      {"issuer mismatch refused before any JWKS fetch",
       [&](Idp& i, ProviderKeysConfig& c) {
         i.set(wk, reply(200, {}, discovery_doc(c.issuer + "/other", c.issuer + "/jwks")));
         i.set("/jwks", reply(200, {}, jwks));
       },
       Code::kInvalidArgument,
       {wk},
       std::nullopt},
      {"jwks_uri off-loopback over http refused",
       [&](Idp& i, ProviderKeysConfig& c) {
         i.set(wk, reply(200, {}, discovery_doc(c.issuer, "http://10.1.2.3/jwks")));
       },
       Code::kInvalidArgument,
       {wk},
       std::nullopt},
      {"discovery 404", [&](Idp&, ProviderKeysConfig&) {}, Code::kUnavailable, {wk}, std::nullopt},
      {"redirect not followed",
       [&](Idp& i, ProviderKeysConfig& c) {
         i.set(wk, reply(302, {{"Location", c.issuer + "/elsewhere"}}, ""));
       },
       Code::kUnavailable,
       {wk},
       std::nullopt},
      {"JWKS without usable keys",
       [&](Idp& i, ProviderKeysConfig& c) {
         i.set(wk, reply(200, {}, discovery_doc(c.issuer, c.issuer + "/jwks")));
         i.set("/jwks", reply(200, {}, R"({"keys":[{"kty":"oct","k":"AAAA"}]})"));
       },
       Code::kInvalidArgument,
       {wk, "/jwks"},
       std::nullopt},
      {"JWKS above 512 KiB",
       [&](Idp& i, ProviderKeysConfig& c) {
         i.set(wk, reply(200, {}, discovery_doc(c.issuer, c.issuer + "/jwks")));
         i.set("/jwks", reply(200, {}, std::string(600 * 1024, ' ')));
       },
       Code::kResourceExhausted,
       {wk, "/jwks"},
       std::nullopt},
      {"slow issuer: fetch_timeout",
       [&](Idp& i, ProviderKeysConfig& c) {
         c.fetch_timeout = 200ms;
         i.set(wk, hang_reply());
       },
       Code::kDeadlineExceeded,
       {wk},
       std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Idp idp;
      ProviderKeysConfig cfg;
      cfg.name = "p";
      cfg.issuer = idp.server.url();
      c.setup(idp, cfg);
      auto src = make_key_source(cfg);
      auto r = run_fetch(*src);
      INFO(r.status().to_string());
      CHECK(r.status().code() == c.code);
      CHECK(idp.targets() == c.targets);
      if (r.ok()) {
        CHECK(testing::has_kid(r->keys, "k1"));
        CHECK(r->max_age.has_value() == c.max_age_s.has_value());
        if (c.max_age_s) {
          CHECK(*r->max_age == std::chrono::seconds(*c.max_age_s));
        }
      }
    }
  }
}

TEST_CASE("discovery source remembers jwks_uri and rediscovers after a failure",
          "[identity][source]") {
  const std::string wk = "/.well-known/openid-configuration";
  Idp idp;
  ProviderKeysConfig cfg;
  cfg.issuer = idp.server.url();
  idp.set(wk, reply(200, {}, discovery_doc(cfg.issuer, cfg.issuer + "/jwks1")));
  idp.set("/jwks1", reply(200, {}, testing::make_jwks({"k1"})));
  auto src = make_key_source(cfg);
  REQUIRE(run_fetch(*src).ok());
  REQUIRE(run_fetch(*src).ok());
  CHECK(idp.targets() == std::vector<std::string>{wk, "/jwks1", "/jwks1"});
  // The provider moves its keys: the old URL fails once, then discovery finds
  // the new one.
  idp.set("/jwks1", reply(404, {}, ""));
  idp.set(wk, reply(200, {}, discovery_doc(cfg.issuer, cfg.issuer + "/jwks2")));
  idp.set("/jwks2", reply(200, {}, testing::make_jwks({"k2"})));
  CHECK(run_fetch(*src).status().code() == Code::kUnavailable);
  auto r = run_fetch(*src);
  REQUIRE(r.ok());
  CHECK(testing::has_kid(r->keys, "k2"));
  CHECK(idp.targets() == std::vector<std::string>{wk, "/jwks1", "/jwks1", "/jwks1", wk, "/jwks2"});
}

TEST_CASE("jwks_uri and file sources; discovery over TLS", "[identity][source]") {
  obsgate::testing::TestPki pki;
  Idp tls_idp(obsgate::testing::TestTlsOptions{pki.server_cert, pki.server_key, ""});
  const std::string tls_issuer = "https://localhost:" + std::to_string(tls_idp.server.port());
  tls_idp.set("/.well-known/openid-configuration",
              reply(200, {}, discovery_doc(tls_issuer, tls_issuer + "/jwks")));
  tls_idp.set("/jwks", reply(200, {}, testing::make_jwks({"tls-k"})));
  Idp plain;
  plain.set("/keys", reply(200, {{"Cache-Control", "max-age=42"}}, testing::make_jwks({"uri-k"})));
  const std::string file = pki.dir + "/jwks.json";
  std::ofstream(file) << testing::make_jwks({"file-k"});

  struct Case {
    std::string name;
    ProviderKeysConfig cfg;
    Code code;
    std::string kid;
  };
  auto make = [](std::string issuer, ProviderKeysConfig::Source s, std::string where,
                 std::string ca) {
    ProviderKeysConfig c;
    c.name = "p";
    c.issuer = std::move(issuer);
    c.source = s;
    c.jwks_uri_or_file = std::move(where);
    c.ca_file = std::move(ca);
    return c;
  };
  const std::vector<Case> cases = {
      {"TLS discovery with the issuer's CA",
       make(tls_issuer, ProviderKeysConfig::kDiscovery, "", pki.ca_cert), Code::kOk, "tls-k"},
      {"TLS discovery with another CA",
       make(tls_issuer, ProviderKeysConfig::kDiscovery, "", pki.other_ca_cert), Code::kUnavailable,
       ""},
      {"explicit jwks_uri on loopback",
       make(plain.server.url(), ProviderKeysConfig::kJwksUri, plain.server.url("/keys"), ""),
       Code::kOk, "uri-k"},
      {"explicit http jwks_uri for an https issuer refused",
       make("https://idp.example", ProviderKeysConfig::kJwksUri, plain.server.url("/keys"), ""),
       Code::kInvalidArgument, ""},
      {"file", make("https://idp.example", ProviderKeysConfig::kFile, file, ""), Code::kOk,
       "file-k"},
      {"missing file", make("https://idp.example", ProviderKeysConfig::kFile, file + ".no", ""),
       Code::kUnavailable, ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto src = make_key_source(c.cfg);
      auto r = run_fetch(*src);
      INFO(r.status().to_string());
      CHECK(r.status().code() == c.code);
      if (r.ok()) {
        CHECK(testing::has_kid(r->keys, c.kid));
      }
      if (r.ok() && c.cfg.issuer == tls_issuer) {
        const auto seen = tls_idp.server.requests();
        REQUIRE(seen.size() == 2);
        CHECK(seen[0].sni == "localhost");
        CHECK(seen[1].target == "/jwks");
      }
    }
  }
}

TEST_CASE("file source re-reads the file on every fetch", "[identity][source]") {
  obsgate::testing::TestPki pki;  // for its temporary directory
  const std::string file = pki.dir + "/jwks.json";
  ProviderKeysConfig cfg;
  cfg.source = ProviderKeysConfig::kFile;
  cfg.jwks_uri_or_file = file;
  auto src = make_key_source(cfg);
  std::ofstream(file) << testing::make_jwks({"v1"});
  auto a = run_fetch(*src);
  REQUIRE(a.ok());
  CHECK(testing::has_kid(a->keys, "v1"));
  CHECK_FALSE(a->max_age.has_value());
  std::ofstream(file, std::ios::trunc) << testing::make_jwks({"v2"});
  auto b = run_fetch(*src);
  REQUIRE(b.ok());
  CHECK(testing::has_kid(b->keys, "v2"));
  std::ofstream(file, std::ios::trunc) << "{not json";
  CHECK(run_fetch(*src).status().code() == Code::kInvalidArgument);
}

}  // namespace
}  // namespace obsgate::gateway::identity
