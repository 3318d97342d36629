// Fuzz target: the strict text-format parser, the printer and the node merger.
//
// Input: the body of one node's /v1/sys/metrics answer. Invariants on every accepted body:
//   - print(parse(x)) parses again, to the same samples (compared in printed form, so NaN
//     compares equal to itself), and printing is idempotent;
//   - merging it as one node, and as two nodes (one of them twice plus a down node), gives a
//     body that parses again, in which every sample carries a node label, and which holds
//     each input sample once per node plus the synthetic families.
// Refused bodies must carry a message. New inputs found by fuzzing go to corpus/ (they replay
// under CTest as fuzz_replay:exposition).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "filters/exposition/merge.h"

namespace ex = obsgate::filters::exposition;

namespace {

void check_at(bool cond, int line) {
  if (!cond) {
    std::fprintf(stderr, "exposition fuzz: invariant at fuzz.cpp:%d failed\n", line);
    std::abort();
  }
}
#define check(cond) check_at((cond), __LINE__)

size_t count_samples(const ex::Exposition& e) {
  size_t n = 0;
  for (const auto& f : e.families) {
    n += f.samples.size();
  }
  return n;
}

bool every_sample_has_node(const ex::Exposition& e) {
  for (const auto& f : e.families) {
    for (const auto& s : f.samples) {
      if (s.labels.empty() || s.labels[0].name != ex::kNodeLabel) {
        return false;
      }
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  ex::Limits limits;
  limits.max_bytes = 1 << 20;
  limits.max_samples = 10000;
  auto parsed = ex::parse(body, limits);
  if (!parsed.ok()) {
    check(!parsed.status().message().empty());
    return 0;
  }
  const std::string printed = ex::print(*parsed);
  auto again = ex::parse(printed, limits);
  if (!again.ok()) {
    std::fprintf(stderr, "%s\n", again.status().message().c_str());
  }
  check(again.ok());
  check(ex::print(*again) == printed);
  const size_t samples = count_samples(*parsed);
  check(count_samples(*again) == samples);

  // One node.
  {
    std::vector<ex::NodeScrape> nodes;
    nodes.push_back({"n0", *parsed, "active"});
    const ex::MergeResult m = ex::merge(std::move(nodes));
    auto merged = ex::parse(m.body, ex::Limits{});
    if (!merged.ok()) {
      std::fprintf(stderr, "%s\n", merged.status().message().c_str());
    }
    check(merged.ok());
    check(every_sample_has_node(*merged));
    size_t lost = 0;
    for (const auto& d : m.dropped) {
      lost += d.family.empty() ? 0 : 1;
    }
    // 2 synthetic samples; a family the node exposes under a synthetic name is dropped, and
    // renamed series may collapse: never more samples than that.
    check(count_samples(*merged) <= samples + 2);
    if (lost == 0) {
      check(count_samples(*merged) == samples + 2);
    }
  }
  // Two nodes, one listed twice, plus a down node.
  {
    std::vector<ex::NodeScrape> nodes;
    nodes.push_back({"a", *parsed, "active"});
    nodes.push_back({"b\"\\\n", std::move(again).value(), "standby"});
    nodes.push_back({"a", *parsed, "standby"});
    nodes.push_back({"c", std::nullopt, "unreachable"});
    const ex::MergeResult m = ex::merge(std::move(nodes));
    auto merged = ex::parse(m.body, ex::Limits{});
    check(merged.ok());
    check(every_sample_has_node(*merged));
    check(count_samples(*merged) <= 2 * samples + 6);
  }
  return 0;
}
