// Prometheus API responses: query/query_range, exemplars, series, labels, label values and
// metadata. Only label objects are re-emitted; everything else is copied from the input.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "filters/response/json_span.h"
#include "filters/response/response.h"

namespace obsgate::filters::response {
namespace detail {

Status rewrite_series_list(std::string_view result, const Structure* st, const Hidden& hidden,
                           std::string& out) {
  if (kind_of(result) != Kind::kArray) {
    return bad_upstream("result is not a list of series");
  }
  auto items = elements(result, st);
  if (!items.ok()) {
    return items.status();
  }
  SeriesKeys keys(SeriesKeys::Hint::kPromQL);
  bool changed = false;
  std::vector<std::string> series;
  series.reserve(items->size());
  for (std::string_view item : *items) {
    if (kind_of(item) != Kind::kObject) {
      return bad_upstream("series is not an object");
    }
    auto ms = members(item, st);
    if (!ms.ok()) {
      return ms.status();
    }
    const Member* metric = nullptr;
    for (const Member& m : *ms) {
      if (m.key == "metric") {
        metric = &m;
      } else if (m.key != "value" && m.key != "values" && m.key != "histogram" &&
                 m.key != "histograms") {
        // Fail closed: an unknown field could carry labels we would not strip.
        return bad_upstream("series has unknown field \"" + m.key + "\"");
      }
    }
    if (metric == nullptr) {
      return bad_upstream("series has no \"metric\"");
    }
    auto labels = read_labels(metric->value, "metric");
    if (!labels.ok()) {
      return labels.status();
    }
    Stripped s = strip(*labels, hidden);
    if (Status dup = keys.add(s); !dup.ok()) {
      return dup;
    }
    if (s.removed.empty()) {
      series.emplace_back(item);
      continue;
    }
    changed = true;
    std::string one;
    one.reserve(item.size());
    Patch p;
    p.replace(metric->value, std::move(s.json));
    p.apply(item, one);
    series.push_back(std::move(one));
  }
  if (changed) {
    append_array(series, out);
  } else {
    out += result;  // nothing hidden: exactly as sent
  }
  return {};
}

Status copy_array(std::string_view result, const Structure* /*st*/, const Hidden& /*hidden*/,
                  std::string& out) {
  if (kind_of(result) != Kind::kArray) {
    return bad_upstream("scalar or string result is not a [time, value] pair");
  }
  out += result;
  return {};
}

Status rewrite_query_data(std::string_view data, const Structure* st, const Hidden& hidden,
                          const std::vector<ResultRewrite>& known, std::string& out) {
  if (kind_of(data) != Kind::kObject) {
    return bad_upstream("data is not an object");
  }
  auto ms = members(data, st);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* type = find(*ms, "resultType");
  const Member* result = find(*ms, "result");
  if (type == nullptr || kind_of(type->value) != Kind::kString) {
    return bad_upstream("data has no resultType");
  }
  auto type_name = decode_string(type->value);
  if (!type_name.ok()) {
    return type_name.status();
  }
  const ResultRewrite* rw = nullptr;
  for (const ResultRewrite& k : known) {
    if (k.result_type == *type_name) {
      rw = &k;
    }
  }
  if (rw == nullptr) {
    return bad_upstream("unknown resultType \"" + *type_name + "\"");
  }
  if (result == nullptr || result->value == "null") {
    out += data;
    return {};
  }
  std::string replacement;
  replacement.reserve(result->value.size());
  if (Status s = rw->rewrite(result->value, st, hidden, replacement); !s.ok()) {
    return s;
  }
  Patch p;
  p.replace(result->value, std::move(replacement));
  p.apply(data, out);
  return {};
}

namespace {

// One exemplar: {"labels": {...}, "value": "...", "timestamp": ...}.
Status rewrite_exemplar(std::string_view item, const Hidden& hidden, std::string& out) {
  if (kind_of(item) != Kind::kObject) {
    return bad_upstream("exemplar is not an object");
  }
  auto ms = members(item);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* labels_m = nullptr;
  for (const Member& m : *ms) {
    if (m.key == "labels") {
      labels_m = &m;
    } else if (m.key != "value" && m.key != "timestamp") {
      return bad_upstream("exemplar has unknown field \"" + m.key + "\"");
    }
  }
  if (labels_m == nullptr) {
    out += item;
    return {};
  }
  auto labels = read_labels(labels_m->value, "exemplar labels");
  if (!labels.ok()) {
    return labels.status();
  }
  Patch p;
  replace_labels(p, labels_m->value, *labels, hidden);
  p.apply(item, out);
  return {};
}

// data: [{"seriesLabels": {...}, "exemplars": [...]}, ...]. Groups whose series labels become
// identical are merged (exemplars concatenated): exemplars cannot be aggregated by the user.
Status rewrite_exemplars(std::string_view data, const Structure* st, const Hidden& hidden,
                         std::string& out) {
  if (kind_of(data) != Kind::kArray) {
    return bad_upstream("exemplar data is not a list");
  }
  auto groups = elements(data, st);
  if (!groups.ok()) {
    return groups.status();
  }
  struct Group {
    std::string series_labels;
    std::vector<std::string> exemplars;
  };
  std::vector<Group> merged;
  std::map<std::string, std::size_t, std::less<>> index;
  for (std::string_view g : *groups) {
    if (kind_of(g) != Kind::kObject) {
      return bad_upstream("exemplar group is not an object");
    }
    auto ms = members(g);
    if (!ms.ok()) {
      return ms.status();
    }
    const Member* series = nullptr;
    const Member* exemplars = nullptr;
    for (const Member& m : *ms) {
      if (m.key == "seriesLabels") {
        series = &m;
      } else if (m.key == "exemplars") {
        exemplars = &m;
      } else {
        return bad_upstream("exemplar group has unknown field \"" + m.key + "\"");
      }
    }
    if (series == nullptr || exemplars == nullptr || kind_of(exemplars->value) != Kind::kArray) {
      return bad_upstream("exemplar group needs seriesLabels and a list of exemplars");
    }
    auto labels = read_labels(series->value, "seriesLabels");
    if (!labels.ok()) {
      return labels.status();
    }
    Stripped s = strip(*labels, hidden);
    auto [it, inserted] = index.try_emplace(s.key, merged.size());
    if (inserted) {
      merged.push_back(
          Group{s.removed.empty() ? std::string(series->value) : std::move(s.json), {}});
    }
    auto items = elements(exemplars->value);
    if (!items.ok()) {
      return items.status();
    }
    for (std::string_view e : *items) {
      std::string one;
      if (Status e_st = rewrite_exemplar(e, hidden, one); !e_st.ok()) {
        return e_st;
      }
      merged[it->second].exemplars.push_back(std::move(one));
    }
  }
  std::vector<std::string> rendered;
  rendered.reserve(merged.size());
  for (Group& g : merged) {
    std::string one = "{\"seriesLabels\":" + g.series_labels + ",\"exemplars\":";
    append_array(g.exemplars, one);
    one += '}';
    rendered.push_back(std::move(one));
  }
  append_array(rendered, out);
  return {};
}

Status rewrite_prometheus_query(std::string_view data, const Structure* st, const Hidden& hidden,
                                std::string& out) {
  const std::vector<ResultRewrite> known = {{"vector", &rewrite_series_list},
                                            {"matrix", &rewrite_series_list},
                                            {"scalar", &copy_array},
                                            {"string", &copy_array}};
  return rewrite_query_data(data, st, hidden, known, out);
}

}  // namespace
}  // namespace detail

Result<std::string> strip_hidden_labels_prometheus(std::string_view body, Endpoint kind,
                                                   const std::vector<std::string>& hidden) {
  using namespace detail;  // NOLINT(google-build-using-namespace): this module's internals
  const Hidden h(hidden);
  switch (kind) {
    case Endpoint::kQuery:
    case Endpoint::kQueryRange:
      return rewrite_envelope(body, &h,
                              [&](std::string_view data, const Structure* st, std::string& out) {
                                return rewrite_prometheus_query(data, st, h, out);
                              });
    case Endpoint::kQueryExemplars:
      return rewrite_envelope(body, &h,
                              [&](std::string_view data, const Structure* st, std::string& out) {
                                return rewrite_exemplars(data, st, h, out);
                              });
    case Endpoint::kSeries:
      return rewrite_envelope(body, &h,
                              [&](std::string_view data, const Structure* st, std::string& out) {
                                return rewrite_label_set_list(data, st, h, out);
                              });
    case Endpoint::kLabels:
      return rewrite_envelope(body, &h,
                              [&](std::string_view data, const Structure* st, std::string& out) {
                                return rewrite_name_list(data, st, h, out);
                              });
    case Endpoint::kLabelValues:
      return rewrite_envelope(body, &h,
                              [](std::string_view data, const Structure* st, std::string& out) {
                                return check_string_list(data, st, out);
                              });
  }
  return Status::internal("unknown Prometheus endpoint");
}

namespace {

// Metadata is keyed by the family name (`# TYPE http_request_duration_seconds histogram`), the
// series by the sample names. Which sample-name suffixes a family of each type has (text format
// 0.0.4 and OpenMetrics); `unknown` and gauges have none: their samples carry the family name.
std::vector<std::string_view> sample_suffixes(std::string_view type) {
  if (type == "counter") {
    return {"_total", "_created"};
  }
  if (type == "histogram") {
    return {"_bucket", "_count", "_sum", "_created"};
  }
  if (type == "summary") {
    return {"_count", "_sum", "_created"};
  }
  if (type == "gaugehistogram") {
    return {"_bucket", "_gcount", "_gsum"};
  }
  if (type == "info") {
    return {"_info"};
  }
  return {};
}

// One metadata entry ({"type","help","unit"}) of a name that is not itself a visible series name
// is visible when a sample name its type gives the family is. The type matters: tenant A's
// counter `http_requests_total` must not reveal tenant B's gauge named `http_requests`.
Result<bool> entry_visible(const std::string& name, std::string_view entry,
                           const std::set<std::string>& visible) {
  using namespace detail;  // NOLINT(google-build-using-namespace): this module's internals
  if (kind_of(entry) != Kind::kObject) {
    return bad_upstream("metadata of \"" + name + "\" has an entry that is not an object");
  }
  auto ms = members(entry);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* type = find(*ms, "type");
  if (type == nullptr || kind_of(type->value) != Kind::kString) {
    return false;
  }
  auto t = decode_string(type->value);
  if (!t.ok()) {
    return t.status();
  }
  std::string sample = name;
  for (std::string_view suffix : sample_suffixes(*t)) {
    sample.resize(name.size());
    sample += suffix;
    if (visible.count(sample) != 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<std::string> filter_metadata(std::string_view body,
                                    const std::set<std::string>& visible_metric_names,
                                    std::size_t limit) {
  using namespace detail;  // NOLINT(google-build-using-namespace): this module's internals
  return rewrite_envelope(
      body, nullptr, [&](std::string_view data, const Structure* st, std::string& out) -> Status {
        if (kind_of(data) != Kind::kObject) {
          return bad_upstream("metadata is not an object");
        }
        auto ms = members(data, st);
        if (!ms.ok()) {
          return ms.status();
        }
        out += '{';
        bool first = true;
        std::size_t kept = 0;
        for (const Member& m : *ms) {
          if (kind_of(m.value) != Kind::kArray) {
            return bad_upstream("metadata of \"" + m.key + "\" is not a list");
          }
          if (limit != 0 && kept == limit) {
            continue;
          }
          if (visible_metric_names.count(m.key) != 0) {  // a series name: every entry
            ++kept;
            if (!first) {
              out += ',';
            }
            first = false;
            out += m.raw_key;
            out += ':';
            out += m.value;
            continue;
          }
          auto entries = elements(m.value);
          if (!entries.ok()) {
            return entries.status();
          }
          std::vector<std::string_view> shown;
          for (std::string_view e : *entries) {
            auto v = entry_visible(m.key, e, visible_metric_names);
            if (!v.ok()) {
              return v.status();
            }
            if (*v) {
              shown.push_back(e);
            }
          }
          if (shown.empty()) {
            continue;
          }
          ++kept;
          if (!first) {
            out += ',';
          }
          first = false;
          out += m.raw_key;
          out += ":[";
          for (std::size_t i = 0; i < shown.size(); ++i) {
            if (i != 0) {
              out += ',';
            }
            out += shown[i];
          }
          out += ']';
        }
        out += '}';
        return {};
      });
}

}  // namespace obsgate::filters::response
