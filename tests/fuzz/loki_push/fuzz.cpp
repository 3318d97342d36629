// Fuzz target: Loki push decoding (protobuf and JSON, gzip) and enforcement on arbitrary bytes.
//
// Input: one flag byte, then the body. Flag bit 0: JSON (else protobuf). Bit 1: the body is
// passed with Content-Encoding gzip as is (exercises the inflater; most inputs fail). Without
// bit 1 a protobuf body is the raw PushRequest, which the harness snappy-compresses, so the
// fuzzer explores the message rather than snappy framing. Bit 2: drop mode (else reject).
// Bit 3: a strict policy (forbidden labels, a write scope with regexes, audit streams, small
// limits) rather than tenant stamping alone.
//
// Invariants checked on every accepted output:
//   - protobuf: it decompresses and re-parses with libprotobuf; every stream's labels carry
//     tenant="t1"; stream and entry counts match the outcome; with nothing refused, each
//     stream's entries equal the input's (as libprotobuf reads both);
//   - JSON: Boost.JSON parses it (an independent validator);
//   - both: enforcing the output again returns it unchanged (labels are already canonical,
//     entries already valid), with the same counts.
#include <snappy.h>

#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "filters/loki_push/loki_push.h"
#include "filters/loki_push/proto/push.pb.h"

namespace lp = obsgate::filters::loki_push;
namespace pb = obsgate::lokipb;

namespace {

lp::Enforcer make(bool drop, bool strict) {
  using obsgate::filters::MatchOp;
  lp::PushPolicy p;
  p.tenant_label = "tenant";
  p.tenant_value = "t1";
  p.write_scope.unrestricted = true;
  p.on_violation = drop ? lp::PushPolicy::OnViolation::kDrop : lp::PushPolicy::OnViolation::kReject;
  p.limits.max_body_bytes = 1 << 20;
  p.limits.max_decompressed_bytes = 1 << 20;
  if (strict) {
    p.forbidden_labels = {"user_id"};
    p.write_scope.unrestricted = false;
    p.write_scope.rules = {{{"app", MatchOp::kRe, "a.*|b"}}, {{"env", MatchOp::kNeq, ""}}};
    p.write_scope.hidden_labels = {"secret"};
    p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
    p.limits.max_labels_per_stream = 4;
    p.limits.max_line_bytes = 64;
    p.limits.max_structured_metadata_pairs = 2;
    p.limits.max_streams = 50;
    p.limits.max_entries = 200;
  }
  auto e = lp::Enforcer::create(std::move(p));
  if (!e.ok()) {
    std::abort();
  }
  return std::move(e).value();
}

void check_at(bool cond, int line) {
  if (!cond) {
    std::fprintf(stderr, "loki_push fuzz: invariant at fuzz.cpp:%d failed\n", line);
    std::abort();
  }
}
#define check(cond) check_at((cond), __LINE__)

void check_protobuf(const lp::Enforcer& e, const lp::Outcome& out, const std::string& in_raw) {
  std::string raw;
  check(snappy::Uncompress(out.body.data(), out.body.size(), &raw));
  pb::PushRequest got;
  check(got.ParseFromString(raw));
  check(static_cast<uint64_t>(got.streams_size()) == out.accepted.streams);
  uint64_t entries = 0;
  for (const auto& s : got.streams()) {
    check(s.labels().find("tenant=\"t1\"") != std::string::npos);
    check(s.hash() == 0);
    entries += static_cast<uint64_t>(s.entries_size());
  }
  check(entries == out.accepted.entries);
  if (out.violations_total == 0) {
    pb::PushRequest want;
    check(want.ParseFromString(in_raw));  // what we accepted, libprotobuf accepts
    check(want.streams_size() == got.streams_size());
    for (int i = 0; i < want.streams_size(); ++i) {
      check(want.streams(i).entries_size() == got.streams(i).entries_size());
      for (int j = 0; j < want.streams(i).entries_size(); ++j) {
        check(want.streams(i).entries(j).SerializeAsString() ==
              got.streams(i).entries(j).SerializeAsString());
      }
    }
  }
  auto again = e.enforce(out.body, lp::Format::kProtobuf);
  check(again.ok() && !again->rejected && again->violations_total == 0);
  check(again->body == out.body);
  check(again->accepted.entries == out.accepted.entries);
}

void check_json(const lp::Enforcer& e, const lp::Outcome& out) {
  boost::system::error_code ec;
  auto v = boost::json::parse(out.body, ec);
  check(!ec);
  check(v.is_object() && v.as_object().contains("streams"));
  check(v.as_object().at("streams").as_array().size() == out.accepted.streams);
  auto again = e.enforce(out.body, lp::Format::kJson);
  check(again.ok() && !again->rejected && again->violations_total == 0);
  check(again->body == out.body);
  check(again->accepted.entries == out.accepted.entries);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const lp::Enforcer kEnforcers[4] = {make(false, false), make(true, false),
                                             make(false, true), make(true, true)};
  if (size == 0) {
    return 0;
  }
  const uint8_t flags = data[0];
  const std::string in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const bool json = (flags & 1) != 0;
  const bool gz = (flags & 2) != 0;
  const lp::Enforcer& e = kEnforcers[(flags >> 2) & 3];
  const lp::Format format = json ? lp::Format::kJson : lp::Format::kProtobuf;
  std::string body = in;
  if (!json && !gz) {
    snappy::Compress(in.data(), in.size(), &body);
  }
  auto out = e.enforce(body, format, gz ? lp::Encoding::kGzip : lp::Encoding::kIdentity);
  if (!out.ok()) {
    check(!out.status().message().empty());
    return 0;
  }
  if (out->rejected) {
    check(out->body.empty() && !out->violations.empty() && !out->status().ok());
    return 0;
  }
  check(out->status().ok());
  if (json) {
    check_json(e, *out);
  } else if (!gz) {
    check_protobuf(e, *out, in);
  }
  return 0;
}
