// CPU cost of the loki step per request, for the requests Grafana's Loki data source sends:
// query_range with a LogQL query (Explore and log panels), labels (the label browser), series,
// and label values. Each iteration runs LokiStep::on_request() to completion on one
// io_context (co_spawn + run: about 0.3 µs of the figure is that harness) for a fresh step,
// as the session does per request. Principals:
//   one_rule      one tenant, one rule, one hidden label (the common case)
//   three_rules   three tenants whose rules collapse into one selector (namespace=~"a|b|c")
//   fanout3       three tenants whose rules do not collapse: query_range runs one sub-query per
//                 rule (against an in-memory upstream answering a 100-line streams body each)
//                 and merges them; the figure is the gateway's CPU, not the upstream's.
//                 fanout3_1line: the same with one-line bodies (the fan-out's own overhead).
// The pure rewrite alone (enforce_params) is measured too, to separate it from the step.
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/routing/params.h"
#include "gateway/steps/loki/endpoints.h"
#include "gateway/steps/loki/loki.h"
#include "gateway/steps/services.h"

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
namespace config = obsgate::config;
namespace la = obsgate::gateway::loki_api;
using obsgate::filters::MatchOp;
using obsgate::gateway::Request;

// A Grafana Explore log query over the last hour, URL-encoded as Grafana sends it.
const char* const kQueryRange =
    "query=%7Bapp%3D%22api%22%2C+cluster%3D%22eu-1%22%7D+%7C%3D+%22error%22+%7C+logfmt+%7C+"
    "level%3D%22error%22+%7C+duration+%3E+250ms&limit=1000&start=1732200000000000000&end="
    "1732203600000000000&step=2000ms&direction=backward";
// Grafana's logs-volume query (by level), and a metric query that stays exact when lifted over
// uncollapsible rules with `or` (no grouping).
const char* const kMetricRange =
    "query=sum+by+%28level%29+%28count_over_time%28%7Bapp%3D%22api%22%7D+%7C+logfmt+%5B1m%5D"
    "%29%29&start=1732200000000000000&end=1732203600000000000&step=60";
const char* const kMetricRangeNoBy =
    "query=sum%28count_over_time%28%7Bapp%3D%22api%22%7D+%7C%3D+%22error%22+%5B1m%5D%29%29"
    "&start=1732200000000000000&end=1732203600000000000&step=60";
const char* const kLabels = "start=1732200000000000000&end=1732203600000000000";
const char* const kSeries =
    "match%5B%5D=%7Bapp%3D%22api%22%7D&start=1732200000000000000&end=1732203600000000000";

config::Config make_config(bool collapsible) {
  config::Config c;
  config::Upstream up;
  up.name = "loki";
  up.host = "127.0.0.1";
  up.port = 3100;
  up.tenant_header = "X-Scope-OrgID";
  c.upstreams = {up};
  for (const char* name : {"team-a", "team-b", "team-c"}) {
    config::Tenant t;
    t.name = name;
    // Collapsible: the rules differ in one label's value only. Otherwise each tenant's rule
    // names another label, so no single selector is their union.
    const std::string label = collapsible ? "namespace" : std::string("ns_") + name[5];
    t.logs = config::ReadScope{{{{label, MatchOp::kEq, name}}}, {"client_ip"}};
    c.tenants.tenants.push_back(std::move(t));
  }
  c.tenants.unrestricted_roles = {"admin"};
  c.tenants.audit.streams = {{{"stream", MatchOp::kEq, "audit"}}};
  c.tenants.audit.auditor_roles = {"auditor"};
  return c;
}

std::string streams_body(char tag, int lines) {
  std::string v;
  for (int i = 0; i < lines; ++i) {
    v += std::string(v.empty() ? "" : ",") + "[\"17322000000000" + std::to_string(10000 + i) +
         "\",\"level=error msg=" + tag + std::to_string(i) + " duration=300ms\"]";
  }
  return R"({"status":"success","data":{"resultType":"streams","result":[{"stream":{"app":"api","tag":")" +
         std::string(1, tag) + R"("},"values":[)" + v + "]}],\"stats\":{}}}";
}

struct Fixture {
  config::Config cfg;
  config::Route route;
  prometheus::Registry registry;
  obsgate::gateway::Services services;
  obsgate::gateway::StepFactoryPtr factory;

  Fixture(const std::string& path, bool collapsible, int lines)
      : cfg(make_config(collapsible)) {
    route.name = "r";
    route.path = path;
    route.upstream = "loki";
    route.enforcer = config::Enforcer::kLokiQuery;
    route.auth = config::AuthMode::kRequired;
    services.registry = &registry;
    la::LokiStepOptions opts;
    // Bodies are built once: the figure is the gateway's work, not the double's.
    const auto body_a = std::make_shared<const std::string>(streams_body('a', lines));
    const auto body_b = std::make_shared<const std::string>(streams_body('b', lines));
    opts.fetch = [body_a, body_b](const config::Config&, const config::Route&,
                                  la::UpstreamCall call)
        -> asio::awaitable<obsgate::Result<la::UpstreamAnswer>> {
      // A distinct body per rule, so the merge has real work.
      co_return la::UpstreamAnswer{200, call.query.size() % 2 == 0 ? *body_a : *body_b};
    };
    auto f = la::make_loki_step(cfg, route, services, std::move(opts));
    if (!f.ok()) {
      throw std::runtime_error(f.status().to_string());
    }
    factory = *f;
  }
};

void run_step(benchmark::State& state, const std::string& route_path,
              const std::string& request_path, const char* query, int tenants,
              bool collapsible, int lines = 100) {
  Fixture fx(route_path, collapsible, lines);
  auto q = obsgate::routing::parse_params(query);
  if (!q.ok()) {
    state.SkipWithError("bad query");
    return;
  }
  const std::vector<std::string> all = {"team-a", "team-b", "team-c"};
  const std::vector<std::string> names(all.begin(), all.begin() + tenants);
  obsgate::routing::PathParams path_params;
  if (route_path.find("{name}") != std::string::npos) {
    path_params.emplace_back("name").value = "app";
  }
  obsgate::gateway::ConnectionInfo conn;
  asio::io_context io;
  size_t responded = 0;
  for (auto _ : state) {
    obsgate::gateway::RequestHead head;
    head.method(http::verb::get);
    head.target(request_path + "?" + query);
    head.set(http::field::accept_encoding, "gzip");
    head.set("X-Scope-OrgID", "spoofed");
    Request r{.head = head,
              .path = request_path,
              .path_params = path_params,
              .query = *q,
              .form = nullptr,
              .conn = conn,
              .cfg = fx.cfg,
              .route = fx.route};
    r.authenticated = true;
    r.principal.subject = "grafana-user";
    r.principal.tenants = names;
    r.principal.roles = {"reader"};
    auto step = fx.factory->create();
    asio::co_spawn(io, step->on_request(r), [&](std::exception_ptr, obsgate::gateway::Action a) {
      responded += a == obsgate::gateway::Action::kRespond ? 1 : 0;
    });
    io.run();
    io.restart();
    step->on_destroy();
    benchmark::DoNotOptimize(r.forward_query);
    benchmark::DoNotOptimize(r.reply.body);
  }
  state.counters["local_replies"] = static_cast<double>(responded);
}

void BM_QueryRange(benchmark::State& s, int tenants, bool collapsible) {
  run_step(s, "/loki/api/v1/query_range", "/loki/api/v1/query_range", kQueryRange, tenants,
           collapsible);
}
void BM_QueryRangeSmall(benchmark::State& s, int tenants, bool collapsible) {
  run_step(s, "/loki/api/v1/query_range", "/loki/api/v1/query_range", kQueryRange, tenants,
           collapsible, 1);
}
void BM_MetricRange(benchmark::State& s, int tenants, bool collapsible) {
  run_step(s, "/loki/api/v1/query_range", "/loki/api/v1/query_range",
           collapsible ? kMetricRange : kMetricRangeNoBy, tenants, collapsible);
}
void BM_Labels(benchmark::State& s, int tenants) {
  run_step(s, "/loki/api/v1/labels", "/loki/api/v1/labels", kLabels, tenants, true);
}
void BM_LabelValues(benchmark::State& s, int tenants) {
  run_step(s, "/loki/api/v1/label/{name}/values", "/loki/api/v1/label/app/values", kLabels,
           tenants, true);
}
void BM_Series(benchmark::State& s, int tenants, bool collapsible) {
  run_step(s, "/loki/api/v1/series", "/loki/api/v1/series", kSeries, tenants, collapsible);
}

BENCHMARK_CAPTURE(BM_QueryRange, one_rule, 1, true);
BENCHMARK_CAPTURE(BM_QueryRange, three_rules, 3, true);
BENCHMARK_CAPTURE(BM_QueryRange, fanout3, 3, false);
BENCHMARK_CAPTURE(BM_QueryRangeSmall, fanout3_1line, 3, false);
BENCHMARK_CAPTURE(BM_MetricRange, one_rule, 1, true);
BENCHMARK_CAPTURE(BM_MetricRange, three_rules_or_lifted, 3, false);
BENCHMARK_CAPTURE(BM_Labels, one_rule, 1);
BENCHMARK_CAPTURE(BM_Labels, three_rules, 3);
BENCHMARK_CAPTURE(BM_LabelValues, one_rule, 1);
BENCHMARK_CAPTURE(BM_Series, one_rule, 1, true);
BENCHMARK_CAPTURE(BM_Series, three_rules_per_rule, 3, false);

// The pure rewrite alone, for the step's overhead above it.
void BM_EnforceParamsOnly(benchmark::State& state) {
  obsgate::filters::logql::LogsPolicy p;
  p.scope.rules = {{{"namespace", MatchOp::kEq, "team-a"}}};
  p.scope.hidden_labels = {"client_ip"};
  p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
  auto q = obsgate::routing::parse_params(kQueryRange);
  for (auto _ : state) {
    auto plan = la::enforce_params(la::Endpoint::kQueryRange, *q, p);
    benchmark::DoNotOptimize(plan);
  }
}
BENCHMARK(BM_EnforceParamsOnly);

}  // namespace

BENCHMARK_MAIN();
