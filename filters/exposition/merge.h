// Merging several OpenBao nodes' expositions into one, for the fan-out route (issue 7).
//
// The result is one valid text-format exposition in which:
//   - every sample carries node="<name>". A sample that already has a non-empty `node` label
//     keeps it as `exported_node` (then `exported_exported_node`, ...), as Prometheus does
//     with honor_labels: false; an empty `node` label is simply replaced;
//   - each family appears once, with one HELP (the first node's) and one TYPE, and all its
//     samples together: node by node, in the order the nodes are given, each node's samples in
//     their original order. Families come in the order they are first seen;
//   - two synthetic gauge families come first, one sample per node, down nodes included:
//       openbao_node_up{node}                  1 if the node's metrics were scraped, else 0
//       openbao_node_health_state{node,state}  always 1; `state` is the node's health state
//   - a node's family is dropped (and reported in `dropped`) when it cannot join the output
//     without making it invalid or ambiguous: its TYPE differs from the type the family got
//     from an earlier node; it claims a sample name another family owns (histogram `x` and
//     gauge `x_sum`); or it uses a synthetic family's name. The first node wins. In the text
//     format each dropped family is also named in a `# obsgate: ...` comment at the top;
//   - a node given twice: the later entry is ignored and reported.
// Families without samples are left out. Only the text format 0.0.4 is produced: Prometheus
// accepts it whatever it asked for in Accept.
//
// Thread-safety: pure functions over values.
//
// Example:
//   std::vector<NodeScrape> nodes;
//   nodes.push_back({"bao-0", std::move(parsed_0), "active"});
//   nodes.push_back({"bao-1", std::nullopt, "unreachable"});  // scrape failed
//   MergeResult r = merge(std::move(nodes));
//   reply(200, kTextContentType, r.body);
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/exposition/exposition.h"

namespace obsgate::filters::exposition {

inline constexpr std::string_view kNodeLabel = "node";
inline constexpr std::string_view kStateLabel = "state";
inline constexpr std::string_view kUpFamily = "openbao_node_up";
inline constexpr std::string_view kHealthFamily = "openbao_node_health_state";

struct NodeScrape {
  std::string node;                       // the configured node name
  std::optional<Exposition> exposition;   // nullopt: the node is down (scrape failed)
  std::string health_state;               // e.g. "active", "standby", "sealed", "unreachable"
};

struct DroppedFamily {
  std::string node;
  std::string family;  // empty when the whole node was ignored (duplicate name)
  std::string reason;
};

struct Merged {
  Exposition exposition;  // synthetic families first
  std::vector<DroppedFamily> dropped;
};

struct MergeResult {
  std::string body;  // text format 0.0.4
  std::vector<DroppedFamily> dropped;
};

// The merged families (for tests and for callers that print themselves).
Merged merge_families(std::vector<NodeScrape> nodes);

// merge_families, printed, with one comment line per dropped family when `comments`.
MergeResult merge(std::vector<NodeScrape> nodes, bool comments = true);

// A sample's labels with node="<node>" first and any exposed `node` label renamed.
std::vector<Label> with_node_label(std::vector<Label> labels, std::string_view node);

}  // namespace obsgate::filters::exposition
