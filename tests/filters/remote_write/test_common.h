// Shared builders and checks for the remote-write tests: requests are built with the generated
// libprotobuf classes (filters/remote_write/proto) and the enforcer's output is re-parsed with
// them, so the tests compare messages, not bytes.
#pragma once

#include <google/protobuf/util/message_differencer.h>
#include <snappy.h>

#include <catch2/catch.hpp>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "filters/remote_write/proto/remote.pb.h"
#include "filters/remote_write/remote_write.h"

namespace rwtest {

namespace rw = obsgate::filters::remote_write;
namespace pb = obsgate::prompb;
using Labels = std::vector<std::pair<std::string, std::string>>;

inline pb::TimeSeries series(const Labels& labels, int samples = 1) {
  pb::TimeSeries ts;
  for (const auto& [n, v] : labels) {
    auto* l = ts.add_labels();
    l->set_name(n);
    l->set_value(v);
  }
  for (int i = 0; i < samples; ++i) {
    auto* s = ts.add_samples();
    s->set_value(0.5 * i);
    s->set_timestamp(1'700'000'000'000 + i * 15'000);
  }
  return ts;
}

inline pb::WriteRequest request(const std::vector<pb::TimeSeries>& ts) {
  pb::WriteRequest req;
  for (const auto& t : ts) {
    *req.add_timeseries() = t;
  }
  return req;
}

inline std::string compress(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

inline std::string body(const pb::WriteRequest& req) { return compress(req.SerializeAsString()); }

// Decompresses and parses an enforcer output body.
inline pb::WriteRequest parse_body(const std::string& body) {
  std::string raw;
  REQUIRE(snappy::Uncompress(body.data(), body.size(), &raw));
  pb::WriteRequest req;
  REQUIRE(req.ParseFromString(raw));
  return req;
}

// The series with (name, value) inserted at its sorted position, as the enforcer stamps it.
inline pb::TimeSeries stamped(pb::TimeSeries ts, const std::string& name,
                              const std::string& value) {
  pb::TimeSeries out = ts;
  out.clear_labels();
  bool done = false;
  for (const auto& l : ts.labels()) {
    if (!done && name < l.name()) {
      auto* n = out.add_labels();
      n->set_name(name);
      n->set_value(value);
      done = true;
    }
    *out.add_labels() = l;
  }
  if (!done) {
    auto* n = out.add_labels();
    n->set_name(name);
    n->set_value(value);
  }
  return out;
}

inline std::string diff(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  std::string report;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&report);
  return d.Compare(a, b) ? std::string() : report;
}

inline rw::Enforcer make_enforcer(rw::WritePolicy p) {
  auto e = rw::Enforcer::create(std::move(p));
  REQUIRE(e.ok());
  return std::move(e).value();
}

inline rw::WritePolicy tenant_policy(rw::WritePolicy::OnViolation mode) {
  rw::WritePolicy p;
  p.tenant_label = "tenant";
  p.tenant_value = "team-a";
  p.on_violation = mode;
  return p;
}

// --- raw wire builders, for bytes libprotobuf will not produce (bad UTF-8, bad structure) ---
inline void varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}
inline std::string len_field(uint32_t field, const std::string& bytes) {
  std::string out;
  varint(out, (uint64_t{field} << 3) | 2);
  varint(out, bytes.size());
  return out + bytes;
}
inline std::string raw_label(const std::string& n, const std::string& v) {
  return len_field(1, len_field(1, n) + len_field(2, v));
}

}  // namespace rwtest
