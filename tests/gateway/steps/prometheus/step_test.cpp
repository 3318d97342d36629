// The prometheus step driven with hand-built Requests (no sockets): scope resolution, parameter
// pollution, how the forwarded request is rebuilt, and response filtering.
#include <prometheus/registry.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/routing/params.h"
#include "gateway/steps/prometheus/prometheus.h"
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
namespace pa = obsgate::gateway::prom_api;

config::Config make_config() {
  config::Config c;
  config::Tenant a;
  a.name = "team-a";
  a.metrics = config::ReadScope{{{{"namespace", MatchOp::kEq, "a"}}}, {"client_ip"}};
  config::Tenant b;
  b.name = "team-b";
  b.metrics = config::ReadScope{{{{"namespace", MatchOp::kEq, "b"}}}, {}};
  c.tenants.tenants = {a, b};
  c.tenants.unrestricted_roles = {"admin"};
  return c;
}

using Input = obsgate::test::StepInput;

struct Env {
  config::Config cfg = make_config();
  config::Route route;
  prometheus::Registry registry;
  Services services;
  StepFactoryPtr factory;
  int fetches = 0;

  explicit Env(std::string path, bool with_fetcher = true) {
    route.name = "r";
    route.path = std::move(path);
    route.auth = config::AuthMode::kRequired;
    services.registry = &registry;
    pa::PrometheusStepOptions opts;
    if (with_fetcher) {
      opts.visible_names = [this](const config::Config&, const config::Route&,
                                  const std::vector<std::string>& sel)
          -> asio::awaitable<Result<std::set<std::string>>> {
        ++fetches;
        REQUIRE(sel == std::vector<std::string>{"{__name__=~\".+\", namespace=\"a\"}"});
        co_return std::set<std::string>{"up"};
      };
    }
    auto f = pa::make_prometheus_step(cfg, route, services, std::move(opts));
    INFO(f.status().to_string());
    REQUIRE(f.ok());
    factory = *f;
  }
};

// One exchange through the step (tests/gateway/steps/common/step_exchange.h).
struct Exchange : obsgate::test::StepExchange {
  Exchange(Env& env, const Input& in) : StepExchange(*env.factory, env.cfg, env.route, in) {}
};

using Check = std::function<void(Exchange&)>;

Check continues() {
  return [](Exchange& x) {
    INFO(x.r->reply.message);
    CHECK(x.action == Action::kContinue);
  };
}
Check replies(unsigned status, std::string text = {}) {
  return [status, text](Exchange& x) {
    REQUIRE(x.action == Action::kRespond);
    CAPTURE(x.r->reply.message);
    CHECK(x.r->reply.status == status);
    CHECK(x.r->reply.message.find(text) != std::string::npos);
    CHECK(x.r->reply.reason.rfind("prometheus_denied{", 0) == 0);
  };
}
Check forwards(std::string key, std::vector<std::string> want) {
  return [key, want](Exchange& x) {
    REQUIRE(x.action == Action::kContinue);
    CHECK(x.forwarded(key) == want);
  };
}
Check untouched() {
  return [](Exchange& x) {
    REQUIRE(x.action == Action::kContinue);
    CHECK_FALSE(x.r->forward_query);
    CHECK_FALSE(x.r->forward_body);
    CHECK(x.head[http::field::accept_encoding] == "gzip");
  };
}
Check as_form_body() {
  return [](Exchange& x) {
    REQUIRE(x.r->forward_body);
    CHECK(x.r->forward_content_type == "application/x-www-form-urlencoded");
    REQUIRE(x.r->forward_query);
    CHECK(x.r->forward_query->empty());
  };
}
Check as_query_string() {
  return [](Exchange& x) {
    CHECK(x.r->forward_query);
    CHECK_FALSE(x.r->forward_body);
  };
}
Check accept_encoding_dropped(bool dropped) {
  return [dropped](Exchange& x) { CHECK(x.head[http::field::accept_encoding].empty() == dropped); };
}

struct Case {
  std::string name;
  std::string route;
  Input input;
  std::vector<Check> checks;
};

Input in(std::string query, std::string path = "/api/v1/query") {
  Input i;
  i.query = std::move(query);
  i.path = std::move(path);
  return i;
}
Input post(std::string query, std::string form, std::string path = "/api/v1/query") {
  Input i = in(std::move(query), std::move(path));
  i.method = http::verb::post;
  i.form = std::move(form);
  return i;
}
using obsgate::test::with;

TEST_CASE("prometheus step: requests", "[prometheus][step]") {
  const std::string kQ = "/api/v1/query";
  const std::vector<Case> cases = {
      {"GET query narrowed, rebuilt as a query string",
       kQ,
       in("query=up&time=1"),
       {continues(), forwards("query", {"up{namespace=\"a\"}"}), forwards("time", {"1"}),
        as_query_string(), accept_encoding_dropped(true)}},
      {"POST form narrowed, rebuilt as a form body",
       kQ,
       post("", "query=up"),
       {forwards("query", {"up{namespace=\"a\"}"}), as_form_body()}},
      {"POST: URL and form merged into the body",
       kQ,
       post("time=5", "query=up"),
       {forwards("query", {"up{namespace=\"a\"}"}), forwards("time", {"5"}), as_form_body()}},
      {"pollution: query in URL and form",
       kQ,
       post("query=up", "query=secret"),
       {replies(400, "query")}},
      {"pollution: query twice in URL", kQ, in("query=up&query=secret"), {replies(400)}},
      {"pollution: time twice in form",
       kQ,
       post("", "query=up&time=1&time=2"),
       {replies(400, "time")}},
      {"pollution: match[] in URL and form both enforced",
       "/api/v1/series",
       post("match[]=a", "match[]=b", "/api/v1/series"),
       {forwards("match[]", {"b{namespace=\"a\"}", "a{namespace=\"a\"}"}), as_form_body()}},
      {"GET ignores a form the client might send",
       kQ,
       with(in("query=up"), [](Input& i) { i.form = "query=other"; }),
       {replies(400, "query")}},
      {"hidden label in query",
       kQ,
       in("query=sum by (client_ip) (up)"),
       {replies(400, "client_ip")}},
      {"parse error", kQ, in("query=up{"), {replies(400, "parse error")}},
      {"no tenant: 403",
       kQ,
       with(in("query=up"), [](Input& i) { i.tenants = {}; }),
       {replies(403)}},
      {"unknown tenant: 403",
       kQ,
       with(in("query=up"), [](Input& i) { i.tenants = {"x"}; }),
       {replies(403)}},
      {"tenant header narrows",
       kQ,
       with(in("query=up"),
            [](Input& i) {
              i.tenants = {"team-a", "team-b"};
              i.tenant_header = "team-b";
            }),
       {forwards("query", {"up{namespace=\"b\"}"}), accept_encoding_dropped(false)}},
      {"union of tenants",
       kQ,
       with(in("query=up"),
            [](Input& i) {
              i.tenants = {"team-a", "team-b"};
            }),
       {forwards("query", {"up{namespace=~\"a|b\"}"})}},
      {"tenant header of another tenant",
       kQ,
       with(in("query=up"), [](Input& i) { i.tenant_header = "team-b"; }),
       {replies(403)}},
      {"tenant header repeated",
       kQ,
       with(in("query=up"), [](Input& i) { i.tenant_repeated = true; }),
       {replies(400)}},
      {"unauthenticated fails closed (a wiring bug: 500)",
       kQ,
       with(in("query=up"), [](Input& i) { i.authenticated = false; }),
       {replies(500, "no authentication step")}},
      {"unrestricted role: untouched",
       kQ,
       with(in("query=up&query=x"), [](Input& i) { i.roles = {"admin"}; }),
       {untouched()}},
      {"label values of a hidden label",
       "/api/v1/label/{name}/values",
       with(in("", "/api/v1/label/client_ip/values"), [](Input& i) { i.label = "client_ip"; }),
       {replies(403, "client_ip")}},
      {"label values scoped",
       "/api/v1/label/{name}/values",
       with(in("", "/api/v1/label/job/values"), [](Input& i) { i.label = "job"; }),
       {forwards("match[]", {"{__name__=~\".+\", namespace=\"a\"}"})}},
      {"buildinfo passes",
       "/api/v1/status/buildinfo",
       with(in("", "/api/v1/status/buildinfo"), [](Input& i) { i.tenants = {}; }),
       {untouched()}},
      {"federate pins the text format",
       "/federate",
       in("match[]=up", "/federate"),
       {forwards("match[]", {"up{namespace=\"a\"}"}),
        [](Exchange& x) { CHECK(x.head[http::field::accept] == "text/plain;version=0.0.4"); }}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env(c.route);
      Exchange x(env, c.input);
      for (const auto& check : c.checks) {
        check(x);
      }
    }
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

TEST_CASE("prometheus step: responses", "[prometheus][step]") {
  const std::string vec =
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","client_ip":"1.2.3.4","namespace":"a"},"value":[1,"1"]}]}})";
  const std::string vec_stripped =
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"up","namespace":"a"},"value":[1,"1"]}]}})";
  const std::string dup =
      R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"client_ip":"1","namespace":"a"},"value":[1,"1"]},{"metric":{"client_ip":"2","namespace":"a"},"value":[1,"1"]}]}})";
  const std::string alerts =
      R"({"status":"success","data":{"alerts":[{"labels":{"alertname":"X","namespace":"a"},"state":"firing"},{"labels":{"alertname":"Y","namespace":"b"},"state":"firing"}]}})";
  const std::string meta =
      R"({"status":"success","data":{"up":[{"type":"gauge","help":"h","unit":""}],"secret_metric":[{"type":"gauge","help":"h","unit":""}]}})";
  Input b_tenant = with(in("query=up"), [](Input& i) { i.tenants = {"team-b"}; });
  const std::vector<ResponseCase> cases = {
      {"hidden label stripped", "/api/v1/query", in("query=up"), 200, vec, "", Action::kContinue,
       vec_stripped},
      {"no hidden labels: streams untouched", "/api/v1/query", b_tenant, 200, vec, "",
       Action::kContinue, vec},
      {"series merged by hiding: 400", "/api/v1/query", in("query=up"), 200, dup, "",
       Action::kRespond, "client_ip"},
      {"garbage body: 502", "/api/v1/query", in("query=up"), 200, "not json", "", Action::kRespond,
       "could not be filtered"},
      {"compressed body: 502", "/api/v1/query", in("query=up"), 200, vec, "gzip", Action::kRespond,
       "compressed"},
      {"error naming a hidden label redacted", "/api/v1/query", in("query=up"), 422,
       R"({"status":"error","errorType":"execution","error":"duplicate series {client_ip=\"1\"}"})",
       "", Action::kRespond, "withheld"},
      {"other errors pass", "/api/v1/query", in("query=up"), 422,
       R"({"status":"error","errorType":"execution","error":"boom"})", "", Action::kContinue,
       R"({"status":"error","errorType":"execution","error":"boom"})"},
      {"alerts filtered by scope", "/api/v1/alerts", in("", "/api/v1/alerts"), 200, alerts, "",
       Action::kContinue,
       R"({"status":"success","data":{"alerts":[{"labels":{"alertname":"X","namespace":"a"},"state":"firing"}]}})"},
      {"metadata: only visible names", "/api/v1/metadata", in("", "/api/v1/metadata"), 200, meta,
       "", Action::kContinue,
       R"({"status":"success","data":{"up":[{"type":"gauge","help":"h","unit":""}]}})"},
      {"metadata: the limit counts visible names only (a hidden one comes first)",
       "/api/v1/metadata", in("limit=1", "/api/v1/metadata"), 200,
       R"({"status":"success","data":{"secret_metric":[{"type":"gauge","help":"s","unit":""}],)"
       R"("up":[{"type":"gauge","help":"h","unit":""}],"up2":[]}})",
       "", Action::kContinue,
       R"({"status":"success","data":{"up":[{"type":"gauge","help":"h","unit":""}]}})"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env(c.route);
      Exchange x(env, c.input);
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

TEST_CASE("prometheus step: metadata fails closed when the names are unavailable",
          "[prometheus][step]") {
  // The default fetcher asks the route's upstream, which this config does not have.
  Env env("/api/v1/metadata", /*with_fetcher=*/false);
  Exchange x(env, in("", "/api/v1/metadata"));
  CHECK(x.action == Action::kRespond);
  CHECK(x.r->reply.status == 502);
}

TEST_CASE("prometheus step: routes it cannot serve fail the load", "[prometheus][step]") {
  config::Config cfg = make_config();
  Services services;
  config::Route route;
  route.name = "admin";
  route.path = "/api/v1/admin/tsdb/delete_series";
  route.auth = config::AuthMode::kRequired;
  auto f = pa::make_prometheus_step(cfg, route, services);
  REQUIRE_FALSE(f.ok());
  CHECK(f.status().message().find("route 'admin'") != std::string::npos);

  route.path = "/api/v1/query";
  route.auth = config::AuthMode::kUnsafeNone;
  CHECK_FALSE(pa::make_prometheus_step(cfg, route, services).ok());
}

}  // namespace
