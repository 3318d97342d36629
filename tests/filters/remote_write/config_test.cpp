// Config-time surfaces: schema contracts (parse, load, resolve), policy validation and
// protocol-version detection.
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>

#include "tests/filters/remote_write/test_common.h"

using namespace rwtest;  // NOLINT(google-build-using-namespace): test-local helpers
using obsgate::Code;

TEST_CASE("schema contract parse: valid documents") {
  const auto sc = rw::SchemaContract::parse(YAML::Load(R"(
always_allowed_labels: [job, instance, cluster]
metrics:
  http_requests: [method, code, code]
  up: []
  build_info:
)"));
  REQUIRE(sc.ok());
  CHECK(sc->always_allowed == std::vector<std::string>{"cluster", "instance", "job"});
  CHECK(sc->metrics.at("http_requests") == std::vector<std::string>{"code", "method"});
  CHECK(sc->metrics.at("up").empty());
  CHECK(sc->metrics.at("build_info").empty());
  const auto defaults = rw::SchemaContract::parse(YAML::Load("metrics: {up: []}"));
  REQUIRE(defaults.ok());
  CHECK(defaults->always_allowed == std::vector<std::string>{"instance", "job"});
}

TEST_CASE("schema contract parse: errors name the key") {
  struct Case {
    const char* name;
    const char* yaml;
    const char* want;
  };
  const Case cases[] = {
      {"not a map", "[a, b]", "expected a mapping"},
      {"missing metrics", "always_allowed_labels: [job]", "missing key 'metrics'"},
      {"unknown key", "metrics: {}\nmetric: {}", "unknown key 'metric'"},
      {"metrics not a map", "metrics: [a]", "metrics: expected a mapping"},
      {"labels not a list", "metrics: {up: job}", "metrics.up: expected a list"},
      {"label not a string", "metrics: {up: [job, [x]]}", "metrics.up[1]: expected"},
      {"empty label", "metrics: {up: ['']}", "metrics.up[0]"},
      {"always allowed not a list", "always_allowed_labels: job\nmetrics: {}",
       "always_allowed_labels: expected a list"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto sc = rw::SchemaContract::parse(YAML::Load(c.yaml));
      REQUIRE_FALSE(sc.ok());
      CHECK(sc.status().code() == Code::kInvalidArgument);
      CHECK_THAT(sc.status().message(), Catch::Contains(c.want));
    }
  }
}

TEST_CASE("schema contract resolves histogram and summary families") {
  rw::SchemaContract sc;
  sc.metrics["http_requests"] = {"code"};
  sc.metrics["rpc_seconds"] = {"service"};
  sc.metrics["rpc_seconds_count"] = {"special"};  // an exact entry wins over the family
  struct Case {
    const char* metric;
    const char* want_label;  // nullptr: unresolved
  };
  const Case cases[] = {
      {"http_requests", "code"},         {"http_requests_total", "code"},
      {"http_requests_created", "code"}, {"rpc_seconds_bucket", "service"},
      {"rpc_seconds_sum", "service"},    {"rpc_seconds_count", "special"},
      {"rpc_seconds_total_sum", nullptr}, {"_total", nullptr},
      {"http_request", nullptr},         {"other", nullptr},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.metric) {
      const auto* entry = sc.resolve(c.metric);
      if (c.want_label == nullptr) {
        CHECK(entry == nullptr);
      } else {
        REQUIRE(entry != nullptr);
        CHECK(entry->front() == c.want_label);
      }
    }
  }
}

TEST_CASE("schema contract load: a file or a directory of files") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("rw_schema_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "ok");
  fs::create_directories(dir / "dup");
  fs::create_directories(dir / "empty");
  auto write = [](const fs::path& p, const std::string& text) { std::ofstream(p) << text; };
  write(dir / "ok" / "a.yaml", "metrics: {up: [], http_requests: [code]}\n");
  write(dir / "ok" / "b.yml", "always_allowed_labels: [cluster]\nmetrics: {node_load1: []}\n");
  write(dir / "ok" / "README.md", "not yaml: [");
  write(dir / "dup" / "a.yaml", "metrics: {up: []}\n");
  write(dir / "dup" / "b.yaml", "metrics: {up: [job]}\n");
  write(dir / "bad.yaml", "metrics: {up: [\n");
  write(dir / "wrong.yaml", "metrics: {up: 3}\n");

  struct Case {
    const char* name;
    fs::path path;
    bool ok;
    const char* want;  // message part, or a metric that must resolve
  };
  const Case cases[] = {
      {"directory merges files", dir / "ok", true, "node_load1"},
      {"single file", dir / "ok" / "a.yaml", true, "http_requests_total"},
      {"duplicate across files", dir / "dup", false, "b.yaml: metrics.up: already defined"},
      {"no yaml in directory", dir / "empty", false, "no *.yaml"},
      {"syntax error names the file", dir / "bad.yaml", false, "bad.yaml"},
      {"schema error names file and key", dir / "wrong.yaml", false, "wrong.yaml: metrics.up"},
      {"missing file", dir / "nope.yaml", false, "nope.yaml"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto sc = rw::SchemaContract::load(c.path.string());
      REQUIRE(sc.ok() == c.ok);
      if (c.ok) {
        CHECK(sc->resolve(c.want) != nullptr);
      } else {
        CHECK_THAT(sc.status().message(), Catch::Contains(c.want));
      }
    }
  }
  auto merged = rw::SchemaContract::load((dir / "ok").string());
  REQUIRE(merged.ok());
  CHECK(merged->always_allowed == std::vector<std::string>{"cluster", "instance", "job"});
  fs::remove_all(dir);
}

TEST_CASE("policy validation names the field") {
  using obsgate::filters::MatchOp;
  struct Case {
    const char* name;
    std::function<void(rw::WritePolicy&)> tweak;
    const char* want;  // nullptr: valid
  };
  const Case cases[] = {
      {"valid", [](rw::WritePolicy&) {}, nullptr},
      {"tenant label without value", [](rw::WritePolicy& p) { p.tenant_value.clear(); },
       "tenant_value: required"},
      {"tenant value without label", [](rw::WritePolicy& p) { p.tenant_label.clear(); },
       "tenant_value: set"},
      {"__name__ as tenant", [](rw::WritePolicy& p) { p.tenant_label = "__name__"; },
       "tenant_label"},
      {"tenant value too long",
       [](rw::WritePolicy& p) { p.tenant_value = std::string(5000, 'a'); }, "longer"},
      {"empty forbidden label", [](rw::WritePolicy& p) { p.forbidden_labels = {"a", ""}; },
       "forbidden_labels[1]: empty"},
      {"tenant label forbidden", [](rw::WritePolicy& p) { p.forbidden_labels = {"tenant"}; },
       "forbidden_labels[0]: 'tenant'"},
      {"empty rule", [](rw::WritePolicy& p) { p.write_scope = {{}}; }, "write_scope[0]: a rule"},
      {"matcher without name",
       [](rw::WritePolicy& p) { p.write_scope = {{{"", MatchOp::kEq, "x"}}}; },
       "write_scope[0][0]: matcher has an empty label name"},
      {"bad regex",
       [](rw::WritePolicy& p) {
         p.write_scope = {{{"a", MatchOp::kEq, "x"}}, {{"ns", MatchOp::kRe, "(open"}}};
       },
       "write_scope[1][0] (ns): invalid RE2 pattern '(open'"},
      {"zero limit", [](rw::WritePolicy& p) { p.limits.max_series = 0; },
       "limits.max_series: must be > 0"},
      {"no room for the rejecting violation",
       [](rw::WritePolicy& p) { p.limits.max_violations = 0; }, "limits.max_violations"},
      {"2 GiB limit", [](rw::WritePolicy& p) { p.limits.max_uncompressed_bytes = size_t{1} << 31; },
       "limits.max_uncompressed_bytes"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      rw::WritePolicy p = tenant_policy(rw::WritePolicy::OnViolation::kReject);
      c.tweak(p);
      auto e = rw::Enforcer::create(p);
      if (c.want == nullptr) {
        CHECK(e.ok());
      } else {
        REQUIRE_FALSE(e.ok());
        CHECK(e.status().code() == Code::kInvalidArgument);
        CHECK_THAT(e.status().message(), Catch::Contains(c.want));
      }
    }
  }
}

TEST_CASE("protocol version detection") {
  struct Case {
    const char* content_type;
    const char* version;
    std::optional<rw::Version> want;  // nullopt: error
  };
  using V = rw::Version;
  const Case cases[] = {
      {"", "", V::kV1},
      {"", "0.1.0", V::kV1},
      {"", "2.0.0", V::kV2},
      {"application/x-protobuf", "0.1.0", V::kV1},
      {"Application/X-Protobuf", "", V::kV1},
      {"application/x-protobuf;proto=prometheus.WriteRequest", "", V::kV1},
      {"application/x-protobuf; proto=\"prometheus.WriteRequest\"", "0.1.0", V::kV1},
      {"application/x-protobuf;proto=io.prometheus.write.v2.Request", "2.0.0", V::kV2},
      {"application/x-protobuf ; charset=x; proto=io.prometheus.write.v2.Request", "", V::kV2},
      {"application/x-protobuf", "2.0.0", V::kV2},
      {"application/x-protobuf;proto=prometheus.WriteRequest", "2.0.0", V::kV1},
      {"application/x-protobuf;proto=foo.Bar", "", std::nullopt},
      {"application/json", "", std::nullopt},
      {"text/plain", "0.1.0", std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION("'" << c.content_type << "' / '" << c.version << "'") {
      auto v = rw::detect_version(c.content_type, c.version);
      REQUIRE(v.ok() == c.want.has_value());
      if (c.want) {
        CHECK(*v == *c.want);
      } else {
        CHECK(v.status().code() == Code::kInvalidArgument);
      }
    }
  }
  CHECK(rw::kUnsupportedVersionMessage.find("1.0") != std::string_view::npos);
}
