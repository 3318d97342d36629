// Benchmarks of filters/exposition: parse one node's body, and the fan-out's whole pure path
// (parse three bodies, merge, print). The body imitates an OpenBao node: summaries (go-metrics
// timers), gauges and counters with a few labels, plus one histogram family.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "filters/exposition/merge.h"

namespace ex = obsgate::filters::exposition;

namespace {

// About `families` families of 4 kinds, `series` label sets each.
std::string make_body(int families, int series) {
  std::string out;
  for (int f = 0; f < families; ++f) {
    const std::string name = "vault_bench_family_" + std::to_string(f);
    switch (f % 4) {
      case 0:
        out += "# HELP " + name + " " + name + "\n# TYPE " + name + " summary\n";
        for (int s = 0; s < series; ++s) {
          const std::string l = "mount_point=\"secret/" + std::to_string(s) + "/\"";
          for (const char* q : {"0.5", "0.9", "0.99"}) {
            out += name + "{" + l + ",quantile=\"" + q + "\"} 0.0134920001029968" + "\n";
          }
          out += name + "_sum{" + l + "} 41.40573098883033\n";
          out += name + "_count{" + l + "} 2671\n";
        }
        break;
      case 1:
      case 2:
        out += "# HELP " + name + " " + name + "\n# TYPE " + name +
               (f % 4 == 1 ? " gauge\n" : " counter\n");
        for (int s = 0; s < series; ++s) {
          out += name + "{cluster=\"openbao-cluster-7c2f\",namespace=\"root\",path=\"p" +
                 std::to_string(s) + "\"} " + std::to_string(s * 17) + "\n";
        }
        break;
      default:
        out += "# HELP " + name + " Request latency.\n# TYPE " + name + " histogram\n";
        for (int s = 0; s < series; ++s) {
          const std::string l = "path=\"sys/p" + std::to_string(s) + "\"";
          int c = 0;
          for (const char* le : {"0.005", "0.01", "0.05", "0.1", "0.5", "1", "+Inf"}) {
            c += 3;
            out += name + "_bucket{" + l + ",le=\"" + le + "\"} " + std::to_string(c) + "\n";
          }
          out += name + "_sum{" + l + "} 1.25\n" + name + "_count{" + l + "} " +
                 std::to_string(c) + "\n";
        }
        break;
    }
  }
  return out;
}

void BM_Parse(benchmark::State& state) {
  const std::string body = make_body(static_cast<int>(state.range(0)), 5);
  for (auto _ : state) {
    auto e = ex::parse(body);
    benchmark::DoNotOptimize(e);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}
BENCHMARK(BM_Parse)->Arg(40)->Arg(400);

// The fan-out's pure work for three nodes: parse each body, merge, print.
void BM_FanoutThreeNodes(benchmark::State& state) {
  const std::string body = make_body(static_cast<int>(state.range(0)), 5);
  for (auto _ : state) {
    std::vector<ex::NodeScrape> nodes;
    for (const char* n : {"bao-0", "bao-1", "bao-2"}) {
      auto e = ex::parse(body);
      nodes.push_back({n, std::move(e).value(), "standby"});
    }
    ex::MergeResult r = ex::merge(std::move(nodes));
    benchmark::DoNotOptimize(r.body);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size() * 3));
}
BENCHMARK(BM_FanoutThreeNodes)->Arg(40)->Arg(400);

}  // namespace

BENCHMARK_MAIN();
