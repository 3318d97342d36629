// merge_loki_streams: the union of per-rule log query responses, as Loki would have answered.
#include "tests/filters/response/test_common.h"

using namespace obsgate::filters::response::testing;  // NOLINT(google-build-using-namespace)
using obsgate::Code;
using obsgate::filters::response::Direction;
using obsgate::filters::response::merge_loki_streams;

namespace {

std::string streams(const std::string& result, const std::string& extra = "") {
  return R"({"status":"success","data":{"resultType":"streams","result":)" + result + extra + "}}";
}

std::string merged(const std::string& result) {
  return R"({"status":"success","data":{"resultType":"streams","result":)" + result + "}}";
}

const std::string kA1 = R"({"stream":{"app":"a"},"values":[["5","a5"],["3","a3"],["1","a1"]]})";
const std::string kB1 = R"({"stream":{"app":"b"},"values":[["6","b6"],["4","b4"],["2","b2"]]})";

struct MergeCase {
  const char* name;
  std::vector<std::string> bodies;
  std::size_t limit;
  Direction dir;
  std::vector<Check> checks;
};

}  // namespace

TEST_CASE("merge_loki_streams") {
  const std::vector<MergeCase> cases = {
      {"disjoint streams, forward: ascending per stream, streams by labels",
       {streams("[" + kB1 + "]"), streams("[" + kA1 + "]")},
       100,
       Direction::kForward,
       {output_is(
           merged(R"([{"stream":{"app":"a"},"values":[["1","a1"],["3","a3"],["5","a5"]]},)"
                  R"({"stream":{"app":"b"},"values":[["2","b2"],["4","b4"],["6","b6"]]}])"))}},
      {"backward: descending",
       {streams("[" + kA1 + "]"), streams("[" + kB1 + "]")},
       100,
       Direction::kBackward,
       {output_is(
           merged(R"([{"stream":{"app":"a"},"values":[["5","a5"],["3","a3"],["1","a1"]]},)"
                  R"({"stream":{"app":"b"},"values":[["6","b6"],["4","b4"],["2","b2"]]}])"))}},
      {"the limit applies across streams (forward keeps the oldest)",
       {streams("[" + kA1 + "]"), streams("[" + kB1 + "]")},
       3,
       Direction::kForward,
       {output_is(merged(R"([{"stream":{"app":"a"},"values":[["1","a1"],["3","a3"]]},)"
                         R"({"stream":{"app":"b"},"values":[["2","b2"]]}])"))}},
      {"the limit applies across streams (backward keeps the newest)",
       {streams("[" + kA1 + "]"), streams("[" + kB1 + "]")},
       3,
       Direction::kBackward,
       {output_is(merged(R"([{"stream":{"app":"a"},"values":[["5","a5"]]},)"
                         R"({"stream":{"app":"b"},"values":[["6","b6"],["4","b4"]]}])"))}},
      {"a stream cut to nothing by the limit is dropped",
       {streams("[" + kA1 + "]"), streams("[" + kB1 + "]")},
       1,
       Direction::kBackward,
       {output_is(merged(R"([{"stream":{"app":"b"},"values":[["6","b6"]]}])"))}},
      {"same stream in two responses: merged, duplicates dropped, label order irrelevant",
       {streams(R"([{"stream":{"app":"a","env":"p"},"values":[["3","x"],["2","y"]]}])"),
        streams(R"([{"stream":{"env":"p","app":"a"},"values":[["3","x"],["2","z"],["1","w"]]}])")},
       100,
       Direction::kBackward,
       {output_is(merged(R"([{"stream":{"app":"a","env":"p"},"values":[["3","x"],["2","y"],)"
                         R"(["2","z"],["1","w"]]}])"))}},
      {"escaped and plain spellings of one line are one entry",
       {streams(R"([{"stream":{"a":"1"},"values":[["7","ab"]]}])"),
        streams(R"([{"stream":{"a":"1"},"values":[["7","a\u0062"]]}])")},
       10,
       Direction::kForward,
       {output_is(merged(R"([{"stream":{"a":"1"},"values":[["7","ab"]]}])"))}},
      {"categorize-labels entries are copied verbatim",
       {streams(R"([{"stream":{"a":"1"},"values":[["1700000000000000000","l",)"
                R"({"structuredMetadata":{"t":"1"}}]]}])")},
       10,
       Direction::kForward,
       {output_is(merged(R"([{"stream":{"a":"1"},"values":[["1700000000000000000","l",)"
                         R"({"structuredMetadata":{"t":"1"}}]]}])"))}},
      {"nanosecond timestamps compare as numbers, not text",
       {streams(R"([{"stream":{"a":"1"},"values":[["999","old"],["1000","new"]]}])")},
       10,
       Direction::kBackward,
       {output_is(merged(R"([{"stream":{"a":"1"},"values":[["1000","new"],["999","old"]]}])"))}},
      {"no bodies", {}, 10, Direction::kForward, {output_is(merged("[]"))}},
      {"empty and null results",
       {streams("[]"), streams("null")},
       10,
       Direction::kForward,
       {output_is(merged("[]"))}},
      {"warnings united",
       {R"({"status":"success","warnings":["w1"],"data":{"resultType":"streams","result":[]}})",
        R"({"status":"success","warnings":["w1","w2"],)"
        R"("data":{"resultType":"streams","result":[]}})"},
       10,
       Direction::kForward,
       {output_is(R"({"status":"success","data":{"resultType":"streams","result":[]},)"
                  R"("warnings":["w1","w2"]})")}},
      {"stats: integers summed, other figures from the first, entries returned recounted",
       {streams("[" + kA1 + "]",
                R"(,"stats":{"summary":{"totalBytesProcessed":100,"execTime":0.5,)"
                R"("totalEntriesReturned":3,"bytesProcessedPerSecond":200},"ingester":)"
                R"({"totalReached":1,"store":{"chunksDownloadTime":0.25}}})"),
        streams("[" + kB1 + "]",
                R"(,"stats":{"summary":{"totalBytesProcessed":50,"execTime":0.75,)"
                R"("totalEntriesReturned":3,"bytesProcessedPerSecond":300},"ingester":)"
                R"({"totalReached":2}})")},
       4,
       Direction::kForward,
       {output_contains(R"("stats":{"summary":{"totalBytesProcessed":150,"execTime":0.5,)"
                        R"("totalEntriesReturned":4,"bytesProcessedPerSecond":500},"ingester":)"
                        R"({"totalReached":3,"store":{"chunksDownloadTime":0.25}}})"),
        valid_json()}},
      {"bad_data error",
       {streams("[]"), R"({"status":"error","errorType":"bad_data","error":"parse error"})"},
       10,
       Direction::kForward,
       {has_code(Code::kInvalidArgument), message_contains("parse error")}},
      {"timeout error",
       {R"({"status":"error","errorType":"timeout","error":"too slow"})"},
       10,
       Direction::kForward,
       {has_code(Code::kDeadlineExceeded), message_contains("too slow")}},
      {"other error",
       {R"({"status":"error","errorType":"internal","error":"boom"})"},
       10,
       Direction::kForward,
       {has_code(Code::kUnavailable), message_contains("boom")}},
      {"a matrix cannot be merged as streams",
       {R"({"status":"success","data":{"resultType":"matrix","result":[]}})"},
       10,
       Direction::kForward,
       {upstream_refused()}},
      {"negative timestamp refused",
       {streams(R"([{"stream":{},"values":[["-1","x"]]}])")},
       10,
       Direction::kForward,
       {upstream_refused()}},
      {"timestamp with a fraction refused",
       {streams(R"([{"stream":{},"values":[["1.5","x"]]}])")},
       10,
       Direction::kForward,
       {upstream_refused()}},
      {"not JSON", {"<html>502</html>"}, 10, Direction::kForward, {upstream_refused()}},
      {"limit 0", {streams("[]")}, 0, Direction::kForward, {has_code(Code::kInvalidArgument)}},
  };
  for (const MergeCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const std::vector<std::string_view> views(c.bodies.begin(), c.bodies.end());
      run(merge_loki_streams(views, c.limit, c.dir), c.checks);
    }
  }
}
