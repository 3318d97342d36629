// Label sets, hidden-label stripping, duplicate detection and span patching: the vocabulary the
// Prometheus, Loki and rules filters share.
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "filters/response/json_span.h"

namespace obsgate::filters::response::detail {

Hidden::Hidden(const std::vector<std::string>& names) : names_(names) {
  std::sort(names_.begin(), names_.end());
  names_.erase(std::unique(names_.begin(), names_.end()), names_.end());
}

bool Hidden::contains(std::string_view name) const {
  return std::binary_search(names_.begin(), names_.end(), name);
}

Result<Labels> read_labels(std::string_view object, std::string_view what) {
  if (kind_of(object) != Kind::kObject) {
    return bad_upstream(std::string(what) + " is not an object");
  }
  auto ms = members(object);
  if (!ms.ok()) {
    return ms.status();
  }
  Labels out;
  out.reserve(ms->size());
  for (Member& m : *ms) {
    if (kind_of(m.value) != Kind::kString) {
      return bad_upstream(std::string(what) + " has a non-string value for \"" + m.key + "\"");
    }
    auto v = decode_string(m.value);
    if (!v.ok()) {
      return v.status();
    }
    out.push_back(Label{std::move(m.key), std::move(*v), m.raw_key, m.value});
  }
  return out;
}

LabelMap to_map(const Labels& labels) {
  LabelMap m;
  for (const Label& l : labels) {
    m.emplace(l.name, l.value);
  }
  return m;
}

namespace {

std::string key_of(std::vector<const Label*>& labels) {
  std::sort(labels.begin(), labels.end(),
            [](const Label* a, const Label* b) { return a->name < b->name; });
  std::size_t size = 0;
  for (const Label* l : labels) {
    size += l->name.size() + l->value.size() + 2;
  }
  std::string key;
  key.reserve(size);
  for (const Label* l : labels) {
    key += l->name;
    key += '\xff';
    key += l->value;
    key += '\xff';
  }
  return key;
}

}  // namespace

std::string canonical_key(const Labels& labels) {
  std::vector<const Label*> all;
  all.reserve(labels.size());
  for (const Label& l : labels) {
    all.push_back(&l);
  }
  return key_of(all);
}

Stripped strip(const Labels& labels, const Hidden& hidden, bool emit_json) {
  Stripped s;
  std::vector<const Label*> kept;
  kept.reserve(labels.size());
  for (const Label& l : labels) {
    if (hidden.contains(l.name)) {
      s.removed.push_back(l.name);
    } else {
      kept.push_back(&l);
    }
  }
  // Callers copy an untouched label object as sent: JSON only when something was removed.
  if (emit_json && !s.removed.empty()) {
    s.json += '{';
    for (std::size_t i = 0; i < kept.size(); ++i) {
      s.json += i == 0 ? "" : ",";
      s.json += kept[i]->raw_name;
      s.json += ':';
      s.json += kept[i]->raw_value;
    }
    s.json += '}';
  }
  s.key = key_of(kept);
  return s;
}

Status SeriesKeys::add(const Stripped& s) {
  auto [it, inserted] = seen_.try_emplace(s.key, s.removed);
  if (inserted) {
    return {};
  }
  std::vector<std::string> names = it->second;
  names.insert(names.end(), s.removed.begin(), s.removed.end());
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty()) {
    return {};
  }
  std::string quoted;
  std::string bare;
  for (const std::string& n : names) {
    quoted += (quoted.empty() ? "\"" : ", \"") + n + "\"";
    bare += (bare.empty() ? "" : ", ") + n;
  }
  std::string msg = names.size() == 1 ? "hidden label " + quoted + " distinguishes"
                                      : "hidden labels " + quoted + " distinguish";
  msg += " series that would otherwise be identical; ";
  if (hint_ == Hint::kLogStreams) {
    msg += "drop " + std::string(names.size() == 1 ? "it" : "them") +
           " from the query (e.g. | drop " + bare + ")";
  } else {
    msg += "aggregate " + std::string(names.size() == 1 ? "it" : "them") +
           " away (e.g. sum without (" + bare + ") (...))";
  }
  return Status::invalid_argument(std::move(msg));
}

void Patch::replace(std::string_view part, std::string replacement) {
  edits_.emplace_back(part, std::move(replacement));
}

void Patch::apply(std::string_view whole, std::string& out) const {
  const char* cursor = whole.data();
  for (const auto& [part, replacement] : edits_) {
    out.append(cursor, static_cast<std::size_t>(part.data() - cursor));
    out += replacement;
    cursor = part.data() + part.size();
  }
  out.append(cursor, static_cast<std::size_t>(whole.data() + whole.size() - cursor));
}

void replace_labels(Patch& p, std::string_view span, const Labels& labels, const Hidden& hidden) {
  Stripped s = strip(labels, hidden);
  if (!s.removed.empty()) {
    p.replace(span, std::move(s.json));
  }
}

void append_array(const std::vector<std::string>& items, std::string& out) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) {
      out += ',';
    }
    out += items[i];
  }
  out += ']';
}

}  // namespace obsgate::filters::response::detail
