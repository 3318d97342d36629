// Shared builders and checks for the Loki push tests. Protobuf bodies are built two ways: with
// the generated classes (filters/loki_push/proto/push.proto, wire-compatible with logproto) for
// well-formed requests, and with the raw wire helpers below for bytes libprotobuf will not
// produce (bad structure, repeated singular fields). Output is re-parsed with the generated
// classes, so tests compare messages and entry bytes, not whole bodies.
#pragma once

#include <snappy.h>
#include <zlib.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "filters/loki_push/loki_push.h"
#include "filters/loki_push/proto/push.pb.h"

namespace lptest {

namespace lp = obsgate::filters::loki_push;
namespace pb = obsgate::lokipb;
using Pairs = std::vector<std::pair<std::string, std::string>>;
using Mode = lp::PushPolicy::OnViolation;

// ---- protobuf --------------------------------------------------------------------------------

inline pb::EntryAdapter entry(const std::string& line, const Pairs& metadata = {},
                              int64_t seconds = 1'700'000'000, int32_t nanos = 123'456'789) {
  pb::EntryAdapter e;
  e.mutable_timestamp()->set_seconds(seconds);
  e.mutable_timestamp()->set_nanos(nanos);
  e.set_line(line);
  for (const auto& [n, v] : metadata) {
    auto* p = e.add_structuredmetadata();
    p->set_name(n);
    p->set_value(v);
  }
  return e;
}

inline pb::StreamAdapter stream(const std::string& labels,
                                const std::vector<pb::EntryAdapter>& entries) {
  pb::StreamAdapter s;
  s.set_labels(labels);
  for (const auto& e : entries) {
    *s.add_entries() = e;
  }
  return s;
}

inline pb::PushRequest request(const std::vector<pb::StreamAdapter>& streams) {
  pb::PushRequest r;
  for (const auto& s : streams) {
    *r.add_streams() = s;
  }
  return r;
}

inline std::string snappy_of(const std::string& raw) {
  std::string out;
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

inline std::string body(const pb::PushRequest& r) { return snappy_of(r.SerializeAsString()); }

inline pb::PushRequest parse_body(const std::string& b) {
  std::string raw;
  REQUIRE(snappy::Uncompress(b.data(), b.size(), &raw));
  pb::PushRequest r;
  REQUIRE(r.ParseFromString(raw));
  return r;
}

// Raw wire builders.
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
inline std::string varint_field(uint32_t field, uint64_t v) {
  std::string out;
  varint(out, uint64_t{field} << 3);
  varint(out, v);
  return out;
}

// ---- JSON ------------------------------------------------------------------------------------

inline std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

inline std::string json_object(const Pairs& pairs) {
  std::string out = "{";
  for (size_t i = 0; i < pairs.size(); ++i) {
    out += (i > 0 ? "," : "") + json_quote(pairs[i].first) + ":" + json_quote(pairs[i].second);
  }
  return out + "}";
}

struct JsonEntry {
  JsonEntry(std::string t, std::string l, std::optional<Pairs> md = std::nullopt)
      : ts(std::move(t)), line(std::move(l)), metadata(std::move(md)) {}
  std::string ts;  // unix nanoseconds, as a decimal string
  std::string line;
  std::optional<Pairs> metadata;
};

inline std::string json_values(const std::vector<JsonEntry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    const JsonEntry& e = entries[i];
    out += (i > 0 ? "," : "") + ("[" + json_quote(e.ts) + "," + json_quote(e.line));
    if (e.metadata) {
      out += "," + json_object(*e.metadata);
    }
    out += "]";
  }
  return out + "]";
}

inline std::string json_stream(const Pairs& labels, const std::vector<JsonEntry>& entries) {
  return "{\"stream\":" + json_object(labels) + ",\"values\":" + json_values(entries) + "}";
}

inline std::string json_body(const std::vector<std::string>& streams) {
  std::string out = "{\"streams\":[";
  for (size_t i = 0; i < streams.size(); ++i) {
    out += (i > 0 ? "," : "") + streams[i];
  }
  return out + "]}";
}

// ---- gzip ------------------------------------------------------------------------------------

inline std::string gzip(const std::string& in) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&z, in.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&z, Z_FINISH) == Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

// ---- policies --------------------------------------------------------------------------------

inline lp::PushPolicy tenant_policy(Mode mode = Mode::kReject) {
  lp::PushPolicy p;
  p.tenant_label = "tenant";
  p.tenant_value = "team-a";
  p.write_scope.unrestricted = true;
  p.on_violation = mode;
  return p;
}

inline lp::Enforcer make_enforcer(lp::PushPolicy p) {
  auto e = lp::Enforcer::create(std::move(p));
  REQUIRE(e.ok());
  return std::move(e).value();
}

// Composable checks on an enforce() result.
inline bool has_code(const obsgate::Status& s, obsgate::Code c) { return s.code() == c; }
inline bool mentions(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace lptest
