// Policy validation at create(), header detection, and gzip bodies (including bombs).
#include <functional>

#include "tests/filters/loki_push/test_common.h"

using namespace lptest;  // NOLINT(google-build-using-namespace): test-local helpers
using obsgate::filters::MatchOp;

TEST_CASE("create() refuses bad policies and names the field") {
  struct Case {
    const char* name;
    std::function<void(lp::PushPolicy&)> tweak;
    const char* part;  // empty: accepted
  };
  const Case cases[] = {
      {"the base policy", [](lp::PushPolicy&) {}, ""},
      {"no tenant at all",
       [](lp::PushPolicy& p) {
         p.tenant_label.clear();
         p.tenant_value.clear();
       },
       ""},
      {"tenant label without value", [](lp::PushPolicy& p) { p.tenant_value.clear(); },
       "tenant_value: required"},
      {"tenant value without label", [](lp::PushPolicy& p) { p.tenant_label.clear(); },
       "tenant_value: set"},
      {"tenant label not a label name", [](lp::PushPolicy& p) { p.tenant_label = "a.b"; },
       "tenant_label: 'a.b' is not a valid label name"},
      {"tenant value not UTF-8", [](lp::PushPolicy& p) { p.tenant_value = "\xff"; },
       "tenant_value: not valid UTF-8"},
      {"tenant value over the value limit",
       [](lp::PushPolicy& p) { p.limits.max_label_value_bytes = 3; }, "longer than the label"},
      {"empty forbidden label", [](lp::PushPolicy& p) { p.forbidden_labels = {"a", ""}; },
       "forbidden_labels[1]: empty label name"},
      {"forbidding the tenant label", [](lp::PushPolicy& p) { p.forbidden_labels = {"tenant"}; },
       "forbidden_labels[0]: the tenant label"},
      {"scope rule without matchers",
       [](lp::PushPolicy& p) {
         p.write_scope.unrestricted = false;
         p.write_scope.rules = {{}};
       },
       "write_scope.rules[0]: a rule needs at least one matcher"},
      {"scope matcher without a name",
       [](lp::PushPolicy& p) {
         p.write_scope.unrestricted = false;
         p.write_scope.rules = {{{"a", MatchOp::kEq, "1"}, {"", MatchOp::kEq, "1"}}};
       },
       "write_scope.rules[0][1]: matcher has an empty label name"},
      {"scope regex that does not compile",
       [](lp::PushPolicy& p) {
         p.write_scope.unrestricted = false;
         p.write_scope.rules = {{{"a", MatchOp::kRe, "("}}};
       },
       "write_scope.rules[0][0] (a): invalid RE2 pattern '('"},
      {"audit regex that does not compile",
       [](lp::PushPolicy& p) {
         p.audit_streams = {{{"s", MatchOp::kEq, "a"}}, {{"s", MatchOp::kNre, "[z-a]"}}};
       },
       "audit_streams[1][0] (s): invalid RE2 pattern"},
      {"a zero limit", [](lp::PushPolicy& p) { p.limits.max_line_bytes = 0; },
       "limits.max_line_bytes: must be > 0"},
      {"a 2 GiB decompression limit",
       [](lp::PushPolicy& p) { p.limits.max_decompressed_bytes = size_t{1} << 31; },
       "limits.max_decompressed_bytes: must be < 2 GiB"},
      {"a 2 GiB body limit", [](lp::PushPolicy& p) { p.limits.max_body_bytes = size_t{1} << 31; },
       "limits.max_body_bytes: must be < 2 GiB"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      lp::PushPolicy p = tenant_policy();
      c.tweak(p);
      auto e = lp::Enforcer::create(p);
      if (std::string(c.part).empty()) {
        CHECK(e.ok());
      } else {
        REQUIRE_FALSE(e.ok());
        CHECK(has_code(e.status(), obsgate::Code::kInvalidArgument));
        CHECK(mentions(e.status().message(), c.part));
      }
    }
  }
}

TEST_CASE("without a tenant label nothing is stamped") {
  lp::PushPolicy p = tenant_policy();
  p.tenant_label.clear();
  p.tenant_value.clear();
  auto out = make_enforcer(p).enforce(json_body({json_stream({{"b", "2"}, {"a", "1"}}, {})}),
                                      lp::Format::kJson);
  REQUIRE(out.ok());
  CHECK(out->body == R"({"streams":[{"stream":{"a":"1","b":"2"},"values":[]}]})");
}

TEST_CASE("detect_body_type reads Content-Type and Content-Encoding as Loki does") {
  struct Case {
    const char* content_type;
    const char* content_encoding;
    std::optional<lp::BodyType> want;
  };
  using F = lp::Format;
  using En = lp::Encoding;
  const Case cases[] = {
      {"application/x-protobuf", "", lp::BodyType{F::kProtobuf, En::kIdentity}},
      {"", "", lp::BodyType{F::kProtobuf, En::kIdentity}},
      {"application/json", "", lp::BodyType{F::kJson, En::kIdentity}},
      {"Application/JSON; charset=utf-8", "", lp::BodyType{F::kJson, En::kIdentity}},
      {"application/json", "gzip", lp::BodyType{F::kJson, En::kGzip}},
      {"application/json", " GZIP ", lp::BodyType{F::kJson, En::kGzip}},
      {"application/x-protobuf", "gzip", lp::BodyType{F::kProtobuf, En::kGzip}},
      {"application/x-protobuf", "snappy", lp::BodyType{F::kProtobuf, En::kIdentity}},
      {"application/json", "identity", lp::BodyType{F::kJson, En::kIdentity}},
      {"application/json", "snappy", std::nullopt},
      {"application/json", "deflate", std::nullopt},
      {"application/json", "br", std::nullopt},
      {"text/plain", "", std::nullopt},
      {"application/x-ndjson", "", std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.content_type << " / " << c.content_encoding) {
      auto t = lp::detect_body_type(c.content_type, c.content_encoding);
      if (!c.want) {
        REQUIRE_FALSE(t.ok());
        CHECK(mentions(t.status().message(), "unsupported Content-"));
      } else {
        REQUIRE(t.ok());
        CHECK(t->format == c.want->format);
        CHECK(t->encoding == c.want->encoding);
      }
    }
  }
}

TEST_CASE("gzip bodies: decoded under a cap, corrupt ones refused") {
  const std::string json = json_body({json_stream({{"a", "1"}}, {{"1", "line"}})});
  const std::string want = R"({"streams":[{"stream":{"a":"1","tenant":"team-a"},"values":)" +
                           json_values({{"1", "line"}}) + "}]}";
  const std::string zeros(4 << 20, ' ');  // 4 MiB of whitespace: valid JSON padding
  const std::string bomb = gzip(zeros + json);
  const std::string gz = gzip(json);
  struct Case {
    const char* name;
    std::string body;
    size_t cap;
    std::optional<obsgate::Code> error;
    const char* part;
  };
  const Case cases[] = {
      {"a gzip JSON body", gz, 1 << 20, std::nullopt, ""},
      {"exactly at the cap", gz, json.size(), std::nullopt, ""},
      {"one byte over the cap", gz, json.size() - 1, obsgate::Code::kResourceExhausted,
       "inflates past the limit"},
      {"a 4 MiB bomb under a 1 MiB cap", bomb, 1 << 20, obsgate::Code::kResourceExhausted,
       "inflates past the limit of 1048576 bytes"},
      {"the same body under a larger cap", bomb, 8 << 20, std::nullopt, ""},
      {"two concatenated members", gzip(json.substr(0, 10)) + gzip(json.substr(10)), 1 << 20,
       std::nullopt, ""},
      {"truncated", gz.substr(0, gz.size() - 6), 1 << 20, obsgate::Code::kInvalidArgument,
       "truncated gzip"},
      {"trailing garbage", gz + "garbage!!!", 1 << 20, obsgate::Code::kInvalidArgument,
       "corrupt gzip"},
      {"not gzip", json, 1 << 20, obsgate::Code::kInvalidArgument, "corrupt gzip"},
      {"empty", "", 1 << 20, obsgate::Code::kInvalidArgument, "truncated gzip"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      lp::PushPolicy p = tenant_policy();
      p.limits.max_decompressed_bytes = c.cap;
      auto out = make_enforcer(p).enforce(c.body, lp::Format::kJson, lp::Encoding::kGzip);
      if (!c.error) {
        REQUIRE(out.ok());
        CHECK(out->body == want);
      } else {
        REQUIRE_FALSE(out.ok());
        CHECK(has_code(out.status(), *c.error));
        CHECK(mentions(out.status().message(), c.part));
      }
    }
  }
}

TEST_CASE("gzip around a snappy protobuf body") {
  const pb::PushRequest in = request({stream(R"({a="1"})", {entry("x", {{"k", "v"}})})});
  auto out = make_enforcer(tenant_policy())
                 .enforce(gzip(body(in)), lp::Format::kProtobuf, lp::Encoding::kGzip);
  REQUIRE(out.ok());
  const pb::PushRequest got = parse_body(out->body);  // snappy out, no gzip
  REQUIRE(got.streams_size() == 1);
  CHECK(got.streams(0).labels() == R"({a="1", tenant="team-a"})");
  CHECK(got.streams(0).entries(0).SerializeAsString() ==
        in.streams(0).entries(0).SerializeAsString());
}

TEST_CASE("the one-shot enforce() agrees with an Enforcer") {
  const lp::PushPolicy p = tenant_policy();
  const std::string in = json_body({json_stream({{"a", "1"}}, {{"5", "x"}})});
  auto a = lp::enforce(in, lp::Format::kJson, p);
  auto b = make_enforcer(p).enforce(in, lp::Format::kJson);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->body == b->body);
  lp::PushPolicy bad = p;
  bad.tenant_value.clear();
  CHECK_FALSE(lp::enforce(in, lp::Format::kJson, bad).ok());
}
