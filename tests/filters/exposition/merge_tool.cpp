// exposition_merge_tool NODE=FILE|NODE=down[:STATE] ...
// Parses each file, merges them as the fan-out route does and prints the result on stdout; a
// parse error is printed on stderr with exit status 1. Used by the promtool CTest and handy
// for looking at what a fan-out scrape would return for saved node bodies.
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "filters/exposition/merge.h"

namespace ex = obsgate::filters::exposition;

int main(int argc, char** argv) {
  std::vector<ex::NodeScrape> nodes;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto eq = arg.find('=');
    if (eq == std::string::npos) {
      std::fprintf(stderr, "usage: %s NODE=FILE|NODE=down[:STATE] ...\n", argv[0]);
      return 2;
    }
    ex::NodeScrape n{arg.substr(0, eq), std::nullopt, "active"};
    const std::string what = arg.substr(eq + 1);
    if (what.rfind("down", 0) == 0) {
      n.health_state = what.size() > 5 ? what.substr(5) : "unreachable";
    } else {
      std::ifstream in(what, std::ios::binary);
      if (!in) {
        std::fprintf(stderr, "cannot read %s\n", what.c_str());
        return 2;
      }
      std::stringstream ss;
      ss << in.rdbuf();
      auto e = ex::parse(ss.str());
      if (!e.ok()) {
        std::fprintf(stderr, "%s: %s\n", what.c_str(), e.status().message().c_str());
        return 1;
      }
      n.exposition = std::move(e).value();
      n.health_state = i == 1 ? "active" : "standby";
    }
    nodes.push_back(std::move(n));
  }
  const ex::MergeResult r = ex::merge(std::move(nodes));
  std::fwrite(r.body.data(), 1, r.body.size(), stdout);
  return 0;
}
