// Per-request cost of the routing front door: parse_target (normalise) + Router::match, on a
// ~40-route Prometheus/Loki/OpenBao table and ~40 realistic request targets, plus the params
// codec on typical query strings. Each iteration handles one target, cycling through the list,
// so the reported time is ns per request.
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "gateway/routing/params.h"
#include "gateway/routing/router.h"
#include "gateway/routing/target.h"

// Counts heap allocations so the benchmarks can report allocs/op (the match path claims none
// beyond long parameter values and 405 replies).
namespace {
std::atomic<size_t> g_allocs{0};
}  // namespace

void* operator new(size_t n) {
  g_allocs.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n)) {
    return p;
  }
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace {

using obsgate::routing::Match;

void report_allocs(benchmark::State& state, size_t before) {
  state.counters["allocs/op"] = benchmark::Counter(
      static_cast<double>(g_allocs.load() - before) / static_cast<double>(state.iterations()));
}
using obsgate::routing::RouteSpec;
using obsgate::routing::Router;

std::vector<RouteSpec> route_table() {
  const std::vector<std::string> gp = {"GET", "POST"};
  const std::vector<std::string> g = {"GET"};
  return {
      {"prom_query", gp, "/api/v1/query"},
      {"prom_query_range", gp, "/api/v1/query_range"},
      {"prom_query_exemplars", gp, "/api/v1/query_exemplars"},
      {"prom_format_query", gp, "/api/v1/format_query"},
      {"prom_parse_query", gp, "/api/v1/parse_query"},
      {"prom_series", gp, "/api/v1/series"},
      {"prom_labels", gp, "/api/v1/labels"},
      {"prom_label_values", g, "/api/v1/label/{name}/values"},
      {"prom_metadata", g, "/api/v1/metadata"},
      {"prom_targets", g, "/api/v1/targets"},
      {"prom_targets_metadata", g, "/api/v1/targets/metadata"},
      {"prom_rules", g, "/api/v1/rules"},
      {"prom_alerts", g, "/api/v1/alerts"},
      {"prom_alertmanagers", g, "/api/v1/alertmanagers"},
      {"prom_status", g, "/api/v1/status/{kind}"},
      {"prom_remote_write", {"POST"}, "/api/v1/write"},
      {"prom_remote_read", {"POST"}, "/api/v1/read"},
      {"prom_federate", g, "/federate"},
      {"prom_healthy", {"GET", "HEAD"}, "/-/healthy"},
      {"prom_ready", {"GET", "HEAD"}, "/-/ready"},
      {"loki_query", g, "/loki/api/v1/query"},
      {"loki_query_range", g, "/loki/api/v1/query_range"},
      {"loki_labels", g, "/loki/api/v1/labels"},
      {"loki_label_values", g, "/loki/api/v1/label/{name}/values"},
      {"loki_series", gp, "/loki/api/v1/series"},
      {"loki_index_stats", g, "/loki/api/v1/index/stats"},
      {"loki_index_volume", g, "/loki/api/v1/index/volume"},
      {"loki_index_volume_range", g, "/loki/api/v1/index/volume_range"},
      {"loki_patterns", g, "/loki/api/v1/patterns"},
      {"loki_detected_fields", g, "/loki/api/v1/detected_fields"},
      {"loki_detected_labels", g, "/loki/api/v1/detected_labels"},
      {"loki_tail", g, "/loki/api/v1/tail"},
      {"loki_push", {"POST"}, "/loki/api/v1/push"},
      {"loki_delete", {"GET", "POST", "DELETE"}, "/loki/api/v1/delete"},
      {"loki_ready", g, "/ready"},
      // Mounts are fixed names: "/v1/{mount}/data/{path}" would overlap
      // "/v1/auth/{jwt_mount}/login" on POST, and build() rejects that.
      {"bao_kv_data", {"GET", "PUT", "POST", "DELETE", "PATCH"}, "/v1/secret/data/{path}"},
      {"bao_kv_metadata", {"GET", "PUT", "POST", "DELETE", "PATCH"}, "/v1/secret/metadata/{path}"},
      {"bao_token_lookup_self", g, "/v1/auth/token/lookup-self"},
      {"bao_health", {"GET", "HEAD"}, "/v1/sys/health"},
      {"bao_jwt_login", {"POST"}, "/v1/auth/{jwt_mount}/login"},
  };
}

std::vector<std::string> targets() {
  return {
      "/api/v1/query?query=up&time=1700000000",
      "/api/v1/query_range?query=sum(rate(http_requests_total%7Bjob%3D%22api%22%7D%5B5m%5D))"
      "&start=1700000000&end=1700003600&step=15",
      "/api/v1/query_exemplars?query=x&start=1&end=2",
      "/api/v1/format_query?query=up",
      "/api/v1/series?match[]=up&match[]=process_start_time_seconds%7Bjob%3D%22prometheus%22%7D",
      "/api/v1/labels",
      "/api/v1/label/job/values",
      "/api/v1/label/__name__/values?start=1700000000",
      "/api/v1/metadata?metric=http_requests_total",
      "/api/v1/targets?state=active",
      "/api/v1/targets/metadata?match_target=%7Bjob%3D%22prometheus%22%7D",
      "/api/v1/rules?type=alert",
      "/api/v1/alerts",
      "/api/v1/status/buildinfo",
      "/api/v1/status/runtimeinfo",
      "/api/v1/write",
      "/federate?match[]=%7Bjob%3D%22prometheus%22%7D",
      "/-/healthy",
      "/loki/api/v1/query?query=%7Bapp%3D%22x%22%7D&limit=100",
      "/loki/api/v1/query_range?query=%7Bapp%3D%22x%22%7D%20%7C%3D%20%22err%22&start=1&end=2",
      "/loki/api/v1/labels?start=1&end=2",
      "/loki/api/v1/label/app/values",
      "/loki/api/v1/series?match[]=%7Bapp%3D%22x%22%7D",
      "/loki/api/v1/index/stats?query=%7Bapp%3D%22x%22%7D",
      "/loki/api/v1/index/volume_range?query=%7Bapp%3D%22x%22%7D&step=60",
      "/loki/api/v1/detected_fields?query=%7Bapp%3D%22x%22%7D",
      "/loki/api/v1/tail?query=%7Bapp%3D%22x%22%7D",
      "/loki/api/v1/push",
      "/v1/secret/data/team-a",
      "/v1/secret/metadata/service-x",
      "/v1/auth/token/lookup-self",
      "/v1/sys/health?standbyok=true",
      "/v1/auth/jwt/login",
      // Non-canonical spellings and misses, as scanners and odd clients send them.
      "//api//v1///query?query=up",
      "/api/v1/./query_range?query=up",
      "/api/v1/label/%6Aob/values",
      "/api/v1/label/service%3Aname/values",
      "/api/v1/admin/tsdb/delete_series",
      "/metrics",
      "/loki/api/v1/query/../tail",
  };
}

const Router& router() {
  static const Router r = [] {
    auto built = Router::build(route_table());
    if (!built.ok()) {
      std::fprintf(stderr, "route table rejected: %s\n", built.status().to_string().c_str());
      std::abort();
    }
    return *built;
  }();
  return r;
}

void BM_ParseTarget(benchmark::State& state) {
  const auto ts = targets();
  size_t i = 0;
  const size_t before = g_allocs.load();
  for (auto _ : state) {
    auto t = obsgate::routing::parse_target(ts[i++ % ts.size()]);
    benchmark::DoNotOptimize(t);
  }
  report_allocs(state, before);
}
BENCHMARK(BM_ParseTarget);

void BM_Match(benchmark::State& state) {
  std::vector<std::string> paths;
  for (const auto& t : targets()) {
    paths.push_back(obsgate::routing::parse_target(t)->path);
  }
  const Router& r = router();
  Match m;
  size_t i = 0;
  const size_t before = g_allocs.load();
  for (auto _ : state) {
    r.match_into("GET", paths[i++ % paths.size()], m);
    benchmark::DoNotOptimize(m);
  }
  report_allocs(state, before);
}
BENCHMARK(BM_Match);

// What the gateway does per request: parse + normalise, then match (fresh Match each time).
void BM_ParseAndMatch(benchmark::State& state) {
  const auto ts = targets();
  const Router& r = router();
  size_t i = 0;
  const size_t before = g_allocs.load();
  for (auto _ : state) {
    auto t = obsgate::routing::parse_target(ts[i++ % ts.size()]);
    Match m = r.match("GET", t->path);
    benchmark::DoNotOptimize(m);
  }
  report_allocs(state, before);
}
BENCHMARK(BM_ParseAndMatch);

void BM_ParseParams(benchmark::State& state) {
  const std::string q =
      "query=sum(rate(http_requests_total%7Bjob%3D%22api%22%7D%5B5m%5D))"
      "&start=1700000000&end=1700003600&step=15";
  const size_t before = g_allocs.load();
  for (auto _ : state) {
    auto p = obsgate::routing::parse_params(q);
    benchmark::DoNotOptimize(p);
  }
  report_allocs(state, before);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * q.size()));
}
BENCHMARK(BM_ParseParams);

void BM_EncodeParams(benchmark::State& state) {
  const auto p = obsgate::routing::parse_params(
      "query=sum(rate(http_requests_total%7Bjob%3D%22api%22%7D%5B5m%5D))"
      "&start=1700000000&end=1700003600&step=15");
  for (auto _ : state) {
    auto s = obsgate::routing::encode_params(*p);
    benchmark::DoNotOptimize(s);
  }
}
BENCHMARK(BM_EncodeParams);

}  // namespace

BENCHMARK_MAIN();
