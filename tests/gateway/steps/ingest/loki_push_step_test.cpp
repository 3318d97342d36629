// The loki_push step driven with hand-built Requests (JSON pushes, no sockets): body types,
// write-tenant resolution, audit streams and the shipper, reject and drop, what is forwarded.
#include <string>
#include <vector>

#include "test_common.h"

namespace {

using namespace ingest_test;  // NOLINT(google-build-using-namespace): test file

constexpr const char* kJson = "application/json";

Input push(std::string body, std::vector<std::pair<std::string, std::string>> headers = {
                                 {"Content-Type", kJson}}) {
  Input in;
  in.body = std::move(body);
  in.headers = std::move(headers);
  return in;
}

std::string stream(const std::string& labels, const std::string& line = "hello") {
  return R"({"stream":)" + labels + R"(,"values":[["1700000000000000000",")" + line + R"("]]})";
}

std::string body(const std::vector<std::string>& streams) {
  std::string out = R"({"streams":[)";
  for (size_t i = 0; i < streams.size(); ++i) {
    out += (i ? "," : "") + streams[i];
  }
  return out + "]}";
}

Check forwarded_contains(std::string s) {
  return [=](Exchange& x) {
    INFO(x.forwarded());
    CHECK(x.forwarded().find(s) != std::string::npos);
  };
}

Check forwarded_lacks(std::string s) {
  return [=](Exchange& x) {
    INFO(x.forwarded());
    CHECK(x.forwarded().find(s) == std::string::npos);
  };
}

Input with(Input in, const std::function<void(Input&)>& f) {
  f(in);
  return in;
}

struct Case {
  std::string name;
  Input in;
  Check check;
};

const std::string kApp = stream(R"({"app":"api","namespace":"team-a"})");
const std::string kAudit = stream(R"({"namespace":"team-a","stream":"audit"})", "AUDIT");

TEST_CASE("ingest steps: a write policy without a tenant label loads", "[ingest]") {
  // No stamping (the tenant is kept apart by write rules or by X-Scope-OrgID alone): both
  // steps must still build. loki_push once fell back to the tenant's name as tenant_value,
  // and a value without a label fails the policy, so the whole route failed to load.
  config::Config cfg = make_config();
  for (config::Tenant& t : cfg.tenants.tenants) {
    if (t.write) {
      t.write->policy.tenant_label.clear();
      t.write->policy.tenant_value.clear();
    }
  }
  prometheus::Registry registry;
  gw::Services services;
  services.registry = &registry;
  for (const char* path : {"/loki/api/v1/push", "/api/v1/write"}) {
    config::Route route;
    route.name = path;
    route.upstream = "up";
    route.auth = config::AuthMode::kRequired;
    route.path = path;
    auto f = std::string_view(path) == "/api/v1/write"
                 ? gw::ingest::make_remote_write_step(cfg, route, services)
                 : gw::ingest::make_loki_push_step(cfg, route, services);
    INFO(path << ": " << f.status().to_string());
    CHECK(f.ok());
  }
}

TEST_CASE("loki_push step: requests", "[ingest][loki_push]") {
  const std::vector<Case> cases = {
      {"team-a's stream is stamped, X-Scope-OrgID from the mapping",
       push(body({kApp}), {{"Content-Type", kJson}, {"Content-Encoding", "identity"}}),
       all({forwards(), decision("ok"),
            forwarded_contains(R"({"app":"api","namespace":"team-a","tenant":"team-a"})"),
            forwarded_contains(R"([["1700000000000000000","hello"]])"),
            has_header("X-Scope-OrgID", "org-a"), has_header("Content-Encoding", ""),
            has_header("Content-Type", kJson)})},
      {"an unknown body type is 415", push(body({kApp}), {{"Content-Type", "text/plain"}}),
       responds(415, "", "loki_push_denied{unsupported_media_type}")},
      {"an unknown encoding is 415",
       push(body({kApp}), {{"Content-Type", kJson}, {"Content-Encoding", "br"}}),
       responds(415, "", "loki_push_denied{unsupported_media_type}")},
      {"malformed JSON is 400", push("{\"streams\":["),
       responds(400, "", "loki_push_denied{malformed}")},
      {"a stream of another tenant is 403",
       push(body({stream(R"({"app":"api","namespace":"team-a","tenant":"team-b"})")})),
       responds(403, "team-b", "loki_push_denied{tenant_mismatch}")},
      {"outside team-a's write scope is 403",
       push(body({stream(R"({"app":"api","namespace":"other"})")})),
       responds(403, "", "loki_push_denied{out_of_scope}")},
      {"an audit stream from a writer is 403", push(body({kApp, kAudit})),
       responds(403, "stream=\"audit\"", "loki_push_denied{audit_stream}")},
      {"an audit stream from the audit shipper passes",
       with(push(body({kAudit})), [](Input& i) { i.subject = "shipper"; }),
       all({forwards(), forwarded_contains(R"("stream":"audit","tenant":"team-a")")})},
      {"the audit shipper naming a tenant it does not belong to: 403",
       with(push(body({kAudit})),
            [](Input& i) {
              i.subject = "shipper";
              i.tenant_header = "team-b";
            }),
       responds(403, "may not write as tenant 'team-b'", "loki_push_denied{tenant_header}")},
      {"an unrestricted role is not the audit shipper",
       with(push(body({kAudit})), [](Input& i) { i.roles = {"admin"}; }),
       responds(403, "stream=\"audit\"", "loki_push_denied{audit_stream}")},
      {"several write tenants and no header: 400",
       with(push(body({kApp})), [](Input& i) { i.tenants = {"team-a", "team-b"}; }),
       responds(400, "X-Obsgate-Tenant", "loki_push_denied{tenant_ambiguous}")},
      {"naming a tenant one does not belong to: 403",
       with(push(body({kApp})), [](Input& i) { i.tenant_header = "team-b"; }),
       responds(403, "does not belong")},
      {"team-b drops the audit stream and forwards the rest (unmapped X-Scope-OrgID)",
       with(push(body({stream(R"({"app":"web"})"), kAudit})),
            [](Input& i) { i.tenants = {"team-b"}; }),
       all({forwards(), decision("dropped"), forwarded_contains(R"("tenant":"team-b")"),
            forwarded_lacks("AUDIT"), has_header("X-Scope-OrgID", "team-b")})},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env(Kind::kLokiPush);
      Exchange x(env, c.in);
      c.check(x);
    }
  }
}

TEST_CASE("loki_push step: metrics", "[ingest][loki_push]") {
  Env env(Kind::kLokiPush);
  {
    auto in = push(body({stream(R"({"app":"web"})"), kAudit}));
    in.tenants = {"team-b"};
    Exchange x(env, in);
    REQUIRE(x.action == gw::Action::kContinue);
    x.answer(204);
  }
  CHECK(env.counter("obsgate_ingest_series_total", {{"api", "loki_push"},
                                                    {"tenant", "team-b"},
                                                    {"result", "dropped"},
                                                    {"reason", "audit_stream"}}) == 1);
  CHECK(env.counter("obsgate_ingest_samples_total", {{"api", "loki_push"},
                                                     {"tenant", "team-b"},
                                                     {"result", "accepted"},
                                                     {"reason", "ok"}}) == 1);
  {
    Exchange x(env, push(body({kApp})));
    REQUIRE(x.action == gw::Action::kContinue);
    x.answer(503);
  }
  CHECK(env.counter("obsgate_ingest_series_total", {{"api", "loki_push"},
                                                    {"tenant", "team-a"},
                                                    {"result", "backend_error"},
                                                    {"reason", "backend_5xx"}}) == 1);
  {
    // team-a rejects: an audit stream from a non-shipper refuses the whole push.
    Exchange x(env, push(body({kApp, kAudit})));
    REQUIRE(x.action == gw::Action::kRespond);
  }
  CHECK(env.counter("obsgate_ingest_series_total", {{"api", "loki_push"},
                                                    {"tenant", "team-a"},
                                                    {"result", "rejected"},
                                                    {"reason", "audit_stream"}}) == 2);
  // Counted once: the offending stream is not also "dropped" (-1: absent).
  CHECK(env.counter("obsgate_ingest_series_total", {{"api", "loki_push"},
                                                    {"tenant", "team-a"},
                                                    {"result", "dropped"},
                                                    {"reason", "audit_stream"}}) == -1);
}

}  // namespace
