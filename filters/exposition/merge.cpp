// Merging: families are keyed by name; each output family remembers the sample names it owns
// so that a later node cannot introduce a family that would steal another's samples when the
// output is parsed again (the same ownership rule the parser enforces within one body).
#include "filters/exposition/merge.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

namespace obsgate::filters::exposition {

namespace {

std::string_view kind(MetricType t) { return type_name(t); }

// Comments are one line: replace anything that would end or confuse it.
std::string one_line(std::string_view s) {
  std::string out;
  for (const char c : s) {
    out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  }
  return out;
}

class Merger {
 public:
  Merged run(std::vector<NodeScrape> nodes) {
    add_synthetic(nodes);
    std::unordered_set<std::string> seen;
    for (NodeScrape& n : nodes) {
      if (!seen.insert(n.node).second) {
        out_.dropped.push_back({n.node, "", "node listed twice; the later entry is ignored"});
        continue;
      }
      if (!n.exposition) {
        continue;
      }
      for (Family& f : n.exposition->families) {
        add_family(n.node, std::move(f));
      }
    }
    return std::move(out_);
  }

 private:
  void add_synthetic(const std::vector<NodeScrape>& nodes) {
    Family up{std::string(kUpFamily), MetricType::kGauge,
              "1 if obsgate scraped the OpenBao node's metrics, 0 if the scrape failed.",
              {}};
    Family health{std::string(kHealthFamily), MetricType::kGauge,
                  "The OpenBao node's state as seen by obsgate (from /v1/sys/health); always 1.",
                  {}};
    std::unordered_set<std::string> seen;
    for (const NodeScrape& n : nodes) {
      if (!seen.insert(n.node).second) {
        continue;
      }
      up.samples.push_back(
          {up.name, {{std::string(kNodeLabel), n.node}}, n.exposition ? 1.0 : 0.0, {}});
      health.samples.push_back({health.name,
                                {{std::string(kNodeLabel), n.node},
                                 {std::string(kStateLabel), n.health_state}},
                                1.0,
                                {}});
    }
    for (Family* f : {&up, &health}) {
      const size_t i = create(std::move(*f));
      reserved_.insert(i);
    }
  }

  size_t create(Family f) {
    const size_t i = out_.exposition.families.size();
    for (std::string& n : owned_sample_names(f.name, f.type)) {
      owner_.emplace(std::move(n), i);
    }
    by_name_.emplace(f.name, i);
    out_.exposition.families.push_back(std::move(f));
    return i;
  }

  void drop(const std::string& node, const Family& f, std::string reason) {
    out_.dropped.push_back({node, f.name, std::move(reason)});
  }

  void add_family(const std::string& node, Family f) {
    if (f.samples.empty()) {
      return;
    }
    size_t target = 0;
    if (const auto it = by_name_.find(f.name); it != by_name_.end()) {
      target = it->second;
      const Family& t = out_.exposition.families[target];
      if (reserved_.count(target) != 0) {
        return drop(node, f, "the name is reserved for obsgate's own family");
      }
      if (t.type != f.type) {
        return drop(node, f,
                    "type " + std::string(kind(f.type)) + " conflicts with " +
                        std::string(kind(t.type)) + " from an earlier node");
      }
    } else {
      for (const std::string& n : owned_sample_names(f.name, f.type)) {
        if (const auto o = owner_.find(n); o != owner_.end()) {
          const Family& other = out_.exposition.families[o->second];
          return drop(node, f,
                      "sample name " + n + " belongs to " + std::string(kind(other.type)) + " " +
                          other.name + (reserved_.count(o->second) != 0 ? " (reserved)" : ""));
        }
      }
      Family fresh{f.name, f.type, f.help, {}};
      target = create(std::move(fresh));
    }
    std::vector<Sample>& dst = out_.exposition.families[target].samples;
    dst.reserve(dst.size() + f.samples.size());
    const size_t first = dst.size();
    bool renamed = false;
    for (Sample& s : f.samples) {
      renamed = renamed || std::any_of(s.labels.begin(), s.labels.end(), [](const Label& l) {
                  return l.name == kNodeLabel && !l.value.empty();
                });
      s.labels = with_node_label(std::move(s.labels), node);
      dst.push_back(std::move(s));
    }
    if (renamed) {
      dedupe(node, f.name, dst, first);
    }
  }

  // Renaming `node` can make two of one node's series equal ({node="x"} and
  // {exported_node="x"}); Prometheus would refuse the scrape. Keep the first, report the rest.
  void dedupe(const std::string& node, const std::string& family, std::vector<Sample>& dst,
              size_t first) {
    std::unordered_set<std::string> keys;
    size_t kept = first;
    size_t removed = 0;
    for (size_t i = first; i < dst.size(); ++i) {
      if (keys.insert(series_key(dst[i].name, dst[i].labels)).second) {
        if (kept != i) {
          dst[kept] = std::move(dst[i]);
        }
        ++kept;
      } else {
        ++removed;
      }
    }
    dst.resize(kept);
    if (removed > 0) {
      out_.dropped.push_back({node, family,
                              std::to_string(removed) +
                                  " series equal to another once node became exported_node"});
    }
  }

  Merged out_;
  std::unordered_map<std::string, size_t> by_name_;
  std::unordered_map<std::string, size_t> owner_;
  std::unordered_set<size_t> reserved_;
};

}  // namespace

std::vector<Label> with_node_label(std::vector<Label> labels, std::string_view node) {
  std::vector<Label> out;
  out.reserve(labels.size() + 1);
  out.push_back({std::string(kNodeLabel), std::string(node)});
  std::string exposed;
  bool has_exposed = false;
  for (Label& l : labels) {
    if (l.name == kNodeLabel) {
      has_exposed = !l.value.empty();
      exposed = std::move(l.value);
    } else {
      out.push_back(std::move(l));
    }
  }
  if (!has_exposed) {
    return out;
  }
  // Prometheus' resolveConflictingExposedLabels: prefix "exported_" until the name is free;
  // a label with an empty value counts as free and is overwritten.
  std::string name = "exported_" + std::string(kNodeLabel);
  while (true) {
    auto it = std::find_if(out.begin(), out.end(), [&](const Label& l) { return l.name == name; });
    if (it == out.end()) {
      out.push_back({name, std::move(exposed)});
      break;
    }
    if (it->value.empty()) {
      it->value = std::move(exposed);
      break;
    }
    name = "exported_" + name;
  }
  return out;
}

Merged merge_families(std::vector<NodeScrape> nodes) {
  Merger m;
  return m.run(std::move(nodes));
}

MergeResult merge(std::vector<NodeScrape> nodes, bool comments) {
  Merged m = merge_families(std::move(nodes));
  MergeResult r;
  if (comments) {
    for (const DroppedFamily& d : m.dropped) {
      r.body += "# obsgate: node \"" + one_line(d.node) + "\"";
      if (!d.family.empty()) {
        r.body += ": family " + d.family + " dropped";
      }
      r.body += ": " + one_line(d.reason) + "\n";
    }
  }
  r.body += print(m.exposition);
  r.dropped = std::move(m.dropped);
  return r;
}

}  // namespace obsgate::filters::exposition
