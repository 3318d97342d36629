// The `openbao:` section: defaults, node URLs, TLS, the token file rule, and precise errors
// (file:line:col and key path) for every bad value.
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "config/config.h"

namespace obsgate::config {
namespace {

constexpr const char* kBase = R"(server:
  listeners:
    - name: public
      port: 8080
admin:
  port: 9090
)";

// A readable token file for the duration of the test binary.
const std::string& token_path() {
  static const std::string kPath = [] {
    const auto p = std::filesystem::temp_directory_path() /
                   ("obsgate_openbao_test_token_" + std::to_string(::getpid()));
    std::ofstream(p) << "s.test-token\n";
    return p.string();
  }();
  return kPath;
}

// `section` is the YAML of the openbao: section; @TOKEN@ becomes the token file's path.
Result<ConfigPtr> load(std::string section) {
  const std::string tag = "@TOKEN@";
  for (auto pos = section.find(tag); pos != std::string::npos; pos = section.find(tag)) {
    section.replace(pos, tag.size(), token_path());
  }
  return load_string(std::string(kBase) + section, "t.yaml");
}

using Check = std::function<void(const Result<ConfigPtr>&)>;

Check loads(std::function<void(const OpenBaoConfig&)> more = nullptr) {
  return [more](const Result<ConfigPtr>& r) {
    if (!r.ok()) {
      FAIL(r.status().message());
    }
    if (more) {
      more((*r)->openbao);
    }
  };
}

// The whole error text contains `part` (e.g. "t.yaml:9:12: openbao.nodes[0].url: ...").
Check fails(std::string part) {
  return [part](const Result<ConfigPtr>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == Code::kInvalidArgument);
    CHECK_THAT(r.status().message(), Catch::Matchers::Contains(part));
  };
}

struct Case {
  std::string name;
  std::string section;
  Check check;
};

TEST_CASE("openbao config section") {
  using std::chrono::seconds;
  using std::chrono::milliseconds;
  const std::vector<Case> cases = {
      {"absent section", "", loads([](const OpenBaoConfig& c) { CHECK_FALSE(c.configured()); })},
      {"minimal, defaults",
       "openbao:\n  token_file: @TOKEN@\n  nodes:\n    - name: bao-0\n"
       "      url: http://10.0.0.1:8200\n",
       loads([](const OpenBaoConfig& c) {
         REQUIRE(c.nodes.size() == 1);
         const OpenBaoNode& n = c.nodes[0];
         CHECK(n.name == "bao-0");
         CHECK_FALSE(n.https);
         CHECK(n.host == "10.0.0.1");
         CHECK(n.port == 8200);
         CHECK(n.base_path.empty());
         CHECK_FALSE(n.tls.has_value());
         CHECK_FALSE(n.unauthenticated_metrics);
         CHECK(c.token_file == token_path());
         CHECK(c.health_cache == seconds(2));
         CHECK(c.scrape_timeout == seconds(5));
         CHECK(c.find_node("bao-0") == &n);
         CHECK(c.find_node("bao-1") == nullptr);
       })},
      {"full",
       "openbao:\n  token_file: @TOKEN@\n  health_cache: 500ms\n  scrape_timeout: 2s\n"
       "  nodes:\n"
       "    - name: bao-0\n      url: https://bao-0.internal/\n"
       "      tls: {ca_file: @TOKEN@, server_name: bao.internal}\n"
       "    - name: bao-1.metrics\n      url: http://[::1]:8209/prefix/\n"
       "      unauthenticated_metrics: true\n",
       loads([](const OpenBaoConfig& c) {
         REQUIRE(c.nodes.size() == 2);
         CHECK(c.nodes[0].https);
         CHECK(c.nodes[0].port == 443);
         CHECK(c.nodes[0].host == "bao-0.internal");
         REQUIRE(c.nodes[0].tls.has_value());
         CHECK(c.nodes[0].tls->server_name == "bao.internal");
         CHECK(c.nodes[1].host == "::1");
         CHECK(c.nodes[1].port == 8209);
         CHECK(c.nodes[1].base_path == "/prefix");
         CHECK(c.nodes[1].unauthenticated_metrics);
         CHECK(c.health_cache == milliseconds(500));
         CHECK(c.scrape_timeout == seconds(2));
       })},
      {"no token needed when every node has unauthenticated metrics",
       "openbao:\n  nodes:\n    - name: a\n      url: http://h:8209\n"
       "      unauthenticated_metrics: true\n",
       loads([](const OpenBaoConfig& c) { CHECK(c.token_file.empty()); })},
      {"health_cache may be zero",
       "openbao:\n  token_file: @TOKEN@\n  health_cache: 0s\n  nodes:\n"
       "    - {name: a, url: 'http://h:1'}\n",
       loads([](const OpenBaoConfig& c) { CHECK(c.health_cache.count() == 0); })},
      // Errors.
      {"not a map", "openbao: [1]\n", fails("t.yaml:7:10: openbao: expected a map")},
      {"unknown key", "openbao:\n  token: x\n  nodes: [{name: a, url: 'http://h:1'}]\n",
       fails("t.yaml:8:3: openbao.token: unknown key")},
      {"no nodes", "openbao:\n  token_file: @TOKEN@\n",
       fails("openbao.nodes: at least one node is required")},
      {"empty nodes", "openbao:\n  token_file: @TOKEN@\n  nodes: []\n",
       fails("openbao.nodes: at least one node is required")},
      {"nodes not a list", "openbao:\n  token_file: @TOKEN@\n  nodes: {a: 1}\n",
       fails("openbao.nodes: expected a list")},
      {"token file required",
       "openbao:\n  nodes:\n    - {name: a, url: 'http://h:1', unauthenticated_metrics: true}\n"
       "    - {name: b, url: 'http://h:2'}\n",
       fails("openbao.token_file: required: node 'b' has no unauthenticated_metrics")},
      {"token file unreadable",
       "openbao:\n  token_file: /nonexistent/token\n  nodes: [{name: a, url: 'http://h:1'}]\n",
       fails("t.yaml:8:15: openbao.token_file: cannot read file '/nonexistent/token'")},
      {"node name missing", "openbao:\n  token_file: @TOKEN@\n  nodes: [{url: 'http://h:1'}]\n",
       fails("openbao.nodes[0].name")},
      {"node name invalid",
       "openbao:\n  token_file: @TOKEN@\n  nodes: [{name: 'a/b', url: 'http://h:1'}]\n",
       fails("openbao.nodes[0].name: expected 1 to 64 of A-Z a-z 0-9 _ . -, got 'a/b'")},
      {"duplicate node",
       "openbao:\n  token_file: @TOKEN@\n  nodes:\n    - {name: a, url: 'http://h:1'}\n"
       "    - {name: a, url: 'http://h:2'}\n",
       fails("t.yaml:11:14: openbao.nodes[1].name: duplicate node name 'a'")},
      {"url missing", "openbao:\n  token_file: @TOKEN@\n  nodes: [{name: a}]\n",
       fails("openbao.nodes[0].url")},
      {"url scheme", "openbao:\n  token_file: @TOKEN@\n  nodes: [{name: a, url: 'ftp://h'}]\n",
       fails("openbao.nodes[0].url: scheme must be http or https, got 'ftp'")},
      {"url not absolute", "openbao:\n  token_file: @TOKEN@\n  nodes: [{name: a, url: 'h:1'}]\n",
       fails("openbao.nodes[0].url")},
      {"url with query",
       "openbao:\n  token_file: @TOKEN@\n  nodes: [{name: a, url: 'http://h:1/?x=1'}]\n",
       fails("must not carry credentials, a query or a fragment")},
      {"url with credentials",
       "openbao:\n  token_file: @TOKEN@\n  nodes: [{name: a, url: 'http://u:p@h:1'}]\n",
       fails("must not carry credentials")},
      {"tls on http",
       "openbao:\n  token_file: @TOKEN@\n  nodes:\n    - name: a\n      url: http://h:1\n"
       "      tls: {server_name: x}\n",
       fails("openbao.nodes[0].tls: tls settings need an https:// url")},
      {"tls cert without key",
       "openbao:\n  token_file: @TOKEN@\n  nodes:\n    - name: a\n      url: https://h:1\n"
       "      tls: {cert_file: @TOKEN@}\n",
       fails("openbao.nodes[0].tls: cert_file and key_file go together")},
      {"tls unreadable ca",
       "openbao:\n  token_file: @TOKEN@\n  nodes:\n    - name: a\n      url: https://h:1\n"
       "      tls: {ca_file: /nonexistent/ca.pem}\n",
       fails("cannot read file '/nonexistent/ca.pem'")},
      {"tls unknown key",
       "openbao:\n  token_file: @TOKEN@\n  nodes:\n    - name: a\n      url: https://h:1\n"
       "      tls: {insecure: true}\n",
       fails("openbao.nodes[0].tls.insecure: unknown key")},
      {"unauthenticated_metrics not a bool",
       "openbao:\n  token_file: @TOKEN@\n  nodes: [{name: a, url: 'http://h:1', "
       "unauthenticated_metrics: maybe}]\n",
       fails("openbao.nodes[0].unauthenticated_metrics")},
      {"scrape_timeout zero",
       "openbao:\n  token_file: @TOKEN@\n  scrape_timeout: 0s\n"
       "  nodes: [{name: a, url: 'http://h:1'}]\n",
       fails("openbao.scrape_timeout: must be greater than zero")},
      {"bad duration",
       "openbao:\n  token_file: @TOKEN@\n  health_cache: soon\n"
       "  nodes: [{name: a, url: 'http://h:1'}]\n",
       fails("openbao.health_cache")},
      {"several errors are all reported",
       "openbao:\n  nodes:\n    - {name: a, url: 'ftp://h'}\n    - {name: a, url: 'http://h'}\n",
       [](const Result<ConfigPtr>& r) {
         REQUIRE_FALSE(r.ok());
         const std::string m = r.status().message();
         CHECK_THAT(m, Catch::Matchers::Contains("scheme must be http or https"));
         CHECK_THAT(m, Catch::Matchers::Contains("duplicate node name 'a'"));
         CHECK_THAT(m, Catch::Matchers::Contains("openbao.token_file: required"));
       }},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.section);
      c.check(load(c.section));
    }
  }
}

}  // namespace
}  // namespace obsgate::config
