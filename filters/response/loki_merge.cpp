// Merging per-rule Loki log query responses into one, as Loki would have answered the union of
// the selectors: streams united by label set, entries deduplicated, one limit across streams.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "filters/response/json_span.h"
#include "filters/response/response.h"

namespace obsgate::filters::response {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): this module's internals

struct Entry {
  std::int64_t ts = 0;
  std::string_view line;  // decoded when the raw line had escapes (owned by Merge::decoded)
  std::string_view raw;   // the whole entry array, as sent
};

struct Stream {
  std::string key;          // canonical label set
  std::string_view labels;  // the first "stream" object seen, as sent
  std::vector<Entry> entries;
};

struct Merge {
  std::vector<Stream> streams;
  std::map<std::string, std::size_t, std::less<>> by_key;
  std::deque<std::string> decoded;  // stable storage for decoded lines
  std::vector<std::string_view> warnings;
  std::vector<std::string_view> stats;  // each body's "stats", when present
};

Status upstream_error(const std::vector<Member>& ms) {
  std::string message = "upstream query failed";
  if (const Member* e = find(ms, "error"); e != nullptr && kind_of(e->value) == Kind::kString) {
    if (auto text = decode_string(e->value); text.ok()) {
      message += ": " + *text;
    }
  }
  const Member* type = find(ms, "errorType");
  if (type != nullptr && type->value == "\"bad_data\"") {
    return Status::invalid_argument(std::move(message));
  }
  if (type != nullptr && type->value == "\"timeout\"") {
    return Status::deadline_exceeded(std::move(message));
  }
  return Status::unavailable(std::move(message));
}

Result<std::int64_t> parse_ts(std::string_view raw) {
  // "<nanoseconds since epoch>": digits only, as Loki prints them.
  const std::string_view inner = raw.substr(1, raw.size() - 2);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(inner.data(), inner.data() + inner.size(), v);
  if (inner.empty() || inner.front() == '-' || ec != std::errc() ||
      p != inner.data() + inner.size()) {
    return bad_upstream("log entry timestamp is not a decimal nanosecond count");
  }
  return v;
}

Status add_stream(std::string_view item, const Structure& st, Merge& m) {
  if (kind_of(item) != Kind::kObject) {
    return bad_upstream("stream is not an object");
  }
  auto ms = members(item, &st);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* labels_m = find(*ms, "stream");
  const Member* values = find(*ms, "values");
  if (labels_m == nullptr || values == nullptr || ms->size() != 2 ||
      kind_of(values->value) != Kind::kArray) {
    return bad_upstream("stream object must have exactly \"stream\" and \"values\"");
  }
  auto labels = read_labels(labels_m->value, "stream");
  if (!labels.ok()) {
    return labels.status();
  }
  std::string key = canonical_key(*labels);
  auto [it, inserted] = m.by_key.try_emplace(key, m.streams.size());
  if (inserted) {
    m.streams.push_back(Stream{std::move(key), labels_m->value, {}});
  }
  Stream& s = m.streams[it->second];
  auto entries = elements(values->value, &st);
  if (!entries.ok()) {
    return entries.status();
  }
  for (std::string_view e : *entries) {
    auto parts = kind_of(e) == Kind::kArray
                     ? elements(e)
                     : Result<std::vector<std::string_view>>(bad_upstream("log entry"));
    if (!parts.ok()) {
      return parts.status();
    }
    if (parts->size() < 2 || parts->size() > 3 || kind_of((*parts)[0]) != Kind::kString ||
        kind_of((*parts)[1]) != Kind::kString) {
      return bad_upstream("log entry is not [\"<ns>\", \"<line>\"(, {metadata})]");
    }
    auto ts = parse_ts((*parts)[0]);
    if (!ts.ok()) {
      return ts.status();
    }
    const std::string_view raw_line = (*parts)[1];
    std::string_view line = raw_line.substr(1, raw_line.size() - 2);
    if (line.find('\\') != std::string_view::npos) {
      auto text = decode_string(raw_line);
      if (!text.ok()) {
        return text.status();
      }
      line = m.decoded.emplace_back(std::move(*text));
    }
    s.entries.push_back(Entry{*ts, line, e});
  }
  return {};
}

Status add_body(std::string_view body, Merge& m) {
  if (Status s = validate_json(body); !s.ok()) {
    return s;
  }
  const Structure st = Structure::build(body);
  const std::string_view doc = trim(body);
  if (kind_of(doc) != Kind::kObject) {
    return bad_upstream("response is not a JSON object");
  }
  auto ms = members(doc, &st);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* status = find(*ms, "status");
  if (status == nullptr || status->value != "\"success\"") {
    return upstream_error(*ms);
  }
  if (const Member* w = find(*ms, "warnings"); w != nullptr && w->value != "null") {
    auto ws = kind_of(w->value) == Kind::kArray
                  ? elements(w->value)
                  : Result<std::vector<std::string_view>>(bad_upstream("warnings is not a list"));
    if (!ws.ok()) {
      return ws.status();
    }
    for (std::string_view one : *ws) {
      if (std::find(m.warnings.begin(), m.warnings.end(), one) == m.warnings.end()) {
        m.warnings.push_back(one);
      }
    }
  }
  const Member* data = find(*ms, "data");
  if (data == nullptr || kind_of(data->value) != Kind::kObject) {
    return bad_upstream("log query response has no data object");
  }
  auto dms = members(data->value, &st);
  if (!dms.ok()) {
    return dms.status();
  }
  const Member* type = find(*dms, "resultType");
  if (type == nullptr || type->value != "\"streams\"") {
    return bad_upstream("log query response is not of resultType \"streams\"");
  }
  if (const Member* stats = find(*dms, "stats"); stats != nullptr && stats->value != "null") {
    m.stats.push_back(stats->value);
  }
  const Member* result = find(*dms, "result");
  if (result == nullptr || result->value == "null") {
    return {};
  }
  if (kind_of(result->value) != Kind::kArray) {
    return bad_upstream("result is not a list of streams");
  }
  auto items = elements(result->value, &st);
  if (!items.ok()) {
    return items.status();
  }
  for (std::string_view item : *items) {
    if (Status s = add_stream(item, st, m); !s.ok()) {
      return s;
    }
  }
  return {};
}

// A JSON integer (no fraction, no exponent) that fits in int64.
bool as_int(std::string_view v, std::int64_t& out) {
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
  return ec == std::errc() && p == v.data() + v.size();
}

// Emits `first` with every integer leaf replaced by the sum of the integers at the same path
// in `others`; summary.totalEntriesReturned becomes `returned`.
Status merge_stats(std::string_view first, const std::vector<std::string_view>& others,
                   std::int64_t returned, std::string_view key, std::string& out) {
  std::int64_t sum = 0;
  if (key == "totalEntriesReturned" && as_int(first, sum)) {
    out += std::to_string(returned);
    return {};
  }
  if (as_int(first, sum)) {
    for (std::string_view o : others) {
      std::int64_t v = 0;
      if (as_int(o, v) && __builtin_add_overflow(sum, v, &sum)) {
        out += first;  // absurd figures: keep the first rather than wrap
        return {};
      }
    }
    out += std::to_string(sum);
    return {};
  }
  if (kind_of(first) != Kind::kObject) {
    out += first;
    return {};
  }
  auto ms = members(first);
  if (!ms.ok()) {
    return ms.status();
  }
  std::vector<std::vector<Member>> other_members;
  for (std::string_view o : others) {
    if (kind_of(o) == Kind::kObject) {
      auto oms = members(o);
      if (!oms.ok()) {
        return oms.status();
      }
      other_members.push_back(std::move(*oms));
    }
  }
  out += '{';
  for (std::size_t i = 0; i < ms->size(); ++i) {
    const Member& mem = (*ms)[i];
    std::vector<std::string_view> same_path;
    for (const auto& oms : other_members) {
      if (const Member* o = find(oms, mem.key); o != nullptr) {
        same_path.push_back(o->value);
      }
    }
    out += i == 0 ? "" : ",";
    out += mem.raw_key;
    out += ':';
    if (Status s = merge_stats(mem.value, same_path, returned, mem.key, out); !s.ok()) {
      return s;
    }
  }
  out += '}';
  return {};
}

}  // namespace

Result<std::string> merge_loki_streams(const std::vector<std::string_view>& bodies,
                                       std::size_t limit, Direction dir) {
  if (limit == 0) {
    return Status::invalid_argument("limit must be a positive number of entries");
  }
  Merge m;
  for (std::string_view body : bodies) {
    if (Status s = add_body(body, m); !s.ok()) {
      return s;
    }
  }
  const bool forward = dir == Direction::kForward;
  auto before = [forward](const Entry& a, const Entry& b) {
    if (a.ts != b.ts) {
      return forward ? a.ts < b.ts : a.ts > b.ts;
    }
    return a.line < b.line;
  };
  // Per stream: direction order, duplicates (same timestamp and line) dropped.
  struct Ref {
    const Entry* e;
    std::size_t stream;
  };
  std::vector<Ref> all;
  for (std::size_t i = 0; i < m.streams.size(); ++i) {
    auto& es = m.streams[i].entries;
    std::stable_sort(es.begin(), es.end(), before);
    es.erase(std::unique(
                 es.begin(), es.end(),
                 [](const Entry& a, const Entry& b) { return a.ts == b.ts && a.line == b.line; }),
             es.end());
    for (const Entry& e : es) {
      all.push_back(Ref{&e, i});
    }
  }
  // Across streams: the first `limit` entries in direction order (ties: stream label order).
  auto ref_before = [&](const Ref& a, const Ref& b) {
    if (before(*a.e, *b.e) || before(*b.e, *a.e)) {
      return before(*a.e, *b.e);
    }
    return m.streams[a.stream].key < m.streams[b.stream].key;
  };
  if (all.size() > limit) {
    std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(limit), all.end(),
                     ref_before);
    all.resize(limit);
  }
  std::vector<std::vector<const Entry*>> chosen(m.streams.size());
  std::sort(all.begin(), all.end(), ref_before);
  for (const Ref& r : all) {
    chosen[r.stream].push_back(r.e);
  }
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < m.streams.size(); ++i) {
    if (!chosen[i].empty()) {
      order.push_back(i);
    }
  }
  std::sort(order.begin(), order.end(),
            [&](std::size_t a, std::size_t b) { return m.streams[a].key < m.streams[b].key; });

  std::string out = "{\"status\":\"success\",\"data\":{\"resultType\":\"streams\",\"result\":[";
  for (std::size_t k = 0; k < order.size(); ++k) {
    out += k == 0 ? "{\"stream\":" : ",{\"stream\":";
    out += m.streams[order[k]].labels;
    out += ",\"values\":[";
    const auto& es = chosen[order[k]];
    for (std::size_t j = 0; j < es.size(); ++j) {
      out += j == 0 ? "" : ",";
      out += es[j]->raw;
    }
    out += "]}";
  }
  out += ']';
  if (!m.stats.empty()) {
    out += ",\"stats\":";
    const std::vector<std::string_view> others(m.stats.begin() + 1, m.stats.end());
    if (Status s =
            merge_stats(m.stats.front(), others, static_cast<std::int64_t>(all.size()), "", out);
        !s.ok()) {
      return s;
    }
  }
  out += '}';
  if (!m.warnings.empty()) {
    out += ",\"warnings\":[";
    for (std::size_t i = 0; i < m.warnings.size(); ++i) {
      out += i == 0 ? "" : ",";
      out += m.warnings[i];
    }
    out += ']';
  }
  out += '}';
  return out;
}

}  // namespace obsgate::filters::response
