// The enforcement walk: one pass over the WriteRequest wire format. Each TimeSeries is parsed
// just enough to read its labels and to check the structure of everything else; an accepted
// series is copied with at most one Label field inserted, a refused one is skipped.
#include <snappy.h>

#include <algorithm>

#include "filters/remote_write/compiled_policy.h"
#include "filters/remote_write/payload.h"
#include "filters/remote_write/wire.h"

namespace obsgate::filters::remote_write {
namespace {

constexpr std::string_view kMetricName = "__name__";

Status malformed(size_t offset, const std::string& what) {
  return Status::invalid_argument("remote_write: malformed WriteRequest at byte " +
                                  std::to_string(offset) + ": " + what);
}

// What one TimeSeries holds, filled by parse_series.
struct Series {
  std::vector<LabelRef> labels;
  Counts counts;  // series = 1
  const char* bad = nullptr;  // first non-structural problem in labels or exemplars
};

enum class Parse { kOk, kMalformed };

// Reads one Label message: name (1) and value (2), each at most once, nothing else.
Parse parse_label(std::string_view bytes, LabelRef& out) {
  wire::Reader r(bytes);
  bool seen_name = false;
  bool seen_value = false;
  while (!r.done()) {
    uint32_t field = 0;
    uint32_t wt = 0;
    if (!r.read_tag(field, wt) || wt != wire::kLen) {
      return Parse::kMalformed;
    }
    // A repeated singular field means "last wins" to libprotobuf: refuse it rather than risk
    // checking one value and forwarding another.
    bool& seen = (field == 1) ? seen_name : seen_value;
    if ((field != 1 && field != 2) || seen) {
      return Parse::kMalformed;
    }
    seen = true;
    if (!r.read_len(field == 1 ? out.name : out.value)) {
      return Parse::kMalformed;
    }
  }
  return Parse::kOk;
}

// The encoding every sender uses: name (tag 0x0a), then value (tag 0x12), lengths < 128.
inline bool parse_label_fast(std::string_view b, LabelRef& out) {
  const auto* p = reinterpret_cast<const uint8_t*>(b.data());
  const size_t size = b.size();
  if (size < 4 || p[0] != 0x0a || p[1] >= 0x80) {
    return false;
  }
  const size_t n = p[1];
  if (n + 4 > size || p[n + 2] != 0x12 || p[n + 3] >= 0x80 || n + 4 + p[n + 3] != size) {
    return false;
  }
  out.name = b.substr(2, n);
  out.value = b.substr(n + 4);
  return true;
}

Parse parse_series(std::string_view bytes, Series& s, std::string& error) {
  s.labels.clear();
  s.counts = Counts{1, 0, 0, 0};
  s.bad = nullptr;
  wire::Reader r(bytes);
  while (!r.done()) {
    const auto begin = static_cast<uint32_t>(r.offset());
    uint32_t field = 0;
    uint32_t wt = 0;
    std::string_view sub;
    if (!r.read_tag(field, wt) || wt != wire::kLen || field < 1 || field > 4 ||
        !r.read_len(sub)) {
      error = "bad field in TimeSeries";
      return Parse::kMalformed;
    }
    payload::Check c = payload::Check::kOk;
    switch (field) {
      case 1: {
        LabelRef& l = s.labels.emplace_back();
        if (!parse_label_fast(sub, l) && parse_label(sub, l) != Parse::kOk) {
          error = "bad Label";
          return Parse::kMalformed;
        }
        l.begin = begin;
        l.end = static_cast<uint32_t>(r.offset());
        // An all-ASCII Label message (tags, short lengths, text) holds valid UTF-8 strings.
        if (s.bad == nullptr && !wire::is_ascii(sub) &&
            (!wire::valid_utf8(l.name) || !wire::valid_utf8(l.value))) {
          s.bad = "label is not valid UTF-8";
        }
        break;
      }
      case 2:
        c = payload::sample_fast(sub) ? payload::Check::kOk : payload::sample(sub);
        ++s.counts.samples;
        break;
      case 3:
        c = payload::exemplar(sub);
        ++s.counts.exemplars;
        break;
      default:
        c = payload::histogram(sub);
        ++s.counts.histograms;
        break;
    }
    if (c == payload::Check::kMalformed) {
      error = field == 2 ? "bad Sample" : field == 3 ? "bad Exemplar" : "bad Histogram";
      return Parse::kMalformed;
    }
    if (c == payload::Check::kBadUtf8 && s.bad == nullptr) {
      s.bad = "exemplar label is not valid UTF-8";
    }
  }
  return Parse::kOk;
}

// Byte-wise three-way compare, as std::string_view::compare.
inline int compare(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {  // label names are short: a byte loop beats a memcmp call
    if (a[i] != b[i]) {
      return static_cast<uint8_t>(a[i]) < static_cast<uint8_t>(b[i]) ? -1 : 1;
    }
  }
  return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

std::string quoted(std::string_view s) {
  std::string out = "\"";
  out.append(s.substr(0, 256));
  out += '"';
  return out;
}

struct Verdict {
  bool ok = true;
  Reason reason = Reason::kInvalidLabels;
  std::string detail;
  bool stamp = false;
  uint32_t insert_at = 0;  // byte offset in the TimeSeries where the tenant Label goes
};

Verdict fail(Reason r, std::string detail) {
  return Verdict{false, r, std::move(detail), false, 0};
}

bool label_allowed(const SchemaContract& sc, const std::vector<std::string>& entry,
                   std::string_view name, std::string_view tenant_label) {
  if (name == kMetricName || name == tenant_label || name == "le" || name == "quantile") {
    return true;
  }
  return std::binary_search(entry.begin(), entry.end(), name) ||
         std::binary_search(sc.always_allowed.begin(), sc.always_allowed.end(), name);
}

Verdict judge(const Enforcer::Impl& p, const Series& s) {
  const WritePolicy& pol = p.policy;
  const Limits& lim = pol.limits;
  if (s.bad != nullptr) {
    return fail(Reason::kInvalidLabels, s.bad);
  }
  const std::vector<LabelRef>& ls = s.labels;
  Verdict v;
  std::string_view metric;
  const LabelRef* tenant = nullptr;
  bool insert_found = false;
  v.insert_at = ls.empty() ? 0 : ls.back().end;
  const LabelRef* forbidden = nullptr;
  for (size_t i = 0; i < ls.size(); ++i) {
    const LabelRef& l = ls[i];
    if (l.name.empty()) {
      return fail(Reason::kInvalidLabels, "empty label name");
    }
    if (i > 0 && compare(ls[i - 1].name, l.name) >= 0) {
      return fail(Reason::kInvalidLabels,
                  ls[i - 1].name == l.name ? "duplicate label name " + quoted(l.name)
                                           : "labels not sorted by name: " + quoted(l.name) +
                                                 " after " + quoted(ls[i - 1].name));
    }
    if (l.name.size() > lim.max_label_name_bytes) {
      return fail(Reason::kLimit, "label name longer than " +
                                      std::to_string(lim.max_label_name_bytes) + " bytes");
    }
    if (l.value.size() > lim.max_label_value_bytes) {
      return fail(Reason::kLimit, "value of label " + quoted(l.name) + " longer than " +
                                      std::to_string(lim.max_label_value_bytes) + " bytes");
    }
    if (l.name.size() == kMetricName.size() && l.name[0] == '_' && l.name == kMetricName) {
      metric = l.value;
    }
    if (!insert_found && !pol.tenant_label.empty()) {
      const int c = compare(pol.tenant_label, l.name);
      if (c == 0) {
        tenant = &l;
      } else if (c < 0) {
        insert_found = true;  // labels are sorted: no later label can be the tenant label
        v.insert_at = l.begin;
      }
    }
    if (forbidden == nullptr && p.maybe_forbidden(l.name)) {
      for (const std::string& f : p.forbidden) {
        if (compare(f, l.name) == 0) {
          forbidden = &l;
          break;
        }
      }
    }
  }
  v.stamp = !pol.tenant_label.empty() && tenant == nullptr;
  if (ls.size() + (v.stamp ? 1 : 0) > lim.max_labels_per_series) {
    return fail(Reason::kLimit, "more than " + std::to_string(lim.max_labels_per_series) +
                                    " labels");
  }
  if (metric.empty()) {
    return fail(Reason::kMissingName, "no __name__ label");
  }
  if (tenant != nullptr && tenant->value != pol.tenant_value) {
    return fail(Reason::kTenantMismatch, "label " + quoted(pol.tenant_label) + " must be " +
                                             quoted(pol.tenant_value));
  }
  if (forbidden != nullptr) {
    return fail(Reason::kForbiddenLabel, "label " + quoted(forbidden->name) + " is forbidden");
  }
  if (pol.schema) {
    const std::vector<std::string>* entry = pol.schema->resolve(metric);
    if (entry == nullptr) {
      return fail(Reason::kSchema, "metric " + quoted(metric) + " is not in the schema contract");
    }
    for (const LabelRef& l : ls) {
      if (!label_allowed(*pol.schema, *entry, l.name, pol.tenant_label)) {
        return fail(Reason::kSchema, "label " + quoted(l.name) + " is not allowed on metric " +
                                         quoted(metric) + " by the schema contract");
      }
    }
  }
  if (!p.in_scope(ls)) {
    return fail(Reason::kOutOfScope, "matches no write_scope rule: " + p.scope_text);
  }
  return v;
}

void add(Counts& into, const Counts& c) {
  into.series += c.series;
  into.samples += c.samples;
  into.histograms += c.histograms;
  into.exemplars += c.exemplars;
}

}  // namespace

Result<Enforcer> Enforcer::create(WritePolicy policy) {
  auto impl = compile_policy(std::move(policy));
  if (!impl.ok()) {
    return impl.status();
  }
  return Enforcer(std::move(impl).value());
}

const WritePolicy& Enforcer::policy() const { return impl_->policy; }

Result<Outcome> Enforcer::enforce_uncompressed(std::string_view in) const {
  const Impl& p = *impl_;
  const Limits& lim = p.policy.limits;
  if (in.size() > lim.max_uncompressed_bytes) {
    return Status::resource_exhausted("remote_write: uncompressed body of " +
                                      std::to_string(in.size()) + " bytes exceeds the limit of " +
                                      std::to_string(lim.max_uncompressed_bytes));
  }
  Outcome out;
  out.body.reserve(in.size() + in.size() / 8 + 64);
  Series s;
  s.labels.reserve(32);
  std::string error;
  uint64_t series_seen = 0;
  uint64_t samples_seen = 0;
  wire::Reader r(in);
  while (!r.done()) {
    const size_t begin = r.offset();
    uint32_t field = 0;
    uint32_t wt = 0;
    std::string_view sub;
    if (!r.read_tag(field, wt) || wt != wire::kLen || (field != 1 && field != 3) ||
        !r.read_len(sub)) {
      return malformed(begin, "expected field 1 (timeseries) or 3 (metadata)");
    }
    const std::string_view raw = in.substr(begin, r.offset() - begin);
    if (field == 3) {
      std::string_view family;
      if (payload::metadata(sub, &family) != payload::Check::kOk) {
        return malformed(begin, "bad MetricMetadata");
      }
      if (p.policy.drop_metadata_outside_schema && p.policy.schema &&
          p.policy.schema->resolve(family) == nullptr) {
        ++out.metadata_dropped;
        out.modified = true;
      } else {
        ++out.metadata_forwarded;
        out.body.append(raw);
      }
      continue;
    }
    if (parse_series(sub, s, error) != Parse::kOk) {
      return malformed(begin, error);
    }
    series_seen += 1;
    samples_seen += s.counts.samples + s.counts.histograms;
    if (series_seen > lim.max_series || samples_seen > lim.max_samples) {
      return Status::resource_exhausted(
          "remote_write: request exceeds the limit of " + std::to_string(lim.max_series) +
          " series or " + std::to_string(lim.max_samples) + " samples");
    }
    Verdict v = judge(p, s);
    if (!v.ok) {
      out.modified = true;
      ++out.violations_total;
      add(out.dropped[static_cast<size_t>(v.reason)], s.counts);
      if (out.violations.size() < lim.max_violations) {
        out.violations.push_back({v.reason, render_series(s.labels), std::move(v.detail)});
      }
      if (p.policy.on_violation == WritePolicy::OnViolation::kReject) {
        out.rejected = true;
        out.body.clear();
        return out;
      }
      continue;
    }
    add(out.accepted, s.counts);
    if (!v.stamp) {
      out.body.append(raw);
      continue;
    }
    out.modified = true;
    wire::put_varint(out.body, (uint64_t{1} << 3) | wire::kLen);
    wire::put_varint(out.body, sub.size() + p.stamp.size());
    out.body.append(sub.substr(0, v.insert_at));
    out.body.append(p.stamp);
    out.body.append(sub.substr(v.insert_at));
  }
  return out;  // unmodified: body holds every input field as received, i.e. the input
}

Result<Outcome> Enforcer::enforce(std::string_view body) const {
  const Limits& lim = impl_->policy.limits;
  if (body.size() > lim.max_compressed_bytes) {
    return Status::resource_exhausted("remote_write: compressed body of " +
                                      std::to_string(body.size()) + " bytes exceeds the limit of " +
                                      std::to_string(lim.max_compressed_bytes));
  }
  // The snappy header claims the uncompressed length: check it before allocating or inflating,
  // so that a tiny body cannot make us allocate a gigabyte.
  size_t claimed = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &claimed)) {
    return Status::invalid_argument("remote_write: body is not snappy block format");
  }
  if (claimed > lim.max_uncompressed_bytes) {
    return Status::resource_exhausted("remote_write: uncompressed body of " +
                                      std::to_string(claimed) + " bytes exceeds the limit of " +
                                      std::to_string(lim.max_uncompressed_bytes));
  }
  std::string raw;
  if (!snappy::Uncompress(body.data(), body.size(), &raw)) {
    return Status::invalid_argument("remote_write: corrupt snappy body");
  }
  auto res = enforce_uncompressed(raw);
  if (!res.ok() || res->rejected) {
    return res;
  }
  Outcome& out = res.value();
  if (out.modified) {
    std::string compressed;
    snappy::Compress(out.body.data(), out.body.size(), &compressed);
    out.body = std::move(compressed);
  } else {
    out.body.assign(body);  // nothing changed: forward the sender's bytes
  }
  return res;
}

}  // namespace obsgate::filters::remote_write
