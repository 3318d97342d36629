// The authentication step, driven with hand-built Requests, keys generated at test time and a
// fake KeyProvider whose refetch finishes inline or later (CONVENTIONS #2).
#include "gateway/steps/authn/authn.h"

#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <catch2/catch.hpp>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "gateway/routing/params.h"
#include "gateway/steps/authn/credentials.h"
#include "tests/authz/jwt/test_keys.h"
#include "tests/gateway/steps/authn/fakes.h"

namespace {

namespace asio = boost::asio;
namespace jwt = obsgate::authz::jwt;
namespace jt = obsgate::authz::jwt::testing;
using obsgate::gateway::Action;
using obsgate::gateway::ConnectionInfo;
using obsgate::gateway::Request;
using obsgate::gateway::RequestHead;
using obsgate::gateway::Step;
using obsgate::gateway::StepFactoryPtr;
using obsgate::gateway::authn::AuthnDeps;
using obsgate::gateway::authn::make_authn_step;
using obsgate::gateway::authn::testing::FakeKeys;
using obsgate::gateway::authn::testing::make_cert;
using obsgate::gateway::authn::testing::X509Ptr;
using obsgate::gateway::identity::KeyProviderPtr;
namespace config = obsgate::config;

constexpr std::string_view kOtherIssuer = "https://other.test";
constexpr std::string_view kFingerprintKey = "0123456789abcdef0123456789abcdef";

obsgate::authz::ClaimSource source(std::string claim,
                                   std::map<std::string, std::vector<std::string>> values) {
  obsgate::authz::ClaimSource s;
  s.path = {std::move(claim)};
  for (auto& [k, v] : values) {
    s.values.emplace(k, v);
  }
  return s;
}

config::Config make_config() {
  config::Config c;
  config::OidcProvider idp;
  idp.name = "idp";
  idp.verify = jt::fixture().opts;
  idp.mapping.roles.push_back(source("roles", {{"reader", {"reader"}}, {"admin", {"admin"}}}));
  idp.mapping.tenants.push_back(source("groups", {{"/team-a", {"team-a"}}}));
  c.identity.providers.push_back(idp);
  config::OidcProvider other = idp;
  other.name = "other";
  other.verify.issuer = std::string(kOtherIssuer);
  c.identity.providers.push_back(other);
  obsgate::authz::CertRule rule;
  rule.match = obsgate::authz::CertMatch::kUriSan;
  rule.value = "spiffe://test/collector";
  rule.name = "collector";
  rule.roles = {"writer"};
  rule.tenants = {"team-a"};
  c.identity.certificates.rules.push_back(rule);
  c.identity.decision_fingerprint_key = std::string(kFingerprintKey);
  return c;
}

// Tokens, all signed with fixture keys unless the name says otherwise.
std::string token(const std::vector<std::pair<std::string, std::string>>& claims = {}) {
  const auto& fx = jt::fixture();
  return jt::sign_token(fx.p256, jt::std_header(fx.p256), jt::claims_json(claims));
}
std::string reader_token() {
  return token({{"roles", R"(["reader"])"}, {"groups", R"(["/team-a"])"}});
}

struct Input {
  // NOLINTNEXTLINE(google-explicit-constructor): rows read {"Bearer x", false, "q", cert}
  Input(std::string a = {}, bool rep = false, std::string q = {}, X509* c = nullptr)
      : authorization(std::move(a)), repeated(rep), query(std::move(q)), cert(c) {}
  std::string authorization;
  bool repeated;
  std::string query;
  X509* cert;
};

struct Outcome {
  Action action = Action::kContinue;
  unsigned status = 0;
  std::string www;
  std::string reply_reason;
  std::string message;
  bool authenticated = false;
  obsgate::authz::Principal principal;
  obsgate::gateway::Decision decision;
};

// One exchange: a step of `factory`, driven on a private io_context.
struct Exchange {
  RequestHead head;
  obsgate::routing::PathParams path_params;
  obsgate::routing::Params query;
  ConnectionInfo conn;
  std::unique_ptr<Request> r;
  std::unique_ptr<Step> step;
  std::optional<Action> result;

  Exchange(const StepFactoryPtr& factory, const config::Config& cfg, const config::Route& route,
           const Input& in) {
    auto q = obsgate::routing::parse_params(in.query);
    REQUIRE(q.ok());
    query = std::move(q).value();
    conn.tls = in.cert != nullptr;
    conn.peer_cert = in.cert;
    r = std::make_unique<Request>(Request{.head = head,
                                          .path = "/api/v1/query",
                                          .path_params = path_params,
                                          .query = query,
                                          .form = nullptr,
                                          .conn = conn,
                                          .cfg = cfg,
                                          .route = route});
    r->authorization = in.authorization;
    r->authorization_repeated = in.repeated;
    step = factory->create();
  }
  void start(asio::io_context& io) {
    asio::co_spawn(io, step->on_request(*r), [this](std::exception_ptr e, Action a) {
      REQUIRE_FALSE(e);
      result = a;
    });
  }
  [[nodiscard]] Outcome outcome() const {
    Outcome o;
    o.action = *result;
    o.status = r->reply.status;
    o.www = r->reply.www_authenticate;
    o.reply_reason = r->reply.reason;
    o.message = r->reply.message;
    o.authenticated = r->authenticated;
    o.principal = r->principal;
    o.decision = r->decision;
    return o;
  }
};

struct Env {
  config::Config cfg = make_config();
  config::Route route;
  prometheus::Registry registry;
  std::shared_ptr<FakeKeys> keys = std::make_shared<FakeKeys>(jt::fixture().keys);
  std::shared_ptr<FakeKeys> other_keys = std::make_shared<FakeKeys>(jt::fixture().keys);
  long long clock_offset = 0;
  StepFactoryPtr factory;

  explicit Env(const std::function<void(config::Route&, config::Config&)>& tweak = {}) {
    route.name = "query";
    if (tweak) {
      tweak(route, cfg);
    }
    AuthnDeps deps;
    deps.find_keys = [this](std::string_view name) -> KeyProviderPtr {
      if (name == "idp") {
        return keys;
      }
      return name == "other" ? other_keys : nullptr;
    };
    deps.now = [this] { return jt::now_tp(clock_offset); };
    deps.registry = &registry;
    auto f = make_authn_step(cfg, route, std::move(deps));
    INFO((f.ok() ? std::string() : std::string(f.status().message())));
    REQUIRE(f.ok());
    factory = *f;
  }

  Outcome run(const Input& in) {
    asio::io_context io;
    Exchange ex(factory, cfg, route, in);
    ex.start(io);
    io.run();
    REQUIRE(ex.result.has_value());
    ex.step->on_destroy();
    return ex.outcome();
  }

  double counter(const std::string& family, const std::map<std::string, std::string>& labels) {
    for (const auto& f : registry.Collect()) {
      if (f.name != family) {
        continue;
      }
      for (const auto& m : f.metric) {
        std::map<std::string, std::string> have;
        for (const auto& l : m.label) {
          have[l.name] = l.value;
        }
        if (have == labels) {
          return m.counter.value;
        }
      }
    }
    return -1;
  }
};

// Composable checks.
using Check = std::function<void(const Outcome&)>;
Check responds(unsigned status) {
  return [status](const Outcome& o) {
    CHECK(o.action == Action::kRespond);
    CHECK(o.status == status);
    CHECK_FALSE(o.decision.allow);
    CHECK(o.decision.recorded);
  };
}
Check continues() {
  return [](const Outcome& o) {
    CHECK(o.action == Action::kContinue);
    CHECK(o.authenticated);
    CHECK(o.decision.allow);
    CHECK(o.decision.reason == "ok");
    CHECK(o.decision.recorded);
  };
}
Check challenge(std::string want) {
  return [want](const Outcome& o) { CHECK(o.www == want); };
}
Check reason(std::string want) {
  return [want](const Outcome& o) {
    CHECK(o.decision.reason == want);
    if (o.action == Action::kRespond) {
      CHECK(o.reply_reason == "authn_denied{" + want + "}");
    }
  };
}
Check subject(std::string want) {
  return [want](const Outcome& o) { CHECK(o.principal.subject == want); };
}
Check roles(std::vector<std::string> want) {
  return [want](const Outcome& o) { CHECK(o.principal.roles == want); };
}
Check tenants(std::vector<std::string> want) {
  return [want](const Outcome& o) { CHECK(o.principal.tenants == want); };
}
Check unauthenticated() {
  return [](const Outcome& o) {
    CHECK_FALSE(o.authenticated);
    CHECK(o.principal.subject.empty());
  };
}
Check fingerprinted(bool yes) {
  return
      [yes](const Outcome& o) { CHECK(o.decision.token_fingerprint.size() == (yes ? 32U : 0U)); };
}
Check extra(std::string key, std::string value) {
  return [key, value](const Outcome& o) {
    bool found = false;
    for (const auto& [k, v] : o.decision.extra) {
      found = found || (k == key && v == value);
    }
    CHECK(found);
  };
}

const std::string kBare = R"(Bearer realm="obsgate")";
const std::string kInvalid =
    R"(Bearer realm="obsgate", error="invalid_token", error_description="token invalid")";
const std::string kExpired =
    R"(Bearer realm="obsgate", error="invalid_token", error_description="token expired")";

}  // namespace

TEST_CASE("authn: one request, one decision") {
  X509Ptr collector = make_cert("collector", "URI:spiffe://test/collector");
  X509Ptr stranger = make_cert("stranger", "DNS:stranger.test");
  const auto& fx = jt::fixture();
  const std::string collector_thumb =
      *obsgate::gateway::authn::certificate_thumbprint(collector.get());
  const std::string bound =
      token({{"roles", R"(["reader"])"}, {"cnf", "{\"x5t#S256\":\"" + collector_thumb + "\"}"}});
  using Tweak = std::function<void(config::Route&, config::Config&)>;
  auto roles_any_of = [](std::vector<std::string> r) -> Tweak {
    return [r](config::Route& route, config::Config&) { route.roles_any_of = r; };
  };
  auto accept = [](bool tok, bool cert) -> Tweak {
    return [tok, cert](config::Route& route, config::Config&) {
      route.accept.token = tok;
      route.accept.certificate = cert;
    };
  };
  struct Case {
    const char* name;
    Tweak tweak;
    Input input;
    std::vector<Check> checks;
  };
  const std::vector<Case> cases = {
      {"no credentials: bare challenge (RFC 6750 3.1)",
       {},
       {},
       {responds(401), challenge(kBare), reason("no_credentials"), unauthenticated(),
        fingerprinted(false)}},
      {"valid token: principal mapped",
       {},
       {"Bearer " + reader_token()},
       {continues(), subject("user-1"), roles({"reader"}), tenants({"team-a"}), fingerprinted(true),
        extra("credential", "token"), extra("provider", "idp")}},
      {"scheme is case-insensitive", {}, {"bEaReR " + reader_token()}, {continues()}},
      {"unmapped claims: no roles, no tenants",
       {},
       {"Bearer " + token()},
       {continues(), roles({}), tenants({})}},
      {"expired",
       {},
       {"Bearer " + token({{"exp", std::to_string(jt::kNow - 3600)},
                           {"iat", std::to_string(jt::kNow - 7200)}})},
       {responds(401), challenge(kExpired), reason("expired"), unauthenticated(),
        fingerprinted(true)}},
      {"signed by another key",
       {},
       {"Bearer " + jt::sign_token(fx.evil_p256, jt::std_header(fx.p256), jt::std_claims())},
       {responds(401), challenge(kInvalid), reason("bad_signature")}},
      {"wrong audience",
       {},
       {"Bearer " + token({{"aud", R"("grafana")"}})},
       {responds(401), challenge(kInvalid), reason("wrong_audience")}},
      {"garbage token", {}, {"Bearer abc.def.ghi"}, {responds(401), challenge(kInvalid)}},
      {"unknown issuer",
       {},
       {"Bearer " + token({{"iss", R"("https://evil.test")"}})},
       {responds(401), challenge(kInvalid), reason("unknown_issuer")}},
      {"second provider picked by iss",
       {},
       {"Bearer " + token({{"iss", "\"" + std::string(kOtherIssuer) + "\""}})},
       {continues(), extra("provider", "other")}},
      {"token in query string",
       {},
       {"Bearer " + reader_token(), false, "query=up&access_token=" + reader_token()},
       {responds(401), reason("token_in_query"),
        challenge(R"(Bearer realm="obsgate", error="invalid_request", )"
                  R"(error_description="token not accepted in the URL")")}},
      {"token only in query string",
       {},
       {"", false, "access_token=abc"},
       {responds(401), reason("token_in_query"), unauthenticated()}},
      {"repeated Authorization",
       {},
       {"Bearer " + reader_token(), true},
       {responds(401), reason("repeated_authorization")}},
      {"Basic scheme",
       {},
       {"Basic dTpw"},
       {responds(401), challenge(kBare), reason("unsupported_scheme")}},
      {"Bearer without token", {}, {"Bearer"}, {responds(401), reason("malformed_header")}},
      {"Bearer with spaces inside",
       {},
       {"Bearer a b"},
       {responds(401), reason("malformed_header")}},
      {"role present",
       roles_any_of({"admin", "reader"}),
       {"Bearer " + reader_token()},
       {continues()}},
      {"role missing: 403 insufficient_scope",
       roles_any_of({"admin"}),
       {"Bearer " + reader_token()},
       {responds(403), reason("insufficient_role"), subject("user-1"),
        challenge(R"(Bearer realm="obsgate", error="insufficient_scope")")}},
      {"certificate mapped",
       {},
       {"", false, "", collector.get()},
       {continues(), subject("collector"), roles({"writer"}), tenants({"team-a"}),
        extra("credential", "certificate"), fingerprinted(false)}},
      {"certificate not mapped",
       {},
       {"", false, "", stranger.get()},
       {responds(401), challenge(kBare), reason("unmapped_certificate")}},
      {"certificate role check",
       roles_any_of({"reader"}),
       {"", false, "", collector.get()},
       {responds(403), reason("insufficient_role")}},
      {"token wins over certificate",
       {},
       {"Bearer " + reader_token(), false, "", collector.get()},
       {continues(), subject("user-1")}},
      {"token-only route ignores certificates",
       accept(true, false),
       {"", false, "", collector.get()},
       {responds(401), reason("no_credentials")}},
      {"certificate-only route ignores tokens",
       accept(false, true),
       {"Bearer " + reader_token(), false, "", collector.get()},
       {continues(), subject("collector")}},
      {"certificate-only route, token and no certificate",
       accept(false, true),
       {"Bearer " + reader_token()},
       {responds(401), reason("token_not_accepted")}},
      {"cnf-bound token with its certificate",
       {},
       {"Bearer " + bound, false, "", collector.get()},
       {continues(), subject("user-1")}},
      {"cnf-bound token with another certificate",
       {},
       {"Bearer " + bound, false, "", stranger.get()},
       {responds(401), challenge(kInvalid), reason("cnf_mismatch")}},
      {"cnf-bound token without certificate",
       {},
       {"Bearer " + bound},
       {responds(401), reason("cnf_mismatch")}},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env(c.tweak);
      const Outcome o = env.run(c.input);
      for (const auto& check : c.checks) {
        check(o);
      }
      // The token never appears in what the client or the log gets.
      const auto b = obsgate::gateway::authn::parse_bearer(c.input.authorization);
      if (b.result == obsgate::gateway::authn::BearerParse::kBearer) {
        CHECK(o.www.find(b.token) == std::string::npos);
        CHECK(o.message.find(b.token) == std::string::npos);
        for (const auto& [k, v] : o.decision.extra) {
          CHECK(v.find(b.token) == std::string::npos);
        }
      }
      // Exactly one outcome counter moved.
      double total = 0;
      for (const auto& f : env.registry.Collect()) {
        if (f.name == "obsgate_authn_total") {
          for (const auto& m : f.metric) {
            total += m.counter.value;
          }
        }
      }
      CHECK(total == 1);
    }
  }
}

TEST_CASE("authn: the fingerprint is a keyed HMAC, stable per key") {
  Env env;
  const std::string t = reader_token();
  const Outcome a = env.run({"Bearer " + t});
  const Outcome b = env.run({"Bearer " + t});
  CHECK(a.decision.token_fingerprint == b.decision.token_fingerprint);
  const std::span<const unsigned char> key(
      reinterpret_cast<const unsigned char*>(kFingerprintKey.data()), kFingerprintKey.size());
  CHECK(a.decision.token_fingerprint == obsgate::gateway::authn::token_fingerprint(key, t));
  Env random_key(
      [](config::Route&, config::Config& c) { c.identity.decision_fingerprint_key.clear(); });
  const Outcome r = random_key.run({"Bearer " + t});
  CHECK(r.decision.token_fingerprint.size() == 32);
  CHECK(r.decision.token_fingerprint != a.decision.token_fingerprint);
}

TEST_CASE("authn: verified tokens are cached until the key set changes") {
  Env env;
  const std::string t = "Bearer " + reader_token();
  CHECK(env.run({t}).action == Action::kContinue);
  CHECK(env.run({t}).action == Action::kContinue);
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "miss"}}) == 1);
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "hit"}}) == 1);
  CHECK(env.counter("obsgate_authn_total", {{"result", "allow"}, {"reason", "token"}}) == 2);
  // A new key set generation (same keys, new KeySetPtr) invalidates the entry.
  auto again = jwt::KeySet::parse(jt::fixture().jwks_json);
  REQUIRE(again.ok());
  env.keys->set_current(*again);
  CHECK(env.run({t}).action == Action::kContinue);
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "miss"}}) == 2);
  // Rejections are not cached: the same bad token is verified every time.
  const std::string bad = "Bearer " + token({{"aud", R"("x")"}});
  CHECK(env.run({bad}).status == 401);
  CHECK(env.run({bad}).status == 401);
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "miss"}}) == 4);
}

TEST_CASE("authn: a cached verdict never outlives exp") {
  Env env;
  const std::string t = "Bearer " + token({{"exp", std::to_string(jt::kNow + 5)}});
  CHECK(env.run({t}).action == Action::kContinue);
  env.clock_offset = 30;  // past exp, within the 60 s skew: verify() still accepts...
  CHECK(env.run({t}).action == Action::kContinue);
  // ...but that came from a fresh verification, not from the cache.
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "miss"}}) == 2);
  env.clock_offset = 120;
  const Outcome o = env.run({t});
  CHECK(o.status == 401);
  CHECK(o.decision.reason == "expired");
}

namespace {

struct Rotation {
  jt::TestKey rotated = jt::make_key(jwt::Alg::kEs256, "rotated");
  jwt::KeySetPtr rotated_set;
  std::string bearer;
  Rotation() {
    auto s = jwt::KeySet::parse(jt::jwks({jt::public_jwk(rotated)}));
    REQUIRE(s.ok());
    rotated_set = *s;
    bearer = "Bearer " + jt::sign_token(rotated, jt::std_header(rotated), jt::std_claims());
  }
};

}  // namespace

TEST_CASE("authn: unknown kid refetches once, inline") {
  Rotation rot;
  struct Case {
    const char* name;
    bool provider_rotates;
    unsigned want_status;
    std::string want_reason;
  };
  const Case cases[] = {
      {"the new set has the kid", true, 0, "ok"},
      {"the refetch brings nothing new", false, 401, "unknown_kid"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env;
      if (c.provider_rotates) {
        env.keys->set_next(rot.rotated_set);
      }
      const Outcome o = env.run({rot.bearer});
      CHECK(env.keys->refetches() == 1);
      CHECK(env.keys->last_seen() == jt::fixture().keys);
      CHECK(o.decision.reason == c.want_reason);
      if (c.want_status != 0) {
        CHECK(o.status == c.want_status);
        CHECK(o.www == kInvalid);
      } else {
        CHECK(o.action == Action::kContinue);
      }
    }
  }
}

TEST_CASE("authn: unknown kid refetch finishing later") {
  Rotation rot;
  Env env;
  auto slow = std::make_shared<FakeKeys>(jt::fixture().keys, FakeKeys::Mode::kLater);
  AuthnDeps deps;
  deps.find_keys = [slow](std::string_view) -> KeyProviderPtr { return slow; };
  deps.now = [] { return jt::now_tp(); };
  auto f = make_authn_step(env.cfg, env.route, std::move(deps));
  REQUIRE(f.ok());
  asio::io_context io;
  Exchange ex(*f, env.cfg, env.route, {rot.bearer});

  SECTION("the keys arrive, the request goes on") {
    ex.start(io);
    io.poll();
    CHECK_FALSE(ex.result.has_value());  // suspended in the refetch
    CHECK(slow->waiting());
    slow->set_next(rot.rotated_set);
    slow->release();
    io.run();
    REQUIRE(ex.result.has_value());
    CHECK(*ex.result == Action::kContinue);
    CHECK(ex.r->authenticated);
    CHECK(ex.r->decision.allow);
    ex.step->on_destroy();
  }
  SECTION("destroyed while waiting: the request is never touched again") {
    ex.start(io);
    io.poll();
    CHECK_FALSE(ex.result.has_value());
    ex.step->on_destroy();
    slow->set_next(rot.rotated_set);
    slow->release();
    io.run();
    REQUIRE(ex.result.has_value());
    CHECK(*ex.result == Action::kRespond);
    CHECK_FALSE(ex.r->authenticated);
    CHECK(ex.r->reply.reason.empty());
    CHECK_FALSE(ex.r->decision.recorded);
  }
  CHECK(slow->refetches() == 1);
}

TEST_CASE("authn: a provider without keys yet") {
  struct Case {
    const char* name;
    bool refetch_succeeds;
    unsigned want_status;
  };
  const Case cases[] = {{"the first fetch succeeds on demand", true, 0},
                        {"still no keys: 503", false, 503}};
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Env env;
      auto empty = std::make_shared<FakeKeys>(nullptr);
      if (c.refetch_succeeds) {
        empty->set_next(jt::fixture().keys);
      }
      AuthnDeps deps;
      deps.find_keys = [empty](std::string_view) -> KeyProviderPtr { return empty; };
      deps.now = [] { return jt::now_tp(); };
      auto f = make_authn_step(env.cfg, env.route, std::move(deps));
      REQUIRE(f.ok());
      env.factory = *f;
      const Outcome o = env.run({"Bearer " + reader_token()});
      CHECK(empty->refetches() == 1);
      CHECK(empty->last_seen() == nullptr);
      if (c.want_status == 0) {
        CHECK(o.action == Action::kContinue);
      } else {
        CHECK(o.status == c.want_status);
        CHECK(o.decision.reason == "keys_unavailable");
      }
    }
  }
}

TEST_CASE("authn: routes that no identity could pass are refused at load") {
  using Tweak = std::function<void(config::Route&, config::Config&)>;
  struct Case {
    const char* name;
    Tweak tweak;
    const char* want;
  };
  const Case cases[] = {
      {"accepts nothing",
       [](config::Route& r, config::Config&) {
         r.accept = {false, false};
       },
       "accept: allows neither"},
      {"tokens without providers",
       [](config::Route& r, config::Config& c) {
         r.accept = {true, false};
         c.identity.providers.clear();
       },
       "no configured identity can authenticate here"},
      {"certificates without rules",
       [](config::Route& r, config::Config& c) {
         r.accept = {false, true};
         c.identity.certificates.rules.clear();
       },
       "no configured identity can authenticate here"},
      {"a role nobody is granted",
       [](config::Route& r, config::Config&) { r.roles_any_of = {"superuser"}; },
       "roles: no provider mapping or certificate rule grants"},
      {"a certificate role on a token-only route",
       [](config::Route& r, config::Config&) {
         r.accept = {true, false};
         r.roles_any_of = {"writer"};
       },
       "roles: no provider mapping"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      config::Config cfg = make_config();
      config::Route route;
      route.name = "r";
      c.tweak(route, cfg);
      auto f = make_authn_step(cfg, route, AuthnDeps{});
      REQUIRE_FALSE(f.ok());
      CHECK(f.status().message().find("route 'r': ") == 0);
      CHECK(f.status().message().find(c.want) != std::string::npos);
    }
  }
}

TEST_CASE("authn: key_configs hands the registry each provider's key source and timing") {
  config::IdentityConfig id = make_config().identity;
  id.providers[0].keys = {config::KeySource::Kind::kJwksFile, "/etc/obsgate/jwks.json"};
  id.providers[0].ca_file = "/ca.pem";
  id.providers[0].refresh = {std::chrono::seconds(5), std::chrono::minutes(5),
                             std::chrono::minutes(1)};
  id.providers[0].refetch_interval = std::chrono::seconds(7);
  id.providers[0].fetch_timeout = std::chrono::milliseconds(800);
  id.providers[1].keys = {config::KeySource::Kind::kDiscovery, "ignored"};
  const auto k = obsgate::gateway::authn::key_configs(id);
  REQUIRE(k.size() == 2);
  using Source = obsgate::gateway::identity::ProviderKeysConfig;
  CHECK(k[0].name == "idp");
  CHECK(k[0].issuer == jt::kIssuer);
  CHECK(k[0].source == Source::kFile);
  CHECK(k[0].jwks_uri_or_file == "/etc/obsgate/jwks.json");
  CHECK(k[0].ca_file == "/ca.pem");
  CHECK(k[0].min_refresh == std::chrono::seconds(5));
  CHECK(k[0].max_refresh == std::chrono::minutes(5));
  CHECK(k[0].default_refresh == std::chrono::minutes(1));
  CHECK(k[0].refetch_interval == std::chrono::seconds(7));
  CHECK(k[0].fetch_timeout == std::chrono::milliseconds(800));
  CHECK(k[1].source == Source::kDiscovery);
  CHECK(k[1].jwks_uri_or_file.empty());
  CHECK(k[1].issuer == kOtherIssuer);
}

TEST_CASE("authn: with several providers a cached token skips the issuer peek") {
  Env env;
  const std::string other = "Bearer " + token({{"iss", "\"" + std::string(kOtherIssuer) + "\""}});
  const std::string mine = "Bearer " + reader_token();
  for (int i = 0; i < 2; ++i) {
    const Outcome a = env.run({other});
    CHECK(a.action == Action::kContinue);
    CHECK(a.decision.extra.at(0) == std::make_pair(std::string("provider"), std::string("other")));
    const Outcome b = env.run({mine});
    CHECK(b.action == Action::kContinue);
    CHECK(b.principal.roles == std::vector<std::string>{"reader"});
    CHECK(b.decision.token_fingerprint.size() == 32);
    int providers = 0;
    for (const auto& [k, v] : b.decision.extra) {
      providers += k == "provider" ? 1 : 0;
    }
    CHECK(providers == 1);
  }
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "miss"}}) == 2);
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "hit"}}) == 2);
}

TEST_CASE("authn: a single provider verifies without peeking, and caches") {
  Env env([](config::Route&, config::Config& c) { c.identity.providers.resize(1); });
  const std::string t = "Bearer " + reader_token();
  CHECK(env.run({t}).action == Action::kContinue);
  const Outcome again = env.run({t});
  CHECK(again.action == Action::kContinue);
  CHECK(again.principal.tenants == std::vector<std::string>{"team-a"});
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "hit"}}) == 1);
  // Another issuer is refused by verify() itself (no peek): wrong_issuer, not unknown_issuer.
  const Outcome o = env.run({"Bearer " + token({{"iss", R"("https://evil.test")"}})});
  CHECK(o.status == 401);
  CHECK(o.decision.reason == "wrong_issuer");
  CHECK(o.www == kInvalid);
}

TEST_CASE("authn: a cnf-bound token cached with its certificate is not served without it") {
  X509Ptr collector = make_cert("collector", "URI:spiffe://test/collector");
  const std::string thumb = *obsgate::gateway::authn::certificate_thumbprint(collector.get());
  const std::string bound =
      token({{"roles", R"(["reader"])"}, {"cnf", "{\"x5t#S256\":\"" + thumb + "\"}"}});
  for (const size_t providers : {size_t{1}, size_t{2}}) {
    DYNAMIC_SECTION(providers << " provider(s)") {
      Env env([providers](config::Route&, config::Config& c) {
        c.identity.providers.resize(providers);
      });
      CHECK(env.run({"Bearer " + bound, false, "", collector.get()}).action ==
            Action::kContinue);
      CHECK(env.run({"Bearer " + bound, false, "", collector.get()}).action ==
            Action::kContinue);
      CHECK(env.counter("obsgate_token_cache_total", {{"result", "hit"}}) == 1);
      // Replayed without the certificate (the cache-only path runs first): refused.
      const Outcome o = env.run({"Bearer " + bound});
      CHECK(o.status == 401);
      CHECK(o.decision.reason == "cnf_mismatch");
      CHECK(env.counter("obsgate_token_cache_total", {{"result", "hit"}}) == 1);
    }
  }
}

TEST_CASE("authn: a cache hit without a coroutine frame decides exactly as the full path") {
  Env env([](config::Route&, config::Config& c) { c.identity.providers.resize(1); });
  const std::string t = "Bearer " + reader_token();
  const Outcome first = env.run({t});   // verified, then cached
  const Outcome second = env.run({t});  // served by the cache-only path
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "hit"}}) == 1);
  CHECK(env.counter("obsgate_token_cache_total", {{"result", "miss"}}) == 1);
  CHECK(second.action == Action::kContinue);
  CHECK(first.decision.extra == second.decision.extra);
  CHECK(first.decision.token_fingerprint == second.decision.token_fingerprint);
  CHECK(first.principal.subject == second.principal.subject);
  CHECK(first.principal.tenants == second.principal.tenants);
  CHECK(first.principal.roles == second.principal.roles);
}
