// The protobuf walk: one pass over the PushRequest wire format. Each StreamAdapter is parsed
// just enough to read its labels and to check the structure of its entries; an accepted stream
// is written back as its re-rendered labels followed by its EntryAdapter fields, copied as
// received. The message is never materialised.
//
// logproto (grafana/loki pkg/push/push.proto):
//   PushRequest   { repeated StreamAdapter streams = 1; string format = 2 (Loki-internal); }
//   StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
//   EntryAdapter  { Timestamp timestamp = 1; string line = 2;
//                   repeated LabelPairAdapter structuredMetadata = 3;
//                   repeated LabelPairAdapter parsed = 4 (query responses only); }
//   LabelPairAdapter { string name = 1; string value = 2; }
//   Timestamp     { int64 seconds = 1; int32 nanos = 2; }
#include "filters/logql/logql.h"
#include "filters/loki_push/internal.h"
#include "filters/remote_write/wire.h"

namespace obsgate::filters::loki_push::detail {
namespace {

namespace wire = ::obsgate::filters::remote_write::wire;

// Timestamp range Go's ptypes / gogo stdtime accept: 0001-01-01 .. 9999-12-31.
constexpr int64_t kMinSeconds = -62'135'596'800;
constexpr int64_t kMaxSeconds = 253'402'300'799;

bool timestamp_ok(std::string_view bytes) {
  wire::Reader r(bytes);
  bool seen_s = false;
  bool seen_n = false;
  while (!r.done()) {
    uint32_t field = 0;
    uint32_t wt = 0;
    uint64_t v = 0;
    if (!r.read_tag(field, wt) || wt != wire::kVarint || !r.read_varint(v)) {
      return false;
    }
    bool& seen = field == 1 ? seen_s : seen_n;
    if ((field != 1 && field != 2) || seen) {
      return false;  // a repeated singular field is "last wins": refuse rather than guess
    }
    seen = true;
    const auto sv = static_cast<int64_t>(v);
    if (field == 1 && (sv < kMinSeconds || sv > kMaxSeconds)) {
      return false;
    }
    if (field == 2 && (sv < 0 || sv > 999'999'999)) {
      return false;
    }
  }
  return true;
}

// LabelPairAdapter: name (1) and value (2), each at most once.
bool pair_ok(std::string_view bytes, std::string_view& name) {
  wire::Reader r(bytes);
  bool seen_n = false;
  bool seen_v = false;
  name = {};
  while (!r.done()) {
    uint32_t field = 0;
    uint32_t wt = 0;
    std::string_view s;
    if (!r.read_tag(field, wt) || wt != wire::kLen || !r.read_len(s)) {
      return false;
    }
    bool& seen = field == 1 ? seen_n : seen_v;
    if ((field != 1 && field != 2) || seen) {
      return false;
    }
    seen = true;
    if (field == 1) {
      name = s;
    }
  }
  return true;
}

// Checks one EntryAdapter; feeds the checker and the counts.
const char* check_entry(std::string_view bytes, EntryChecker& chk, Counts& c,
                        std::vector<std::string_view>& names) {
  wire::Reader r(bytes);
  bool seen_ts = false;
  bool seen_line = false;
  size_t line_bytes = 0;
  names.clear();
  while (!r.done()) {
    uint32_t field = 0;
    uint32_t wt = 0;
    std::string_view s;
    if (!r.read_tag(field, wt) || wt != wire::kLen || !r.read_len(s)) {
      return "bad field in EntryAdapter";
    }
    switch (field) {
      case 1:
        if (seen_ts || !timestamp_ok(s)) {
          return "bad or repeated EntryAdapter timestamp";
        }
        seen_ts = true;
        break;
      case 2:
        if (seen_line) {
          return "repeated EntryAdapter line";
        }
        seen_line = true;
        line_bytes = s.size();
        break;
      case 3: {
        std::string_view name;
        if (!pair_ok(s, name)) {
          return "bad structured metadata pair";
        }
        names.push_back(name);
        break;
      }
      case 4: return "EntryAdapter.parsed is for query responses, not accepted on push";
      default: return "unknown field in EntryAdapter";
    }
  }
  chk.line(line_bytes);
  for (std::string_view n : names) {
    chk.metadata_name(n);
  }
  chk.metadata_count(names.size());
  ++c.entries;
  c.line_bytes += line_bytes;
  return nullptr;
}

Status malformed(size_t offset, std::string_view what) {
  return Status::invalid_argument("loki_push: malformed PushRequest at byte " +
                                  std::to_string(offset) + ": " + std::string(what));
}

}  // namespace

Result<Outcome> enforce_protobuf(const Enforcer::Impl& p, std::string_view in) {
  const Limits& lim = p.policy.limits;
  Outcome out;
  out.body.reserve(in.size() + in.size() / 16 + 64);
  Labels received;
  Labels fwd;
  EntryChecker chk(p);
  std::vector<std::string_view> entries;
  std::vector<std::string_view> names;
  std::string rendered;
  uint64_t streams = 0;
  uint64_t entries_total = 0;
  wire::Reader r(in);
  while (!r.done()) {
    const size_t begin = r.offset();
    uint32_t field = 0;
    uint32_t wt = 0;
    std::string_view sub;
    if (!r.read_tag(field, wt) || wt != wire::kLen || !r.read_len(sub)) {
      return malformed(begin, "bad field in PushRequest");
    }
    if (field != 1) {
      return malformed(begin, field == 2 ? "PushRequest.format is set by Loki, not by clients"
                                         : "unknown field in PushRequest");
    }
    // One StreamAdapter.
    std::string_view labels_text;
    bool seen_labels = false;
    entries.clear();
    chk.reset();
    Counts c{1, 0, 0};
    wire::Reader s(sub);
    while (!s.done()) {
      const size_t eb = s.offset();
      uint32_t f = 0;
      uint32_t w = 0;
      std::string_view v;
      uint64_t hash = 0;
      if (!s.read_tag(f, w)) {
        return malformed(begin, "bad field in StreamAdapter");
      }
      if (f == 3 && w == wire::kVarint && s.read_varint(hash)) {
        continue;  // the stream hash: stale once labels change, and Loki recomputes it
      }
      if (w != wire::kLen || (f != 1 && f != 2) || !s.read_len(v)) {
        return malformed(begin, "bad field in StreamAdapter");
      }
      if (f == 1) {
        if (seen_labels) {
          return malformed(begin, "repeated StreamAdapter labels");
        }
        seen_labels = true;
        labels_text = v;
        continue;
      }
      if (const char* bad = check_entry(v, chk, c, names); bad != nullptr) {
        return malformed(begin, bad);
      }
      entries.push_back(sub.substr(eb, s.offset() - eb));
    }
    ++streams;
    entries_total += c.entries;
    if (streams > lim.max_streams || entries_total > lim.max_entries) {
      return Status::resource_exhausted(
          "loki_push: request exceeds the limit of " + std::to_string(lim.max_streams) +
          " streams or " + std::to_string(lim.max_entries) + " entries");
    }
    std::string error;
    Verdict v;
    received.matchers.clear();
    const bool parsed = parse_label_string(labels_text, received, error);
    if (!parsed) {
      v = fail(Reason::kInvalidLabels, std::move(error));
    } else {
      v = judge_labels(p, received, fwd);
    }
    if (v.ok && !chk.issue().ok) {
      v = chk.issue();
    }
    const std::string_view raw_shown =
        parsed ? std::string_view() : (labels_text.empty() ? "{}" : labels_text);
    if (!record(p, out, v, c, received, raw_shown)) {
      return out;
    }
    if (!v.ok) {
      continue;
    }
    rendered.clear();
    logql::put_selector(rendered, fwd);
    size_t len = 1 + wire::varint_size(rendered.size()) + rendered.size();
    for (std::string_view e : entries) {
      len += e.size();
    }
    wire::put_varint(out.body, (uint64_t{1} << 3) | wire::kLen);
    wire::put_varint(out.body, len);
    wire::put_len_field(out.body, 1, rendered);
    for (std::string_view e : entries) {
      out.body.append(e);
    }
  }
  return out;
}

}  // namespace obsgate::filters::loki_push::detail
