// Every JSON entry point fails closed (Unavailable, never a crash, never a partial body) on
// input that is not a well-formed API envelope.
#include <functional>

#include "tests/filters/response/test_common.h"

using namespace obsgate::filters::response::testing;  // NOLINT(google-build-using-namespace)
namespace response = obsgate::filters::response;

namespace {

std::string nested(std::size_t depth) {
  return R"({"status":"success","data":{"resultType":"scalar","result":[1,"1"],"stats":)" +
         std::string(depth, '[') + std::string(depth, ']') + "}}";
}

struct EntryPoint {
  const char* name;
  std::function<Out(std::string_view)> call;
};

std::vector<EntryPoint> entry_points() {
  const std::vector<std::string> hidden = {"instance"};
  obsgate::filters::Scope scope;
  scope.rules = {{{"tenant", obsgate::filters::MatchOp::kEq, "a"}}};
  std::vector<EntryPoint> eps;
  for (auto kind : {response::Endpoint::kQuery, response::Endpoint::kQueryRange,
                    response::Endpoint::kQueryExemplars, response::Endpoint::kSeries,
                    response::Endpoint::kLabels, response::Endpoint::kLabelValues}) {
    eps.push_back({"prometheus", [=](std::string_view b) {
                     return response::strip_hidden_labels_prometheus(b, kind, hidden);
                   }});
  }
  for (auto kind : {response::LokiEndpoint::kQuery, response::LokiEndpoint::kQueryRange,
                    response::LokiEndpoint::kSeries, response::LokiEndpoint::kLabels,
                    response::LokiEndpoint::kLabelValues}) {
    eps.push_back({"loki", [=](std::string_view b) {
                     return response::strip_hidden_labels_loki(b, kind, hidden);
                   }});
  }
  eps.push_back(
      {"rules", [=](std::string_view b) { return response::filter_rules(b, scope, hidden); }});
  eps.push_back(
      {"alerts", [=](std::string_view b) { return response::filter_alerts(b, scope, hidden); }});
  eps.push_back(
      {"metadata", [](std::string_view b) { return response::filter_metadata(b, {"up"}); }});
  eps.push_back({"merge", [](std::string_view b) {
                   return response::merge_loki_streams({b}, 10, response::Direction::kForward);
                 }});
  return eps;
}

}  // namespace

TEST_CASE("malformed bodies are refused by every JSON entry point") {
  const std::vector<Case> cases = {
      {"empty", "", {upstream_refused()}},
      {"not JSON", "<html><body>502 Bad Gateway</body></html>", {upstream_refused()}},
      {"truncated",
       R"({"status":"success","data":{"resultType":"vector","result":[)",
       {upstream_refused()}},
      {"top-level array", "[]", {upstream_refused()}},
      {"top-level string", R"("success")", {upstream_refused()}},
      {"trailing garbage", R"({"status":"success"} x)", {upstream_refused()}},
      {"two documents", R"({"status":"success"}{"status":"success"})", {upstream_refused()}},
      {"trailing comma", R"({"status":"success","data":[],})", {upstream_refused()}},
      {"comment", R"({"status":"success" /* hi */,"data":[]})", {upstream_refused()}},
      {"NaN literal", R"({"status":"success","data":[NaN]})", {upstream_refused()}},
      {"single quotes", R"({'status':'success'})", {upstream_refused()}},
      {"invalid UTF-8",
       std::string("{\"status\":\"success\",\"data\":[\"\xc3\x28\"]}"),
       {upstream_refused()}},
      {"lone surrogate escape", R"({"status":"success","data":["\ud800"]})", {upstream_refused()}},
      {"raw control character",
       std::string("{\"status\":\"success\",\"data\":[\"a\x01\"]}"),
       {upstream_refused()}},
      {"no status", R"({"data":[]})", {upstream_refused()}},
      {"status not a string", R"({"status":1,"data":[]})", {upstream_refused()}},
      {"unknown status", R"({"status":"ok","data":[]})", {upstream_refused()}},
      {"duplicate status keys", R"({"status":"success","status":"error"})", {upstream_refused()}},
      {"duplicate data keys (clients read the last one)",
       R"({"status":"success","data":[],"data":[{"instance":"x"}]})",
       {upstream_refused()}},
      {"nesting deeper than the limit",
       nested(response::kMaxJsonDepth + 10),
       {upstream_refused(), message_contains("not valid JSON")}},
      {"very deep nesting", nested(100000), {upstream_refused()}},
  };
  const auto eps = entry_points();
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      for (const EntryPoint& ep : eps) {
        CAPTURE(ep.name);
        run(ep.call(c.input), c.checks);
      }
    }
  }
}

TEST_CASE("nesting within the limit is accepted where it is not interpreted") {
  auto out = response::strip_hidden_labels_prometheus(nested(response::kMaxJsonDepth - 3),
                                                      response::Endpoint::kQuery, {"instance"});
  INFO((out.ok() ? std::string() : out.status().to_string()));
  REQUIRE(out.ok());
  CHECK(*out == nested(response::kMaxJsonDepth - 3));
}

TEST_CASE("wrong types inside a query response are refused") {
  const std::vector<Case> cases = {
      {"data not an object", R"({"status":"success","data":[]})", {upstream_refused()}},
      {"no resultType", R"({"status":"success","data":{"result":[]}})", {upstream_refused()}},
      {"resultType not a string",
       R"({"status":"success","data":{"resultType":1,"result":[]}})",
       {upstream_refused()}},
      {"unknown resultType",
       R"({"status":"success","data":{"resultType":"tensor","result":[]}})",
       {upstream_refused()}},
      {"result not a list",
       R"({"status":"success","data":{"resultType":"vector","result":{}}})",
       {upstream_refused()}},
      {"series not an object",
       R"({"status":"success","data":{"resultType":"vector","result":[1]}})",
       {upstream_refused()}},
      {"series without metric",
       R"({"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]}]}})",
       {upstream_refused()}},
      {"metric not an object",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":[]}]}})",
       {upstream_refused()}},
      {"label value not a string",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":null}}]}})",
       {upstream_refused()}},
      {"duplicate label names",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":)"
       R"({"instance":"a","instance":"b"}}]}})",
       {upstream_refused()}},
      {"unknown series field (could carry labels)",
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},)"
       R"("exemplars":[{"labels":{"instance":"x"}}]}]}})",
       {upstream_refused(), message_contains("unknown field \"exemplars\"")}},
      {"scalar result not a pair",
       R"({"status":"success","data":{"resultType":"scalar","result":1}})",
       {upstream_refused()}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      run(response::strip_hidden_labels_prometheus(c.input, response::Endpoint::kQuery,
                                                   {"instance"}),
          c.checks);
    }
  }
}
