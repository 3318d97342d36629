// Rewrite cost per query: enforce_query() = parse + hidden-label check + matcher injection +
// print, over ~40 realistic queries (tests/testdata/logql/queries.txt). One benchmark per query
// (its median over repetitions is the per-query figure) plus one over the whole corpus.
#include <benchmark/benchmark.h>

#include <fstream>
#include <string>
#include <vector>

#include "filters/logql/logql.h"

using namespace obsgate::filters;
using namespace obsgate::filters::logql;

namespace {

std::vector<std::string> load_corpus() {
  std::vector<std::string> out;
  std::ifstream in(OBSGATE_LOGQL_CORPUS);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ';') {
      out.push_back(line);
    }
  }
  return out;
}

LogsPolicy typical_policy() {
  LogsPolicy p;
  p.scope.rules = {{{"tenant", MatchOp::kEq, "team-a"}}};
  p.scope.hidden_labels = {"__tenant_id", "internal_id"};
  p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
  return p;
}

void enforce_one(benchmark::State& state, const std::string& q, const LogsPolicy& p) {
  for (auto _ : state) {
    auto r = enforce_query(q, p);
    if (!r.ok()) {
      state.SkipWithError(r.status().message().c_str());
      return;
    }
    benchmark::DoNotOptimize(r->query.data());
  }
}

void enforce_corpus(benchmark::State& state, const std::vector<std::string>& qs,
                    const LogsPolicy& p) {
  for (auto _ : state) {
    for (const std::string& q : qs) {
      auto r = enforce_query(q, p);
      benchmark::DoNotOptimize(r.ok());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * qs.size()));
}

void parse_corpus(benchmark::State& state, const std::vector<std::string>& qs) {
  for (auto _ : state) {
    for (const std::string& q : qs) {
      auto r = parse(q);
      benchmark::DoNotOptimize(r.ok());
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * qs.size()));
}

}  // namespace

int main(int argc, char** argv) {
  static const std::vector<std::string> corpus = load_corpus();
  static const LogsPolicy policy = typical_policy();
  for (size_t i = 0; i < corpus.size(); ++i) {
    benchmark::RegisterBenchmark(("enforce/q" + std::to_string(i)).c_str(), enforce_one, corpus[i],
                                 policy);
  }
  benchmark::RegisterBenchmark("enforce/corpus", enforce_corpus, corpus, policy);
  benchmark::RegisterBenchmark("parse/corpus", parse_corpus, corpus);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
