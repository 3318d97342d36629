// The OpenBao node merger: every output is parsed back (it must be valid) and compared sample
// by sample with what the case expects; conflicts are reported; a golden file pins the exact
// text for two realistic nodes and a down one.
#include "filters/exposition/merge.h"
#include "tests/filters/exposition/test_common.h"

namespace obsgate::filters::exposition {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)

struct Node {
  std::string name;
  std::optional<std::string> body;  // nullopt: down
  std::string state;
};

struct Outcome {
  MergeResult merged;
  Result<Exposition> reparsed;
};

using MergeCheck = std::function<void(const Outcome&)>;

Outcome run(const std::vector<Node>& nodes) {
  std::vector<NodeScrape> scrapes;
  for (const Node& n : nodes) {
    NodeScrape s{n.name, std::nullopt, n.state};
    if (n.body) {
      auto e = parse(*n.body);
      REQUIRE(e.ok());
      s.exposition = std::move(e).value();
    }
    scrapes.push_back(std::move(s));
  }
  MergeResult m = merge(std::move(scrapes));
  auto again = parse(m.body);
  return Outcome{std::move(m), std::move(again)};
}

// The synthetic samples for nodes given as {name, up, state}.
std::vector<std::string> synthetic(
    const std::vector<std::tuple<std::string, int, std::string>>& nodes) {
  std::vector<std::string> out;
  for (const auto& [n, up, state] : nodes) {
    out.push_back("openbao_node_up{node=\"" + n + "\"} " + std::to_string(up));
  }
  for (const auto& [n, up, state] : nodes) {
    out.push_back("openbao_node_health_state{node=\"" + n + "\",state=\"" + state + "\"} 1");
  }
  return out;
}

MergeCheck samples(std::vector<std::string> want) {
  return [want](const Outcome& o) {
    if (!o.reparsed.ok()) {
      FAIL("merged output does not parse: " << o.reparsed.status().message());
    }
    CHECK(render_all(*o.reparsed) == want);
  };
}

MergeCheck families(std::vector<std::string> want) {
  return [want](const Outcome& o) {
    REQUIRE(o.reparsed.ok());
    CHECK(family_types(*o.reparsed) == want);
  };
}

// "node/family" for each dropped family, in order.
MergeCheck dropped(std::vector<std::string> want) {
  return [want](const Outcome& o) {
    std::vector<std::string> got;
    for (const auto& d : o.merged.dropped) {
      got.push_back(d.node + "/" + d.family);
    }
    CHECK(got == want);
  };
}

MergeCheck body_contains(std::string part) {
  return [part](const Outcome& o) { CHECK_THAT(o.merged.body, Catch::Matchers::Contains(part)); };
}

MergeCheck every(std::vector<MergeCheck> checks) {
  return [checks](const Outcome& o) {
    for (const auto& c : checks) {
      c(o);
    }
  };
}

std::vector<std::string> concat(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Case {
  std::string name;
  std::vector<Node> nodes;
  MergeCheck check;
};

TEST_CASE("exposition merge table") {
  const std::vector<Case> cases = {
      {"no nodes: nothing at all (families without samples are left out)", {},
       every({samples({}), families({}), body_contains("")})},
      {"one node",
       {{"a", "# TYPE x counter\nx 1\n", "active"}},
       samples(concat(synthetic({{"a", 1, "active"}}), {"x{node=\"a\"} 1"}))},
      {"families grouped across nodes, nodes in order",
       {{"a", "x 1\ny 2\n", "active"}, {"b", "y 3\nx 4\n", "standby"}},
       every({samples(concat(synthetic({{"a", 1, "active"}, {"b", 1, "standby"}}),
                             {"x{node=\"a\"} 1", "x{node=\"b\"} 4", "y{node=\"a\"} 2",
                              "y{node=\"b\"} 3"})),
              families({"openbao_node_up:gauge", "openbao_node_health_state:gauge",
                        "x:untyped", "y:untyped"})})},
      {"down node shows as up 0 with its state",
       {{"a", "x 1\n", "active"}, {"b", std::nullopt, "unreachable"}},
       samples(concat(synthetic({{"a", 1, "active"}, {"b", 0, "unreachable"}}),
                      {"x{node=\"a\"} 1"}))},
      {"every node down",
       {{"a", std::nullopt, "timeout"}, {"b", std::nullopt, "refused"}},
       samples(synthetic({{"a", 0, "timeout"}, {"b", 0, "refused"}}))},
      {"exposed node label becomes exported_node",
       {{"a", "x{node=\"n1\",k=\"v\"} 1\n", "active"}},
       samples(concat(synthetic({{"a", 1, "active"}}),
                      {"x{node=\"a\",k=\"v\",exported_node=\"n1\"} 1"}))},
      {"exported_node taken: exported_exported_node",
       {{"a", "x{node=\"n1\",exported_node=\"n0\"} 1\n", "active"}},
       samples(concat(synthetic({{"a", 1, "active"}}),
                      {"x{node=\"a\",exported_node=\"n0\",exported_exported_node=\"n1\"} 1"}))},
      {"empty exposed node label is replaced",
       {{"a", "x{node=\"\",k=\"v\"} 1\n", "active"}},
       samples(concat(synthetic({{"a", 1, "active"}}), {"x{node=\"a\",k=\"v\"} 1"}))},
      {"series equal after renaming: first kept, reported",
       {{"a", "x{node=\"n\"} 1\nx{exported_node=\"n\"} 2\n", "active"}},
       every({samples(concat(synthetic({{"a", 1, "active"}}),
                             {"x{node=\"a\",exported_node=\"n\"} 1"})),
              dropped({"a/x"})})},
      {"label values escaped in output",
       {{"a\"b\\c", "x{k=\"l1\\nl2 \\\"q\\\" \\\\\"} 1\n", "stand\nby"}},
       samples(concat(synthetic({{"a\\\"b\\\\c", 1, "stand\\nby"}}),
                      {"x{node=\"a\\\"b\\\\c\",k=\"l1\\nl2 \\\"q\\\" \\\\\"} 1"}))},
      {"type conflict: first node wins, comment names the loser",
       {{"a", "# TYPE x counter\nx 1\n", "active"},
        {"b", "# TYPE x gauge\nx 2\n# TYPE y gauge\ny 3\n", "standby"}},
       every({samples(concat(synthetic({{"a", 1, "active"}, {"b", 1, "standby"}}),
                             {"x{node=\"a\"} 1", "y{node=\"b\"} 3"})),
              dropped({"b/x"}),
              body_contains("# obsgate: node \"b\": family x dropped: type gauge conflicts with "
                            "counter from an earlier node\n")})},
      {"untyped versus typed is a conflict too",
       {{"a", "x 1\n", "active"}, {"b", "# TYPE x gauge\nx 2\n", "standby"}},
       every({samples(concat(synthetic({{"a", 1, "active"}, {"b", 1, "standby"}}),
                             {"x{node=\"a\"} 1"})),
              dropped({"b/x"})})},
      {"sample name clash: histogram versus untyped _sum",
       {{"a", "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n", "active"},
        {"b", "h_sum 5\n", "standby"}},
       every({samples(concat(synthetic({{"a", 1, "active"}, {"b", 1, "standby"}}),
                             {"h_bucket{node=\"a\",le=\"+Inf\"} 1", "h_sum{node=\"a\"} 1",
                              "h_count{node=\"a\"} 1"})),
              dropped({"b/h_sum"})})},
      {"sample name clash the other way round",
       {{"a", "h_count 5\n", "active"},
        {"b", "# TYPE h summary\nh{quantile=\"0.5\"} 1\nh_count 1\n", "standby"}},
       every({samples(concat(synthetic({{"a", 1, "active"}, {"b", 1, "standby"}}),
                             {"h_count{node=\"a\"} 5"})),
              dropped({"b/h"})})},
      {"synthetic names are reserved",
       {{"a", "# TYPE openbao_node_up gauge\nopenbao_node_up 7\nz 1\n", "active"}},
       every({samples(concat(synthetic({{"a", 1, "active"}}), {"z{node=\"a\"} 1"})),
              dropped({"a/openbao_node_up"})})},
      {"histogram across nodes stays one family",
       {{"a", "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\n"
              "h_count 1\n", "active"},
        {"b", "# TYPE h histogram\nh_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 2\nh_sum 3\n"
              "h_count 2\n", "standby"}},
       every({families({"openbao_node_up:gauge", "openbao_node_health_state:gauge",
                        "h:histogram"}),
              samples(concat(synthetic({{"a", 1, "active"}, {"b", 1, "standby"}}),
                             {"h_bucket{node=\"a\",le=\"1\"} 1",
                              "h_bucket{node=\"a\",le=\"+Inf\"} 1", "h_sum{node=\"a\"} 1",
                              "h_count{node=\"a\"} 1", "h_bucket{node=\"b\",le=\"1\"} 0",
                              "h_bucket{node=\"b\",le=\"+Inf\"} 2", "h_sum{node=\"b\"} 3",
                              "h_count{node=\"b\"} 2"}))})},
      {"timestamps and special values survive",
       {{"a", "x{k=\"1\"} NaN 17\nx{k=\"2\"} -Inf\n", "active"}},
       samples(concat(synthetic({{"a", 1, "active"}}),
                      {"x{node=\"a\",k=\"1\"} NaN @17", "x{node=\"a\",k=\"2\"} -Inf"}))},
      {"node listed twice: later entry ignored",
       {{"a", "x 1\n", "active"}, {"a", "x 2\n", "standby"}},
       every({samples(concat(synthetic({{"a", 1, "active"}}), {"x{node=\"a\"} 1"})),
              dropped({"a/"})})},
      {"first help wins",
       {{"a", "# HELP x one\nx 1\n", "active"}, {"b", "# HELP x two\nx 2\n", "standby"}},
       body_contains("# HELP x one\n# TYPE x untyped\nx{node=\"a\"} 1\nx{node=\"b\"} 2\n")},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const Outcome o = run(c.nodes);
      CAPTURE(o.merged.body);
      if (!o.reparsed.ok()) {
        FAIL("merged output does not parse: " << o.reparsed.status().message());
      }
      c.check(o);
    }
  }
}

TEST_CASE("exposition merge without comments") {
  std::vector<NodeScrape> nodes;
  nodes.push_back({"a", parse("# TYPE x counter\nx 1\n").value(), "active"});
  nodes.push_back({"b", parse("# TYPE x gauge\nx 1\n").value(), "standby"});
  const MergeResult r = merge(std::move(nodes), false);
  CHECK(r.body.find("# obsgate") == std::string::npos);
  CHECK(r.dropped.size() == 1);
}

TEST_CASE("exposition merge golden: two OpenBao nodes and a down one") {
  std::vector<NodeScrape> nodes;
  for (const auto& [name, file, state] :
       std::vector<std::tuple<std::string, std::string, std::string>>{
           {"bao-0", "openbao_active.prom", "active"},
           {"bao-1", "openbao_standby.prom", "standby"},
           {"bao-2", "", "unreachable"}}) {
    NodeScrape s{name, std::nullopt, state};
    if (!file.empty()) {
      auto e = parse(read_testdata(file));
      REQUIRE(e.ok());
      s.exposition = std::move(e).value();
    }
    nodes.push_back(std::move(s));
  }
  const MergeResult r = merge(std::move(nodes));
  CHECK(r.body == read_testdata("merged.golden"));
  REQUIRE(parse(r.body).ok());
}

}  // namespace
}  // namespace obsgate::filters::exposition
