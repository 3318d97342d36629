// Envelope and list rewriters shared by the Prometheus and Loki filters.
#include <set>
#include <string>
#include <vector>

#include "filters/response/json_span.h"

namespace obsgate::filters::response::detail {

Result<std::string> rewrite_envelope_impl(std::string_view body,
                                          Status (*fn)(void*, std::string_view, std::string&),
                                          void* ctx) {
  if (Status s = validate_json(body); !s.ok()) {
    return s;
  }
  const std::string_view doc = trim(body);
  if (kind_of(doc) != Kind::kObject) {
    return bad_upstream("response is not a JSON object");
  }
  auto ms = members(doc);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* status = find(*ms, "status");
  if (status == nullptr || (status->value != "\"success\"" && status->value != "\"error\"")) {
    return bad_upstream("response has no status \"success\" or \"error\"");
  }
  const Member* data = find(*ms, "data");
  if (data == nullptr || data->value == "null") {
    return std::string(body);
  }
  std::string replacement;
  replacement.reserve(data->value.size());
  if (Status s = fn(ctx, data->value, replacement); !s.ok()) {
    return s;
  }
  std::string out;
  out.reserve(body.size());
  Patch p;
  p.replace(data->value, std::move(replacement));
  p.apply(body, out);
  return out;
}

Status rewrite_label_set_list(std::string_view data, const Hidden& hidden, std::string& out) {
  if (kind_of(data) != Kind::kArray) {
    return bad_upstream("data is not a list of label sets");
  }
  auto items = elements(data);
  if (!items.ok()) {
    return items.status();
  }
  std::vector<std::string> kept;
  bool changed = false;
  std::set<std::string, std::less<>> seen;
  for (std::string_view item : *items) {
    auto labels = read_labels(item, "label set");
    if (!labels.ok()) {
      return labels.status();
    }
    Stripped s = strip(*labels, hidden);
    // A set: series that only differed by hidden labels collapse into one (the first).
    if (!seen.insert(s.key).second) {
      changed = true;
      continue;
    }
    if (s.removed.empty()) {
      kept.emplace_back(item);  // untouched: as sent
    } else {
      changed = true;
      kept.push_back(std::move(s.json));
    }
  }
  if (changed) {
    append_array(kept, out);
  } else {
    out += data;
  }
  return {};
}

Status rewrite_name_list(std::string_view data, const Hidden& hidden, std::string& out) {
  if (kind_of(data) != Kind::kArray) {
    return bad_upstream("data is not a list of names");
  }
  auto items = elements(data);
  if (!items.ok()) {
    return items.status();
  }
  std::vector<std::string> kept;
  for (std::string_view item : *items) {
    if (kind_of(item) != Kind::kString) {
      return bad_upstream("data has a non-string name");
    }
    auto name = decode_string(item);
    if (!name.ok()) {
      return name.status();
    }
    if (!hidden.contains(*name)) {
      kept.emplace_back(item);
    }
  }
  if (kept.size() == items->size()) {
    out += data;
  } else {
    append_array(kept, out);
  }
  return {};
}

Status check_string_list(std::string_view data, std::string& out) {
  if (kind_of(data) != Kind::kArray) {
    return bad_upstream("data is not a list of strings");
  }
  auto items = elements(data);
  if (!items.ok()) {
    return items.status();
  }
  for (std::string_view item : *items) {
    if (kind_of(item) != Kind::kString) {
      return bad_upstream("data has a non-string value");
    }
  }
  out += data;
  return {};
}

}  // namespace obsgate::filters::response::detail
