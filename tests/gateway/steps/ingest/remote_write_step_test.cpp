// The remote_write step driven with hand-built Requests (no sockets): version and encoding
// checks, write-tenant resolution, enforcement (reject and drop), what is forwarded (body,
// headers), and the self-metrics after the upstream's answer.
#include <snappy.h>

#include <string>
#include <utility>
#include <vector>

#include "filters/remote_write/proto/remote.pb.h"
#include "test_common.h"

namespace {

using namespace ingest_test;  // NOLINT(google-build-using-namespace): test file
namespace pb = obsgate::prompb;
using Labels = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kV1Type = "application/x-protobuf";
constexpr const char* kV2Type = "application/x-protobuf;proto=io.prometheus.write.v2.Request";

std::string write_body(const std::vector<Labels>& series) {
  pb::WriteRequest req;
  int i = 0;
  for (const auto& labels : series) {
    auto* ts = req.add_timeseries();
    for (const auto& [n, v] : labels) {
      auto* l = ts->add_labels();
      l->set_name(n);
      l->set_value(v);
    }
    auto* s = ts->add_samples();
    s->set_value(1.5 + i);
    s->set_timestamp(1'700'000'000'000 + i++);
  }
  std::string out;
  const std::string raw = req.SerializeAsString();
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

pb::WriteRequest parse(const std::string& body) {
  std::string raw;
  REQUIRE(snappy::Uncompress(body.data(), body.size(), &raw));
  pb::WriteRequest req;
  REQUIRE(req.ParseFromString(raw));
  return req;
}

// The forwarded series' label sets, in order.
Check forwarded_series(std::vector<Labels> want) {
  return [=](Exchange& x) {
    auto req = parse(x.forwarded());
    std::vector<Labels> got;
    for (const auto& ts : req.timeseries()) {
      Labels l;
      for (const auto& p : ts.labels()) {
        l.emplace_back(p.name(), p.value());
      }
      got.push_back(std::move(l));
      REQUIRE(ts.samples_size() == 1);  // samples travel unchanged
    }
    CHECK(got == want);
  };
}

Input input(std::vector<Labels> series, std::vector<std::pair<std::string, std::string>> headers =
                                            {{"Content-Type", kV1Type},
                                             {"Content-Encoding", "snappy"}}) {
  Input in;
  in.body = write_body(series);
  in.headers = std::move(headers);
  return in;
}

const Labels kUpA = {{"__name__", "up"}, {"job", "api"}, {"namespace", "team-a-x"}};
const Labels kUpAStamped = {
    {"__name__", "up"}, {"job", "api"}, {"namespace", "team-a-x"}, {"tenant", "team-a"}};

struct Case {
  std::string name;
  Input in;
  Check check;
};

Input with(Input in, const std::function<void(Input&)>& f) {
  f(in);
  return in;
}

TEST_CASE("remote_write step: requests", "[ingest][remote_write]") {
  const std::vector<Case> cases = {
      {"team-a's series is stamped and forwarded with the 1.0 headers", input({kUpA}),
       all({forwards(), forwarded_series({kUpAStamped}), decision("ok"),
            has_header("Content-Encoding", "snappy"),
            has_header("X-Prometheus-Remote-Write-Version", "0.1.0"),
            has_header("Content-Type", kV1Type), has_header("X-Scope-OrgID", "org-a")})},
      {"a series already carrying the right tenant passes unchanged",
       input({kUpAStamped}), all({forwards(), forwarded_series({kUpAStamped})})},
      {"no Content-Type and no encoding header: 1.0",
       input({kUpA}, {}), all({forwards(), forwarded_series({kUpAStamped})})},
      {"remote-write 2.0 is refused with 415 naming 1.0",
       input({kUpA}, {{"Content-Type", kV2Type}, {"Content-Encoding", "snappy"}}),
       responds(415, "remote-write 1.0", "remote_write_denied{unsupported_version}")},
      {"a 2.x version header is 2.0",
       input({kUpA}, {{"Content-Type", kV1Type},
                      {"X-Prometheus-Remote-Write-Version", "2.0.0"}}),
       responds(415, "remote-write 1.0")},
      {"another media type is 415", input({kUpA}, {{"Content-Type", "application/json"}}),
       responds(415, "remote-write 1.0", "remote_write_denied{unsupported_media_type}")},
      {"gzip is 415", input({kUpA}, {{"Content-Type", kV1Type}, {"Content-Encoding", "gzip"}}),
       responds(415, "snappy", "remote_write_denied{unsupported_encoding}")},
      {"unauthenticated: a wiring bug, 500",
       with(input({kUpA}), [](Input& i) { i.authenticated = false; }),
       responds(500, "no authentication step", "remote_write_denied{chain_misconfigured}")},
      {"X-Obsgate-Tenant twice: 400",
       with(input({kUpA}), [](Input& i) { i.tenant_repeated = true; }),
       responds(400, "once")},
      {"several write tenants and no header: 400 asking for it",
       with(input({kUpA}), [](Input& i) { i.tenants = {"team-a", "team-b"}; }),
       responds(400, "X-Obsgate-Tenant", "remote_write_denied{tenant_ambiguous}")},
      {"several write tenants, the header picks team-b (X-Scope-OrgID unmapped)",
       with(input({{{"__name__", "up"}, {"namespace", "x"}}}),
            [](Input& i) {
              i.tenants = {"team-a", "team-b"};
              i.tenant_header = "team-b";
            }),
       all({forwards(),
            forwarded_series({{{"__name__", "up"}, {"namespace", "x"}, {"tenant", "team-b"}}}),
            has_header("X-Scope-OrgID", "team-b")})},
      {"a team-b writer naming team-a: 403",
       with(input({kUpA}),
            [](Input& i) {
              i.tenants = {"team-b"};
              i.tenant_header = "team-a";
            }),
       responds(403, "does not belong")},
      {"an unrestricted role does not grant writes into team-a",
       with(input({kUpA}),
            [](Input& i) {
              i.tenants = {};
              i.roles = {"admin"};
              i.tenant_header = "team-a";
            }),
       responds(403, "may not write as tenant 'team-a'", "remote_write_denied{tenant_header}")},
      {"an unrestricted role writes as its own tenant",
       with(input({kUpA}), [](Input& i) { i.roles = {"admin"}; }),
       all({forwards(), has_header("X-Scope-OrgID", "org-a")})},
      {"a tenant without a write section: 403",
       with(input({kUpA}), [](Input& i) { i.tenants = {"team-c"}; }),
       responds(403, "no write policy", "remote_write_denied{no_write_policy}")},
      {"a series of another tenant: 403 naming it",
       input({kUpA, {{"__name__", "up"}, {"namespace", "team-a-y"}, {"tenant", "team-b"}}}),
       responds(403, "tenant=\"team-b\"", "remote_write_denied{tenant_mismatch}")},
      {"a forbidden label: 403",
       input({{{"__name__", "up"}, {"namespace", "team-a"}, {"user_id", "42"}}}),
       responds(403, "user_id", "remote_write_denied{forbidden_label}")},
      {"outside the write scope: 403",
       input({{{"__name__", "up"}, {"namespace", "other"}}}),
       responds(403, "namespace=\"other\"", "remote_write_denied{out_of_scope}")},
      {"corrupt snappy: 400",
       with(input({kUpA}), [](Input& i) { i.body = "\xff\xff\xff\xff garbage"; }),
       responds(400, "", "remote_write_denied{malformed}")},
      {"over team-a's compressed-size cap: 413",
       with(input({kUpA}), [](Input& i) { i.body.assign(65 * 1024, 'x'); }),
       responds(413, "", "remote_write_denied{too_large}")},
      {"team-b drops the offending series and forwards the rest",
       with(input({{{"__name__", "a"}, {"user_id", "1"}}, {{"__name__", "b"}}}),
            [](Input& i) { i.tenants = {"team-b"}; }),
       all({forwards(), forwarded_series({{{"__name__", "b"}, {"tenant", "team-b"}}}),
            decision("dropped")})},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env(Kind::kRemoteWrite);
      Exchange x(env, c.in);
      c.check(x);
    }
  }
}

TEST_CASE("remote_write step: metrics follow the backend's answer", "[ingest][remote_write]") {
  struct MCase {
    std::string name;
    std::optional<unsigned> status;  // nullopt: the upstream never answered
    std::string result;
    std::string reason;
  };
  const std::vector<MCase> cases = {
      {"204 accepted", 204, "accepted", "ok"},
      {"503 is a backend error", 503, "backend_error", "backend_5xx"},
      {"429 is a backend error", 429, "backend_error", "backend_429"},
      {"400 is a backend error", 400, "backend_error", "backend_4xx"},
      {"no answer", std::nullopt, "backend_error", "backend_unreachable"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env(Kind::kRemoteWrite);
      {
        Exchange x(env, input({kUpA, kUpA}));
        REQUIRE(x.action == gw::Action::kContinue);
        if (c.status) {
          CHECK(x.answer(*c.status) == gw::Action::kContinue);  // relayed untouched
        }
      }
      const std::map<std::string, std::string> labels{
          {"api", "remote_write"}, {"tenant", "team-a"}, {"result", c.result},
          {"reason", c.reason}};
      CHECK(env.counter("obsgate_ingest_series_total", labels) == 2);
      CHECK(env.counter("obsgate_ingest_samples_total", labels) == 2);
    }
  }
}

TEST_CASE("remote_write step: drops and rejections are counted", "[ingest][remote_write]") {
  Env env(Kind::kRemoteWrite);
  {
    auto in = input({{{"__name__", "a"}, {"user_id", "1"}}, {{"__name__", "b"}}});
    in.tenants = {"team-b"};
    Exchange x(env, in);
    REQUIRE(x.action == gw::Action::kContinue);
  }
  CHECK(env.counter("obsgate_ingest_series_total", {{"api", "remote_write"},
                                                    {"tenant", "team-b"},
                                                    {"result", "dropped"},
                                                    {"reason", "forbidden_label"}}) == 1);
  {
    Exchange x(env, input({{{"__name__", "up"}, {"namespace", "other"}}}));
    REQUIRE(x.action == gw::Action::kRespond);
  }
  CHECK(env.counter("obsgate_ingest_series_total", {{"api", "remote_write"},
                                                    {"tenant", "team-a"},
                                                    {"result", "rejected"},
                                                    {"reason", "out_of_scope"}}) == 1);
  // Counted once: a rejected request's offending series is not also "dropped" (-1: absent).
  CHECK(env.counter("obsgate_ingest_series_total", {{"api", "remote_write"},
                                                    {"tenant", "team-a"},
                                                    {"result", "dropped"},
                                                    {"reason", "out_of_scope"}}) == -1);
}

TEST_CASE("remote_write step: load-time checks", "[ingest][remote_write]") {
  Env env(Kind::kRemoteWrite);
  SECTION("auth: unsafe_none is refused") {
    env.route.auth = config::AuthMode::kUnsafeNone;
    auto f = gw::ingest::make_remote_write_step(env.cfg, env.route, env.services);
    REQUIRE_FALSE(f.ok());
    CHECK(f.status().message().find("auth: required") != std::string::npos);
  }
  SECTION("a tenant id with '|' is refused") {
    env.cfg.upstreams[0].tenant_ids = {{"team-a", "a|b"}};
    auto f = gw::ingest::make_remote_write_step(env.cfg, env.route, env.services);
    REQUIRE_FALSE(f.ok());
    CHECK(f.status().message().find("team-a") != std::string::npos);
  }
}

}  // namespace
