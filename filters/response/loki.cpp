// Loki API responses: query/query_range (streams, vector, matrix, scalar), series, labels and
// label values.
#include <string>
#include <vector>

#include "filters/response/json_span.h"
#include "filters/response/response.h"

namespace obsgate::filters::response {
namespace detail {
namespace {

// The third element of an entry under categorize-labels encoding:
// {"structuredMetadata": {...}, "parsed": {...}}; both are label sets.
Status rewrite_entry_metadata(std::string_view meta, const Hidden& hidden, std::string& out) {
  if (kind_of(meta) != Kind::kObject) {
    return bad_upstream("log entry metadata is not an object");
  }
  auto ms = members(meta);
  if (!ms.ok()) {
    return ms.status();
  }
  Patch p;
  for (const Member& m : *ms) {
    if (m.key != "structuredMetadata" && m.key != "parsed") {
      return bad_upstream("log entry metadata has unknown field \"" + m.key + "\"");
    }
    auto labels = read_labels(m.value, m.key);
    if (!labels.ok()) {
      return labels.status();
    }
    replace_labels(p, m.value, *labels, hidden);
  }
  p.apply(meta, out);
  return {};
}

// values: [["<ns>", "<line>"] or ["<ns>", "<line>", {metadata}], ...]. Copied as sent unless an
// entry carries metadata.
Status rewrite_entries(std::string_view values, const Structure* st, const Hidden& hidden,
                       bool& changed, std::string& out) {
  if (kind_of(values) != Kind::kArray) {
    return bad_upstream("stream values is not a list");
  }
  auto entries = elements(values, st);
  if (!entries.ok()) {
    return entries.status();
  }
  std::vector<std::string> rewritten;
  changed = false;
  for (std::string_view e : *entries) {
    if (kind_of(e) != Kind::kArray) {
      return bad_upstream("log entry is not a list");
    }
    auto parts = elements(e);
    if (!parts.ok()) {
      return parts.status();
    }
    if (parts->size() < 2 || parts->size() > 3 || kind_of((*parts)[0]) != Kind::kString ||
        kind_of((*parts)[1]) != Kind::kString) {
      return bad_upstream("log entry is not [\"<ns>\", \"<line>\"(, {metadata})]");
    }
    if (parts->size() == 2) {
      rewritten.emplace_back(e);
      continue;
    }
    std::string one;
    Patch p;
    std::string meta;
    if (Status s = rewrite_entry_metadata((*parts)[2], hidden, meta); !s.ok()) {
      return s;
    }
    p.replace((*parts)[2], std::move(meta));
    p.apply(e, one);
    rewritten.push_back(std::move(one));
    changed = true;
  }
  if (!changed) {
    out += values;
  } else {
    append_array(rewritten, out);
  }
  return {};
}

Status rewrite_streams(std::string_view result, const Structure* st, const Hidden& hidden,
                       std::string& out) {
  if (kind_of(result) != Kind::kArray) {
    return bad_upstream("result is not a list of streams");
  }
  auto items = elements(result, st);
  if (!items.ok()) {
    return items.status();
  }
  SeriesKeys keys(SeriesKeys::Hint::kLogStreams);
  bool changed = false;
  std::vector<std::string> streams;
  streams.reserve(items->size());
  for (std::string_view item : *items) {
    if (kind_of(item) != Kind::kObject) {
      return bad_upstream("stream is not an object");
    }
    auto ms = members(item, st);
    if (!ms.ok()) {
      return ms.status();
    }
    const Member* stream = find(*ms, "stream");
    const Member* values = find(*ms, "values");
    if (stream == nullptr || values == nullptr || ms->size() != 2) {
      return bad_upstream("stream object must have exactly \"stream\" and \"values\"");
    }
    auto labels = read_labels(stream->value, "stream");
    if (!labels.ok()) {
      return labels.status();
    }
    Stripped s = strip(*labels, hidden);
    if (Status dup = keys.add(s); !dup.ok()) {
      return dup;
    }
    std::string entries;
    bool entries_changed = false;
    if (Status e = rewrite_entries(values->value, st, hidden, entries_changed, entries); !e.ok()) {
      return e;
    }
    if (s.removed.empty() && !entries_changed) {
      streams.emplace_back(item);
      continue;
    }
    changed = true;
    std::string one;
    one.reserve(item.size());
    // Stream labels as sent when nothing was hidden in them.
    std::string labels_json = s.removed.empty() ? std::string(stream->value) : std::move(s.json);
    Patch p;
    // Members come in input order; replace in that order.
    if (stream->value.data() < values->value.data()) {
      p.replace(stream->value, std::move(labels_json));
      p.replace(values->value, std::move(entries));
    } else {
      p.replace(values->value, std::move(entries));
      p.replace(stream->value, std::move(labels_json));
    }
    p.apply(item, one);
    streams.push_back(std::move(one));
  }
  if (changed) {
    append_array(streams, out);
  } else {
    out += result;  // nothing hidden: exactly as sent
  }
  return {};
}

Status rewrite_loki_query(std::string_view data, const Structure* st, const Hidden& hidden,
                          std::string& out) {
  const std::vector<ResultRewrite> known = {{"streams", &rewrite_streams},
                                            {"vector", &rewrite_series_list},
                                            {"matrix", &rewrite_series_list},
                                            {"scalar", &copy_array}};
  return rewrite_query_data(data, st, hidden, known, out);
}

}  // namespace
}  // namespace detail

Result<std::string> strip_hidden_labels_loki(std::string_view body, LokiEndpoint kind,
                                             const std::vector<std::string>& hidden) {
  using namespace detail;  // NOLINT(google-build-using-namespace): this module's internals
  const Hidden h(hidden);
  switch (kind) {
    case LokiEndpoint::kQuery:
    case LokiEndpoint::kQueryRange:
      return rewrite_envelope(body, &h,
                              [&](std::string_view data, const Structure* st, std::string& out) {
                                return rewrite_loki_query(data, st, h, out);
                              });
    case LokiEndpoint::kSeries:
      return rewrite_envelope(body, &h,
                              [&](std::string_view data, const Structure* st, std::string& out) {
                                return rewrite_label_set_list(data, st, h, out);
                              });
    case LokiEndpoint::kLabels:
      return rewrite_envelope(body, &h,
                              [&](std::string_view data, const Structure* st, std::string& out) {
                                return rewrite_name_list(data, st, h, out);
                              });
    case LokiEndpoint::kLabelValues:
      return rewrite_envelope(body, &h,
                              [](std::string_view data, const Structure* st, std::string& out) {
                                return check_string_list(data, st, out);
                              });
  }
  return Status::internal("unknown Loki endpoint");
}

}  // namespace obsgate::filters::response
