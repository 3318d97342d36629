// /api/v1/rules and /api/v1/alerts: scope filtering of rules and alerts (prom-label-proxy's
// filterRules / filterAlerts, generalised from one tenant label to a Scope), hidden labels
// removed from what remains.
#include <string>
#include <vector>

#include "filters/response/json_span.h"
#include "filters/response/response.h"

namespace obsgate::filters::response {
namespace {

using namespace detail;  // NOLINT(google-build-using-namespace): this module's internals

// Labels of an object's optional "labels" member (absent or null: no labels).
Result<Labels> labels_of(const std::vector<Member>& ms, std::string_view what) {
  const Member* m = find(ms, "labels");
  if (m == nullptr || m->value == "null") {
    return Labels{};
  }
  return read_labels(m->value, what);
}

// The non-empty values of the hidden labels an alert carries. Its annotations and its other
// labels are rendered from templates over $labels, so any of them may hold such a value.
std::vector<std::string_view> hidden_values(const Labels& labels, const Hidden& hidden) {
  std::vector<std::string_view> out;
  for (const Label& l : labels) {
    if (!l.value.empty() && hidden.contains(l.name)) {
      out.push_back(l.value);
    }
  }
  return out;
}

bool contains_any(std::string_view text, const std::vector<std::string_view>& values) {
  for (std::string_view v : values) {
    if (text.find(v) != std::string_view::npos) {
      return true;
    }
  }
  return false;
}

bool named_by_scope(const Scope& scope, std::string_view name) {
  for (const Rule& rule : scope.rules) {
    for (const Matcher& m : rule) {
      if (m.name == name) {
        return true;
      }
    }
  }
  return false;
}

// The label object without hidden labels and without labels whose value contains one of
// `values` (a rule label templated from a hidden one: `src: "{{ $labels.client_ip }}"`).
// Labels the scope's rules name are kept: they decided the alert's visibility, and removing
// them would make the output fall out of scope when filtered again.
std::string labels_without(const Labels& labels, const Scope& scope, const Hidden& hidden,
                           const std::vector<std::string_view>& values) {
  std::string json = "{";
  for (const Label& l : labels) {
    if (hidden.contains(l.name) ||
        (contains_any(l.value, values) && !named_by_scope(scope, l.name))) {
      continue;
    }
    json += json.size() == 1 ? "" : ",";
    json += l.raw_name;
    json += ':';
    json += l.raw_value;
  }
  json += '}';
  return json;
}

// Rewrites one alert; sets `keep` to whether it is in scope. An alert that carries a hidden
// label loses that label, every other label whose value contains the hidden value, and all of
// its annotations (see response.h: rendered templates can transform a value beyond recognition).
Status rewrite_alert(std::string_view alert, const Scope& scope, const Hidden& hidden, bool& keep,
                     std::string& out) {
  if (kind_of(alert) != Kind::kObject) {
    return bad_upstream("alert is not an object");
  }
  auto ms = members(alert);
  if (!ms.ok()) {
    return ms.status();
  }
  auto labels = labels_of(*ms, "alert labels");
  if (!labels.ok()) {
    return labels.status();
  }
  keep = matches(scope, to_map(*labels));
  if (!keep) {
    return {};
  }
  const std::vector<std::string_view> values = hidden_values(*labels, hidden);
  Patch p;
  for (const Member& m : *ms) {
    if (m.value == "null") {
      continue;
    }
    if (m.key == "labels") {
      if (values.empty()) {
        replace_labels(p, m.value, *labels, hidden);
      } else {
        p.replace(m.value, labels_without(*labels, scope, hidden, values));
      }
    } else if (m.key == "annotations" && !values.empty()) {
      if (kind_of(m.value) != Kind::kObject) {
        return bad_upstream("alert annotations is not an object");
      }
      p.replace(m.value, "{}");
    }
  }
  p.apply(alert, out);
  return {};
}

// A list of alerts, filtered: appends the JSON array of those in scope.
Status rewrite_alert_list(std::string_view list, const Scope& scope, const Hidden& hidden,
                          std::string& out) {
  if (kind_of(list) != Kind::kArray) {
    return bad_upstream("alerts is not a list");
  }
  auto items = elements(list);
  if (!items.ok()) {
    return items.status();
  }
  std::vector<std::string> kept;
  for (std::string_view a : *items) {
    bool keep = false;
    std::string one;
    if (Status s = rewrite_alert(a, scope, hidden, keep, one); !s.ok()) {
      return s;
    }
    if (keep) {
      kept.push_back(std::move(one));
    }
  }
  append_array(kept, out);
  return {};
}

Status rewrite_rule(std::string_view rule, const Scope& scope, const Hidden& hidden, bool& keep,
                    std::string& out) {
  if (kind_of(rule) != Kind::kObject) {
    return bad_upstream("rule is not an object");
  }
  auto ms = members(rule);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* type = find(*ms, "type");
  const bool alerting = type != nullptr && type->value == "\"alerting\"";
  if (!alerting && (type == nullptr || type->value != "\"recording\"")) {
    return bad_upstream("rule type is neither \"alerting\" nor \"recording\"");
  }
  auto labels = labels_of(*ms, "rule labels");
  if (!labels.ok()) {
    return labels.status();
  }
  keep = matches(scope, to_map(*labels));
  if (!keep) {
    return {};
  }
  Patch p;
  for (const Member& m : *ms) {
    if (m.key == "labels" && m.value != "null") {
      replace_labels(p, m.value, *labels, hidden);
    } else if (m.key == "lastError" && !hidden.empty() && kind_of(m.value) == Kind::kString) {
      // Evaluation errors quote label sets ("vector contains metrics with the same labelset").
      auto text = decode_string(m.value);
      if (!text.ok()) {
        return text.status();
      }
      if (mentions_hidden(*text, hidden)) {
        p.replace(m.value, "\"rule error withheld: it mentions a hidden label\"");
      }
    } else if (m.key == "alerts" && m.value != "null") {
      if (!alerting) {
        return bad_upstream("recording rule with alerts");
      }
      std::string alerts;
      if (Status s = rewrite_alert_list(m.value, scope, hidden, alerts); !s.ok()) {
        return s;
      }
      p.replace(m.value, std::move(alerts));
    }
  }
  p.apply(rule, out);
  return {};
}

Status rewrite_group(std::string_view group, const Scope& scope, const Hidden& hidden, bool& keep,
                     std::string& out) {
  if (kind_of(group) != Kind::kObject) {
    return bad_upstream("rule group is not an object");
  }
  auto ms = members(group);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* rules = find(*ms, "rules");
  keep = false;
  if (rules == nullptr || rules->value == "null") {
    return {};
  }
  if (kind_of(rules->value) != Kind::kArray) {
    return bad_upstream("rules is not a list");
  }
  auto items = elements(rules->value);
  if (!items.ok()) {
    return items.status();
  }
  std::vector<std::string> kept;
  for (std::string_view r : *items) {
    bool keep_rule = false;
    std::string one;
    if (Status s = rewrite_rule(r, scope, hidden, keep_rule, one); !s.ok()) {
      return s;
    }
    if (keep_rule) {
      kept.push_back(std::move(one));
    }
  }
  keep = !kept.empty();
  if (!keep) {
    return {};
  }
  std::string list;
  append_array(kept, list);
  Patch p;
  p.replace(rules->value, std::move(list));
  p.apply(group, out);
  return {};
}

// Splices the rewritten value of data[key] (a list) into data.
template <typename F>
Status rewrite_data_member(std::string_view data, std::string_view key, std::string& out,
                           F&& rewrite_list) {
  if (kind_of(data) != Kind::kObject) {
    return bad_upstream("data is not an object");
  }
  auto ms = members(data);
  if (!ms.ok()) {
    return ms.status();
  }
  const Member* list = find(*ms, key);
  if (list == nullptr || list->value == "null") {
    out += data;
    return {};
  }
  std::string replacement;
  if (Status s = rewrite_list(list->value, replacement); !s.ok()) {
    return s;
  }
  Patch p;
  p.replace(list->value, std::move(replacement));
  p.apply(data, out);
  return {};
}

}  // namespace

Result<std::string> filter_rules(std::string_view body, const Scope& scope,
                                 const std::vector<std::string>& hidden) {
  const Hidden h(hidden);
  return rewrite_envelope(
      body, &h, [&](std::string_view data, const Structure* /*st*/, std::string& out) {
        return rewrite_data_member(data, "groups", out, [&](std::string_view list, std::string& o) {
          if (kind_of(list) != Kind::kArray) {
            return bad_upstream("groups is not a list");
          }
          auto groups = elements(list);
          if (!groups.ok()) {
            return groups.status();
          }
          std::vector<std::string> kept;
          for (std::string_view g : *groups) {
            bool keep = false;
            std::string one;
            if (Status s = rewrite_group(g, scope, h, keep, one); !s.ok()) {
              return s;
            }
            if (keep) {
              kept.push_back(std::move(one));
            }
          }
          append_array(kept, o);
          return Status();
        });
      });
}

Result<std::string> filter_alerts(std::string_view body, const Scope& scope,
                                  const std::vector<std::string>& hidden) {
  const Hidden h(hidden);
  return rewrite_envelope(
      body, &h, [&](std::string_view data, const Structure* /*st*/, std::string& out) {
        return rewrite_data_member(data, "alerts", out, [&](std::string_view list, std::string& o) {
          return rewrite_alert_list(list, scope, h, o);
        });
      });
}

}  // namespace obsgate::filters::response
