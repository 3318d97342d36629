// The loki step driven with hand-built Requests (no sockets): policy resolution, parameter
// pollution, the rebuilt request, X-Scope-OrgID, the audit decision, the per-rule fan-out (a
// fake fetcher) and response filtering.
#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <algorithm>
#include <chrono>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/routing/params.h"
#include "gateway/steps/loki/loki.h"
#include "gateway/steps/services.h"
#include "tests/gateway/steps/common/step_exchange.h"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace config = obsgate::config;
using obsgate::Result;
using obsgate::filters::MatchOp;
using obsgate::gateway::Action;
using obsgate::gateway::Services;
using obsgate::gateway::StepFactoryPtr;
namespace la = obsgate::gateway::loki_api;

// `fourth`: team-d, whose rule (cluster="d") collapses with no other, for fan-outs of three.
config::Config make_config(bool fourth = false) {
  config::Config c;
  config::Upstream up;
  up.name = "loki";
  up.host = "127.0.0.1";
  up.port = 1;
  up.tenant_header = "X-Scope-OrgID";
  up.tenant_ids = {{"team-a", "org-a"}};
  c.upstreams = {up};
  config::Tenant a;
  a.name = "team-a";
  a.logs = config::ReadScope{{{{"namespace", MatchOp::kEq, "a"}}}, {"client_ip"}};
  config::Tenant b;
  b.name = "team-b";
  b.logs = config::ReadScope{{{{"namespace", MatchOp::kEq, "b"}}}, {}};
  config::Tenant c2;  // a rule that does not collapse with team-a's
  c2.name = "team-c";
  c2.logs = config::ReadScope{{{{"team", MatchOp::kEq, "c"}}}, {}};
  c.tenants.tenants = {a, b, c2};
  if (fourth) {
    config::Tenant d;
    d.name = "team-d";
    d.logs = config::ReadScope{{{{"cluster", MatchOp::kEq, "d"}}}, {}};
    c.tenants.tenants.push_back(d);
  }
  c.tenants.unrestricted_roles = {"admin"};
  c.tenants.audit.streams = {{{"stream", MatchOp::kEq, "audit"}}};
  c.tenants.audit.auditor_roles = {"auditor"};
  return c;
}

using Input = obsgate::test::StepInput;

struct Env {
  config::Config cfg;
  config::Route route;
  prometheus::Registry registry;
  Services services;
  StepFactoryPtr factory;
  std::vector<la::UpstreamCall> calls;
  std::map<std::string, la::UpstreamAnswer> answers;  // by the call's query parameter
  std::map<std::string, int> delay_ms;                // by the call's query parameter
  std::set<std::string> timeouts;                     // queries answered DeadlineExceeded
  size_t in_flight = 0;
  size_t max_in_flight_seen = 0;
  size_t in_flight_at_reply = 0;  // sub-queries still running when on_request completed
  bool answer_inline = false;     // the fetcher completes without suspending
  std::vector<std::string> finished;  // queries, in the order their answers came back

  explicit Env(std::string path, config::Enforcer enforcer = config::Enforcer::kLokiQuery,
               size_t max_in_flight = la::kDefaultFanoutInFlight, bool fourth = false)
      : cfg(make_config(fourth)) {
    route.name = "r";
    route.path = std::move(path);
    route.upstream = "loki";
    route.enforcer = enforcer;
    route.auth = config::AuthMode::kRequired;
    services.registry = &registry;
    la::LokiStepOptions opts;
    opts.max_fanout_in_flight = max_in_flight;
    opts.fetch = [this](const config::Config&, const config::Route&,
                        la::UpstreamCall call) -> asio::awaitable<Result<la::UpstreamAnswer>> {
      auto p = obsgate::routing::parse_params(call.query.empty() ? call.body : call.query);
      REQUIRE(p.ok());
      const std::string q(p->first("query").value_or(""));
      calls.push_back(std::move(call));
      max_in_flight_seen = std::max(max_in_flight_seen, ++in_flight);
      // Every call yields at least once (calls started together overlap), unless the test
      // asks for answers that complete inline, as a fetch failing before any I/O does.
      if (!answer_inline) {
        asio::steady_timer t(co_await asio::this_coro::executor);
        t.expires_after(std::chrono::milliseconds(delay_ms.count(q) ? delay_ms[q] : 0));
        co_await t.async_wait(asio::use_awaitable);
      }
      --in_flight;
      finished.push_back(q);
      if (timeouts.count(q) != 0) {
        co_return obsgate::Status::deadline_exceeded("upstream_response timeout");
      }
      auto it = answers.find(q);
      if (it == answers.end()) {
        co_return obsgate::Status::unavailable("connection refused");
      }
      co_return it->second;
    };
    auto f = la::make_loki_step(cfg, route, services, std::move(opts));
    INFO(f.status().to_string());
    REQUIRE(f.ok());
    factory = *f;
  }

  double rewrite_errors(const std::string& reason) {
    return obsgate::test::counter_value(registry, "obsgate_rewrite_errors_total",
                                        {{"api", "loki"}, {"reason", reason}});
  }

};

// One exchange through the step (tests/gateway/steps/common/step_exchange.h).
struct Exchange : obsgate::test::StepExchange {
  Exchange(Env& env, const Input& in)
      : StepExchange(*env.factory, env.cfg, env.route, in,
                     [&env] { env.in_flight_at_reply = env.in_flight; }) {}
};

using Check = std::function<void(Exchange&, Env&)>;

Check replies(unsigned status, std::string text = {}) {
  return [status, text](Exchange& x, Env&) {
    REQUIRE(x.action == Action::kRespond);
    CAPTURE(x.r->reply.message);
    CHECK(x.r->reply.status == status);
    CHECK(x.r->reply.message.find(text) != std::string::npos);
    CHECK(x.r->reply.reason.rfind("loki_denied{", 0) == 0);
  };
}
Check forwards(std::string key, std::vector<std::string> want) {
  return [key, want](Exchange& x, Env&) {
    INFO(x.r->reply.message);
    REQUIRE(x.action == Action::kContinue);
    CHECK(x.forwarded(key) == want);
  };
}
Check org_id(std::string want) {
  return [want](Exchange& x, Env&) { CHECK(x.head["X-Scope-OrgID"] == want); };
}
Check as_form_body() {
  return [](Exchange& x, Env&) {
    REQUIRE(x.r->forward_body);
    CHECK(x.r->forward_content_type == "application/x-www-form-urlencoded");
    REQUIRE(x.r->forward_query);
    CHECK(x.r->forward_query->empty());
  };
}
Check accept_encoding_dropped(bool dropped) {
  return [dropped](Exchange& x, Env&) {
    CHECK(x.head[http::field::accept_encoding].empty() == dropped);
  };
}
Check audit_recorded(bool yes) {
  return [yes](Exchange& x, Env&) {
    bool found = false;
    for (const auto& [k, v] : x.r->decision.extra) {
      found = found || (k == "audit_access" && v == "true");
    }
    CHECK(found == yes);
  };
}
Check counted(std::string reason) {
  return [reason](Exchange&, Env& env) { CHECK(env.rewrite_errors(reason) == 1); };
}

struct Case {
  std::string name;
  std::string route;
  Input input;
  std::vector<Check> checks;
};

Input in(std::string query, std::string path = "/loki/api/v1/query_range") {
  Input i;
  i.query = std::move(query);
  i.path = std::move(path);
  return i;
}
using obsgate::test::with;

TEST_CASE("loki step: requests", "[loki][step]") {
  const std::string kQR = "/loki/api/v1/query_range";
  const std::string kScoped = R"({app="x", namespace="a", stream!="audit"})";
  const std::vector<Case> cases = {
      {"GET narrowed, tenant header set",
       kQR,
       in(R"(query={app="x"}&limit=5)"),
       {forwards("query", {kScoped}), forwards("limit", {"5"}), org_id("org-a"),
        accept_encoding_dropped(true), audit_recorded(false)}},
      {"POST form rebuilt as a form body",
       kQR,
       with(in("start=1"),
            [](Input& i) {
              i.method = http::verb::post;
              i.form = R"(query={app="x"})";
            }),
       {forwards("query", {kScoped}), forwards("start", {"1"}), as_form_body()}},
      {"pollution: query in URL and form",
       kQR,
       with(in(R"(query={app="x"})"),
            [](Input& i) {
              i.method = http::verb::post;
              i.form = R"(query={app="y"})";
            }),
       {replies(400, "query"), counted("params")}},
      {"pollution: limit twice", kQR, in(R"(query={app="x"}&limit=1&limit=2)"),
       {replies(400, "limit")}},
      {"hidden label: 400 naming it", kQR, in(R"(query={client_ip="1"})"),
       {replies(400, "client_ip"), counted("query")}},
      {"label values of a hidden label: 403",
       "/loki/api/v1/label/{name}/values",
       with(in("", "/loki/api/v1/label/client_ip/values"),
            [](Input& i) { i.label = "client_ip"; }),
       {replies(403, "client_ip"), counted("hidden_label_name")}},
      {"no tenant: 403", kQR, with(in(R"(query={app="x"})"), [](Input& i) { i.tenants = {}; }),
       {replies(403)}},
      {"tenant header of another tenant: 403",
       kQR,
       with(in(R"(query={app="x"})"), [](Input& i) { i.tenant_header = "team-b"; }),
       {replies(403)}},
      {"tenant header repeated: 400",
       kQR,
       with(in(R"(query={app="x"})"), [](Input& i) { i.tenant_repeated = true; }),
       {replies(400)}},
      {"unauthenticated fails closed (a wiring bug: 500)",
       kQR,
       with(in(R"(query={app="x"})"), [](Input& i) { i.authenticated = false; }),
       {replies(500, "no authentication step")}},
      {"two tenants: union, multi-tenant org id",
       kQR,
       with(in(R"(query={app="x"})"), [](Input& i) { i.tenants = {"team-a", "team-b"}; }),
       {forwards("query", {R"({app="x", namespace=~"a|b", stream!="audit"})"}),
        org_id("org-a|team-b")}},
      {"tenant header narrows",
       kQR,
       with(in(R"(query={app="x"})"),
            [](Input& i) {
              i.tenants = {"team-a", "team-b"};
              i.tenant_header = "team-b";
            }),
       {forwards("query", {R"({app="x", namespace="b", stream!="audit"})"}), org_id("team-b"),
        accept_encoding_dropped(false)}},
      {"unrestricted non-auditor still gets the audit negation",
       kQR,
       with(in(R"(query={stream=~".%2B"})"), [](Input& i) {
         i.tenants = {};
         i.roles = {"admin"};
       }),
       {forwards("query", {R"({stream=~".+", stream!="audit"})"}),
        org_id("org-a|team-b|team-c")}},
      {"auditor touching audit streams is recorded",
       kQR,
       with(in(R"(query={stream="audit"})"), [](Input& i) { i.roles = {"auditor"}; }),
       {forwards("query", {R"({stream="audit", namespace="a"})"}), audit_recorded(true)}},
      {"tail: several tenants need narrowing",
       "/loki/api/v1/tail",
       with(in(R"(query={app="x"})", "/loki/api/v1/tail"),
            [](Input& i) { i.tenants = {"team-a", "team-b"}; }),
       {replies(400, "X-Obsgate-Tenant"), counted("tenant")}},
      {"tail: drop of hidden labels",
       "/loki/api/v1/tail",
       in(R"(query={app="x"}&delay_for=0)", "/loki/api/v1/tail"),
       {forwards("query", {kScoped + " | drop client_ip"}), org_id("org-a")}},
      {"series narrowed",
       "/loki/api/v1/series",
       in(R"(match[]={app="x"})", "/loki/api/v1/series"),
       {forwards("match[]", {kScoped})}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const bool tail = c.route == "/loki/api/v1/tail";
      Env env(c.route, tail ? config::Enforcer::kLokiTail : config::Enforcer::kLokiQuery);
      Exchange x(env, c.input);
      for (const auto& check : c.checks) {
        check(x, env);
      }
    }
  }
}

std::string streams(const std::string& labels, const std::vector<std::string>& values) {
  std::string v;
  for (const auto& e : values) {
    v += (v.empty() ? "" : ",") + e;
  }
  return R"({"status":"success","data":{"resultType":"streams","result":[{"stream":)" + labels +
         R"(,"values":[)" + v + "]}]}}";
}

TEST_CASE("loki step: per-rule fan-out", "[loki][step]") {
  const std::string qa = R"({app="x", namespace="a", stream!="audit"})";
  const std::string qc = R"({app="x", team="c", stream!="audit"})";
  const Input two = with(in(R"(query={app="x"}&limit=2&direction=forward)"),
                         [](Input& i) { i.tenants = {"team-a", "team-c"}; });

  SECTION("both rules queried, merged in direction order with the limit") {
    Env env("/loki/api/v1/query_range");
    env.answers[qa] = {200, streams(R"({"app":"x","namespace":"a","client_ip":"1"})",
                                    {R"(["3","a3"])", R"(["1","a1"])"})};
    env.answers[qc] = {200, streams(R"({"app":"x","team":"c"})", {R"(["2","c2"])"})};
    Exchange x(env, two);
    REQUIRE(x.action == Action::kRespond);
    REQUIRE(env.calls.size() == 2);
    for (const auto& call : env.calls) {
      CHECK(call.method == "GET");
      CHECK(call.path == "/loki/api/v1/query_range");
      CHECK(call.headers ==
            std::vector<std::pair<std::string, std::string>>{{"X-Scope-OrgID", "org-a|team-c"}});
    }
    CHECK(x.r->reply.status == 200);
    CHECK(x.r->reply.raw);
    const std::string& body = x.r->reply.body;
    CAPTURE(body);
    CHECK(body.find("a1") != std::string::npos);
    CHECK(body.find("c2") != std::string::npos);
    CHECK(body.find("a3") == std::string::npos);         // limit 2, forward: a1, c2
    CHECK(body.find("client_ip") == std::string::npos);  // hidden label stripped
  }
  SECTION("an upstream refusal is relayed") {
    Env env("/loki/api/v1/query_range");
    env.answers[qa] = {400, "max entries limit per query exceeded\n"};
    Exchange x(env, two);
    REQUIRE(x.action == Action::kRespond);
    CHECK(x.r->reply.status == 400);
    CHECK(x.r->reply.message == "max entries limit per query exceeded");
  }
  SECTION("an unreachable upstream is a 502") {
    Env env("/loki/api/v1/query_range");
    Exchange x(env, two);
    REQUIRE(x.action == Action::kRespond);
    CHECK(x.r->reply.status == 502);
    CHECK(env.rewrite_errors("response") == 1);
  }
  SECTION("POST fans out as form bodies") {
    Env env("/loki/api/v1/query_range");
    env.answers[qa] = {200, streams(R"({"app":"x"})", {R"(["1","a"])"})};
    env.answers[qc] = {200, streams(R"({"app":"x"})", {R"(["1","a"])"})};
    Input post = with(two, [](Input& i) {
      i.method = http::verb::post;
      i.form = i.query;
      i.query.clear();
    });
    Exchange x(env, post);
    REQUIRE(x.action == Action::kRespond);
    REQUIRE(env.calls.size() == 2);
    CHECK(env.calls[0].method == "POST");
    CHECK(env.calls[0].query.empty());
    CHECK(x.r->reply.status == 200);
  }
}

TEST_CASE("loki step: fan-out runs rules concurrently, bounded", "[loki][step]") {
  const std::string qa = R"({app="x", namespace="a", stream!="audit"})";
  const std::string qc = R"({app="x", team="c", stream!="audit"})";
  const std::string qd = R"({app="x", cluster="d", stream!="audit"})";
  const Input three = with(in(R"(query={app="x"}&limit=2&direction=backward)"),
                           [](Input& i) { i.tenants = {"team-a", "team-c", "team-d"}; });
  const auto ok = [](const std::string& tag) {
    return la::UpstreamAnswer{200, streams(R"({"app":"x","tag":")" + tag + R"("})",
                                           {R"([")" + std::to_string(tag.size()) + R"(",")" +
                                            tag + R"("])"})};
  };
  struct BoundCase {
    std::string name;
    size_t bound;
    size_t want_max;
  };
  const std::vector<BoundCase> bounds = {
      {"default bound: all three at once", la::kDefaultFanoutInFlight, 3},
      {"bound 2", 2, 2},
      {"bound 1 is sequential", 1, 1},
      {"bound 0 counts as 1", 0, 1},
  };
  for (const auto& c : bounds) {
    DYNAMIC_SECTION(c.name) {
      Env env("/loki/api/v1/query_range", config::Enforcer::kLokiQuery, c.bound, true);
      env.answers[qa] = ok("a");
      env.answers[qc] = ok("cc");
      env.answers[qd] = ok("ddd");
      env.delay_ms[qa] = 5;  // the first rule answers last when they overlap
      Exchange x(env, three);
      REQUIRE(x.action == Action::kRespond);
      CHECK(x.r->reply.status == 200);
      CHECK(env.calls.size() == 3);
      CHECK(env.max_in_flight_seen == c.want_max);
      // The merge does not depend on the order answers came back: limit 2, backward keeps the
      // two newest entries (ddd at 3, cc at 2), never the slow rule's older one.
      const std::string& body = x.r->reply.body;
      CAPTURE(body);
      CHECK(body.find("\"ddd\"]") != std::string::npos);
      CHECK(body.find("\"cc\"]") != std::string::npos);
      CHECK(body.find("\"a\"]") == std::string::npos);
      if (c.want_max > 1) {
        CHECK(env.finished.back() == qa);  // really overlapped: the slow first rule last
      }
    }
  }
  SECTION("the first failing rule in rule order decides, whichever failed first") {
    Env env("/loki/api/v1/query_range", config::Enforcer::kLokiQuery, 4, true);
    env.answers[qa] = {400, "parse error at line 1\n"};  // slow refusal of rule 1
    env.delay_ms[qa] = 5;
    env.answers[qd] = ok("ddd");  // rule 2 (team-c) unreachable, answers at once
    Exchange x(env, three);
    REQUIRE(x.action == Action::kRespond);
    CHECK(x.r->reply.status == 400);
    CHECK(x.r->reply.message == "parse error at line 1");
    CHECK(env.in_flight_at_reply == 0);  // nothing left running behind the reply
  }
  SECTION("a failure stops further sub-queries from starting") {
    Env env("/loki/api/v1/query_range", config::Enforcer::kLokiQuery, 1, true);
    env.answers[qd] = ok("ddd");  // rule 1 (team-a) unreachable
    Exchange x(env, three);
    REQUIRE(x.action == Action::kRespond);
    CHECK(x.r->reply.status == 502);
    CHECK(env.calls.size() == 1);
  }
  SECTION("fetches that complete without suspending: all answer, or the first fails") {
    // co_spawn dispatches, so such a worker finishes before fetch_all waits: the count of
    // running workers must already cover it.
    for (const size_t bound : {size_t{1}, size_t{4}}) {
      CAPTURE(bound);
      Env all("/loki/api/v1/query_range", config::Enforcer::kLokiQuery, bound, true);
      all.answer_inline = true;
      all.answers[qa] = ok("a");
      all.answers[qc] = ok("cc");
      all.answers[qd] = ok("ddd");
      Exchange x(all, three);
      REQUIRE(x.action == Action::kRespond);
      CHECK(x.r->reply.status == 200);
      CHECK(all.calls.size() == 3);
      CHECK(all.in_flight_at_reply == 0);

      Env first_fails("/loki/api/v1/query_range", config::Enforcer::kLokiQuery, bound, true);
      first_fails.answer_inline = true;
      first_fails.answers[qc] = ok("cc");
      first_fails.answers[qd] = ok("ddd");  // rule 1 (team-a) unreachable
      Exchange y(first_fails, three);
      REQUIRE(y.action == Action::kRespond);
      CHECK(y.r->reply.status == 502);
      CHECK(first_fails.calls.size() == 1);  // nothing starts after the failure
    }
  }
  SECTION("a timeout is a 504 in Loki's error format") {
    Env env("/loki/api/v1/query_range", config::Enforcer::kLokiQuery, 4, true);
    env.answers[qa] = ok("a");
    env.answers[qc] = ok("cc");
    env.timeouts.insert(qd);
    Exchange x(env, three);
    REQUIRE(x.action == Action::kRespond);
    CHECK(x.r->reply.status == 504);
    CHECK_FALSE(x.r->reply.raw);  // a message the session wraps as Loki's plain-text error
    CHECK(x.r->reply.message.find("upstream query failed") != std::string::npos);
  }
}

struct ResponseCase {
  std::string name;
  std::string route;
  Input input;
  unsigned status;
  std::string body;
  std::string encoding;
  Action action;
  std::string want;  // the body after filtering, or a substring of the reply's message
};

TEST_CASE("loki step: responses", "[loki][step]") {
  const std::string s = streams(R"({"app":"x","client_ip":"1"})", {R"(["1","l"])"});
  const std::string s_stripped = streams(R"({"app":"x"})", {R"(["1","l"])"});
  const std::string dup =
      R"({"status":"success","data":{"resultType":"streams","result":[)"
      R"({"stream":{"app":"x","client_ip":"1"},"values":[["1","l"]]},)"
      R"({"stream":{"app":"x","client_ip":"2"},"values":[["1","l"]]}]}})";
  const Input b = with(in(R"(query={app="x"})"), [](Input& i) { i.tenants = {"team-b"}; });
  const std::vector<ResponseCase> cases = {
      {"hidden label stripped from streams", "/loki/api/v1/query_range", in("query={app=\"x\"}"),
       200, s, "", Action::kContinue, s_stripped},
      {"no hidden labels: untouched", "/loki/api/v1/query_range", b, 200, s, "",
       Action::kContinue, s},
      {"streams merged by hiding: 400", "/loki/api/v1/query_range", in("query={app=\"x\"}"), 200,
       dup, "", Action::kRespond, "drop"},
      {"garbage: 502", "/loki/api/v1/query_range", in("query={app=\"x\"}"), 200, "nope", "",
       Action::kRespond, "could not be filtered"},
      {"compressed: 502", "/loki/api/v1/query_range", in("query={app=\"x\"}"), 200, s, "gzip",
       Action::kRespond, "compressed"},
      {"labels list filtered", "/loki/api/v1/labels", in("", "/loki/api/v1/labels"), 200,
       R"({"status":"success","data":["app","client_ip"]})", "", Action::kContinue,
       R"({"status":"success","data":["app"]})"},
      {"series filtered", "/loki/api/v1/series", in("", "/loki/api/v1/series"), 200,
       R"({"status":"success","data":[{"app":"x","client_ip":"1"}]})", "", Action::kContinue,
       R"({"status":"success","data":[{"app":"x"}]})"},
      {"detected labels filtered", "/loki/api/v1/detected_labels",
       in("", "/loki/api/v1/detected_labels"), 200,
       R"({"detectedLabels":[{"label":"app","cardinality":2},{"label":"client_ip","cardinality":9}]})",
       "", Action::kContinue, R"({"detectedLabels":[{"label":"app","cardinality":2}]})"},
      {"detected fields filtered", "/loki/api/v1/detected_fields",
       in("query={app=\"x\"}", "/loki/api/v1/detected_fields"), 200,
       R"({"fields":[{"label":"client_ip","type":"string"}],"limit":10})", "", Action::kContinue,
       R"({"fields":[],"limit":10})"},
      {"volume series stripped", "/loki/api/v1/index/volume",
       in("query={app=\"x\"}", "/loki/api/v1/index/volume"), 200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":"x","client_ip":"1"},"value":[1,"5"]}]}})",
       "", Action::kContinue,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"app":"x"},"value":[1,"5"]}]}})"},
      {"error naming a hidden label withheld", "/loki/api/v1/query_range",
       in("query={app=\"x\"}"), 400, "pipeline error for series {client_ip=\"1\"}\n", "",
       Action::kRespond, "withheld"},
      {"other errors pass", "/loki/api/v1/query_range", in("query={app=\"x\"}"), 400,
       "parse error\n", "", Action::kContinue, "parse error\n"},
      {"stats never read", "/loki/api/v1/index/stats",
       in("query={app=\"x\"}", "/loki/api/v1/index/stats"), 200, "not json", "",
       Action::kContinue, "not json"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env(c.route);
      Exchange x(env, c.input);
      INFO(x.r->reply.message);
      REQUIRE(x.action == Action::kContinue);
      std::string body = c.body;
      const Action a = x.respond(c.status, body, c.encoding);
      CHECK(a == c.action);
      if (a == Action::kContinue) {
        CHECK(body == c.want);
      } else {
        CAPTURE(x.r->reply.message);
        CHECK(x.r->reply.message.find(c.want) != std::string::npos);
      }
    }
  }
}

TEST_CASE("loki step: routes it cannot serve fail the load", "[loki][step]") {
  config::Config cfg = make_config();
  Services services;
  config::Route route;
  route.name = "push";
  route.path = "/loki/api/v1/push";
  route.upstream = "loki";
  route.enforcer = config::Enforcer::kLokiQuery;
  route.auth = config::AuthMode::kRequired;
  auto f = la::make_loki_step(cfg, route, services);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().message().find("route 'push'") != std::string::npos);

  route.path = "/loki/api/v1/tail";  // tail needs loki_tail
  CHECK_FALSE(la::make_loki_step(cfg, route, services).ok());
  route.enforcer = config::Enforcer::kLokiTail;
  CHECK(la::make_loki_step(cfg, route, services).ok());
  route.path = "/loki/api/v1/query";  // and loki_tail serves tail only
  CHECK_FALSE(la::make_loki_step(cfg, route, services).ok());

  route.enforcer = config::Enforcer::kLokiQuery;
  route.auth = config::AuthMode::kUnsafeNone;
  CHECK_FALSE(la::make_loki_step(cfg, route, services).ok());

  route.auth = config::AuthMode::kRequired;
  cfg.upstreams[0].tenant_ids = {{"team-a", "a|b"}};  // would name two Loki tenants
  CHECK_FALSE(la::make_loki_step(cfg, route, services).ok());
}

TEST_CASE("loki step: shares obsgate_rewrite_errors_total with other APIs", "[loki][step]") {
  prometheus::Registry registry;
  auto& fam = prometheus::BuildCounter()
                  .Name("obsgate_rewrite_errors_total")
                  .Help("Query and response rewrites refused, by API and reason")
                  .Register(registry);
  fam.Add({{"api", "prometheus"}, {"reason", "query"}}).Increment();
  config::Config cfg = make_config();
  Services services;
  services.registry = &registry;
  config::Route route;
  route.name = "q";
  route.path = "/loki/api/v1/query_range";
  route.upstream = "loki";
  route.enforcer = config::Enforcer::kLokiQuery;
  auto f = la::make_loki_step(cfg, route, services);
  INFO(f.status().to_string());
  REQUIRE(f.ok());
  size_t families = 0;
  for (const auto& mf : registry.Collect()) {
    if (mf.name == "obsgate_rewrite_errors_total") {
      ++families;
      CHECK(mf.metric.size() > 1);  // prometheus' series and ours in one family
    }
  }
  CHECK(families == 1);
}

}  // namespace
