// Throughput of the response filters on ~5 MB bodies, reported as bytes/second of input.
// A plain Boost.JSON DOM parse of the same matrix body is the yardstick.
#include <benchmark/benchmark.h>

#include <boost/json/parse.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "filters/response/response.h"

namespace {

namespace response = obsgate::filters::response;

constexpr std::size_t kTargetBytes = 5u << 20;

// A query_range matrix: series of 8 labels (one hidden, unique per series) with 120 samples.
std::string matrix_body() {
  std::string body = R"({"status":"success","data":{"resultType":"matrix","result":[)";
  for (int s = 0; body.size() < kTargetBytes; ++s) {
    body += s == 0 ? "" : ",";
    body += R"({"metric":{"__name__":"http_requests_total","job":"api","code":"200",)";
    body += R"("method":"GET","handler":"/api/v1/query","env":"prod","pod":"api-)" +
            std::to_string(s) + R"(","client_ip":"10.0.)" + std::to_string(s % 256) + "." +
            std::to_string(s / 256) + R"("},"values":[)";
    for (int i = 0; i < 120; ++i) {
      body += i == 0 ? "" : ",";
      body += "[" + std::to_string(1700000000 + i * 15) + ".123,\"" + std::to_string(s * 1000 + i) +
              ".5\"]";
    }
    body += "]}";
  }
  body += R"(],"stats":{"timings":{"evalTotalTime":0.012}}}})";
  return body;
}

// A Loki streams response: 50 streams of log lines.
std::string streams_body(int offset) {
  std::string body = R"({"status":"success","data":{"resultType":"streams","result":[)";
  const std::size_t per_stream = kTargetBytes / 50;
  for (int s = 0; s < 50; ++s) {
    body += s == 0 ? "" : ",";
    body += R"({"stream":{"app":"api","pod":"api-)" + std::to_string(s) + R"(","level":"info"},)";
    body += R"("values":[)";
    const std::size_t start = body.size();
    for (int i = 0; body.size() - start < per_stream; ++i) {
      body += i == 0 ? "" : ",";
      body += "[\"" + std::to_string(1700000000000000000LL + (i * 2 + offset) * 1000) +
              R"(","level=info msg=\"request served\" path=/api/v1/query status=200 took=12ms"])";
    }
    body += "]}";
  }
  body += R"(],"stats":{"summary":{"totalBytesProcessed":123456,"execTime":0.25}}}})";
  return body;
}

std::string federate_body() {
  std::string body = "# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n";
  for (int s = 0; body.size() < kTargetBytes; ++s) {
    body += R"(http_requests_total{code="200",handler="/api/v1/query",instance="10.0.)" +
            std::to_string(s % 256) + "." + std::to_string(s / 256) +
            R"(:9090",job="api",pod="api-)" + std::to_string(s) + "\"} " + std::to_string(s * 7) +
            " 1700000000123\n";
  }
  return body;
}

void BM_BoostJsonDomParse(benchmark::State& state) {
  const std::string body = matrix_body();
  for (auto _ : state) {
    boost::json::error_code ec;
    auto v = boost::json::parse(body, ec);
    benchmark::DoNotOptimize(v);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_BoostJsonDomParse)->Unit(benchmark::kMillisecond);

void BM_StripMatrixHidden(benchmark::State& state) {
  const std::string body = matrix_body();
  for (auto _ : state) {
    auto out = response::strip_hidden_labels_prometheus(body, response::Endpoint::kQueryRange,
                                                        {"client_ip"});
    if (!out.ok()) {
      state.SkipWithError(out.status().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_StripMatrixHidden)->Unit(benchmark::kMillisecond);

void BM_StripMatrixNothingHidden(benchmark::State& state) {
  const std::string body = matrix_body();
  for (auto _ : state) {
    auto out = response::strip_hidden_labels_prometheus(body, response::Endpoint::kQueryRange,
                                                        {"not_there"});
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_StripMatrixNothingHidden)->Unit(benchmark::kMillisecond);

void BM_StripLokiStreams(benchmark::State& state) {
  const std::string body = streams_body(0);
  for (auto _ : state) {
    auto out =
        response::strip_hidden_labels_loki(body, response::LokiEndpoint::kQueryRange, {"level"});
    if (!out.ok()) {
      state.SkipWithError(out.status().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_StripLokiStreams)->Unit(benchmark::kMillisecond);

void BM_MergeLokiStreams(benchmark::State& state) {
  const std::string a = streams_body(0);
  const std::string b = streams_body(1);
  const std::vector<std::string_view> bodies = {a, b};
  for (auto _ : state) {
    auto out = response::merge_loki_streams(bodies, 5000, response::Direction::kBackward);
    if (!out.ok()) {
      state.SkipWithError(out.status().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * (a.size() + b.size())));
}
BENCHMARK(BM_MergeLokiStreams)->Unit(benchmark::kMillisecond);

void BM_StripFederateText(benchmark::State& state) {
  const std::string body = federate_body();
  for (auto _ : state) {
    auto out = response::strip_hidden_labels_text(body, {"instance"});
    if (!out.ok()) {
      state.SkipWithError(out.status().to_string().c_str());
      return;
    }
    benchmark::DoNotOptimize(out);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * body.size()));
}
BENCHMARK(BM_StripFederateText)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
