// PromQL enforcement cost: parse + enforce + print, per dashboard query.
//
//   BM_EnforceQuery/<i>     one benchmark per corpus query (one-rule scope)
//   BM_Stage/...            the stages separately over the whole corpus (EnforceScratch: with
//                           one Ast reused across calls)
//   BM_ProxyQuery/0|1       bench/proxy's query, one-shot / reused tree
//   BM_CorpusDistribution   times every call individually and reports, over all queries,
//                           the median of per-query medians and the p99 of all calls (ns).
// Run: build-promql/bench/promql/promql_bench --benchmark_min_time=0.2
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <vector>

#include "filters/promql/promql.h"

namespace {

using obsgate::filters::MatchOp;
using obsgate::filters::Scope;
namespace promql = obsgate::filters::promql;

std::vector<std::string> load_corpus() {
  std::vector<std::string> out;
  std::ifstream in(OBSGATE_PROMQL_CORPUS);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line.rfind("//", 0) != 0) {
      out.push_back(line);
    }
  }
  return out;
}

const std::vector<std::string>& corpus() {
  static const std::vector<std::string> kCorpus = load_corpus();
  return kCorpus;
}

Scope one_rule() {
  Scope s;
  s.rules = {{{"tenant", MatchOp::kEq, "team-a"}}};
  s.hidden_labels = {"internal_owner"};
  return s;
}

Scope overlapping_rules() {
  Scope s;
  s.rules = {{{"tenant", MatchOp::kEq, "team-a"}}, {{"cluster", MatchOp::kEq, "shared"}}};
  return s;
}

void BM_EnforceQuery(benchmark::State& state) {
  const std::string& q = corpus()[static_cast<size_t>(state.range(0))];
  const Scope scope = one_rule();
  for (auto _ : state) {
    auto r = promql::enforce_query(q, scope);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(q.substr(0, 60));
}

void BM_Stage_Parse(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& q : corpus()) {
      auto r = promql::parse(q);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(corpus().size()));
}

void BM_Stage_ParsePrint(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& q : corpus()) {
      auto r = promql::parse(q);
      benchmark::DoNotOptimize(promql::print(*r));
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(corpus().size()));
}

template <Scope (*kMake)()>
void BM_Stage_Enforce(benchmark::State& state) {
  const Scope scope = kMake();
  for (auto _ : state) {
    for (const std::string& q : corpus()) {
      auto r = promql::enforce_query(q, scope);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(corpus().size()));
}

// The same with one scratch tree reused across calls (what the prometheus step does per thread).
void BM_Stage_EnforceScratch(benchmark::State& state) {
  const Scope scope = one_rule();
  promql::Ast scratch;
  for (auto _ : state) {
    for (const std::string& q : corpus()) {
      auto r = promql::enforce_query(q, scope, scratch);
      benchmark::DoNotOptimize(r);
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(corpus().size()));
}

// bench/proxy's query on its enforced route, one-shot (arg 0) and with a reused tree (arg 1).
void BM_ProxyQuery(benchmark::State& state) {
  const std::string q = R"(sum(rate(http_requests_total{job="api"}[5m])))";
  Scope scope;
  scope.rules = {{{"namespace", MatchOp::kEq, "team-a"}}};
  promql::Ast scratch;
  for (auto _ : state) {
    auto r = state.range(0) == 0 ? promql::enforce_query(q, scope)
                                 : promql::enforce_query(q, scope, scratch);
    benchmark::DoNotOptimize(r);
  }
  state.SetLabel(state.range(0) == 0 ? "one-shot" : "scratch tree");
}

double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

void BM_CorpusDistribution(benchmark::State& state) {
  const Scope scope = one_rule();
  std::vector<std::vector<double>> per_query(corpus().size());
  for (auto _ : state) {
    for (size_t i = 0; i < corpus().size(); ++i) {
      auto t0 = std::chrono::steady_clock::now();
      auto r = promql::enforce_query(corpus()[i], scope);
      auto t1 = std::chrono::steady_clock::now();
      benchmark::DoNotOptimize(r);
      per_query[i].push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
    }
  }
  std::vector<double> medians;
  std::vector<double> all;
  for (const auto& v : per_query) {
    medians.push_back(percentile(v, 0.5));
    all.insert(all.end(), v.begin(), v.end());
  }
  state.counters["median_of_query_medians_ns"] = percentile(medians, 0.5);
  state.counters["slowest_query_median_ns"] = percentile(medians, 1.0);
  state.counters["p99_all_calls_ns"] = percentile(all, 0.99);
  state.counters["queries"] = static_cast<double>(corpus().size());
}

}  // namespace

BENCHMARK(BM_EnforceQuery)->DenseRange(0, 52);
BENCHMARK(BM_Stage_Parse);
BENCHMARK(BM_Stage_ParsePrint);
BENCHMARK_TEMPLATE(BM_Stage_Enforce, one_rule);
BENCHMARK_TEMPLATE(BM_Stage_Enforce, overlapping_rules);
BENCHMARK(BM_Stage_EnforceScratch);
BENCHMARK(BM_ProxyQuery)->Arg(0)->Arg(1);
BENCHMARK(BM_CorpusDistribution)->Iterations(2000);

BENCHMARK_MAIN();
