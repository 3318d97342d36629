// Prometheus API responses: hidden labels removed, everything else byte for byte, duplicates
// named. Bodies follow the shapes of https://prometheus.io/docs/prometheus/latest/querying/api/.
#include <set>

#include "tests/filters/response/test_common.h"

using namespace obsgate::filters::response::testing;  // NOLINT(google-build-using-namespace)
using obsgate::Code;
using obsgate::filters::response::Endpoint;
using obsgate::filters::response::filter_metadata;
using obsgate::filters::response::strip_hidden_labels_prometheus;

namespace {

const std::vector<std::string> kHidden = {"client_ip", "instance"};

std::string envelope(const std::string& data, const std::string& extra = "") {
  return R"({"status":"success","data":)" + data + extra + "}";
}

void run_cases(Endpoint kind, const std::vector<Case>& cases,
               const std::vector<std::string>& hidden = kHidden) {
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      run(strip_hidden_labels_prometheus(c.input, kind, hidden), c.checks);
    }
  }
}

}  // namespace

TEST_CASE("query: vector, matrix, scalar and string results") {
  const std::vector<Case> cases = {
      {"vector: hidden label removed, value and timestamp as sent",
       envelope(R"({"resultType":"vector","result":[)"
                R"({"metric":{"__name__":"up","job":"prometheus","instance":"localhost:9090"},)"
                R"("value":[1435781451.781,"1"]},)"
                R"({"metric":{"__name__":"up","job":"node","instance":"localhost:9100"},)"
                R"("value":[1435781451.781,"0"]}]})"),
       {output_is(envelope(R"({"resultType":"vector","result":[)"
                           R"({"metric":{"__name__":"up","job":"prometheus"},)"
                           R"("value":[1435781451.781,"1"]},)"
                           R"({"metric":{"__name__":"up","job":"node"},)"
                           R"("value":[1435781451.781,"0"]}]})"))}},
      {"vector without hidden labels: the body comes back unchanged, whitespace included",
       "{\n  \"status\" : \"success\",\n  \"data\" : {\n    \"resultType\" : \"vector\",\n"
       "    \"result\" : [ { \"metric\" : { \"job\" : \"x\" }, \"value\" : [ 1e3, \"1\" ] } ]\n"
       "  }\n}\n",
       {output_is("{\n  \"status\" : \"success\",\n  \"data\" : {\n    \"resultType\" : "
                  "\"vector\",\n    \"result\" : [ { \"metric\" : { \"job\" : \"x\" }, "
                  "\"value\" : [ 1e3, \"1\" ] } ]\n  }\n}\n")}},
      {"matrix: values copied, metric stripped",
       envelope(R"({"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"p",)"
                R"("instance":"h:1"},"values":[[1435781430.781,"1"],[1435781445.781,"1"],)"
                R"([1435781460.781,"1"]]}]})"),
       {output_is(envelope(R"({"resultType":"matrix","result":[{"metric":{"__name__":"up",)"
                           R"("job":"p"},"values":[[1435781430.781,"1"],[1435781445.781,"1"],)"
                           R"([1435781460.781,"1"]]}]})"))}},
      {"scalar passes",
       envelope(R"({"resultType":"scalar","result":[1700000000.123,"42"]})"),
       {output_is(envelope(R"({"resultType":"scalar","result":[1700000000.123,"42"]})"))}},
      {"string passes",
       envelope(R"({"resultType":"string","result":[1700000000,"hello"]})"),
       {output_is(envelope(R"({"resultType":"string","result":[1700000000,"hello"]})"))}},
      {"native histogram sample passes unchanged",
       envelope(R"({"resultType":"vector","result":[{"metric":{"__name__":"rpc_seconds",)"
                R"("client_ip":"10.0.0.1"},"histogram":[1700000000.123,{"count":"2","sum":"0.5",)"
                R"("buckets":[[0,"-0.25","0.25","1"],[3,"0.25","0.5","1"]]}]}]})"),
       {output_is(envelope(R"({"resultType":"vector","result":[{"metric":{"__name__":)"
                           R"("rpc_seconds"},"histogram":[1700000000.123,{"count":"2","sum":"0.5",)"
                           R"("buckets":[[0,"-0.25","0.25","1"],[3,"0.25","0.5","1"]]}]}]})"))}},
      {"native histograms in a matrix pass unchanged",
       envelope(R"({"resultType":"matrix","result":[{"metric":{"instance":"a"},"histograms":)"
                R"([[1.5,{"count":"1","sum":"3","buckets":[[1,"0","1","1"]]}]]}]})"),
       {output_is(envelope(R"({"resultType":"matrix","result":[{"metric":{},"histograms":)"
                           R"([[1.5,{"count":"1","sum":"3","buckets":[[1,"0","1","1"]]}]]}]})"))}},
      {"empty result",
       envelope(R"({"resultType":"matrix","result":[]})"),
       {output_is(envelope(R"({"resultType":"matrix","result":[]})"))}},
      {"null result",
       envelope(R"({"resultType":"matrix","result":null})"),
       {output_is(envelope(R"({"resultType":"matrix","result":null})"))}},
  };
  run_cases(Endpoint::kQuery, cases);
}

TEST_CASE("query: every other field is kept byte for byte") {
  const std::string stats =
      R"({"timings":{"evalTotalTime":0.000312,"resultSortTime":0,"queryPreparationTime":)"
      R"(1.2e-05,"innerEvalTime":0.000123,"execQueueTime":3.4E-6,"execTotalTime":0.0005},)"
      R"("samples":{"totalQueryableSamples":12345678901234567890123,"peakSamples":-0}})";
  const std::vector<Case> cases = {
      {"warnings, infos and stats",
       R"({"status":"success","warnings":["PromQL warning: \u00e9"],"infos":["info: x"],)"
       R"("data":{"resultType":"vector","result":[{"metric":{"instance":"a","job":"j"},)"
       R"("value":[1700000000.123,"1.0000000000000002"]}],"stats":)" +
           stats + "}}",
       {output_is(
           R"({"status":"success","warnings":["PromQL warning: \u00e9"],"infos":["info: x"],)"
           R"("data":{"resultType":"vector","result":[{"metric":{"job":"j"},)"
           R"("value":[1700000000.123,"1.0000000000000002"]}],"stats":)" +
           stats + "}}")}},
      {"escaped label names are decoded before matching, kept ones keep their escapes",
       envelope(R"({"resultType":"vector","result":[{"metric":{"client\u005fip":"1.2.3.4",)"
                R"("path":"\/a\"b\u00e9"},"value":[1,"1"]}]})"),
       {output_is(envelope(R"({"resultType":"vector","result":[{"metric":{"path":)"
                           R"("\/a\"b\u00e9"},"value":[1,"1"]}]})"))}},
      {"key order inside a series is kept",
       envelope(R"({"result":[{"value":[2,"3"],"metric":{"a":"1","instance":"x"}}],)"
                R"("resultType":"vector"})"),
       {output_is(envelope(R"({"result":[{"value":[2,"3"],"metric":{"a":"1"}}],)"
                           R"("resultType":"vector"})"))}},
      {"error envelope without data is returned unchanged",
       R"({"status":"error","errorType":"bad_data","error":"parse error at char 4"})",
       {output_is(R"({"status":"error","errorType":"bad_data","error":"parse error at char 4"})")}},
      {"error envelope with partial data is filtered too",
       R"({"status":"error","errorType":"execution","error":"e","data":{"resultType":"vector",)"
       R"("result":[{"metric":{"instance":"x"},"value":[1,"1"]}]}})",
       {output_is(R"({"status":"error","errorType":"execution","error":"e","data":{"resultType":)"
                  R"("vector","result":[{"metric":{},"value":[1,"1"]}]}})")}},
      {"numbers keep their text (no round trip through double)",
       envelope(R"({"resultType":"matrix","result":[{"metric":{"instance":"i","job":"j"},)"
                R"("values":[[1700000000.100,"1"],[1.0,"2"],[1E+2,"3"],[-0.0,"4"],[0.1e-7,"5"],)"
                R"([123456789012345678901234567890,"6"]]}]})"),
       {output_is(envelope(R"({"resultType":"matrix","result":[{"metric":{"job":"j"},)"
                           R"("values":[[1700000000.100,"1"],[1.0,"2"],[1E+2,"3"],[-0.0,"4"],)"
                           R"([0.1e-7,"5"],[123456789012345678901234567890,"6"]]}]})"))}},
      {"an error message naming a hidden label is withheld",
       R"({"status":"error","errorType":"execution","error":"found duplicate series for the )"
       R"(match group {client_ip=\"10.0.0.1\"} on the right hand-side of the operation"})",
       {output_is(R"({"status":"error","errorType":"execution","error":"upstream error )"
                  R"(withheld: it mentions a hidden label"})")}},
      {"a hidden name inside a longer word does not count",
       R"({"status":"error","errorType":"bad_data","error":"too many instances","data":null})",
       {output_is(R"({"status":"error","errorType":"bad_data","error":"too many instances",)"
                  R"("data":null})")}},
      {"withheld error and filtered data in one envelope",
       R"({"status":"error","data":{"resultType":"vector","result":[{"metric":{"instance":"x"},)"
       R"("value":[1,"1"]}]},"error":"instance \"x\" is down"})",
       {output_is(R"({"status":"error","data":{"resultType":"vector","result":[{"metric":{},)"
                  R"("value":[1,"1"]}]},"error":"upstream error withheld: it mentions a hidden )"
                  R"(label"})")}},
      {"null data",
       R"({"status":"success","data":null})",
       {output_is(R"({"status":"success","data":null})")}},
  };
  run_cases(Endpoint::kQueryRange, cases);
}

TEST_CASE("query: series made identical by stripping are refused with an actionable message") {
  const std::vector<Case> cases = {
      {"one hidden label",
       envelope(R"({"resultType":"vector","result":[)"
                R"({"metric":{"job":"api","client_ip":"10.0.0.1"},"value":[1,"1"]},)"
                R"({"metric":{"job":"api","client_ip":"10.0.0.2"},"value":[1,"2"]}]})"),
       {has_code(Code::kInvalidArgument),
        message_contains("hidden label \"client_ip\" distinguishes series that would otherwise "
                         "be identical; aggregate it away (e.g. sum without (client_ip) (...))")}},
      {"hidden on one side only",
       envelope(R"({"resultType":"matrix","result":[)"
                R"({"metric":{"job":"api"},"values":[[1,"1"]]},)"
                R"({"metric":{"client_ip":"10.0.0.2","job":"api"},"values":[[1,"2"]]}]})"),
       {has_code(Code::kInvalidArgument), message_contains("\"client_ip\"")}},
      {"two hidden labels named together",
       envelope(R"({"resultType":"vector","result":[)"
                R"({"metric":{"job":"a","client_ip":"1","instance":"x"},"value":[1,"1"]},)"
                R"({"metric":{"job":"a","client_ip":"2","instance":"y"},"value":[1,"2"]}]})"),
       {has_code(Code::kInvalidArgument),
        message_contains("hidden labels \"client_ip\", \"instance\" distinguish"),
        message_contains("sum without (client_ip, instance) (...)")}},
      {"label order does not matter",
       envelope(R"({"resultType":"vector","result":[)"
                R"({"metric":{"a":"1","b":"2","instance":"x"},"value":[1,"1"]},)"
                R"({"metric":{"b":"2","a":"1","instance":"y"},"value":[1,"2"]}]})"),
       {has_code(Code::kInvalidArgument)}},
      {"different remaining labels are fine",
       envelope(R"({"resultType":"vector","result":[)"
                R"({"metric":{"job":"a","instance":"x"},"value":[1,"1"]},)"
                R"({"metric":{"job":"b","instance":"x"},"value":[1,"2"]}]})"),
       {is_ok(), valid_json(), output_lacks("instance")}},
      {"duplicates the upstream sent itself are not ours to judge",
       envelope(
           R"({"resultType":"vector","result":[)"
           R"({"metric":{"job":"a"},"value":[1,"1"]},{"metric":{"job":"a"},"value":[1,"2"]}]})"),
       {is_ok()}},
  };
  run_cases(Endpoint::kQuery, cases);
}

TEST_CASE("query_exemplars: series and exemplar labels stripped, identical groups merged") {
  const std::string group1 =
      R"({"seriesLabels":{"__name__":"test_exemplar_metric_total","instance":"localhost:8090",)"
      R"("job":"prometheus","service":"bar"},"exemplars":[{"labels":{"trace_id":)"
      R"("EpTxMJ40fUus7aGY","client_ip":"1.1.1.1"},"value":"6","timestamp":1600096945.479}]})";
  const std::string group2 =
      R"({"seriesLabels":{"__name__":"test_exemplar_metric_total","instance":"localhost:8091",)"
      R"("job":"prometheus","service":"bar"},"exemplars":[{"labels":{"trace_id":)"
      R"("Olp9XHlq763ccsfa"},"value":"19","timestamp":1600096955.479}]})";
  const std::vector<Case> cases = {
      {"one group",
       envelope("[" + group1 + "]"),
       {output_is(envelope(
           R"([{"seriesLabels":{"__name__":"test_exemplar_metric_total","job":"prometheus",)"
           R"("service":"bar"},"exemplars":[{"labels":{"trace_id":"EpTxMJ40fUus7aGY"},)"
           R"("value":"6","timestamp":1600096945.479}]}])"))}},
      {"two groups that differ only by a hidden label are merged",
       envelope("[" + group1 + "," + group2 + "]"),
       {output_is(envelope(
           R"([{"seriesLabels":{"__name__":"test_exemplar_metric_total","job":"prometheus",)"
           R"("service":"bar"},"exemplars":[{"labels":{"trace_id":"EpTxMJ40fUus7aGY"},)"
           R"("value":"6","timestamp":1600096945.479},{"labels":{"trace_id":)"
           R"("Olp9XHlq763ccsfa"},"value":"19","timestamp":1600096955.479}]}])"))}},
      {"series labels without hidden ones are kept as sent",
       envelope(R"([{"seriesLabels":{ "job" : "p" },"exemplars":[{"labels":{"trace_id":"t",)"
                R"("client_ip":"1"},"value":"1","timestamp":1.5}]}])"),
       {output_is(envelope(R"([{"seriesLabels":{ "job" : "p" },"exemplars":[{"labels":)"
                           R"({"trace_id":"t"},"value":"1","timestamp":1.5}]}])"))}},
      {"empty", envelope("[]"), {output_is(envelope("[]"))}},
      {"unknown field in an exemplar is refused",
       envelope(R"([{"seriesLabels":{},"exemplars":[{"labels":{},"extra":{"instance":"x"}}]}])"),
       {upstream_refused()}},
  };
  run_cases(Endpoint::kQueryExemplars, cases);
}

TEST_CASE("series, labels and label values") {
  SECTION("series: stripped and deduplicated") {
    run_cases(Endpoint::kSeries,
              {{"docs example",
                envelope(R"([{"__name__":"up","job":"prometheus","instance":"localhost:9090"},)"
                         R"({"__name__":"up","job":"node","instance":"localhost:9091"},)"
                         R"({"__name__":"up","job":"node","instance":"localhost:9092"},)"
                         R"({"__name__":"process_start_time_seconds","job":"prometheus"}])"),
                {output_is(envelope(R"([{"__name__":"up","job":"prometheus"},)"
                                    R"({"__name__":"up","job":"node"},)"
                                    R"({"__name__":"process_start_time_seconds",)"
                                    R"("job":"prometheus"}])"))}},
               {"a value that is not a string is refused",
                envelope(R"([{"job":1}])"),
                {upstream_refused()}}});
  }
  SECTION("labels: hidden names removed") {
    run_cases(Endpoint::kLabels,
              {{"docs example",
                envelope(R"(["__name__","call","client_ip","code","instance","job"])"),
                {output_is(envelope(R"(["__name__","call","code","job"])"))}},
               {"escaped hidden name",
                envelope(R"(["instanc\u0065","job"])"),
                {output_is(envelope(R"(["job"])"))}},
               {"non-string name refused", envelope(R"(["job",null])"), {upstream_refused()}}});
  }
  SECTION("label values: checked and passed") {
    run_cases(Endpoint::kLabelValues,
              {{"values",
                envelope(R"(["node", "prometheus"])"),
                {output_is(envelope(R"(["node", "prometheus"])"))}},
               {"not a list", envelope(R"({"a":"b"})"), {upstream_refused()}}});
  }
}

TEST_CASE("metadata: only visible metric names") {
  const std::set<std::string> visible = {"http_requests_total", "up", "req_seconds_bucket",
                                         "rpc_seconds_count", "build_info"};
  const std::vector<Case> cases = {
      {"docs example",
       envelope(R"({"cortex_ring_tokens":[{"type":"gauge","help":"Number of tokens in the ring",)"
                R"("unit":""}],"http_requests_total":[{"type":"counter","help":"Number of HTTP )"
                R"(requests","unit":""},{"type":"counter","help":"Amount of HTTP requests",)"
                R"("unit":""}]})"),
       {output_is(envelope(R"({"http_requests_total":[{"type":"counter","help":"Number of )"
                           R"(HTTP requests","unit":""},{"type":"counter","help":"Amount of )"
                           R"(HTTP requests","unit":""}]})"))}},
      {"nothing visible", envelope(R"({"secret_total":[]})"), {output_is(envelope("{}"))}},
      {"histogram family visible through its _bucket series",
       envelope(R"({"req_seconds":[{"type":"histogram","help":"h","unit":""}],)"
                R"("other_seconds":[{"type":"histogram","help":"o","unit":""}]})"),
       {output_is(envelope(R"({"req_seconds":[{"type":"histogram","help":"h","unit":""}]})"))}},
      {"summary family visible through its _count series",
       envelope(R"({"rpc_seconds":[{"type":"summary","help":"s","unit":""}]})"),
       {output_contains(R"("rpc_seconds")")}},
      {"OpenMetrics counter family visible through its _total series",
       envelope(R"({"http_requests":[{"type":"counter","help":"c","unit":""}]})"),
       {output_contains(R"("http_requests")")}},
      {"another type's family of the same prefix stays hidden (B's gauge vs A's counter)",
       envelope(R"({"http_requests":[{"type":"gauge","help":"B","unit":""}],)"
                R"("req":[{"type":"counter","help":"x","unit":""}]})"),
       {output_is(envelope("{}"))}},
      {"of mixed entries under one family name only those whose type fits are kept",
       envelope(R"({"http_requests":[{"type":"gauge","help":"B","unit":""},)"
                R"({"type":"counter","help":"A","unit":""}]})"),
       {output_is(envelope(R"({"http_requests":[{"type":"counter","help":"A","unit":""}]})"))}},
      {"info family through _info",
       envelope(R"({"build":[{"type":"info","help":"i","unit":""}]})"),
       {output_contains(R"("build")")}},
      {"a gauge is not a family of build_info",
       envelope(R"({"build":[{"type":"gauge","help":"g","unit":""}]})"),
       {output_is(envelope("{}"))}},
      {"a histogram is not a family of a _total series",
       envelope(R"({"http_requests":[{"type":"histogram","help":"h","unit":""}]})"),
       {output_is(envelope("{}"))}},
      {"a family entry that is not an object is refused",
       envelope(R"({"http_requests":["counter"]})"), {upstream_refused()}},
      {"a prefix of a visible name is not its family",
       envelope(R"({"http":[],"u":[],"up_":[],"http_requests_tot":[]})"),
       {output_is(envelope("{}"))}},
      {"not an object", envelope(R"([])"), {upstream_refused()}},
      {"metadata of a metric that is not a list", envelope(R"({"up":{}})"), {upstream_refused()}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) { run(filter_metadata(c.input, visible), c.checks); }
  }
}

TEST_CASE("metadata: the limit counts visible names only") {
  const std::set<std::string> visible = {"a", "c", "d"};
  const std::string body = envelope(R"({"a":[],"b":[],"c":[],"d":[]})");
  struct Row {
    const char* name;
    std::size_t limit;
    std::string want;
  };
  const std::vector<Row> rows = {
      {"no limit", 0, R"({"a":[],"c":[],"d":[]})"},
      {"limit 1", 1, R"({"a":[]})"},
      {"limit 2 skips the invisible name between", 2, R"({"a":[],"c":[]})"},
      {"limit above the count", 9, R"({"a":[],"c":[],"d":[]})"},
  };
  for (const Row& r : rows) {
    DYNAMIC_SECTION(r.name) {
      run(filter_metadata(body, visible, r.limit), {output_is(envelope(r.want))});
    }
  }
  SECTION("malformed entries after the limit are still refused") {
    run(filter_metadata(envelope(R"({"a":[],"c":{}})"), visible, 1), {upstream_refused()});
  }
}
