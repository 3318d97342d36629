// Loki API responses. Bodies follow the shapes of
// https://grafana.com/docs/loki/latest/reference/loki-http-api/.
#include "tests/filters/response/test_common.h"

using namespace obsgate::filters::response::testing;  // NOLINT(google-build-using-namespace)
using obsgate::Code;
using obsgate::filters::response::LokiEndpoint;
using obsgate::filters::response::strip_hidden_labels_loki;

namespace {

const std::vector<std::string> kHidden = {"client_ip", "pod"};

std::string envelope(const std::string& data) {
  return R"({"status":"success","data":)" + data + "}";
}

const char* const kStats =
    R"({"summary":{"bytesProcessedPerSecond":12345,"linesProcessedPerSecond":99,)"
    R"("totalBytesProcessed":4096,"totalLinesProcessed":20,"execTime":0.001234,)"
    R"("queueTime":1.5e-05,"subqueries":1,"totalEntriesReturned":2},"querier":{"store":)"
    R"({"totalChunksRef":0,"chunk":{"headChunkBytes":0}}},"ingester":{"totalReached":1}})";

void run_cases(LokiEndpoint kind, const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      run(strip_hidden_labels_loki(c.input, kind, kHidden), c.checks);
    }
  }
}

}  // namespace

TEST_CASE("loki query_range: streams") {
  const std::vector<Case> cases = {
      {"stream labels stripped, entries and stats as sent",
       envelope(R"({"resultType":"streams","result":[{"stream":{"foo":"bar","level":"info",)"
                R"("pod":"loki-0"},"values":[["1568234281726420425","foo"],)"
                R"(["1568234269716526880","bar \"quoted\""]]}],"stats":)" +
                std::string(kStats) + "}"),
       {output_is(envelope(R"({"resultType":"streams","result":[{"stream":{"foo":"bar",)"
                           R"("level":"info"},"values":[["1568234281726420425","foo"],)"
                           R"(["1568234269716526880","bar \"quoted\""]]}],"stats":)" +
                           std::string(kStats) + "}"))}},
      {"nothing hidden: unchanged",
       envelope(R"({"resultType":"streams","result":[ {"stream":{"a":"b"},"values":[]} ]})"),
       {output_is(
           envelope(R"({"resultType":"streams","result":[ {"stream":{"a":"b"},"values":[]} ]})"))}},
      {"categorize-labels: structured metadata and parsed labels stripped",
       envelope(R"({"resultType":"streams","encodingFlags":["categorize-labels"],"result":[)"
                R"({"stream":{"app":"api"},"values":[["1700000000000000001","GET /",)"
                R"({"structuredMetadata":{"trace_id":"t1","client_ip":"10.1.1.1"},)"
                R"("parsed":{"pod":"p","method":"GET"}}],["1700000000000000000","x"]]}]})"),
       {output_is(envelope(R"({"resultType":"streams","encodingFlags":["categorize-labels"],)"
                           R"("result":[{"stream":{"app":"api"},"values":[)"
                           R"(["1700000000000000001","GET /",{"structuredMetadata":)"
                           R"({"trace_id":"t1"},"parsed":{"method":"GET"}}],)"
                           R"(["1700000000000000000","x"]]}]})"))}},
      {"two streams made identical: refused with a LogQL hint",
       envelope(R"({"resultType":"streams","result":[)"
                R"({"stream":{"app":"api","pod":"a"},"values":[["1","x"]]},)"
                R"({"stream":{"app":"api","pod":"b"},"values":[["2","y"]]}]})"),
       {has_code(Code::kInvalidArgument),
        message_contains("hidden label \"pod\" distinguishes series that would otherwise be "
                         "identical; drop it from the query (e.g. | drop pod)")}},
      {"unknown metadata category refused",
       envelope(R"({"resultType":"streams","result":[{"stream":{},"values":[["1","x",)"
                R"({"indexed":{"pod":"a"}}]]}]})"),
       {upstream_refused()}},
      {"entry with a number timestamp refused",
       envelope(R"({"resultType":"streams","result":[{"stream":{},"values":[[1,"x"]]}]})"),
       {upstream_refused()}},
      {"stream with an extra field refused",
       envelope(R"({"resultType":"streams","result":[{"stream":{},"values":[],"labels":"{}"}]})"),
       {upstream_refused()}},
  };
  run_cases(LokiEndpoint::kQueryRange, cases);
}

TEST_CASE("loki metric queries: vector, matrix, scalar") {
  const std::vector<Case> cases = {
      {"vector",
       envelope(R"({"resultType":"vector","result":[{"metric":{"level":"info","pod":"a"},)"
                R"("value":[1588889221,"1267.1266666666666"]},{"metric":{"level":"warn"},)"
                R"("value":[1588889221,"37.77166666666667"]}],"stats":{}})"),
       {output_is(envelope(R"({"resultType":"vector","result":[{"metric":{"level":"info"},)"
                           R"("value":[1588889221,"1267.1266666666666"]},{"metric":{"level":)"
                           R"("warn"},"value":[1588889221,"37.77166666666667"]}],"stats":{}})"))}},
      {"matrix duplicate gets the PromQL hint",
       envelope(R"({"resultType":"matrix","result":[{"metric":{"client_ip":"1"},"values":)"
                R"([[1588889221,"137.95"]]},{"metric":{"client_ip":"2"},"values":)"
                R"([[1588889221,"467.115"]]}]})"),
       {has_code(Code::kInvalidArgument), message_contains("sum without (client_ip)")}},
      {"scalar",
       envelope(R"({"resultType":"scalar","result":[1588889221.5,"1"]})"),
       {output_is(envelope(R"({"resultType":"scalar","result":[1588889221.5,"1"]})"))}},
      {"string is not a Loki result type",
       envelope(R"({"resultType":"string","result":[1,"a"]})"),
       {upstream_refused(), message_contains("unknown resultType \"string\"")}},
  };
  run_cases(LokiEndpoint::kQuery, cases);
}

TEST_CASE("loki series, labels and label values") {
  SECTION("series") {
    run_cases(LokiEndpoint::kSeries,
              {{"stripped and deduplicated",
                envelope(R"([{"container_name":"loki","app":"loki","stream":"stderr",)"
                         R"("pod":"loki-0"},{"container_name":"loki","app":"loki",)"
                         R"("stream":"stderr","pod":"loki-1"},{"app":"grafana"}])"),
                {output_is(envelope(R"([{"container_name":"loki","app":"loki",)"
                                    R"("stream":"stderr"},{"app":"grafana"}])"))}}});
  }
  SECTION("labels") {
    run_cases(LokiEndpoint::kLabels, {{"hidden names removed",
                                       envelope(R"(["app","client_ip","pod","stream"])"),
                                       {output_is(envelope(R"(["app","stream"])"))}},
                                      {"success without data (Loki omits an empty list)",
                                       R"({"status":"success"})",
                                       {output_is(R"({"status":"success"})")}}});
  }
  SECTION("label values") {
    run_cases(LokiEndpoint::kLabelValues,
              {{"passed", envelope(R"(["a","b"])"), {output_is(envelope(R"(["a","b"])"))}},
               {"numbers refused", envelope(R"([1,2])"), {upstream_refused()}}});
  }
}
