// The protobuf path: labels re-rendered, entries forwarded byte for byte, and every malformed
// body refused as a whole.
#include "tests/filters/loki_push/test_common.h"

using namespace lptest;  // NOLINT(google-build-using-namespace): test-local helpers

TEST_CASE("protobuf: entries are forwarded exactly, labels re-rendered sorted and stamped") {
  struct Case {
    const char* name;
    std::string labels;  // as sent
    std::string want;    // as forwarded
    std::vector<pb::EntryAdapter> entries;
  };
  const std::vector<pb::EntryAdapter> plain = {entry("GET /api 200"), entry("second line")};
  const Case cases[] = {
      {"one label", R"({app="api"})", R"({app="api", tenant="team-a"})", plain},
      {"unsorted labels are sorted", R"({zone="eu", app="x"})",
       R"({app="x", tenant="team-a", zone="eu"})", plain},
      {"tenant already right", R"({tenant="team-a", app="x"})", R"({app="x", tenant="team-a"})",
       plain},
      {"empty tenant value is stamped", R"({tenant="", app="x"})",
       R"({app="x", tenant="team-a"})", plain},
      {"empty values are dropped as Loki drops them", R"({app="x", empty=""})",
       R"({app="x", tenant="team-a"})", plain},
      {"escapes survive", R"({msg="a\"b\\c\nd\te"})", R"({msg="a\"b\\c\nd\te", tenant="team-a"})",
       plain},
      {"raw strings are re-quoted", "{path=`C:\\dir`}", R"({path="C:\\dir", tenant="team-a"})",
       plain},
      {"unicode values", R"({city="Zürich"})", R"({city="Zürich", tenant="team-a"})", plain},
      {"whitespace around the set", " \t{ app = \"x\" }\n", R"({app="x", tenant="team-a"})",
       plain},
      {"structured metadata", R"({app="x"})", R"({app="x", tenant="team-a"})",
       {entry("l", {{"trace_id", "abc"}, {"span_id", "1"}})}},
      {"non-UTF-8 line (Loki stores bytes)", R"({app="x"})", R"({app="x", tenant="team-a"})",
       {entry(std::string("bad \xff\xfe bytes"))}},
      {"empty line and epoch timestamp", R"({app="x"})", R"({app="x", tenant="team-a"})",
       {entry("", {}, 0, 0)}},
      {"no entries", R"({app="x"})", R"({app="x", tenant="team-a"})", {}},
      {"entry without timestamp", R"({app="x"})", R"({app="x", tenant="team-a"})",
       {pb::EntryAdapter()}},
  };
  const auto enforcer = make_enforcer(tenant_policy());
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      pb::StreamAdapter s = stream(c.labels, c.entries);
      s.set_hash(0xdeadbeef);
      const pb::PushRequest in = request({s, stream(R"({other="1"})", {entry("x")})});
      auto out = enforcer.enforce(body(in), lp::Format::kProtobuf);
      REQUIRE(out.ok());
      REQUIRE_FALSE(out->rejected);
      const pb::PushRequest got = parse_body(out->body);
      REQUIRE(got.streams_size() == 2);
      CHECK(got.streams(0).labels() == c.want);
      CHECK(got.streams(0).hash() == 0);  // stale after relabelling: dropped
      REQUIRE(got.streams(0).entries_size() == static_cast<int>(c.entries.size()));
      for (size_t i = 0; i < c.entries.size(); ++i) {
        CHECK(got.streams(0).entries(static_cast<int>(i)).SerializeAsString() ==
              c.entries[i].SerializeAsString());
      }
      CHECK(got.streams(1).labels() == R"({other="1", tenant="team-a"})");
      CHECK(out->accepted.streams == 2);
      CHECK(out->accepted.entries == c.entries.size() + 1);
      CHECK(out->violations_total == 0);
    }
  }
}

TEST_CASE("protobuf: counts cover entries and line bytes") {
  const pb::PushRequest in =
      request({stream(R"({a="1"})", {entry("12345"), entry("123")}), stream(R"({a="2"})", {})});
  auto out = make_enforcer(tenant_policy()).enforce(body(in), lp::Format::kProtobuf);
  REQUIRE(out.ok());
  CHECK(out->accepted.streams == 2);
  CHECK(out->accepted.entries == 2);
  CHECK(out->accepted.line_bytes == 8);
}

TEST_CASE("protobuf: an empty request forwards an empty request") {
  auto out = make_enforcer(tenant_policy()).enforce(snappy_of(""), lp::Format::kProtobuf);
  REQUIRE(out.ok());
  CHECK(parse_body(out->body).streams_size() == 0);
}

TEST_CASE("protobuf: malformed bodies fail the whole request") {
  struct Case {
    const char* name;
    std::string raw;  // uncompressed PushRequest bytes (snappy-compressed by the test)
    const char* part;
  };
  const std::string ok_entry = entry("x").SerializeAsString();
  const std::string labels = len_field(1, R"({a="b"})");
  auto stream_of = [](const std::string& fields) { return len_field(1, fields); };
  const std::string good = stream_of(labels + len_field(2, ok_entry));
  const Case cases[] = {
      {"truncated stream", good.substr(0, good.size() - 1), "bad field in PushRequest"},
      {"unknown PushRequest field", good + len_field(5, "x"), "unknown field in PushRequest"},
      {"Loki-internal format field", good + len_field(2, "otlp"), "PushRequest.format"},
      {"streams as a varint", varint_field(1, 7), "bad field in PushRequest"},
      {"a group wire type", std::string("\x0b\x0c", 2), "bad field in PushRequest"},
      {"field number zero", std::string("\x02\x00", 2), "bad field in PushRequest"},
      {"repeated labels", stream_of(labels + labels), "repeated StreamAdapter labels"},
      {"unknown StreamAdapter field", stream_of(labels + len_field(4, "x")),
       "bad field in StreamAdapter"},
      {"hash as a string", stream_of(labels + len_field(3, "x")), "bad field in StreamAdapter"},
      {"entries as a varint", stream_of(labels + varint_field(2, 1)),
       "bad field in StreamAdapter"},
      {"truncated entry", stream_of(labels + len_field(2, ok_entry.substr(0, 3))),
       "bad field in EntryAdapter"},
      {"parsed labels on push", stream_of(labels + len_field(2, len_field(4, ""))),
       "EntryAdapter.parsed"},
      {"unknown EntryAdapter field", stream_of(labels + len_field(2, len_field(9, ""))),
       "unknown field in EntryAdapter"},
      {"repeated line", stream_of(labels + len_field(2, len_field(2, "a") + len_field(2, "b"))),
       "repeated EntryAdapter line"},
      {"repeated timestamp",
       stream_of(labels + len_field(2, len_field(1, varint_field(1, 5)) +
                                           len_field(1, varint_field(1, 6)))),
       "timestamp"},
      {"negative nanos",
       stream_of(labels + len_field(2, len_field(1, varint_field(2, uint64_t(-1))))),
       "timestamp"},
      {"nanos of a second or more",
       stream_of(labels + len_field(2, len_field(1, varint_field(2, 1'000'000'000)))),
       "timestamp"},
      {"seconds past year 9999",
       stream_of(labels + len_field(2, len_field(1, varint_field(1, 253'402'300'800)))),
       "timestamp"},
      {"timestamp field of the wrong type",
       stream_of(labels + len_field(2, len_field(1, len_field(1, "x")))), "timestamp"},
      {"metadata pair with a third field",
       stream_of(labels + len_field(2, len_field(3, len_field(3, "x")))),
       "bad structured metadata pair"},
      {"metadata pair repeating its name",
       stream_of(labels + len_field(2, len_field(3, len_field(1, "a") + len_field(1, "b")))),
       "bad structured metadata pair"},
      {"overlong varint length",
       std::string("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11), "bad field"},
  };
  const auto enforcer = make_enforcer(tenant_policy(Mode::kDrop));
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto out = enforcer.enforce(snappy_of(c.raw), lp::Format::kProtobuf);
      REQUIRE_FALSE(out.ok());
      CHECK(has_code(out.status(), obsgate::Code::kInvalidArgument));
      CHECK(mentions(out.status().message(), c.part));
    }
  }
}

TEST_CASE("protobuf: snappy framing and decompression caps") {
  struct Case {
    const char* name;
    std::string body;
    obsgate::Code code;
    const char* part;
  };
  std::string bomb;  // a snappy header claiming 1 GiB, then nothing
  varint(bomb, uint64_t{1} << 30);
  const std::string good = body(request({stream(R"({a="b"})", {entry("x")})}));
  const Case cases[] = {
      {"not snappy at all", "\xff\xff\xff\xff\xff\xff", obsgate::Code::kInvalidArgument,
       "not snappy"},
      {"empty body", "", obsgate::Code::kInvalidArgument, "not snappy"},
      {"truncated snappy", good.substr(0, good.size() - 2), obsgate::Code::kInvalidArgument,
       "corrupt snappy"},
      {"snappy header claims 1 GiB", bomb, obsgate::Code::kResourceExhausted,
       "uncompressed body of 1073741824 bytes"},
      {"JSON sent as protobuf", json_body({}), obsgate::Code::kInvalidArgument, "snappy"},
  };
  const auto enforcer = make_enforcer(tenant_policy());
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto out = enforcer.enforce(c.body, lp::Format::kProtobuf);
      REQUIRE_FALSE(out.ok());
      CHECK(has_code(out.status(), c.code));
      CHECK(mentions(out.status().message(), c.part));
    }
  }
}

TEST_CASE("protobuf: stream label strings must be a bare set of = matchers") {
  struct Case {
    const char* name;
    std::string labels;
    const char* part;
  };
  const Case cases[] = {
      {"no braces", R"(app="x")", "not a {...} label set"},
      {"missing labels field", "", "not a {...} label set"},
      {"regex matcher", R"({app=~"x.*"})", "only = is allowed"},
      {"negative matcher", R"({app!="x"})", "only = matchers"},
      {"a pipeline", R"({app="x"} |= "err")", "not a {...} label set"},
      {"a metric query", R"(sum(rate({a="b"}[5m])))", "not a {...} label set"},
      {"no labels", "{}", "stream has no labels"},
      {"only empty values", R"({app=""})", "stream has no labels"},
      {"duplicate names", R"({app="x", app="y"})", "duplicate label name app"},
      {"quoted label name", R"({"a.b"="x"})", "labels do not parse"},
      {"trailing comma", R"({app="x",})", "labels do not parse"},
      {"unterminated string", R"({app="x})", "labels do not parse"},
      {"invalid UTF-8 in a value", std::string("{app=\"\xff\"}"), "labels do not parse"},
      {"bad escape", R"({app="\q"})", "labels do not parse"},
  };
  const auto enforcer = make_enforcer(tenant_policy());
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto out = enforcer.enforce(body(request({stream(c.labels, {entry("x")})})),
                                  lp::Format::kProtobuf);
      REQUIRE(out.ok());
      REQUIRE(out->rejected);
      REQUIRE(out->violations.size() == 1);
      CHECK(out->violations[0].reason == lp::Reason::kInvalidLabels);
      CHECK(mentions(out->violations[0].detail, c.part));
      CHECK(has_code(out->status(), obsgate::Code::kInvalidArgument));
      CHECK(out->body.empty());
    }
  }
}
