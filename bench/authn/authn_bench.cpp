// The authentication step's per-request cost. The step runs as a coroutine on the session's
// executor; BM_CoroutineRoundTrip is the cost of co_spawn + run of an empty coroutine, the
// floor under BM_StepCachedToken (so the step's own work is the difference).
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <string>

#include "config/config.h"
#include "gateway/routing/params.h"
#include "gateway/steps/authn/authn.h"
#include "gateway/steps/authn/credentials.h"
#include "tests/authz/jwt/test_keys.h"

namespace {

namespace asio = boost::asio;
namespace jt = obsgate::authz::jwt::testing;
using obsgate::gateway::Action;
using obsgate::gateway::Request;

class StaticKeys final : public obsgate::gateway::identity::KeyProvider {
 public:
  [[nodiscard]] const std::string& name() const override { return name_; }
  [[nodiscard]] obsgate::authz::jwt::KeySetPtr current() const override {
    return jt::fixture().keys;
  }
  asio::awaitable<obsgate::authz::jwt::KeySetPtr> refetch_for_unknown_kid(
      obsgate::authz::jwt::KeySetPtr) override {
    co_return jt::fixture().keys;
  }

 private:
  std::string name_ = "idp";
};

// A realistic access token: ~900 bytes with roles and groups.
std::string sample_token() {
  const auto& fx = jt::fixture();
  return jt::sign_token(
      fx.p256, jt::std_header(fx.p256),
      jt::claims_json({{"roles", R"(["obs-reader","obs-writer","offline_access"])"},
                       {"groups", R"(["/team-a","/team-b","/platform/observability"])"},
                       {"scope", R"("openid profile email metrics:read logs:read")"},
                       {"azp", R"("grafana")"},
                       {"jti", R"("4f1c2a9e-7d3b-4c55-9a8e-2b6d1e0f3a77")"}}));
}

void BM_Fingerprint(benchmark::State& state) {
  const std::string token = sample_token();
  const std::string key(32, 'k');
  const std::span<const unsigned char> k(reinterpret_cast<const unsigned char*>(key.data()),
                                         key.size());
  for (auto _ : state) {
    benchmark::DoNotOptimize(obsgate::gateway::authn::token_fingerprint(k, token));
  }
  state.SetLabel(std::to_string(token.size()) + " B token");
}
BENCHMARK(BM_Fingerprint);

void BM_PeekIssuer(benchmark::State& state) {
  const std::string token = sample_token();
  for (auto _ : state) {
    benchmark::DoNotOptimize(obsgate::gateway::authn::peek_issuer(token));
  }
}
BENCHMARK(BM_PeekIssuer);

void BM_ParseBearer(benchmark::State& state) {
  const std::string header = "Bearer " + sample_token();
  for (auto _ : state) {
    benchmark::DoNotOptimize(obsgate::gateway::authn::parse_bearer(header));
  }
}
BENCHMARK(BM_ParseBearer);

asio::awaitable<Action> nothing() { co_return Action::kContinue; }

void BM_CoroutineRoundTrip(benchmark::State& state) {
  asio::io_context io;
  for (auto _ : state) {
    asio::co_spawn(io, nothing(), asio::detached);
    io.restart();
    io.run();
  }
}
BENCHMARK(BM_CoroutineRoundTrip);

// The whole step for a token seen before: parse, (peek with several providers), digest, cache
// lookup, fingerprint, role check, decision. state.range(0) providers.
void BM_StepCachedToken(benchmark::State& state) {
  obsgate::config::Config cfg;
  for (int i = 0; i < state.range(0); ++i) {
    obsgate::config::OidcProvider p;
    p.name = i == 0 ? "idp" : "other" + std::to_string(i);
    p.verify = jt::fixture().opts;
    if (i > 0) {
      p.verify.issuer = "https://other" + std::to_string(i) + ".test";
    }
    cfg.identity.providers.push_back(p);
  }
  cfg.identity.decision_fingerprint_key = std::string(32, 'k');
  obsgate::config::Route route;
  route.name = "query";
  auto keys = std::make_shared<StaticKeys>();
  obsgate::gateway::authn::AuthnDeps deps;
  deps.find_keys = [keys](std::string_view) { return keys; };
  deps.now = [] { return jt::now_tp(); };
  prometheus::Registry registry;
  deps.registry = &registry;
  auto factory = obsgate::gateway::authn::make_authn_step(cfg, route, std::move(deps));
  if (!factory.ok()) {
    state.SkipWithError("factory");
    return;
  }
  const std::string authorization = "Bearer " + sample_token();
  obsgate::gateway::RequestHead head;
  obsgate::routing::PathParams path_params;
  obsgate::routing::Params query;
  obsgate::gateway::ConnectionInfo conn;
  asio::io_context io;
  for (auto _ : state) {
    Request r{.head = head,
              .path = "/api/v1/query",
              .path_params = path_params,
              .query = query,
              .form = nullptr,
              .conn = conn,
              .cfg = cfg,
              .route = route};
    r.authorization = authorization;
    auto step = (*factory)->create();
    asio::co_spawn(io, step->on_request(r), asio::detached);
    io.restart();
    io.run();
    step->on_destroy();
    benchmark::DoNotOptimize(r.authenticated);
  }
}
BENCHMARK(BM_StepCachedToken)->Arg(1)->Arg(3);

}  // namespace

BENCHMARK_MAIN();
