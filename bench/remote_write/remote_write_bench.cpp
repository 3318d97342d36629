// Remote-write enforcement throughput against a libprotobuf round trip and the snappy floor.
//
//   (a) BM_Enforce:        snappy decompress + wire-format enforcement + snappy compress
//   (b) BM_ProtobufStamp:  snappy decompress + ParseFromString + stamp the tenant label through
//                          the message API (sorted insert) + SerializeToString + compress
//   (c) BM_SnappyFloor:    snappy decompress + compress of the same body, nothing else
//
// Payloads: 100, 2,000 and 10,000 series of 10-20 labels and 3 samples each. items/s counts
// samples. Results and the command line are in RESULTS.md beside this file.
#include <benchmark/benchmark.h>
#include <snappy.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "filters/remote_write/proto/remote.pb.h"
#include "filters/remote_write/remote_write.h"

namespace rw = obsgate::filters::remote_write;
namespace pb = obsgate::prompb;

namespace {

constexpr int kSamplesPerSeries = 3;

// Label names in sorted order (as senders emit them); a series uses __name__ plus the first
// 9-19 of the rest, so 10-20 labels in all.
const char* const kNames[] = {"__name__", "app", "cluster", "container", "endpoint", "env",
                              "image", "instance", "job", "namespace", "node", "pod",
                              "region", "service", "team", "uid", "version", "workload",
                              "zone", "zz_shard"};

std::string value(const char* name, int series, uint32_t salt) {
  // Deterministic, mildly varied values: a realistic mix of repeated and unique strings.
  uint32_t h = static_cast<uint32_t>(series) * 2654435761u ^ salt;
  std::string v = name;
  v += '-';
  v += std::to_string(h % (std::string_view(name) == "pod" ? 100000u : 50u));
  if (std::string_view(name) == "image") {
    v = "registry.example.com/team/service:v1." + std::to_string(h % 20);
  }
  return v;
}

std::string make_body(int n_series, int* samples) {
  pb::WriteRequest req;
  *samples = 0;
  for (int i = 0; i < n_series; ++i) {
    pb::TimeSeries* ts = req.add_timeseries();
    const int n_labels = 10 + (i % 11);
    auto* name = ts->add_labels();
    name->set_name("__name__");
    name->set_value("metric_family_" + std::to_string(i % 60) + "_total");
    for (int l = 1; l < n_labels; ++l) {
      auto* lab = ts->add_labels();
      lab->set_name(kNames[l]);
      lab->set_value(value(kNames[l], i, static_cast<uint32_t>(l) * 7919u));
    }
    for (int s = 0; s < kSamplesPerSeries; ++s) {
      auto* smp = ts->add_samples();
      smp->set_value(static_cast<double>(i * 3 + s) * 1.25);
      smp->set_timestamp(1'700'000'000'000 + s * 15'000);
      ++*samples;
    }
  }
  std::string raw = req.SerializeAsString();
  std::string body;
  snappy::Compress(raw.data(), raw.size(), &body);
  return body;
}

rw::Enforcer make_enforcer() {
  rw::WritePolicy p;
  p.tenant_label = "tenant";
  p.tenant_value = "team-a";
  p.forbidden_labels = {"user_id", "request_id"};
  p.on_violation = rw::WritePolicy::OnViolation::kDrop;
  auto e = rw::Enforcer::create(std::move(p));
  if (!e.ok()) {
    std::abort();
  }
  return std::move(e).value();
}

void finish(benchmark::State& state, int samples, size_t body_bytes) {
  state.SetItemsProcessed(state.iterations() * samples);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body_bytes));
  state.counters["series"] = static_cast<double>(state.range(0));
}

void BM_Enforce(benchmark::State& state) {
  int samples = 0;
  const std::string body = make_body(static_cast<int>(state.range(0)), &samples);
  const rw::Enforcer enforcer = make_enforcer();
  for (auto _ : state) {
    auto out = enforcer.enforce(body);
    if (!out.ok() || out->accepted.series != static_cast<uint64_t>(state.range(0))) {
      state.SkipWithError("enforce failed");
      break;
    }
    benchmark::DoNotOptimize(out->body.data());
  }
  finish(state, samples, body.size());
}

void BM_ProtobufStamp(benchmark::State& state) {
  int samples = 0;
  const std::string body = make_body(static_cast<int>(state.range(0)), &samples);
  pb::WriteRequest req;
  std::string raw;
  std::string serialized;
  std::string out;
  for (auto _ : state) {
    if (!snappy::Uncompress(body.data(), body.size(), &raw) || !req.ParseFromString(raw)) {
      state.SkipWithError("parse failed");
      break;
    }
    for (pb::TimeSeries& ts : *req.mutable_timeseries()) {
      auto* labels = ts.mutable_labels();
      pb::Label* l = labels->Add();
      l->set_name("tenant");
      l->set_value("team-a");
      // Move it down to its sorted position.
      for (int i = labels->size() - 1; i > 0 && labels->Get(i - 1).name() > "tenant"; --i) {
        labels->SwapElements(i, i - 1);
      }
    }
    req.SerializeToString(&serialized);
    snappy::Compress(serialized.data(), serialized.size(), &out);
    benchmark::DoNotOptimize(out.data());
  }
  finish(state, samples, body.size());
}

void BM_SnappyFloor(benchmark::State& state) {
  int samples = 0;
  const std::string body = make_body(static_cast<int>(state.range(0)), &samples);
  std::string raw;
  std::string out;
  for (auto _ : state) {
    if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
      state.SkipWithError("uncompress failed");
      break;
    }
    snappy::Compress(raw.data(), raw.size(), &out);
    benchmark::DoNotOptimize(out.data());
  }
  finish(state, samples, body.size());
}

// Enforcement alone, on the decompressed body: where the time of (a) minus (c) goes.
void BM_EnforceUncompressed(benchmark::State& state) {
  int samples = 0;
  const std::string body = make_body(static_cast<int>(state.range(0)), &samples);
  std::string raw;
  snappy::Uncompress(body.data(), body.size(), &raw);
  const rw::Enforcer enforcer = make_enforcer();
  for (auto _ : state) {
    auto out = enforcer.enforce_uncompressed(raw);
    benchmark::DoNotOptimize(out->body.data());
  }
  finish(state, samples, raw.size());
}

}  // namespace

BENCHMARK(BM_Enforce)->Arg(100)->Arg(2000)->Arg(10000);
BENCHMARK(BM_ProtobufStamp)->Arg(100)->Arg(2000)->Arg(10000);
BENCHMARK(BM_SnappyFloor)->Arg(100)->Arg(2000)->Arg(10000);
BENCHMARK(BM_EnforceUncompressed)->Arg(100)->Arg(2000)->Arg(10000);

BENCHMARK_MAIN();
