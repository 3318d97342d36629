// strip_hidden_labels_text: the /federate body (text format 0.0.4).
#include "tests/filters/response/test_common.h"

using namespace obsgate::filters::response::testing;  // NOLINT(google-build-using-namespace)
using obsgate::Code;
using obsgate::filters::response::strip_hidden_labels_text;

TEST_CASE("strip_hidden_labels_text") {
  const std::vector<Case> cases = {
      {"federate body: comments kept, hidden label removed, values and timestamps as sent",
       "# HELP http_requests_total The total number of HTTP requests.\n"
       "# TYPE http_requests_total counter\n"
       "http_requests_total{method=\"post\",code=\"200\",instance=\"h:1\"} 1027 1395066363000\n"
       "http_requests_total{instance=\"h:1\",method=\"post\",code=\"400\"}    3 1395066363000\n"
       "\n"
       "# Minimalistic line:\n"
       "metric_without_timestamp_and_labels 12.47\n"
       "up{instance=\"h:1\"} 1\n",
       {output_is("# HELP http_requests_total The total number of HTTP requests.\n"
                  "# TYPE http_requests_total counter\n"
                  "http_requests_total{method=\"post\",code=\"200\"} 1027 1395066363000\n"
                  "http_requests_total{method=\"post\",code=\"400\"}    3 1395066363000\n"
                  "\n"
                  "# Minimalistic line:\n"
                  "metric_without_timestamp_and_labels 12.47\n"
                  "up 1\n")}},
      {"escapes in kept values are kept as sent",
       "msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot find file:\\n"
       "\\\"FILE.TXT\\\"\",instance=\"x\"} 1.458255915e9\n",
       {output_is("msdos_file_access_time_seconds{path=\"C:\\\\DIR\\\\FILE.TXT\",error=\"Cannot "
                  "find file:\\n\\\"FILE.TXT\\\"\"} 1.458255915e9\n")}},
      {"special values, trailing comma, blanks, no final newline",
       "a{x=\"1\",instance=\"i\",} +Inf\nb{ x = \"2\" } NaN\nc -Inf -5\nd 1e-3",
       {output_is("a{x=\"1\"} +Inf\nb{ x = \"2\" } NaN\nc -Inf -5\nd 1e-3")}},
      {"lines without hidden labels are untouched",
       "rpc_duration_seconds{quantile=\"0.99\"} 76656\nrpc_duration_seconds_sum 1.7560473e+07\n",
       {output_is("rpc_duration_seconds{quantile=\"0.99\"} 76656\n"
                  "rpc_duration_seconds_sum 1.7560473e+07\n")}},
      {"histogram buckets stay apart through le",
       "h_bucket{le=\"0.5\",instance=\"a\"} 1\nh_bucket{le=\"1\",instance=\"a\"} 2\n",
       {output_is("h_bucket{le=\"0.5\"} 1\nh_bucket{le=\"1\"} 2\n")}},
      {"two samples made identical",
       "up{job=\"a\",instance=\"h:1\"} 1\nup{job=\"a\",instance=\"h:2\"} 0\n",
       {has_code(Code::kInvalidArgument),
        message_contains("hidden label \"instance\" distinguishes series")}},
      {"same labels, different metric names are fine",
       "a{instance=\"1\"} 1\nb{instance=\"1\"} 1\n",
       {output_is("a 1\nb 1\n")}},
      {"unknown escape", "a{x=\"\\t\"} 1\n", {upstream_refused(), message_contains("line 1")}},
      {"unterminated value", "a{x=\"1} 1\n", {upstream_refused()}},
      {"unquoted value", "a{x=1} 1\n", {upstream_refused()}},
      {"missing value", "a{x=\"1\"}\n", {upstream_refused()}},
      {"value that is not a number", "a 1x\n", {upstream_refused()}},
      {"timestamp that is not an integer", "a 1 2.5\n", {upstream_refused()}},
      {"three tokens", "a 1 2 3\n", {upstream_refused()}},
      {"duplicate label", "a{x=\"1\",x=\"2\"} 1\n", {upstream_refused()}},
      {"__name__ inside the braces", "a{__name__=\"b\"} 1\n", {upstream_refused()}},
      {"quoted UTF-8 metric name", "{\"my.metric\"} 1\n", {upstream_refused()}},
      {"bad label name", "a{1x=\"1\"} 1\n", {upstream_refused()}},
      {"invalid UTF-8", std::string("a{x=\"\xff\"} 1\n"), {upstream_refused()}},
      {"carriage return", "a 1\r\n", {upstream_refused()}},
      {"empty body", "", {output_is("")}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CAPTURE(c.input);
      run(strip_hidden_labels_text(c.input, {"instance", "client_ip"}), c.checks);
    }
  }
}
