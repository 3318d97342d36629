// Fuzz target: remote-write decoding and enforcement on arbitrary bytes.
//
// Input: one flag byte, then the body. Flag bit 0: the body is snappy block format (enforce());
// otherwise raw protobuf (enforce_uncompressed()). Bit 1: drop mode (else reject). Bit 2: a
// policy with a write scope, forbidden labels and a schema contract (else tenant stamping only).
//
// Invariants checked on every accepted output: it re-parses with libprotobuf; every series
// carries the tenant label with the writer's value and sorted, unique label names; the counts
// match what was forwarded; an unmodified body is the input itself; and when nothing was
// refused, the output equals libprotobuf's parse of the input with the label stamped.
#include <snappy.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "filters/remote_write/proto/remote.pb.h"
#include "filters/remote_write/remote_write.h"

namespace rw = obsgate::filters::remote_write;
namespace pb = obsgate::prompb;

namespace {

rw::Enforcer make(bool drop, bool strict) {
  rw::WritePolicy p;
  p.tenant_label = "tenant";
  p.tenant_value = "t1";
  p.on_violation =
      drop ? rw::WritePolicy::OnViolation::kDrop : rw::WritePolicy::OnViolation::kReject;
  p.limits.max_uncompressed_bytes = 1 << 20;
  p.limits.max_compressed_bytes = 1 << 20;
  if (strict) {
    using obsgate::filters::MatchOp;
    p.forbidden_labels = {"user_id"};
    p.write_scope = {{{"env", MatchOp::kRe, "prod|dev"}}, {{"job", MatchOp::kNeq, ""}}};
    rw::SchemaContract sc;
    sc.metrics["up"] = {"env"};
    sc.metrics["http_requests"] = {"code", "env"};
    p.schema = sc;
    p.drop_metadata_outside_schema = true;
  }
  auto e = rw::Enforcer::create(std::move(p));
  if (!e.ok()) {
    std::abort();
  }
  return std::move(e).value();
}

void check_at(bool cond, int line) {
  if (!cond) {
    std::fprintf(stderr, "remote_write fuzz: invariant at fuzz.cpp:%d failed\n", line);
    std::abort();
  }
}
#define check(cond) check_at((cond), __LINE__)

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const rw::Enforcer kEnforcers[4] = {make(false, false), make(true, false),
                                             make(false, true), make(true, true)};
  if (size == 0) {
    return 0;
  }
  const uint8_t flags = data[0];
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool snappy_framed = (flags & 1) != 0;
  const rw::Enforcer& e = kEnforcers[(flags >> 1) & 3];
  auto out = snappy_framed ? e.enforce(body) : e.enforce_uncompressed(body);
  if (!out.ok()) {
    check(!out.status().message().empty());
    return 0;
  }
  if (out->rejected) {
    check(out->body.empty() && !out->violations.empty() && !out->status().ok());
    return 0;
  }
  if (!out->modified) {
    check(out->body == body);
  }
  std::string raw;
  if (snappy_framed) {
    check(snappy::Uncompress(out->body.data(), out->body.size(), &raw));
  } else {
    raw = out->body;
  }
  pb::WriteRequest req;
  check(req.ParseFromString(raw));
  check(static_cast<uint64_t>(req.timeseries_size()) == out->accepted.series);
  check(static_cast<uint64_t>(req.metadata_size()) == out->metadata_forwarded);
  uint64_t samples = 0;
  for (const auto& ts : req.timeseries()) {
    int tenant = 0;
    for (int i = 0; i < ts.labels_size(); ++i) {
      const auto& l = ts.labels(i);
      check(!l.name().empty());
      check(i == 0 || ts.labels(i - 1).name() < l.name());
      if (l.name() == "tenant") {
        check(l.value() == "t1");
        ++tenant;
      }
    }
    check(tenant == 1);
    samples += static_cast<uint64_t>(ts.samples_size());
  }
  check(samples == out->accepted.samples);

  // Differential: with nothing refused, the output is exactly what libprotobuf gets by parsing
  // the input and stamping the tenant label where it is absent.
  if (out->violations_total == 0 && out->metadata_dropped == 0) {
    std::string in_raw;
    if (snappy_framed) {
      check(snappy::Uncompress(body.data(), body.size(), &in_raw));
    } else {
      in_raw.assign(body);
    }
    pb::WriteRequest want;
    check(want.ParseFromString(in_raw));
    for (auto& ts : *want.mutable_timeseries()) {
      auto* labels = ts.mutable_labels();
      bool has = false;
      for (const auto& l : *labels) {
        has = has || l.name() == "tenant";
      }
      if (!has) {
        pb::Label* l = labels->Add();
        l->set_name("tenant");
        l->set_value("t1");
        for (int i = labels->size() - 1; i > 0 && labels->Get(i - 1).name() > "tenant"; --i) {
          labels->SwapElements(i, i - 1);
        }
      }
    }
    // Compared as bytes: bit-exact, and NaN samples (NaN != NaN) compare equal to themselves.
    check(want.SerializeAsString() == req.SerializeAsString());
  }
  return 0;
}
