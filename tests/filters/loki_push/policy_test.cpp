// Every policy rule and per-stream limit, in both formats and both violation modes.
#include <functional>

#include "tests/filters/loki_push/test_common.h"

using namespace lptest;  // NOLINT(google-build-using-namespace): test-local helpers
using obsgate::filters::MatchOp;

namespace {

struct E {
  std::string line;
  Pairs metadata;
};

std::string go_labels(const Pairs& labels) {
  std::string out = "{";
  for (size_t i = 0; i < labels.size(); ++i) {
    out += (i > 0 ? ", " : "") + labels[i].first + "=" + json_quote(labels[i].second);
  }
  return out + "}";
}

std::string one_stream(lp::Format f, const Pairs& labels, const std::vector<E>& entries) {
  if (f == lp::Format::kProtobuf) {
    std::vector<pb::EntryAdapter> es;
    for (const E& e : entries) {
      es.push_back(entry(e.line, e.metadata));
    }
    return body(request({stream(go_labels(labels), es)}));
  }
  std::vector<JsonEntry> es;
  for (const E& e : entries) {
    es.push_back({"1700000000000000000", e.line,
                  e.metadata.empty() ? std::nullopt : std::optional<Pairs>(e.metadata)});
  }
  return json_body({json_stream(labels, es)});
}

size_t streams_in(lp::Format f, const std::string& out_body) {
  if (f == lp::Format::kProtobuf) {
    return static_cast<size_t>(parse_body(out_body).streams_size());
  }
  size_t n = 0;
  for (size_t at = out_body.find("{\"stream\":{"); at != std::string::npos;
       at = out_body.find("{\"stream\":{", at + 1)) {
    ++n;
  }
  return n;
}

struct RuleCase {
  const char* name;
  std::function<void(lp::PushPolicy&)> tweak;
  Pairs labels;
  std::vector<E> entries;
  std::optional<lp::Reason> reason;
  const char* detail_part;
  bool json_only = false;  // labels the protobuf form cannot carry
};

const lp::Format kFormats[] = {lp::Format::kProtobuf, lp::Format::kJson};

}  // namespace

TEST_CASE("every rule and per-stream limit, both formats, both modes") {
  using R = lp::Reason;
  auto none = [](lp::PushPolicy&) {};
  auto forbid = [](lp::PushPolicy& p) { p.forbidden_labels = {"user_id", "request_id"}; };
  auto hide = [](lp::PushPolicy& p) { p.write_scope.hidden_labels = {"secret", "tenant"}; };
  auto audit = [](lp::PushPolicy& p) {
    p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}},
                       {{"stream", MatchOp::kRe, "sec.*"}, {"app", MatchOp::kEq, "idp"}}};
  };
  auto shipper = [&](lp::PushPolicy& p) {
    audit(p);
    p.may_write_audit = true;
  };
  auto scoped = [](lp::PushPolicy& p) {
    p.write_scope.unrestricted = false;
    p.write_scope.rules = {{{"app", MatchOp::kRe, "api|web"}},
                           {{"team", MatchOp::kEq, "infra"}, {"env", MatchOp::kNeq, "prod"}}};
  };
  auto const E1 = std::vector<E>{{"hello", {}}};
  const RuleCase cases[] = {
      {"plain stream", none, {{"app", "x"}}, E1, std::nullopt, ""},
      {"tenant mismatch", none, {{"app", "x"}, {"tenant", "b"}}, E1, R::kTenantMismatch,
       R"(label tenant="b" is not your tenant "team-a")"},
      {"tenant right", none, {{"tenant", "team-a"}}, E1, std::nullopt, ""},
      {"forbidden label", forbid, {{"app", "x"}, {"user_id", "42"}}, E1, R::kForbiddenLabel,
       "label user_id is forbidden"},
      {"hidden label is forbidden", hide, {{"secret", "1"}}, E1, R::kForbiddenLabel,
       "label secret is forbidden"},
      {"a hidden tenant label is still stamped", hide, {{"app", "x"}}, E1, std::nullopt, ""},
      {"audit stream", audit, {{"stream", "audit"}}, E1, R::kAuditStream,
       R"(matches the audit streams {stream="audit"})"},
      {"audit stream by regex and two matchers", audit, {{"stream", "security"}, {"app", "idp"}},
       E1, R::kAuditStream, R"({stream=~"sec.*", app="idp"})"},
      {"an audit rule needs all its matchers", audit, {{"stream", "security"}, {"app", "x"}}, E1,
       std::nullopt, ""},
      {"the audit shipper may write audit streams", shipper, {{"stream", "audit"}}, E1,
       std::nullopt, ""},
      {"in scope by regex", scoped, {{"app", "web"}}, E1, std::nullopt, ""},
      {"in scope by the second rule", scoped, {{"team", "infra"}, {"env", "dev"}}, E1,
       std::nullopt, ""},
      {"a missing label reads as empty", scoped, {{"team", "infra"}}, E1, std::nullopt, ""},
      {"out of scope", scoped, {{"app", "db"}}, E1, R::kOutOfScope,
       R"(matches no write scope rule: {app=~"api|web"} or {team="infra", env!="prod"})"},
      {"the scope sees the stamped tenant",
       [](lp::PushPolicy& p) {
         p.write_scope.unrestricted = false;
         p.write_scope.rules = {{{"tenant", MatchOp::kEq, "team-a"}}};
       },
       {{"app", "x"}}, E1, std::nullopt, ""},
      {"an empty restricted scope grants nothing",
       [](lp::PushPolicy& p) { p.write_scope.unrestricted = false; }, {{"app", "x"}}, E1,
       R::kOutOfScope, "the write scope grants no streams"},
      {"too many labels once stamped",
       [](lp::PushPolicy& p) { p.limits.max_labels_per_stream = 2; }, {{"a", "1"}, {"b", "2"}},
       E1, R::kLimit, "3 labels, more than the limit of 2"},
      {"label name too long", [](lp::PushPolicy& p) { p.limits.max_label_name_bytes = 6; },
       {{"abcdefg", "1"}}, E1, R::kLimit, "label name longer than 6 bytes"},
      {"label value too long", [](lp::PushPolicy& p) { p.limits.max_label_value_bytes = 6; },
       {{"a", "1234567"}}, E1, R::kLimit, "value of label a longer than 6 bytes"},
      {"line too long", [](lp::PushPolicy& p) { p.limits.max_line_bytes = 4; }, {{"a", "1"}},
       {{"1234", {}}, {"12345", {}}}, R::kLimit,
       "entry 2: line of 5 bytes exceeds the limit of 4"},
      {"too many structured metadata pairs",
       [](lp::PushPolicy& p) { p.limits.max_structured_metadata_pairs = 1; }, {{"a", "1"}},
       {{"l", {{"k1", "v"}, {"k2", "v"}}}}, R::kLimit,
       "entry 1: 2 structured metadata pairs, more than the limit of 1"},
      {"forbidden structured metadata", forbid, {{"a", "1"}},
       {{"l", {{"trace_id", "t"}}}, {"l", {{"user_id", "42"}}}}, R::kForbiddenLabel,
       "entry 2: structured metadata user_id is forbidden"},
      {"hidden structured metadata", hide, {{"a", "1"}}, {{"l", {{"secret", "s"}}}},
       R::kForbiddenLabel, "structured metadata secret is forbidden"},
      {"structured metadata shadowing the tenant label", none, {{"a", "1"}},
       {{"l", {{"tenant", "b"}}}}, R::kTenantMismatch, "would shadow the tenant label"},
      {"structured metadata with an empty name", none, {{"a", "1"}}, {{"l", {{"", "v"}}}},
       R::kInvalidLabels, "structured metadata with an empty name"},
      {"tenant is judged before forbidden labels", forbid, {{"tenant", "b"}, {"user_id", "1"}},
       E1, R::kTenantMismatch, "not your tenant"},
      {"forbidden labels before audit streams",
       [&](lp::PushPolicy& p) {
         forbid(p);
         audit(p);
       },
       {{"stream", "audit"}, {"user_id", "1"}}, E1, R::kForbiddenLabel, "user_id"},
      {"labels before entries", forbid, {{"tenant", "b"}}, {{"l", {{"user_id", "1"}}}},
       R::kTenantMismatch, "not your tenant"},
      {"empty label name", none, {{"", "x"}}, E1, R::kInvalidLabels, "empty label name", true},
      {"dotted label name", none, {{"a.b", "x"}}, E1, R::kInvalidLabels,
       "is not a valid label name", true},
  };
  for (const lp::Format f : kFormats) {
    for (const Mode mode : {Mode::kReject, Mode::kDrop}) {
      for (const auto& c : cases) {
        if (c.json_only && f == lp::Format::kProtobuf) {
          continue;
        }
        DYNAMIC_SECTION((f == lp::Format::kJson ? "json " : "protobuf ")
                        << (mode == Mode::kDrop ? "drop: " : "reject: ") << c.name) {
          lp::PushPolicy p = tenant_policy(mode);
          c.tweak(p);
          const auto enforcer = make_enforcer(p);
          auto out = enforcer.enforce(one_stream(f, c.labels, c.entries), f);
          REQUIRE(out.ok());
          if (!c.reason) {
            CHECK_FALSE(out->rejected);
            CHECK(out->violations.empty());
            CHECK(out->accepted.streams == 1);
            CHECK(out->accepted.entries == c.entries.size());
            CHECK(streams_in(f, out->body) == 1);
            continue;
          }
          REQUIRE(out->violations.size() == 1);
          const lp::Violation& v = out->violations[0];
          CHECK(v.reason == *c.reason);
          CHECK(mentions(v.detail, c.detail_part));
          CHECK(out->violations_total == 1);
          CHECK(out->accepted.streams == 0);
          const lp::Counts& d = out->dropped[static_cast<size_t>(*c.reason)];
          CHECK(d.streams == 1);
          CHECK(d.entries == c.entries.size());
          if (mode == Mode::kReject) {
            CHECK(out->rejected);
            CHECK(out->body.empty());
            const obsgate::Status st = out->status();
            const bool malformed = *c.reason == R::kInvalidLabels || *c.reason == R::kLimit;
            CHECK(has_code(st, malformed ? obsgate::Code::kInvalidArgument
                                         : obsgate::Code::kPermissionDenied));
            CHECK(mentions(st.message(), "loki_push_denied{" +
                                             std::string(lp::reason_name(*c.reason)) +
                                             "}: stream {"));
          } else {
            CHECK_FALSE(out->rejected);
            CHECK(out->status().ok());
            CHECK(streams_in(f, out->body) == 0);
          }
        }
      }
    }
  }
}

TEST_CASE("the rejection names the stream as received and the rule") {
  for (const lp::Format f : kFormats) {
    DYNAMIC_SECTION((f == lp::Format::kJson ? "json" : "protobuf")) {
      auto out = make_enforcer(tenant_policy())
                     .enforce(one_stream(f, {{"app", "x"}, {"tenant", "b"}}, {{"l", {}}}), f);
      REQUIRE(out.ok());
      CHECK(out->status().message() ==
            R"(loki_push_denied{tenant_mismatch}: stream {app="x", tenant="b"}: label )"
            R"(tenant="b" is not your tenant "team-a")");
    }
  }
}

TEST_CASE("drop mode forwards the other streams and counts the dropped ones") {
  lp::PushPolicy p = tenant_policy(Mode::kDrop);
  p.forbidden_labels = {"user_id"};
  p.limits.max_violations = 2;
  const auto enforcer = make_enforcer(p);
  const std::vector<std::pair<Pairs, bool>> streams = {
      {{{"app", "a"}}, true},          {{{"tenant", "x"}}, false}, {{{"app", "b"}}, true},
      {{{"user_id", "1"}}, false},     {{{"tenant", "y"}}, false},
  };
  for (const lp::Format f : kFormats) {
    DYNAMIC_SECTION((f == lp::Format::kJson ? "json" : "protobuf")) {
      std::string in;
      if (f == lp::Format::kProtobuf) {
        std::vector<pb::StreamAdapter> ss;
        for (const auto& [ls, ok] : streams) {
          ss.push_back(stream(go_labels(ls), {entry("1"), entry("22")}));
        }
        in = body(request(ss));
      } else {
        std::vector<std::string> ss;
        for (const auto& [ls, ok] : streams) {
          ss.push_back(json_stream(ls, {{"1", "1"}, {"2", "22"}}));
        }
        in = json_body(ss);
      }
      auto out = enforcer.enforce(in, f);
      REQUIRE(out.ok());
      CHECK_FALSE(out->rejected);
      CHECK(streams_in(f, out->body) == 2);
      CHECK(out->accepted.streams == 2);
      CHECK(out->accepted.entries == 4);
      CHECK(out->accepted.line_bytes == 6);
      CHECK(out->dropped[static_cast<size_t>(lp::Reason::kTenantMismatch)].streams == 2);
      CHECK(out->dropped[static_cast<size_t>(lp::Reason::kForbiddenLabel)].entries == 2);
      CHECK(out->violations_total == 3);
      REQUIRE(out->violations.size() == 2);  // capped at max_violations, input order
      CHECK(out->violations[0].stream == R"({tenant="x"})");
      CHECK(out->violations[1].stream == R"({user_id="1"})");
      if (f == lp::Format::kJson) {
        CHECK(mentions(out->body, R"({"stream":{"app":"b","tenant":"team-a"},"values":)"));
      } else {
        const pb::PushRequest got = parse_body(out->body);
        CHECK(got.streams(1).labels() == R"({app="b", tenant="team-a"})");
      }
    }
  }
}

TEST_CASE("request-wide caps fail the whole request whatever the mode") {
  struct Case {
    const char* name;
    std::function<void(lp::Limits&)> tweak;
    const char* part;
  };
  const Case cases[] = {
      {"streams", [](lp::Limits& l) { l.max_streams = 2; }, "limit of 2 streams"},
      {"entries", [](lp::Limits& l) { l.max_entries = 5; }, "or 5 entries"},
      {"body bytes", [](lp::Limits& l) { l.max_body_bytes = 20; }, "body of"},
      {"decompressed bytes", [](lp::Limits& l) { l.max_decompressed_bytes = 40; }, "bytes exceeds"},
  };
  for (const lp::Format f : kFormats) {
    for (const auto& c : cases) {
      DYNAMIC_SECTION((f == lp::Format::kJson ? "json " : "protobuf ") << c.name) {
        lp::PushPolicy p = tenant_policy(Mode::kDrop);
        c.tweak(p.limits);
        std::string in;
        if (f == lp::Format::kProtobuf) {
          const auto s = stream(R"({a="1"})", {entry("1"), entry("2")});
          in = body(request({s, s, s}));
        } else {
          const auto s = json_stream({{"a", "1"}}, {{"1", "1"}, {"2", "2"}});
          in = json_body({s, s, s});
        }
        auto out = make_enforcer(p).enforce(in, f);
        REQUIRE_FALSE(out.ok());
        CHECK(has_code(out.status(), obsgate::Code::kResourceExhausted));
        CHECK(mentions(out.status().message(), c.part));
      }
    }
  }
}
