// Enforcement: nothing but the stamped label changes, and every policy rule drops or rejects.
#include <algorithm>
#include <random>

#include "tests/filters/remote_write/test_common.h"

using namespace rwtest;  // NOLINT(google-build-using-namespace): test-local helpers
using Mode = rw::WritePolicy::OnViolation;

namespace {

pb::TimeSeries with_exemplar(pb::TimeSeries ts) {
  auto* e = ts.add_exemplars();
  auto* l = e->add_labels();
  l->set_name("trace_id");
  l->set_value("4bf92f3577b34da6a3ce929d0e0e4736");
  e->set_value(0.25);
  e->set_timestamp(1'700'000'000'123);
  return ts;
}

pb::TimeSeries with_int_histogram(pb::TimeSeries ts) {
  auto* h = ts.add_histograms();
  h->set_count_int(42);
  h->set_sum(12.5);
  h->set_schema(3);
  h->set_zero_threshold(1e-128);
  h->set_zero_count_int(2);
  auto* ns = h->add_negative_spans();
  ns->set_offset(-2);
  ns->set_length(2);
  h->add_negative_deltas(1);
  h->add_negative_deltas(-1);
  auto* ps = h->add_positive_spans();
  ps->set_offset(0);
  ps->set_length(3);
  auto* ps2 = h->add_positive_spans();
  ps2->set_offset(4);
  ps2->set_length(1);
  for (int d : {3, -1, 5, 7}) {
    h->add_positive_deltas(d);
  }
  h->set_reset_hint(pb::Histogram::NO);
  h->set_timestamp(1'700'000'000'000);
  return ts;
}

pb::TimeSeries with_float_histogram(pb::TimeSeries ts) {
  auto* h = ts.add_histograms();
  h->set_count_float(7.5);
  h->set_sum(-3.25);
  h->set_schema(-53);
  h->set_zero_count_float(0.5);
  auto* ps = h->add_positive_spans();
  ps->set_offset(1);
  ps->set_length(2);
  h->add_positive_counts(2.5);
  h->add_positive_counts(4.5);
  h->add_custom_values(0.1);
  h->add_custom_values(1.0);
  h->set_reset_hint(pb::Histogram::GAUGE);
  h->set_timestamp(1'700'000'060'000);
  return ts;
}

pb::MetricMetadata metadata(const std::string& family, pb::MetricMetadata::MetricType type) {
  pb::MetricMetadata m;
  m.set_type(type);
  m.set_metric_family_name(family);
  m.set_help("Help for " + family + " with \"quotes\" and ünïcode");
  m.set_unit("seconds");
  return m;
}

const Labels kHttp = {{"__name__", "http_requests_total"}, {"code", "200"}, {"job", "api"}};
const Labels kSix = {{"__name__", "up"}, {"a", "1"}, {"b", "2"},
                     {"c", "3"},        {"d", "4"},  {"e", "5"}};

}  // namespace

TEST_CASE("enforcement keeps every field and only adds the tenant label") {
  struct Case {
    const char* name;
    pb::WriteRequest input;
  };
  pb::WriteRequest with_meta = request({series(kHttp, 3)});
  *with_meta.add_metadata() = metadata("http_requests", pb::MetricMetadata::COUNTER);
  *with_meta.add_metadata() = metadata("rpc_latency_seconds", pb::MetricMetadata::HISTOGRAM);
  const Case cases[] = {
      {"samples", request({series(kHttp, 5)})},
      {"no samples at all", request({series(kHttp, 0)})},
      {"exemplars", request({with_exemplar(series(kHttp, 2))})},
      {"integer native histogram", request({with_int_histogram(series(kHttp, 0))})},
      {"float histogram with custom values", request({with_float_histogram(series(kHttp, 0))})},
      {"everything in one series",
       request({with_float_histogram(with_int_histogram(with_exemplar(series(kHttp, 4))))})},
      {"tenant sorts first", request({series({{"__name__", "up"}, {"zone", "eu"}})})},
      {"tenant sorts last", request({series({{"__name__", "up"}, {"app", "x"}})})},
      {"uppercase names sort before __name__",
       request({series({{"A", "1"}, {"__name__", "up"}, {"zz", "2"}})})},
      {"metadata", with_meta},
      {"many series", request({series(kHttp, 1), series({{"__name__", "up"}}, 2),
                               with_exemplar(series({{"__name__", "b"}, {"x", "y"}}, 1))})},
      {"empty request", pb::WriteRequest()},
  };
  const auto enforcer = make_enforcer(tenant_policy(Mode::kReject));
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto out = enforcer.enforce(body(c.input));
      REQUIRE(out.ok());
      REQUIRE_FALSE(out->rejected);
      pb::WriteRequest want = c.input;
      for (auto& ts : *want.mutable_timeseries()) {
        ts = stamped(ts, "tenant", "team-a");
      }
      const pb::WriteRequest got = parse_body(out->body);
      CHECK(diff(want, got).empty());
      CHECK(out->accepted.series == static_cast<uint64_t>(c.input.timeseries_size()));
      CHECK(out->metadata_forwarded == static_cast<uint64_t>(c.input.metadata_size()));
      CHECK(out->violations.empty());
    }
  }
}

TEST_CASE("a request already carrying the tenant label is forwarded byte for byte") {
  Labels ls = kHttp;
  ls.emplace_back("tenant", "team-a");
  const std::string in = body(request({with_int_histogram(series(ls, 2))}));
  auto out = make_enforcer(tenant_policy(Mode::kReject)).enforce(in);
  REQUIRE(out.ok());
  CHECK_FALSE(out->modified);
  CHECK(out->body == in);
}

TEST_CASE("counts follow samples, histograms and exemplars") {
  const pb::WriteRequest req =
      request({with_exemplar(series(kHttp, 3)), with_int_histogram(series(kHttp, 0)),
               with_float_histogram(with_int_histogram(series({{"__name__", "u"}}, 1)))});
  auto out = make_enforcer(tenant_policy(Mode::kReject)).enforce(body(req));
  REQUIRE(out.ok());
  CHECK(out->accepted.series == 3);
  CHECK(out->accepted.samples == 4);
  CHECK(out->accepted.histograms == 3);
  CHECK(out->accepted.exemplars == 1);
}

namespace {

// One series against one policy tweak: accepted, or refused for `reason`.
struct RuleCase {
  const char* name;
  std::function<void(rw::WritePolicy&)> tweak;
  std::string raw_series;  // the TimeSeries message bytes
  std::optional<rw::Reason> reason;
  const char* detail_part;
};

std::string raw_series(const Labels& ls) { return series(ls, 2).SerializeAsString(); }

std::string raw_of(const std::vector<std::string>& raw_labels) {
  std::string s;
  for (const auto& l : raw_labels) {
    s += l;
  }
  return s + len_field(2, pb::Sample().SerializeAsString());
}

rw::SchemaContract contract() {
  rw::SchemaContract sc;
  sc.metrics["http_requests"] = {"code", "method"};
  sc.metrics["rpc_duration_seconds"] = {"service"};
  sc.metrics["up"] = {"env", "ns"};
  return sc;
}

void no_tweak(rw::WritePolicy&) {}

std::vector<RuleCase> rule_cases() {
  using R = rw::Reason;
  auto scope = [](std::vector<obsgate::filters::Rule> rules) {
    return [rules](rw::WritePolicy& p) { p.write_scope = rules; };
  };
  auto forbid = [](rw::WritePolicy& p) { p.forbidden_labels = {"user_id", "request_id"}; };
  auto with_schema = [](rw::WritePolicy& p) { p.schema = contract(); };
  auto limit = [](size_t rw::Limits::*field, size_t v) {
    return [field, v](rw::WritePolicy& p) { p.limits.*field = v; };
  };
  using obsgate::filters::MatchOp;
  const std::string bad_utf8 = "caf\xc3";
  return {
      {"plain series passes", no_tweak, raw_series(kHttp), std::nullopt, ""},
      {"same tenant passes", no_tweak, raw_series({{"__name__", "up"}, {"tenant", "team-a"}}),
       std::nullopt, ""},
      {"other tenant", no_tweak, raw_series({{"__name__", "up"}, {"tenant", "team-b"}}),
       R::kTenantMismatch, "\"tenant\" must be \"team-a\""},
      {"empty tenant value", no_tweak, raw_series({{"__name__", "up"}, {"tenant", ""}}),
       R::kTenantMismatch, "must be"},
      {"missing __name__", no_tweak, raw_series({{"job", "x"}}), R::kMissingName, "__name__"},
      {"empty __name__", no_tweak, raw_series({{"__name__", ""}, {"job", "x"}}), R::kMissingName,
       "__name__"},
      {"no labels", no_tweak, raw_series({}), R::kMissingName, "__name__"},
      {"unsorted labels", no_tweak, raw_series({{"__name__", "up"}, {"job", "a"}, {"code", "1"}}),
       R::kInvalidLabels, "not sorted"},
      {"duplicate labels", no_tweak, raw_series({{"__name__", "up"}, {"a", "1"}, {"a", "2"}}),
       R::kInvalidLabels, "duplicate label name \"a\""},
      {"empty label name", no_tweak, raw_series({{"", "v"}, {"__name__", "up"}}),
       R::kInvalidLabels, "empty label name"},
      {"invalid UTF-8 value", no_tweak,
       raw_of({raw_label("__name__", "up"), raw_label("job", bad_utf8)}), R::kInvalidLabels,
       "UTF-8"},
      {"invalid UTF-8 name", no_tweak,
       raw_of({raw_label("__name__", "up"), raw_label("\xff", "x")}), R::kInvalidLabels,
       "UTF-8"},
      {"surrogate in value", no_tweak,
       raw_of({raw_label("__name__", "up"), raw_label("a", "\xed\xa0\x80")}), R::kInvalidLabels,
       "UTF-8"},
      {"invalid UTF-8 in exemplar label", no_tweak,
       raw_of({raw_label("__name__", "up")}) +
           len_field(3, len_field(1, len_field(1, "trace_id") + len_field(2, bad_utf8))),
       R::kInvalidLabels, "exemplar"},
      {"forbidden label", forbid, raw_series({{"__name__", "up"}, {"user_id", "42"}}),
       R::kForbiddenLabel, "\"user_id\" is forbidden"},
      {"allowed next to forbidden list", forbid, raw_series({{"__name__", "up"}, {"user", "x"}}),
       std::nullopt, ""},
      {"too many labels counting the stamp", limit(&rw::Limits::max_labels_per_series, 6),
       raw_series(kSix), R::kLimit, "more than 6 labels"},
      {"label count at the limit", limit(&rw::Limits::max_labels_per_series, 7),
       raw_series(kSix), std::nullopt, ""},
      {"long label name", limit(&rw::Limits::max_label_name_bytes, 8),
       raw_series({{"__name__", "up"}, {"abcdefghi", "x"}}), R::kLimit, "name longer"},
      {"long label value", limit(&rw::Limits::max_label_value_bytes, 6),
       raw_series({{"__name__", "up"}, {"job", "abcdefg"}}), R::kLimit, "\"job\" longer"},
      {"schema: known metric", with_schema, raw_series({{"__name__", "up"}, {"job", "x"}}),
       std::nullopt, ""},
      {"schema: unknown metric", with_schema, raw_series({{"__name__", "down"}}), R::kSchema,
       "\"down\" is not in the schema"},
      {"schema: unknown label", with_schema, raw_series({{"__name__", "up"}, {"pod", "p"}}),
       R::kSchema, "\"pod\" is not allowed"},
      {"schema: _total maps to its family", with_schema,
       raw_series({{"__name__", "http_requests_total"}, {"code", "200"}}), std::nullopt, ""},
      {"schema: _bucket with le", with_schema,
       raw_series({{"__name__", "rpc_duration_seconds_bucket"}, {"le", "0.5"}, {"service", "s"}}),
       std::nullopt, ""},
      {"schema: family labels only", with_schema,
       raw_series({{"__name__", "rpc_duration_seconds_count"}, {"method", "GET"}}), R::kSchema,
       "\"method\""},
      {"scope: equality satisfied", scope({{{"env", MatchOp::kEq, "prod"}}}),
       raw_series({{"__name__", "up"}, {"env", "prod"}}), std::nullopt, ""},
      {"scope: equality violated", scope({{{"env", MatchOp::kEq, "prod"}}}),
       raw_series({{"__name__", "up"}, {"env", "dev"}}), R::kOutOfScope, "{env=\"prod\"}"},
      {"scope: missing label is empty", scope({{{"env", MatchOp::kNeq, ""}}}),
       raw_series({{"__name__", "up"}}), R::kOutOfScope, "write_scope"},
      {"scope: regex anchored", scope({{{"ns", MatchOp::kRe, "team-.*"}}}),
       raw_series({{"__name__", "up"}, {"ns", "xteam-a"}}), R::kOutOfScope, "write_scope"},
      {"scope: regex ok", scope({{{"ns", MatchOp::kRe, "team-.*"}}}),
       raw_series({{"__name__", "up"}, {"ns", "team-a"}}), std::nullopt, ""},
      {"scope: negative regex", scope({{{"ns", MatchOp::kNre, "kube-.*"}}}),
       raw_series({{"__name__", "up"}, {"ns", "kube-system"}}), R::kOutOfScope, "write_scope"},
      {"scope: second rule satisfied",
       scope({{{"env", MatchOp::kEq, "prod"}}, {{"env", MatchOp::kEq, "dev"}}}),
       raw_series({{"__name__", "up"}, {"env", "dev"}}), std::nullopt, ""},
      {"scope: conjunction needs both",
       scope({{{"env", MatchOp::kEq, "prod"}, {"ns", MatchOp::kEq, "team-a"}}}),
       raw_series({{"__name__", "up"}, {"env", "prod"}}), R::kOutOfScope, "write_scope"},
      {"scope: sees the stamped tenant", scope({{{"tenant", MatchOp::kEq, "team-a"}}}),
       raw_series({{"__name__", "up"}}), std::nullopt, ""},
  };
}

}  // namespace

TEST_CASE("each policy rule refuses the series in both modes") {
  for (const RuleCase& c : rule_cases()) {
    for (Mode mode : {Mode::kReject, Mode::kDrop}) {
      DYNAMIC_SECTION(c.name << (mode == Mode::kReject ? " [reject]" : " [drop]")) {
        rw::WritePolicy p = tenant_policy(mode);
        c.tweak(p);
        const auto enforcer = make_enforcer(p);
        auto out = enforcer.enforce(compress(len_field(1, c.raw_series)));
        REQUIRE(out.ok());
        if (!c.reason) {
          CHECK_FALSE(out->rejected);
          CHECK(out->violations_total == 0);
          CHECK(parse_body(out->body).timeseries_size() == 1);
          continue;
        }
        REQUIRE(out->violations.size() == 1);
        CHECK(out->violations[0].reason == *c.reason);
        CHECK_THAT(out->violations[0].detail, Catch::Contains(c.detail_part));
        CHECK(out->dropped[static_cast<size_t>(*c.reason)].series == 1);
        CHECK(out->accepted.series == 0);
        if (mode == Mode::kReject) {
          CHECK(out->rejected);
          CHECK(out->body.empty());
          const bool data_error = *c.reason == rw::Reason::kInvalidLabels ||
                                  *c.reason == rw::Reason::kLimit ||
                                  *c.reason == rw::Reason::kMissingName;
          CHECK(out->status().code() == (data_error ? obsgate::Code::kInvalidArgument
                                                    : obsgate::Code::kPermissionDenied));
          CHECK_THAT(out->status().message(),
                     Catch::Contains(std::string(rw::reason_name(*c.reason))));
        } else {
          CHECK_FALSE(out->rejected);
          CHECK(out->status().ok());
          CHECK(parse_body(out->body).timeseries_size() == 0);
        }
      }
    }
  }
}

TEST_CASE("drop mode forwards the series around a refused one") {
  for (const RuleCase& c : rule_cases()) {
    if (!c.reason) {
      continue;
    }
    DYNAMIC_SECTION(c.name) {
      rw::WritePolicy p = tenant_policy(Mode::kDrop);
      c.tweak(p);
      const auto enforcer = make_enforcer(p);
      // Neighbours every tweak admits: in every scope rule and schema entry used above.
      const pb::TimeSeries good =
          series({{"__name__", "up"}, {"env", "prod"}, {"job", "j"}, {"ns", "team-a"}});
      const std::string g = len_field(1, good.SerializeAsString());
      auto out = enforcer.enforce(compress(g + len_field(1, c.raw_series) + g));
      REQUIRE(out.ok());
      CHECK(out->violations_total == 1);
      const pb::WriteRequest got = parse_body(out->body);
      REQUIRE(got.timeseries_size() == 2);
      for (const auto& ts : got.timeseries()) {
        CHECK(diff(stamped(good, "tenant", "team-a"), ts).empty());
      }
    }
  }
}

TEST_CASE("reject mode names the first offending series in Prometheus notation") {
  rw::WritePolicy p = tenant_policy(Mode::kReject);
  p.forbidden_labels = {"user_id"};
  const auto req = request({series(kHttp), series({{"__name__", "x"}, {"user_id", "7\"q"}}),
                            series({{"__name__", "y"}, {"user_id", "8"}})});
  auto out = make_enforcer(p).enforce(body(req));
  REQUIRE(out.ok());
  REQUIRE(out->rejected);
  REQUIRE(out->violations.size() == 1);
  CHECK(out->violations[0].series == R"({__name__="x", user_id="7\"q"})");
  CHECK(out->status().message() ==
        R"(remote_write_denied{forbidden_label}: series {__name__="x", user_id="7\"q"}: )"
        R"(label "user_id" is forbidden)");
}

TEST_CASE("drop mode counts by reason, caps the list and forwards the rest") {
  rw::WritePolicy p = tenant_policy(Mode::kDrop);
  p.forbidden_labels = {"user_id"};
  p.limits.max_violations = 2;
  std::vector<pb::TimeSeries> ts;
  for (int i = 0; i < 5; ++i) {
    ts.push_back(series({{"__name__", "bad"}, {"user_id", std::to_string(i)}}, 2));
    ts.push_back(series({{"__name__", "ok"}, {"i", std::to_string(i)}}, 1));
  }
  ts.push_back(with_int_histogram(series({{"__name__", "x"}, {"tenant", "evil"}}, 0)));
  auto out = make_enforcer(p).enforce(body(request(ts)));
  REQUIRE(out.ok());
  CHECK(out->violations_total == 6);
  CHECK(out->violations.size() == 2);
  const auto& forbidden = out->dropped[static_cast<size_t>(rw::Reason::kForbiddenLabel)];
  CHECK(forbidden.series == 5);
  CHECK(forbidden.samples == 10);
  const auto& mismatch = out->dropped[static_cast<size_t>(rw::Reason::kTenantMismatch)];
  CHECK(mismatch.series == 1);
  CHECK(mismatch.histograms == 1);
  CHECK(out->accepted.series == 5);
  const pb::WriteRequest got = parse_body(out->body);
  REQUIRE(got.timeseries_size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(diff(stamped(ts[2 * i + 1], "tenant", "team-a"), got.timeseries(i)).empty());
  }
}

TEST_CASE("metadata outside the schema contract can be dropped") {
  struct Case {
    const char* name;
    bool drop;
    int want_forwarded;
  };
  const Case cases[] = {{"kept by default", false, 3}, {"dropped when asked", true, 2}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      rw::WritePolicy p = tenant_policy(Mode::kReject);
      p.schema = contract();
      p.drop_metadata_outside_schema = c.drop;
      pb::WriteRequest req = request({series({{"__name__", "up"}})});
      *req.add_metadata() = metadata("http_requests", pb::MetricMetadata::COUNTER);
      *req.add_metadata() = metadata("secret_family", pb::MetricMetadata::GAUGE);
      *req.add_metadata() = metadata("rpc_duration_seconds", pb::MetricMetadata::HISTOGRAM);
      auto out = make_enforcer(p).enforce(body(req));
      REQUIRE(out.ok());
      const pb::WriteRequest got = parse_body(out->body);
      CHECK(got.metadata_size() == c.want_forwarded);
      CHECK(out->metadata_forwarded == static_cast<uint64_t>(c.want_forwarded));
      CHECK(out->metadata_dropped == static_cast<uint64_t>(3 - c.want_forwarded));
      for (const auto& m : got.metadata()) {
        CHECK(m.metric_family_name() != (c.drop ? "secret_family" : ""));
      }
    }
  }
}

TEST_CASE("without a tenant label nothing is stamped") {
  rw::WritePolicy p;
  p.on_violation = Mode::kDrop;
  const std::string in = body(request({series(kHttp, 2), series({{"__name__", "up"}})}));
  auto out = make_enforcer(p).enforce(in);
  REQUIRE(out.ok());
  CHECK_FALSE(out->modified);
  CHECK(out->body == in);
}

namespace {

// A random but valid request: sorted unique label names (some carrying the tenant already),
// any mix of samples, exemplars, integer and float histograms, and metadata.
pb::WriteRequest random_request(uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&rng](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  static const char* const kNames[] = {"A", "__name__", "app", "instance", "job", "le", "pod",
                                       "tenant", "zone", "zz"};
  pb::WriteRequest req;
  const int n_series = pick(0, 30);
  for (int i = 0; i < n_series; ++i) {
    Labels ls;
    for (const char* n : kNames) {
      const std::string name = n;
      if (name == "__name__" || (name != "tenant" && pick(0, 2) == 0) ||
          (name == "tenant" && pick(0, 3) == 0)) {
        std::string v = name == "tenant" ? "team-a" : name + "-" + std::to_string(pick(0, 999));
        if (name != "tenant" && pick(0, 9) == 0) {
          v += "\xc3\xa9\xe2\x82\xac";  // non-ASCII UTF-8
        }
        ls.emplace_back(name, v);
      }
    }
    pb::TimeSeries ts = series(ls, pick(0, 4));
    for (int e = pick(0, 2); e > 0; --e) {
      ts = with_exemplar(ts);
    }
    if (pick(0, 2) == 0) {
      ts = with_int_histogram(ts);
    }
    if (pick(0, 3) == 0) {
      ts = with_float_histogram(ts);
    }
    *req.add_timeseries() = ts;
  }
  for (int m = pick(0, 3); m > 0; --m) {
    *req.add_metadata() = metadata("family_" + std::to_string(pick(0, 9)),
                                   static_cast<pb::MetricMetadata::MetricType>(pick(0, 7)));
  }
  return req;
}

}  // namespace

TEST_CASE("random valid requests come out as libprotobuf would stamp them") {
  const auto enforcer = make_enforcer(tenant_policy(Mode::kReject));
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    const pb::WriteRequest in = random_request(seed);
    pb::WriteRequest want = in;
    bool stamps = false;
    for (auto& ts : *want.mutable_timeseries()) {
      const bool has = std::any_of(ts.labels().begin(), ts.labels().end(),
                                   [](const pb::Label& l) { return l.name() == "tenant"; });
      if (!has) {
        ts = stamped(ts, "tenant", "team-a");
        stamps = true;
      }
    }
    auto out = enforcer.enforce(body(in));
    CAPTURE(seed);
    REQUIRE(out.ok());
    CAPTURE(out->status().message());
    REQUIRE_FALSE(out->rejected);
    CHECK(out->modified == stamps);
    CHECK(diff(want, parse_body(out->body)).empty());
  }
}

TEST_CASE("unusual but valid encodings are stamped like libprotobuf would") {
  struct Case {
    const char* name;
    std::string raw_series;  // TimeSeries message bytes
  };
  const std::string smp = len_field(2, series({}, 1).samples(0).SerializeAsString());
  const std::string long_value(300, 'v');  // two-byte length varints
  const Case cases[] = {
      {"labels after samples", smp + raw_label("__name__", "up") + raw_label("zone", "eu")},
      {"samples between labels", raw_label("__name__", "up") + smp + raw_label("zone", "eu")},
      {"insert point after a sample", raw_label("__name__", "up") + smp + smp},
      {"value before name",
       len_field(1, len_field(2, "up") + len_field(1, "__name__")) + raw_label("zone", "eu") + smp},
      {"label without value", raw_label("__name__", "up") + len_field(1, len_field(1, "empty"))},
      {"long value", raw_label("__name__", "up") + raw_label("job", long_value) + smp},
      {"overlong tag varint",
       std::string("\x8a\x00", 2) + std::string(1, 14) + len_field(1, "__name__") +
           len_field(2, "up") + smp},
  };
  const auto enforcer = make_enforcer(tenant_policy(Mode::kReject));
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::string raw = len_field(1, c.raw_series);
      pb::WriteRequest want;
      REQUIRE(want.ParseFromString(raw));
      *want.mutable_timeseries(0) = stamped(want.timeseries(0), "tenant", "team-a");
      auto out = enforcer.enforce(compress(raw));
      REQUIRE(out.ok());
      CAPTURE(out->status().message());
      REQUIRE_FALSE(out->rejected);
      CHECK(diff(want, parse_body(out->body)).empty());
    }
  }
}
