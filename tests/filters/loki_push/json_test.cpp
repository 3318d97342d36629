// The JSON path: each stream's label object re-rendered, its "values" array copied as received,
// and every malformed body refused as a whole.
#include "filters/loki_push/json_reader.h"  // internal: the string decoder is tested directly
#include "tests/filters/loki_push/test_common.h"

using namespace lptest;  // NOLINT(google-build-using-namespace): test-local helpers

namespace {

lp::Enforcer json_enforcer() { return make_enforcer(tenant_policy(Mode::kDrop)); }

}  // namespace

TEST_CASE("json: values are forwarded exactly, labels re-rendered sorted and stamped") {
  struct Case {
    const char* name;
    std::string stream_labels;  // the "stream" object as sent
    std::string values;         // the "values" array as sent
    std::string want_labels;    // the "stream" object as forwarded
  };
  const std::string two = json_values({{"1", "a"}, {"2", "b", Pairs{{"trace_id", "t1"}}}});
  const Case cases[] = {
      {"one label", R"({"app":"api"})", two, R"({"app":"api","tenant":"team-a"})"},
      {"sorted on output", R"({"zone":"eu","app":"x"})", two,
       R"({"app":"x","tenant":"team-a","zone":"eu"})"},
      {"tenant already right", R"({"tenant":"team-a","app":"x"})", two,
       R"({"app":"x","tenant":"team-a"})"},
      {"empty values dropped", R"({"app":"x","e":""})", two, R"({"app":"x","tenant":"team-a"})"},
      {"escapes decoded and re-encoded", R"({"msg":"a\"b\\c\nd\u0001\u00fc\/"})", two,
       R"({"msg":"a\"b\\c\nd\u0001ü/","tenant":"team-a"})"},
      {"surrogate pair", R"({"e":"\ud83d\ude00"})", two, R"({"e":"😀","tenant":"team-a"})"},
      {"values with odd spacing and escapes", R"({"app":"x"})",
       "[ [ \"-5\" , \"line \\u00e9\\t\" ] ,\n[\"0\",\"\",{}],[\"9\",\"x\",{\"k\":\"\\\"v\"}] ]",
       R"({"app":"x","tenant":"team-a"})"},
      {"empty values array", R"({"app":"x"})", "[]", R"({"app":"x","tenant":"team-a"})"},
  };
  const auto enforcer = json_enforcer();
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::string in =
          R"({"streams":[{"stream":)" + c.stream_labels + R"(,"values":)" + c.values + "}]}";
      auto out = enforcer.enforce(in, lp::Format::kJson);
      REQUIRE(out.ok());
      REQUIRE(out->violations_total == 0);
      const std::string want =
          R"({"streams":[{"stream":)" + c.want_labels + R"(,"values":)" + c.values + "}]}";
      CHECK(out->body == want);
    }
  }
}

TEST_CASE("json: unknown keys are skipped and not forwarded; missing parts default") {
  struct Case {
    const char* name;
    std::string in;
    std::string want;
  };
  const Case cases[] = {
      {"unknown top-level key",
       R"({"x":{"deep":[1,2.5e-3,true,false,null,"s"]},"streams":[]})", R"({"streams":[]})"},
      {"unknown stream key", R"({"streams":[{"stream":{"a":"1"},"extra":[{}],"values":[]}]})",
       R"({"streams":[{"stream":{"a":"1","tenant":"team-a"},"values":[]}]})"},
      {"no values key", R"({"streams":[{"stream":{"a":"1"}}]})",
       R"({"streams":[{"stream":{"a":"1","tenant":"team-a"},"values":[]}]})"},
      {"no streams key", R"({})", R"({"streams":[]})"},
      {"keys match case-insensitively as in Loki's decoder",
       R"({"Streams":[{"STREAM":{"a":"1"},"Values":[["1","x"]]}]})",
       R"({"streams":[{"stream":{"a":"1","tenant":"team-a"},"values":[["1","x"]]}]})"},
      {"whitespace everywhere", " {\n\"streams\" : [ ] } \r\n", R"({"streams":[]})"},
  };
  const auto enforcer = json_enforcer();
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto out = enforcer.enforce(c.in, lp::Format::kJson);
      REQUIRE(out.ok());
      CHECK(out->body == c.want);
    }
  }
}

TEST_CASE("json: malformed bodies fail the whole request") {
  struct Case {
    const char* name;
    std::string in;
    const char* part;
  };
  auto one = [](const std::string& values) {
    return R"({"streams":[{"stream":{"a":"1"},"values":)" + values + "}]}";
  };
  std::string deep = R"({"x":)";
  for (int i = 0; i < 70; ++i) {
    deep += "[";
  }
  const Case cases[] = {
      {"empty body", "", "expected an object"},
      {"not JSON", "streams", "expected an object"},
      {"an array", "[]", "expected an object"},
      {"trailing data", R"({"streams":[]} x)", "trailing data"},
      {"two documents", R"({"streams":[]}{})", "trailing data"},
      {"truncated", R"({"streams":[{"stream":{"a":"1"})", "expected , or }"},
      {"streams not an array", R"({"streams":{}})", "\"streams\" must be an array"},
      {"streams null", R"({"streams":null})", "\"streams\" must be an array"},
      {"repeated streams", R"({"streams":[],"streams":[]})", "repeated \"streams\""},
      {"repeated streams in another case", R"({"streams":[],"Streams":[]})",
       "repeated \"streams\""},
      {"stream not an object", R"({"streams":[[]]})", "a stream must be an object"},
      {"repeated stream key", R"({"streams":[{"stream":{"a":"1"},"stream":{"a":"2"}}]})",
       "repeated \"stream\""},
      {"repeated values key", R"({"streams":[{"values":[],"values":[]}]})",
       "repeated \"values\""},
      {"label value a number", R"({"streams":[{"stream":{"a":1}}]})", "\"name\": \"value\""},
      {"labels an array", R"({"streams":[{"stream":["a"]}]})", "must be an object"},
      {"values an object", one("{}"), "\"values\" must be an array"},
      {"entry with one element", one(R"([["1"]])"), "an entry is"},
      {"entry with four elements", one(R"([["1","l",{},{}]])"), "at most three elements"},
      {"entry with a string third element", one(R"([["1","l","x"]])"),
       "the third entry element"},
      {"entry an object", one(R"([{"ts":"1"}])"), "an entry is"},
      {"timestamp a number", one(R"([[1,"l"]])"), "an entry is"},
      {"timestamp not digits", one(R"([["12a","l"]])"), "decimal unix nanoseconds"},
      {"timestamp with a plus", one(R"([["+1","l"]])"), "decimal unix nanoseconds"},
      {"timestamp empty", one(R"([["","l"]])"), "decimal unix nanoseconds"},
      {"timestamp overflows int64", one(R"([["9223372036854775808","l"]])"),
       "decimal unix nanoseconds"},
      {"timestamp escaped", one(R"([["\u0031","l"]])"), "decimal unix nanoseconds"},
      {"timestamp RFC 3339", one(R"([["2024-01-01T00:00:00Z","l"]])"),
       "decimal unix nanoseconds"},
      {"line a number", one(R"([["1",2]])"), "an entry is"},
      {"metadata value a number", one(R"([["1","l",{"k":1}]])"), "structured metadata must be"},
      {"invalid UTF-8 in a line", one("[[\"1\",\"\xff\"]]"), "an entry is"},
      {"overlong UTF-8", one("[[\"1\",\"\xc0\xaf\"]]"), "an entry is"},
      {"lone high surrogate", one(R"([["1","\ud800"]])"), "an entry is"},
      {"lone low surrogate", one(R"([["1","\udc00"]])"), "an entry is"},
      {"bad escape", one(R"([["1","\q"]])"), "an entry is"},
      {"short \\u escape", one(R"([["1","\u12"]])"), "an entry is"},
      {"raw control character", one("[[\"1\",\"a\tb\"]]"), "an entry is"},
      {"single quotes", R"({'streams':[]})", "expected a key"},
      {"bad number in an unknown key", R"({"x":01})", "expected , or }"},
      {"bad literal in an unknown key", R"({"x":tru})", "invalid JSON value"},
      {"nesting too deep in an unknown key", deep, "invalid JSON value"},
      {"trailing comma", R"({"streams":[],})", "expected a key"},
  };
  const auto enforcer = json_enforcer();
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto out = enforcer.enforce(c.in, lp::Format::kJson);
      REQUIRE_FALSE(out.ok());
      CHECK(has_code(out.status(), obsgate::Code::kInvalidArgument));
      CHECK(mentions(out.status().message(), c.part));
    }
  }
}

TEST_CASE("json: label names must be label names") {
  struct Case {
    const char* name;
    std::string labels;
    const char* part;
  };
  const Case cases[] = {
      {"empty label name", R"({"":"x"})", "empty label name"},
      {"dotted name", R"({"a.b":"x"})", "is not a valid label name"},
      {"leading digit", R"({"1a":"x"})", "is not a valid label name"},
      {"duplicate names", R"({"a":"x","a":"y"})", "duplicate label name a"},
      {"no labels", R"({})", "stream has no labels"},
      {"only empty values", R"({"a":""})", "stream has no labels"},
  };
  const auto enforcer = make_enforcer(tenant_policy());
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::string in = R"({"streams":[{"stream":)" + c.labels + R"(,"values":[]}]})";
      auto out = enforcer.enforce(in, lp::Format::kJson);
      REQUIRE(out.ok());
      REQUIRE(out->rejected);
      CHECK(out->violations.at(0).reason == lp::Reason::kInvalidLabels);
      CHECK(mentions(out->violations.at(0).detail, c.part));
    }
  }
}

TEST_CASE("escapes cannot hide a label or a metadata name from the policy") {
  struct Case {
    const char* name;
    lp::Format format;
    std::string body;
    std::optional<lp::Reason> reason;
  };
  auto js = [](const std::string& labels, const std::string& values) {
    return R"({"streams":[{"stream":)" + labels + R"(,"values":)" + values + "}]}";
  };
  auto pbody = [](const std::string& labels, const Pairs& md) {
    return body(request({stream(labels, {entry("l", md)})}));
  };
  using F = lp::Format;
  const Case cases[] = {
      {"json escaped tenant name", F::kJson, js(R"({"ten\u0061nt":"b"})", "[]"),
       lp::Reason::kTenantMismatch},
      {"json escaped tenant value that matches", F::kJson, js(R"({"tenant":"team\u002da"})", "[]"),
       std::nullopt},
      {"json escaped forbidden label", F::kJson, js(R"({"user\u005fid":"1"})", "[]"),
       lp::Reason::kForbiddenLabel},
      {"json escaped forbidden metadata", F::kJson,
       js(R"({"a":"1"})", R"([["1","l",{"user\u005fid":"1"}]])"), lp::Reason::kForbiddenLabel},
      {"protobuf hex-escaped tenant value", F::kProtobuf, pbody(R"({tenant="team\x2da"})", {}),
       std::nullopt},
      {"protobuf octal-escaped wrong tenant", F::kProtobuf, pbody(R"({tenant="\142"})", {}),
       lp::Reason::kTenantMismatch},
      {"protobuf unicode-escaped audit value", F::kProtobuf,
       pbody(R"({stream="\u0061udit"})", {}), lp::Reason::kAuditStream},
  };
  lp::PushPolicy p = tenant_policy();
  p.forbidden_labels = {"user_id"};
  p.audit_streams = {{{"stream", obsgate::filters::MatchOp::kEq, "audit"}}};
  const auto enforcer = make_enforcer(p);
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto out = enforcer.enforce(c.body, c.format);
      REQUIRE(out.ok());
      if (c.reason) {
        REQUIRE(out->rejected);
        CHECK(out->violations.at(0).reason == *c.reason);
      } else {
        CHECK_FALSE(out->rejected);
        CHECK(out->accepted.streams == 1);
      }
    }
  }
}

TEST_CASE("json strings: decoded values and sizes agree") {
  struct Case {
    const char* name;
    std::string literal;  // a JSON string literal, quotes included
    std::string want;
  };
  const Case cases[] = {
      {"plain", R"("hello")", "hello"},
      {"long plain (the eight-byte path)", R"("abcdefghijklmnopqrstuvwxyz0123456789")",
       "abcdefghijklmnopqrstuvwxyz0123456789"},
      {"quote after eight bytes", R"("abcdefgh\"ij")", "abcdefgh\"ij"},
      {"simple escapes", R"("\"\\\/\b\f\n\r\t")", "\"\\/\b\f\n\r\t"},
      {"one, two and three byte \\u", R"("\u0041\u00e9\u20ac")", "A\xc3\xa9\xe2\x82\xac"},
      {"surrogate pair", R"("x\ud83d\ude00y")", "x\xf0\x9f\x98\x80y"},
      {"raw UTF-8 mixed with escapes", "\"\xc3\xa9\\n\xe2\x82\xac\"", "\xc3\xa9\n\xe2\x82\xac"},
      {"escape at the start and end", R"("\tmid\t")", "\tmid\t"},
      {"empty", R"("")", ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      obsgate::filters::loki_push::detail::JsonReader r(c.literal);
      std::string_view raw;
      bool escaped = false;
      REQUIRE(r.string(raw, escaped));
      CHECK(r.at_end());
      std::string scratch;
      CHECK(r.value(raw, escaped, scratch) == c.want);
      CHECK(obsgate::filters::loki_push::detail::JsonReader::decoded_size(raw, escaped) ==
            c.want.size());
    }
  }
}
