// Envelope and list rewriters shared by the Prometheus and Loki filters.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "filters/response/json_span.h"

namespace obsgate::filters::response::detail {

namespace {

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

}  // namespace

// Prometheus error messages quote label sets ({client_ip="10.0.0.1", ...}) for e.g.
// many-to-many matching failures.
bool mentions_hidden(std::string_view text, const Hidden& hidden) {
  for (const std::string& name : hidden.names()) {
    for (std::size_t at = text.find(name); at != std::string_view::npos;
         at = text.find(name, at + 1)) {
      const std::size_t end = at + name.size();
      if ((at == 0 || !is_name_char(text[at - 1])) &&
          (end == text.size() || !is_name_char(text[end]))) {
        return true;
      }
    }
  }
  return false;
}

Result<std::string> rewrite_envelope_impl(std::string_view body, const Hidden* hidden, RewriteFn fn,
                                          void* ctx) {
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
  if (status == nullptr || (status->value != "\"success\"" && status->value != "\"error\"")) {
    return bad_upstream("response has no status \"success\" or \"error\"");
  }
  std::vector<std::pair<std::string_view, std::string>> edits;
  const Member* error = find(*ms, "error");
  if (hidden != nullptr && error != nullptr && kind_of(error->value) == Kind::kString) {
    auto text = decode_string(error->value);
    if (!text.ok()) {
      return text.status();
    }
    if (mentions_hidden(*text, *hidden)) {
      edits.emplace_back(error->value, "\"upstream error withheld: it mentions a hidden label\"");
    }
  }
  const Member* data = find(*ms, "data");
  if (data != nullptr && data->value != "null") {
    std::string replacement;
    replacement.reserve(data->value.size());
    if (Status s = fn(ctx, data->value, &st, replacement); !s.ok()) {
      return s;
    }
    edits.emplace_back(data->value, std::move(replacement));
  }
  if (edits.empty()) {
    return std::string(body);
  }
  std::sort(edits.begin(), edits.end(),
            [](const auto& a, const auto& b) { return a.first.data() < b.first.data(); });
  Patch p;
  for (auto& [part, replacement] : edits) {
    p.replace(part, std::move(replacement));
  }
  std::string out;
  out.reserve(body.size());
  p.apply(body, out);
  return out;
}

Status rewrite_label_set_list(std::string_view data, const Structure* st, const Hidden& hidden,
                              std::string& out) {
  if (kind_of(data) != Kind::kArray) {
    return bad_upstream("data is not a list of label sets");
  }
  auto items = elements(data, st);
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

Status rewrite_name_list(std::string_view data, const Structure* st, const Hidden& hidden,
                         std::string& out) {
  if (kind_of(data) != Kind::kArray) {
    return bad_upstream("data is not a list of names");
  }
  auto items = elements(data, st);
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

Status check_string_list(std::string_view data, const Structure* st, std::string& out) {
  if (kind_of(data) != Kind::kArray) {
    return bad_upstream("data is not a list of strings");
  }
  auto items = elements(data, st);
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
