// Config loading: every bad config gives its precise error (file:line:col, key path, reason).
#include <catch2/catch.hpp>

#include "config/config.h"

#include <algorithm>

using obsgate::config::load_string;

namespace {

constexpr const char* kBase = R"(server:
  listeners:
    - name: public
      port: 8080
admin:
  port: 9090
upstreams:
  - name: prom
    url: http://127.0.0.1:9091
    api: prometheus
routes:
  - name: query
    methods: [GET, POST]
    path: /api/v1/query
    upstream: prom
    auth: unsafe_none
    query_params: [query, time]
)";

std::string with(const std::string& from, const std::string& to) {
  std::string s = kBase;
  auto pos = s.find(from);
  REQUIRE(pos != std::string::npos);
  s.replace(pos, from.size(), to);
  return s;
}

}  // namespace

TEST_CASE("a valid config loads with defaults filled in") {
  auto cfg = load_string(kBase, "t.yaml");
  REQUIRE(cfg.ok());
  const auto& c = **cfg;
  CHECK(c.server.listeners.at(0).address == "127.0.0.1");
  CHECK(c.server.limits.max_header_bytes == 16 * 1024);
  CHECK(c.server.timeouts.idle == std::chrono::seconds(60));
  REQUIRE(c.upstreams.size() == 1);
  CHECK(c.upstreams[0].host == "127.0.0.1");
  CHECK(c.upstreams[0].port == 9091);
  CHECK(c.upstreams[0].api == obsgate::config::ApiFlavor::kPrometheus);
  CHECK(c.upstreams[0].strip_request_headers == obsgate::config::default_stripped_headers());
  CHECK(c.routes.at(0).auth == obsgate::config::AuthMode::kUnsafeNone);
}

TEST_CASE("upstream URLs are split into scheme, host, port and base path") {
  struct Case {
    const char* url;
    bool https;
    const char* host;
    uint16_t port;
    const char* base;
  };
  const Case cases[] = {
      {"http://127.0.0.1:9091", false, "127.0.0.1", 9091, ""},
      {"https://prom.example:8443/prefix/", true, "prom.example", 8443, "/prefix"},
      {"https://loki.example", true, "loki.example", 443, ""},
      {"http://[::1]:3100", false, "::1", 3100, ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.url) {
      auto cfg = load_string(with("http://127.0.0.1:9091", c.url), "t.yaml");
      REQUIRE(cfg.ok());
      const auto& u = (*cfg)->upstreams.at(0);
      CHECK(u.https == c.https);
      CHECK(u.host == c.host);
      CHECK(u.port == c.port);
      CHECK(u.base_path == c.base);
    }
  }
}

TEST_CASE("bad configs report file, line, column, key path and reason") {
  struct Case {
    const char* name;
    std::string yaml;
    const char* want;  // substring of the error
  };
  const Case cases[] = {
      {"unknown top-level key", std::string(kBase) + "bogus: 1\n",
       "t.yaml:18:1: bogus: unknown key"},
      {"unknown listener key", with("      port: 8080", "      port: 8080\n      prot: 1"),
       "t.yaml:5:7: server.listeners[0].prot: unknown key"},
      {"port not a number", with("port: 8080", "port: http"),
       "server.listeners[0].port: expected a non-negative integer, got 'http'"},
      {"port out of range", with("port: 8080", "port: 70000"),
       "server.listeners[0].port: value 70000 out of range [1, 65535]"},
      {"missing listener name", with("    - name: public\n      port: 8080", "    - port: 8080"),
       "server.listeners[0].name: required key is missing"},
      {"unknown upstream reference", with("    upstream: prom", "    upstream: prometeus"),
       "t.yaml:15:15: routes[0].upstream: unknown upstream 'prometeus'"},
      {"bad scheme", with("http://127.0.0.1:9091", "ftp://127.0.0.1:9091"),
       "upstreams[0].url: scheme must be http or https, got 'ftp'"},
      {"relative url", with("http://127.0.0.1:9091", "127.0.0.1:9091/x"),
       "upstreams[0].url"},
      {"url with credentials", with("http://127.0.0.1:9091", "http://u:p@127.0.0.1:9091"),
       "upstreams[0].url: must not carry credentials"},
      {"unknown api", with("api: prometheus", "api: mimir"),
       "upstreams[0].api: expected generic, prometheus, loki or openbao, got 'mimir'"},
      {"unknown method", with("[GET, POST]", "[GET, FETCH]"),
       "routes[0].methods: unknown method 'FETCH'"},
      {"auth required without provider", with("    auth: unsafe_none\n", ""),
       "routes[0].auth: 'required' needs an identity provider"},
      {"bad auth mode", with("auth: unsafe_none", "auth: maybe"),
       "routes[0].auth: expected required or unsafe_none, got 'maybe'"},
      {"path not absolute", with("path: /api/v1/query", "path: api/v1/query"),
       "routes[0].path: must start with '/'"},
      {"duplicate route", std::string(kBase) +
                              "  - {name: query, methods: [GET], path: /x, upstream: prom, "
                              "auth: unsafe_none}\n",
       "routes[1].name: duplicate route name 'query'"},
      {"params exclusive", with("    query_params: [query, time]",
                                "    query_params: [query]\n    unsafe_any_query_params: true"),
       "query_params and unsafe_any_query_params exclude each other"},
      {"missing server", "admin: {port: 1}\n", "t.yaml: server: required section is missing"},
      {"listeners empty", with("  listeners:\n    - name: public\n      port: 8080",
                               "  listeners: []"),
       "server.listeners: at least one listener is required"},
      {"tls file missing", with("      port: 8080", "      port: 8080\n      tls: {cert_file: /nonexistent.pem, key_file: /nonexistent.key}"),
       "cannot read file '/nonexistent.pem'"},
      {"client cert without CA",
       with("      port: 8080", "      port: 8080\n      tls: {cert_file: /dev/null, key_file: /dev/null, client_cert: require}"),
       "server.listeners[0].tls.client_ca_file: required when client_cert is require"},
      {"yaml syntax", "server: [\n", "t.yaml:2:1"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto cfg = load_string(c.yaml, "t.yaml");
      REQUIRE_FALSE(cfg.ok());
      CAPTURE(cfg.status().message());
      CHECK(cfg.status().message().find(c.want) != std::string::npos);
    }
  }
}

TEST_CASE("durations and sizes") {
  struct Case {
    const char* text;
    bool ok;
    long long ms;
  };
  const Case cases[] = {
      {"250ms", true, 250}, {"30s", true, 30000}, {"1m30s", true, 90000}, {"1h", true, 3600000},
      {"2s500ms", true, 2500}, {"30", false, 0}, {"1.5s", false, 0}, {"5s1m", false, 0},
      {"-1s", false, 0},      {"0s", false, 0},   {"s", false, 0}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.text) {
      auto cfg = load_string(with("admin:", std::string("  timeouts: {idle: ") + c.text +
                                                "}\nadmin:"),
                             "t.yaml");
      REQUIRE(cfg.ok() == c.ok);
      if (c.ok) {
        CHECK((*cfg)->server.timeouts.idle.count() == c.ms);
      } else {
        CHECK(cfg.status().message().find("server.timeouts.idle") != std::string::npos);
      }
    }
  }
  auto sized = load_string(with("admin:", "  limits: {max_body_bytes: 16MiB, max_header_bytes: 8KiB}\nadmin:"), "t.yaml");
  REQUIRE(sized.ok());
  CHECK((*sized)->server.limits.max_body_bytes == 16ULL << 20);
  CHECK((*sized)->server.limits.max_header_bytes == 8192);
  auto bad = load_string(with("admin:", "  limits: {max_body_bytes: 16MB}\nadmin:"), "t.yaml");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find("server.limits.max_body_bytes: expected a size") !=
        std::string::npos);
}

TEST_CASE("strip_request_headers adds to the owned headers, never replaces them") {
  auto cfg = load_string(with("    api: prometheus", "    api: prometheus\n    strip_request_headers: [X-Extra, Authorization]"), "t.yaml");
  REQUIRE(cfg.ok());
  const auto& h = (*cfg)->upstreams.at(0).strip_request_headers;
  for (const auto& owned : obsgate::config::default_stripped_headers()) {
    CHECK(std::find(h.begin(), h.end(), owned) != h.end());
  }
  CHECK(std::find(h.begin(), h.end(), "x-extra") != h.end());
  CHECK(std::count(h.begin(), h.end(), "authorization") == 1);
}

TEST_CASE("several errors are reported together") {
  auto cfg = load_string(with("port: 8080", "port: x").append("bogus: 1\n"), "t.yaml");
  REQUIRE_FALSE(cfg.ok());
  const std::string m = cfg.status().message();
  CHECK(m.find("server.listeners[0].port") != std::string::npos);
  CHECK(m.find("bogus: unknown key") != std::string::npos);
}
