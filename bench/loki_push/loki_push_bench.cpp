// Loki push enforcement throughput (entries per second per core) against plain round trips of
// the same payload.
//
// Protobuf (snappy block format, as promtail / Alloy send it):
//   (a) BM_EnforceProtobuf:   Enforcer::enforce (snappy decompress + walk + labels re-rendered
//                             + snappy compress)
//   (b) BM_ProtobufRoundTrip: snappy decompress + libprotobuf ParseFromString +
//                             SerializeToString + snappy compress, no policy at all
//   (c) BM_SnappyFloor:       snappy decompress + compress, nothing else
// JSON:
//   (d) BM_EnforceJson:       Enforcer::enforce on the JSON body
//   (e) BM_JsonRoundTrip:     Boost.JSON parse + serialize of the same body, no policy
//   (f) BM_EnforceJsonGzip:   (d) on a gzip body (inflate included; output uncompressed)
//
// Payload: S streams of 4-7 labels, E entries each: a 90-200 byte log line with a nanosecond
// timestamp, and structured metadata (trace_id) on every fourth entry. Policy: stamp
// tenant="team-a" (absent from every stream), forbidden labels, a regex write scope and an
// audit-stream rule, drop mode. items/s counts entries. Results: RESULTS.md beside this file.
#include <benchmark/benchmark.h>
#include <snappy.h>
#include <zlib.h>

#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "filters/loki_push/loki_push.h"
#include "filters/loki_push/proto/push.pb.h"

namespace lp = obsgate::filters::loki_push;
namespace pb = obsgate::lokipb;

namespace {

const char* const kNames[] = {"app", "cluster", "container", "env", "namespace", "node", "pod"};

std::string label_value(int name, int stream) {
  const uint32_t h = static_cast<uint32_t>(stream) * 2654435761u ^ static_cast<uint32_t>(name);
  if (name == 0) {
    return "api";  // every stream is in the write scope (app=~"api|web")
  }
  return std::string(kNames[name]) + "-" + std::to_string(h % (name == 6 ? 100000u : 20u));
}

std::string line(int stream, int i) {
  std::string l = "level=info ts=2026-11-22T05:00:00." + std::to_string(100000 + i) +
                  "Z caller=handler.go:" + std::to_string(40 + i % 300) +
                  " msg=\"request served\" method=GET path=/api/v1/items/" +
                  std::to_string(stream * 1000 + i) + " status=200";
  l.append(static_cast<size_t>(i % 7) * 16, 'x');  // lines of 90-200 bytes
  return l;
}

struct Payload {
  std::string protobuf;  // snappy
  std::string json;
  std::string json_gz;
  int entries = 0;
};

std::string gzip(const std::string& in) {
  z_stream z{};
  if (deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    std::abort();
  }
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
    std::abort();
  }
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

Payload make_payload(int streams, int entries_per_stream) {
  Payload p;
  pb::PushRequest req;
  boost::json::array json_streams;
  for (int s = 0; s < streams; ++s) {
    const int n_labels = 4 + s % 4;
    std::string labels = "{";
    boost::json::object stream_labels;
    for (int l = 0; l < n_labels; ++l) {
      const std::string v = label_value(l, s);
      labels += (l > 0 ? ", " : "") + std::string(kNames[l]) + "=\"" + v + "\"";
      stream_labels[kNames[l]] = v;
    }
    labels += "}";
    pb::StreamAdapter* st = req.add_streams();
    st->set_labels(labels);
    boost::json::array values;
    for (int i = 0; i < entries_per_stream; ++i) {
      const int64_t ns = 1'700'000'000'000'000'000 + int64_t{s} * 1'000'000 + i;
      pb::EntryAdapter* e = st->add_entries();
      e->mutable_timestamp()->set_seconds(ns / 1'000'000'000);
      e->mutable_timestamp()->set_nanos(static_cast<int32_t>(ns % 1'000'000'000));
      e->set_line(line(s, i));
      boost::json::array v{std::to_string(ns), line(s, i)};
      if (i % 4 == 0) {
        auto* md = e->add_structuredmetadata();
        md->set_name("trace_id");
        md->set_value("4bf92f3577b34da6a3ce929d0e0e" + std::to_string(4736 + i));
        v.push_back(boost::json::object{{"trace_id", md->value()}});
      }
      values.push_back(std::move(v));
      ++p.entries;
    }
    json_streams.push_back(boost::json::object{{"stream", stream_labels}, {"values", values}});
  }
  const std::string raw = req.SerializeAsString();
  snappy::Compress(raw.data(), raw.size(), &p.protobuf);
  p.json = boost::json::serialize(boost::json::object{{"streams", json_streams}});
  p.json_gz = gzip(p.json);
  return p;
}

const Payload& payload(int streams, int entries) {
  // One payload per shape, built on first use (benchmarks run one at a time).
  static Payload cache;
  static int key = -1;
  if (key != streams * 100000 + entries) {
    cache = make_payload(streams, entries);
    key = streams * 100000 + entries;
  }
  return cache;
}

lp::Enforcer make_enforcer() {
  using obsgate::filters::MatchOp;
  lp::PushPolicy p;
  p.tenant_label = "tenant";
  p.tenant_value = "team-a";
  p.forbidden_labels = {"user_id", "request_id"};
  p.write_scope.rules = {{{"app", MatchOp::kRe, "api|web"}}};
  p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
  p.on_violation = lp::PushPolicy::OnViolation::kDrop;
  auto e = lp::Enforcer::create(std::move(p));
  if (!e.ok()) {
    std::abort();
  }
  return std::move(e).value();
}

void run_enforce(benchmark::State& state, lp::Format f, bool gz) {
  const Payload& p = payload(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const lp::Enforcer e = make_enforcer();
  const std::string& in = f == lp::Format::kProtobuf ? p.protobuf : (gz ? p.json_gz : p.json);
  for (auto _ : state) {
    auto out = e.enforce(in, f, gz ? lp::Encoding::kGzip : lp::Encoding::kIdentity);
    if (!out.ok() || out->violations_total != 0 ||
        out->accepted.entries != static_cast<uint64_t>(p.entries)) {
      std::fprintf(stderr, "enforce failed: %s\n", out.status().to_string().c_str());
      std::abort();
    }
    benchmark::DoNotOptimize(out->body.data());
  }
  state.SetItemsProcessed(state.iterations() * p.entries);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(in.size()));
}

void BM_EnforceProtobuf(benchmark::State& state) {
  run_enforce(state, lp::Format::kProtobuf, false);
}
void BM_EnforceJson(benchmark::State& state) { run_enforce(state, lp::Format::kJson, false); }
void BM_EnforceJsonGzip(benchmark::State& state) { run_enforce(state, lp::Format::kJson, true); }

void BM_ProtobufRoundTrip(benchmark::State& state) {
  const Payload& p = payload(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  pb::PushRequest req;
  std::string raw;
  std::string ser;
  std::string out;
  for (auto _ : state) {
    raw.clear();
    snappy::Uncompress(p.protobuf.data(), p.protobuf.size(), &raw);
    if (!req.ParseFromString(raw)) {
      std::abort();
    }
    ser.clear();
    req.SerializeToString(&ser);
    out.clear();
    snappy::Compress(ser.data(), ser.size(), &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * p.entries);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p.protobuf.size()));
}

void BM_SnappyFloor(benchmark::State& state) {
  const Payload& p = payload(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  std::string raw;
  std::string out;
  for (auto _ : state) {
    raw.clear();
    snappy::Uncompress(p.protobuf.data(), p.protobuf.size(), &raw);
    out.clear();
    snappy::Compress(raw.data(), raw.size(), &out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * p.entries);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p.protobuf.size()));
}

void BM_JsonRoundTrip(benchmark::State& state) {
  const Payload& p = payload(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  for (auto _ : state) {
    boost::json::value v = boost::json::parse(p.json);
    std::string out = boost::json::serialize(v);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * p.entries);
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p.json.size()));
}

// {streams, entries per stream}: many small streams, a typical promtail batch, few big ones.
void shapes(benchmark::internal::Benchmark* b) {
  b->Args({100, 10})->Args({10, 100})->Args({4, 2500})->Unit(benchmark::kMicrosecond);
}

}  // namespace

BENCHMARK(BM_EnforceProtobuf)->Apply(shapes);
BENCHMARK(BM_ProtobufRoundTrip)->Apply(shapes);
BENCHMARK(BM_SnappyFloor)->Apply(shapes);
BENCHMARK(BM_EnforceJson)->Apply(shapes);
BENCHMARK(BM_JsonRoundTrip)->Apply(shapes);
BENCHMARK(BM_EnforceJsonGzip)->Apply(shapes);

BENCHMARK_MAIN();
