// /api/v1/rules and /api/v1/alerts: scope filtering as prom-label-proxy does it, generalised to
// our Scope. Bodies follow the API docs' examples.
#include <cstdlib>

#include "tests/filters/response/test_common.h"

using namespace obsgate::filters::response::testing;  // NOLINT(google-build-using-namespace)
using obsgate::filters::MatchOp;
using obsgate::filters::Scope;
using obsgate::filters::response::filter_alerts;
using obsgate::filters::response::filter_rules;

namespace {

const std::vector<std::string> kHidden = {"client_ip"};

Scope tenant(MatchOp op, std::string value) {
  Scope s;
  s.rules = {{{"tenant", op, std::move(value)}}};
  return s;
}

Scope unrestricted() {
  Scope s;
  s.unrestricted = true;
  return s;
}

std::string envelope(const std::string& data) {
  return R"({"status":"success","data":)" + data + "}";
}

// Alerting rule of tenant a with one alert of a and one of b; recording rules of b and none.
const std::string kAlertA =
    R"({"activeAt":"2018-07-04T20:27:12.60602144+02:00","annotations":{"summary":"High"},)"
    R"("labels":{"alertname":"HighRequestLatency","severity":"page","tenant":"a",)"
    R"("client_ip":"10.0.0.1"},"state":"firing","value":"1e+00"})";
// It carried client_ip: the label goes, and with it every annotation (see response.h).
const std::string kAlertAStripped =
    R"({"activeAt":"2018-07-04T20:27:12.60602144+02:00","annotations":{},)"
    R"("labels":{"alertname":"HighRequestLatency","severity":"page","tenant":"a"},)"
    R"("state":"firing","value":"1e+00"})";
const std::string kAlertB =
    R"({"activeAt":"2018-07-04T20:27:12.60602144+02:00","annotations":{},"labels":)"
    R"({"alertname":"HighRequestLatency","tenant":"b"},"state":"pending","value":"2e+00"})";
std::string alerting_rule(const std::string& alerts, const std::string& extra_label = "") {
  return R"({"alerts":)" + alerts +
         R"(,"annotations":{"summary":"High request latency"},"duration":600,"health":"ok",)"
         R"("labels":{"severity":"page","tenant":"a")" +
         extra_label +
         R"(},"name":"HighRequestLatency","query":"job:request_latency_seconds:mean5m)"
         R"({job=\"myjob\"} > 0.5","type":"alerting","evaluationTime":0.000312,)"
         R"("lastEvaluation":"2023-01-01T00:00:00.000123Z"})";
}
const std::string kRecordingB =
    R"({"health":"ok","labels":{"tenant":"b"},"name":"job:http_inprogress_requests:sum",)"
    R"x("query":"sum by (job) (http_inprogress_requests)","type":"recording"})x";
const std::string kRecordingNoLabels =
    R"x({"health":"ok","name":"job:up:sum","query":"sum by (job) (up)","type":"recording"})x";
std::string group(const std::string& name, const std::string& rules) {
  return R"({"rules":)" + rules + R"(,"file":"/rules.yaml","interval":60,"limit":0,"name":")" +
         name + R"(","evaluationTime":1.5e-05})";
}

}  // namespace

TEST_CASE("filter_rules keeps the rules and alerts in scope") {
  const std::string body = envelope(
      R"({"groups":[)" +
      group("example",
            "[" + alerting_rule("[" + kAlertA + "," + kAlertB + "]", R"(,"client_ip":"x")") + "," +
                kRecordingB + "," + kRecordingNoLabels + "]") +
      "," + group("only-b", "[" + kRecordingB + "]") + R"(],"groupNextToken":"abc"})");
  struct Row {
    const char* name;
    Scope scope;
    std::vector<Check> checks;
  };
  const std::vector<Row> rows = {
      {"tenant a: its alerting rule with its own alert; group of b dropped",
       tenant(MatchOp::kEq, "a"),
       {output_is(
           envelope(R"({"groups":[)" +
                    group("example", "[" + alerting_rule("[" + kAlertAStripped + "]") + "]") +
                    R"(],"groupNextToken":"abc"})"))}},
      {"tenant b: recording rule only; alerting rule of a dropped with its alerts",
       tenant(MatchOp::kEq, "b"),
       {output_is(envelope(R"({"groups":[)" + group("example", "[" + kRecordingB + "]") + "," +
                           group("only-b", "[" + kRecordingB + "]") +
                           R"(],"groupNextToken":"abc"})"))}},
      {"tenant != b: a missing tenant label reads as empty and matches",
       tenant(MatchOp::kNeq, "b"),
       {output_contains("job:up:sum"), output_contains("HighRequestLatency"),
        output_lacks(R"("tenant":"b")"), output_lacks("client_ip"), valid_json()}},
      {"regex over both tenants keeps everything, hidden stripped",
       tenant(MatchOp::kRe, "a|b"),
       {output_contains(R"("tenant":"b")"), output_contains("only-b"), output_lacks("client_ip"),
        output_contains(R"("evaluationTime":0.000312)"),
        output_contains(R"("evaluationTime":1.5e-05)")}},
      {"unrestricted keeps every rule",
       unrestricted(),
       {output_contains("job:up:sum"), output_contains("only-b"), output_lacks("client_ip")}},
      {"no access: no groups",
       Scope{},
       {output_is(envelope(R"({"groups":[],"groupNextToken":"abc"})"))}},
  };
  for (const Row& r : rows) {
    DYNAMIC_SECTION(r.name) { run(filter_rules(body, r.scope, kHidden), r.checks); }
  }
}

TEST_CASE("filter_rules refuses what it does not understand") {
  const Scope a = tenant(MatchOp::kEq, "a");
  const std::vector<Case> cases = {
      {"unknown rule type",
       envelope(R"({"groups":[{"rules":[{"type":"new","labels":{}}]}]})"),
       {upstream_refused()}},
      {"rule without type",
       envelope(R"({"groups":[{"rules":[{"labels":{"tenant":"a"}}]}]})"),
       {upstream_refused()}},
      {"labels not strings",
       envelope(R"({"groups":[{"rules":[{"type":"recording","labels":{"tenant":1}}]}]})"),
       {upstream_refused()}},
      {"groups not a list", envelope(R"({"groups":{}})"), {upstream_refused()}},
      {"recording rule with alerts",
       envelope(R"({"groups":[{"rules":[{"type":"recording","labels":{"tenant":"a"},)"
                R"("alerts":[]}]}]})"),
       {upstream_refused()}},
      {"alert that is not an object",
       envelope(R"({"groups":[{"rules":[{"type":"alerting","labels":{"tenant":"a"},)"
                R"("alerts":[1]}]}]})"),
       {upstream_refused()}},
      {"null alerts and rules pass",
       envelope(R"({"groups":[{"name":"g","rules":[{"type":"alerting","labels":{"tenant":"a"},)"
                R"("alerts":null}]},{"name":"h","rules":null}]})"),
       {output_is(envelope(R"({"groups":[{"name":"g","rules":[{"type":"alerting","labels":)"
                           R"({"tenant":"a"},"alerts":null}]}]})"))}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) { run(filter_rules(c.input, a, kHidden), c.checks); }
  }
}

TEST_CASE("filter_rules on a golden body") {
  const std::string in = read_golden("rules.json");
  Scope team_a;
  team_a.rules = {{{"team", MatchOp::kEq, "team-a"}}};
  auto out = filter_rules(in, team_a, {"instance"});
  REQUIRE(out.ok());
  const std::string want = read_golden("rules.team-a.golden.json");
  // Byte-exact: the filter is deterministic and copies untouched spans.
  if (const char* dir = std::getenv("OBSGATE_UPDATE_GOLDEN"); dir != nullptr) {
    std::ofstream(std::string(dir) + "/rules.team-a.golden.json", std::ios::binary) << *out;
  }
  CHECK(*out == want);
}

TEST_CASE("filter_alerts keeps the alerts in scope") {
  const std::string body = envelope(R"({"alerts":[)" + kAlertA + "," + kAlertB + "]}");
  struct Row {
    const char* name;
    Scope scope;
    std::vector<Check> checks;
  };
  const std::vector<Row> rows = {
      {"tenant a",
       tenant(MatchOp::kEq, "a"),
       {output_is(envelope(R"({"alerts":[)" + kAlertAStripped + "]}"))}},
      {"tenant b",
       tenant(MatchOp::kEq, "b"),
       {output_is(envelope(R"({"alerts":[)" + kAlertB + "]}"))}},
      {"nobody", Scope{}, {output_is(envelope(R"({"alerts":[]})"))}},
      {"unrestricted still strips",
       unrestricted(),
       {output_is(envelope(R"({"alerts":[)" + kAlertAStripped + "," + kAlertB + "]}"))}},
  };
  for (const Row& r : rows) {
    DYNAMIC_SECTION(r.name) { run(filter_alerts(body, r.scope, kHidden), r.checks); }
  }
  SECTION("alerts not a list is refused") {
    run(filter_alerts(envelope(R"({"alerts":"x"})"), unrestricted(), kHidden),
        {upstream_refused()});
  }
}

namespace {

// An alert of tenant a with the given labels (besides alertname and tenant) and annotations.
std::string alert(const std::string& labels, const std::string& annotations) {
  return R"({"activeAt":"2024-01-01T00:00:00Z","annotations":)" + annotations +
         R"(,"labels":{"alertname":"Slow","tenant":"a")" + labels +
         R"(},"state":"firing","value":"1e+00"})";
}

std::string alerts_body(const std::string& one) {
  return envelope(R"({"alerts":[)" + one + "]}");
}

}  // namespace

TEST_CASE("filter_alerts: alerts carrying a hidden value lose annotations and copies") {
  const std::vector<std::string> hidden = {"client_ip", "user_id"};
  const Scope a = tenant(MatchOp::kEq, "a");
  const std::string ip = R"(,"client_ip":"10.1.2.3")";
  const std::vector<Case> cases = {
      {"annotation rendering the value: annotations removed",
       alerts_body(alert(ip, R"({"summary":"10.1.2.3 is slow"})")),
       {output_is(alerts_body(alert("", "{}"))), output_lacks("10.1.2.3")}},
      {"annotation rendering a transformed value (urlquery): removed as well",
       alerts_body(alert(ip, R"({"runbook":"https://rb/?ip=10%2E1%2E2%2E3"})")),
       {output_is(alerts_body(alert("", "{}"))), output_lacks("10%2E1")}},
      {"annotation without the value: removed all the same (fail closed)",
       alerts_body(alert(ip, R"({"summary":"an address is slow"})")),
       {output_is(alerts_body(alert("", "{}")))}},
      {"alert without hidden labels keeps its annotations",
       alerts_body(alert(R"(,"severity":"page")", R"({"summary":"api is slow"})")),
       {output_is(alerts_body(alert(R"(,"severity":"page")", R"({"summary":"api is slow"})")))}},
      {"hidden label with an empty value: nothing to leak, annotations kept",
       alerts_body(alert(R"(,"client_ip":"")", R"({"summary":"slow"})")),
       {output_is(alerts_body(alert("", R"({"summary":"slow"})")))}},
      {"a label templated from the hidden value is removed; others stay",
       alerts_body(alert(ip + R"(,"src":"from 10.1.2.3","severity":"page")", R"({})")),
       {output_is(alerts_body(alert(R"(,"severity":"page")", "{}")))}},
      {"a label holding an escaped copy of the value is removed (values compared decoded)",
       alerts_body(alert(ip + R"(,"src":"10.1.2\u002e3")", R"({})")),
       {output_is(alerts_body(alert("", "{}")))}},
      {"a scope label is kept even when it contains the hidden value",
       alerts_body(alert(R"(,"client_ip":"a")", R"({})")),
       {output_is(alerts_body(alert("", "{}")))}},
      {"two hidden labels: copies of either are removed",
       alerts_body(alert(ip + R"(,"user_id":"u-77","who":"u-77","sev":"x")",
                         R"({"d":"u-77 at 10.1.2.3"})")),
       {output_is(alerts_body(alert(R"(,"sev":"x")", "{}")))}},
      {"null annotations stay null",
       alerts_body(alert(ip, "null")),
       {output_is(alerts_body(alert("", "null")))}},
      {"annotations that are not an object are refused",
       alerts_body(alert(ip, R"(["10.1.2.3"])")),
       {upstream_refused()}},
      {"out-of-scope alert with the value is dropped whole",
       alerts_body(R"({"annotations":{"s":"10.1.2.3"},"labels":{"tenant":"b","client_ip":)"
                   R"("10.1.2.3"}})"),
       {output_is(envelope(R"({"alerts":[]})"))}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) { run(filter_alerts(c.input, a, hidden), c.checks); }
  }
  SECTION("a tenant without hidden labels gets every alert untouched") {
    const std::string body = alerts_body(alert(ip, R"({"summary":"10.1.2.3 is slow"})"));
    run(filter_alerts(body, a, {}), {output_is(body)});
  }
}

TEST_CASE("filter_rules: the hidden-value rule in rules, and rule errors") {
  const std::vector<std::string> hidden = {"client_ip"};
  const Scope a = tenant(MatchOp::kEq, "a");
  // A rule's own annotations are the unrendered templates: they hold no series values.
  auto rule = [](const std::string& alerts, const std::string& last_error) {
    return envelope(R"({"groups":[{"name":"g","rules":[{"alerts":)" + alerts +
                    R"(,"annotations":{"summary":"{{ $labels.client_ip }} is slow"},)"
                    R"("labels":{"tenant":"a"},"lastError":)" + last_error +
                    R"(,"name":"Slow","type":"alerting"}]}]})");
  };
  const std::string ip = R"(,"client_ip":"10.1.2.3")";
  const std::string tainted = alert(ip, R"({"summary":"10.1.2.3 is slow"})");
  const std::string clean = alert(R"(,"severity":"page")", R"({"summary":"api is slow"})");
  const std::vector<Case> cases = {
      {"nested alerts follow the alert rule; the rule's template is kept",
       rule("[" + tainted + "," + clean + "]", R"("")"),
       {output_is(rule("[" + alert("", "{}") + "," + clean + "]", R"("")"))}},
      {"lastError naming a hidden label is withheld",
       rule("[]", R"("vector contains metrics with the same labelset after applying alert )"
                  R"(labels: {client_ip=\"10.1.2.3\"}")"),
       {output_is(rule("[]", R"("rule error withheld: it mentions a hidden label")")),
        output_lacks("10.1.2.3")}},
      {"lastError naming only a longer label name is kept",
       rule("[]", R"("bad client_ip_count")"),
       {output_is(rule("[]", R"("bad client_ip_count")"))}},
      {"lastError that is not a string passes (the rule is still understood)",
       rule("[]", "null"),
       {output_is(rule("[]", "null"))}},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) { run(filter_rules(c.input, a, hidden), c.checks); }
  }
  SECTION("without hidden labels, lastError and annotations pass unchanged") {
    const std::string body = rule("[" + tainted + "]", R"("labelset {client_ip=\"1\"}")");
    run(filter_rules(body, a, {}), {output_is(body)});
  }
}
