#include "gateway/steps/authn/authn.h"

#include <openssl/rand.h>
#include <prometheus/registry.h>

#include <algorithm>
#include <array>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "authz/jwt/token_cache.h"
#include "authz/jwt/verify.h"
#include "authz/principal/cert_mapping.h"
#include "authz/principal/claims_mapping.h"
#include "config/config.h"
#include "gateway/steps/authn/credentials.h"
#include "gateway/steps/authn/metrics.h"
#include "gateway/steps/authn/route_checks.h"
#include "gateway/steps/services.h"

namespace obsgate::gateway::authn {

namespace {

namespace asio = boost::asio;
namespace jwt = authz::jwt;
using TimePoint = std::chrono::system_clock::time_point;

constexpr std::size_t kCacheShards = 16;
constexpr std::size_t kMaxDetailBytes = 200;

// Used when identity.decision_fingerprint_key_file is not configured: fingerprints then
// correlate within one process only. A trivially destructible value, created once.
std::span<const unsigned char> process_fingerprint_key() {
  static const std::array<unsigned char, 32> kKey = [] {
    std::array<unsigned char, 32> k{};
    if (RAND_bytes(k.data(), static_cast<int>(k.size())) != 1) {
      // Without randomness, fall back to an all-zero key: the fingerprint is then a plain
      // truncated hash of a high-entropy token, which still does not reveal it.
      k.fill(0);
    }
    return k;
  }();
  return kKey;
}

// What a verified token leaves in the cache: its principal, and its fingerprint, so that a
// repeated token costs no HMAC either.
struct CachedToken {
  authz::Principal principal;
  std::string fingerprint;
};

struct ProviderState {
  const config::OidcProvider* cfg = nullptr;
  identity::KeyProviderPtr keys;  // resolved at build; null: resolved again per request
  std::unique_ptr<jwt::TokenCache<CachedToken>> cache;
};

// Everything a request's step reads: built once per route per config generation, then shared
// read-only (the caches and counters are thread-safe).
struct Shared {
  const config::Route* route = nullptr;
  const config::IdentityConfig* identity = nullptr;
  std::vector<ProviderState> providers;
  AuthnDeps deps;
  std::shared_ptr<prometheus::Registry> own_registry;  // when deps.registry is null
  std::unique_ptr<AuthnMetrics> metrics;
  std::string fingerprint_key;  // empty: process_fingerprint_key()

  [[nodiscard]] std::span<const unsigned char> key() const {
    if (fingerprint_key.empty()) {
      return process_fingerprint_key();
    }
    return {reinterpret_cast<const unsigned char*>(fingerprint_key.data()), fingerprint_key.size()};
  }

  [[nodiscard]] const ProviderState* pick(std::string_view token) const {
    if (providers.size() == 1) {
      // verify() checks iss exactly anyway: skip the unverified parse on the common setup.
      return &providers.front();
    }
    const std::optional<std::string> iss = peek_issuer(token);
    if (!iss) {
      return nullptr;
    }
    for (const auto& p : providers) {
      if (p.cfg->verify.issuer == *iss) {
        return &p;
      }
    }
    return nullptr;
  }
};

class AuthnStep final : public Step {
 public:
  explicit AuthnStep(std::shared_ptr<const Shared> shared) : shared_(std::move(shared)) {}

  asio::awaitable<Action> on_request(Request& r) override {
    if (state_ != State::kIdle) {
      co_return Action::kRespond;  // called twice: a session bug; fail closed
    }
    state_ = State::kAuthenticating;
    const config::Route& route = *shared_->route;

    // RFC 6750 §2.3 allows URI query tokens; we never do: URLs end up in logs and histories.
    if (r.query.count("access_token") > 0 ||
        (r.form != nullptr && r.form->count("access_token") > 0)) {
      co_return deny(r, DenyReason::kTokenInQuery, 401,
                     "access tokens are accepted only in the Authorization header",
                     bearer_challenge("invalid_request", "token not accepted in the URL"));
    }
    if (r.authorization_repeated) {
      co_return deny(r, DenyReason::kRepeatedAuthorization, 401, "invalid Authorization header",
                     bearer_challenge("invalid_request", "repeated Authorization header"));
    }
    bool other_scheme = false;
    bool token_ignored = false;
    if (!r.authorization.empty()) {
      const BearerCredentials b = parse_bearer(r.authorization);
      if (b.result == BearerParse::kMalformed) {
        co_return deny(r, DenyReason::kMalformedHeader, 401, "invalid Authorization header",
                       bearer_challenge("invalid_request", "malformed Authorization header"));
      }
      if (b.result == BearerParse::kBearer) {
        if (route.accept.token) {
          std::optional<jwt::TokenDigest> missed;  // set when try_cached() missed the cache
          if (const std::optional<Action> hit = try_cached(r, b.token, missed)) {
            co_return *hit;
          }
          co_return co_await authenticate_token(r, b.token, missed);
        }
        fingerprint(r, b.token);
        token_ignored = true;  // a certificate-only route: the certificate decides
      } else {
        other_scheme = true;
      }
    }
    if (route.accept.certificate && r.conn.peer_cert != nullptr) {
      co_return authenticate_certificate(r);
    }
    const DenyReason why = token_ignored  ? DenyReason::kTokenNotAccepted
                           : other_scheme ? DenyReason::kUnsupportedScheme
                                          : DenyReason::kNoCredentials;
    // No bearer credentials were presented: a bare challenge (RFC 6750 §3.1).
    co_return deny(r, why, 401, "authentication required", bearer_challenge());
  }

  void on_destroy() override { state_ = State::kDestroyed; }

 private:
  // kAwaitingKeys is the only state in which the step is suspended; on_destroy() may arrive
  // then, and the resumed coroutine must not touch the Request any more.
  enum class State { kIdle, kAuthenticating, kAwaitingKeys, kDone, kDestroyed };

  void fingerprint(Request& r, std::string_view token) const {
    r.decision.token_fingerprint = token_fingerprint(shared_->key(), token);
  }

  // The provider's key source: its own, else the gateway's registry entry of that name.
  identity::KeyProviderPtr key_provider(const ProviderState& p) const {
    if (p.keys || !shared_->deps.find_keys) {
      return p.keys;
    }
    return shared_->deps.find_keys(p.cfg->name);
  }

  // The provider of a token seen before, from the caches alone: with several providers this
  // spares the unverified JSON parse of pick() on the hot path.
  std::pair<const ProviderState*, std::shared_ptr<const CachedToken>> find_cached(
      const jwt::TokenDigest& digest, std::optional<std::string_view> thumb) const {
    for (const auto& p : shared_->providers) {
      identity::KeyProviderPtr provider = key_provider(p);
      jwt::KeySetPtr keys = provider ? provider->current() : nullptr;
      if (keys) {
        if (auto hit = p.cache->lookup(digest, keys, shared_->deps.now(), thumb)) {
          return {&p, std::move(hit)};
        }
      }
    }
    return {nullptr, nullptr};
  }

  // authenticate_token's hit path for the common setup (one provider, its keys loaded, no
  // client certificate), without a coroutine frame: the same checks, extras and outcome.
  // nullopt: not served from the cache here, and authenticate_token decides; `missed` is set
  // to the token's digest when this function looked it up and missed (so authenticate_token
  // neither digests nor looks up twice).
  std::optional<Action> try_cached(Request& r, std::string_view token,
                                   std::optional<jwt::TokenDigest>& missed) {
    if (shared_->providers.size() != 1 || r.conn.peer_cert != nullptr) {
      return std::nullopt;
    }
    const ProviderState& p = shared_->providers.front();
    const identity::KeyProviderPtr provider = key_provider(p);
    const jwt::KeySetPtr keys = provider ? provider->current() : nullptr;
    if (!keys) {
      return std::nullopt;
    }
    const jwt::TokenDigest digest = p.cache->digest(token);
    auto hit = p.cache->lookup(digest, keys, shared_->deps.now(), std::nullopt);
    if (!hit) {
      missed = digest;
      return std::nullopt;
    }
    r.decision.extra.emplace_back("provider", p.cfg->name);
    return allow_cached(r, *hit);
  }

  Action allow_cached(Request& r, const CachedToken& hit) {
    shared_->metrics->cache_hit().Increment();
    r.decision.token_fingerprint = hit.fingerprint;
    return allow(r, hit.principal, Credential::kToken);
  }

  // missed: the token's digest when try_cached() already looked it up with the provider's
  // current keys and missed.
  asio::awaitable<Action> authenticate_token(Request& r, std::string_view token,
                                             std::optional<jwt::TokenDigest> missed) {
    std::optional<std::string> thumb;
    if (r.conn.peer_cert != nullptr) {
      thumb = certificate_thumbprint(r.conn.peer_cert);
    }
    const std::optional<std::string_view> thumb_view =
        thumb ? std::optional<std::string_view>(*thumb) : std::nullopt;
    const jwt::TokenDigest digest =
        missed.has_value() ? *missed : shared_->providers.front().cache->digest(token);
    const bool several = shared_->providers.size() > 1;
    if (several) {
      if (auto [hp, hit] = find_cached(digest, thumb_view); hit) {
        r.decision.extra.emplace_back("provider", hp->cfg->name);
        co_return allow_cached(r, *hit);
      }
    }

    const ProviderState* p = shared_->pick(token);
    if (p == nullptr) {
      fingerprint(r, token);
      co_return deny(r, DenyReason::kUnknownIssuer, 401, "token invalid",
                     bearer_challenge("invalid_token", "token invalid"));
    }
    r.decision.extra.emplace_back("provider", p->cfg->name);
    identity::KeyProviderPtr provider = key_provider(*p);
    jwt::KeySetPtr keys = provider ? provider->current() : nullptr;
    if (!keys && provider) {
      // Not loaded yet (IdP down since start): ask once, rate-limited by the provider.
      state_ = State::kAwaitingKeys;
      keys = co_await provider->refetch_for_unknown_kid(nullptr);
      if (state_ == State::kDestroyed) {
        co_return Action::kRespond;
      }
      state_ = State::kAuthenticating;
    }
    if (!keys) {
      fingerprint(r, token);
      co_return deny(r, DenyReason::kKeysUnavailable, 503,
                     "the identity provider's keys are not available yet", {});
    }

    if (!several && !missed.has_value()) {
      if (auto hit = p->cache->lookup(digest, keys, shared_->deps.now(), thumb_view)) {
        co_return allow_cached(r, *hit);
      }
    }
    shared_->metrics->cache_miss().Increment();
    fingerprint(r, token);

    Result<jwt::VerifiedToken> t =
        jwt::verify(token, *keys, p->cfg->verify, shared_->deps.now(), thumb_view);
    if (!t.ok() && jwt::rejection_of(t.status()) == jwt::Rejection::kUnknownKid && provider) {
      // The issuer may have rotated its keys: one refetch (shared and rate-limited by the
      // provider), then one more verification with whatever set is newest.
      state_ = State::kAwaitingKeys;
      jwt::KeySetPtr fresh = co_await provider->refetch_for_unknown_kid(keys);
      if (state_ == State::kDestroyed) {
        co_return Action::kRespond;
      }
      state_ = State::kAuthenticating;
      if (fresh && fresh != keys) {
        keys = std::move(fresh);
        t = jwt::verify(token, *keys, p->cfg->verify, shared_->deps.now(), thumb_view);
      }
    }
    if (!t.ok()) {
      const jwt::Rejection why = jwt::rejection_of(t.status());
      std::string detail(t.status().message().substr(0, kMaxDetailBytes));
      co_return deny_token(r, why, std::move(detail));
    }
    auto cached = std::make_shared<CachedToken>();
    cached->principal = authz::map_token(p->cfg->mapping, *t);
    cached->fingerprint = r.decision.token_fingerprint;
    authz::Principal principal = cached->principal;
    p->cache->insert(digest, keys, t->expires_at, t->cnf_x5t_s256, std::move(cached));
    co_return allow(r, std::move(principal), Credential::kToken);
  }

  Action authenticate_certificate(Request& r) {
    // The listener verified the chain against its client CA; here we only name the client.
    Result<authz::CertFields> fields = authz::extract_cert_fields(r.conn.peer_cert);
    if (!fields.ok()) {
      r.decision.extra.emplace_back("detail", std::string(fields.status().message()));
      return deny(r, DenyReason::kBadCertificate, 401, "authentication required",
                  bearer_challenge());
    }
    std::optional<authz::Principal> p =
        authz::map_certificate(shared_->identity->certificates, *fields);
    if (!p) {
      return deny(r, DenyReason::kUnmappedCertificate, 401, "authentication required",
                  bearer_challenge());
    }
    return allow(r, std::move(*p), Credential::kCertificate);
  }

  Action allow(Request& r, authz::Principal principal, Credential how) {
    r.authenticated = true;
    r.principal = std::move(principal);
    r.decision.extra.emplace_back("credential",
                                  how == Credential::kToken ? "token" : "certificate");
    const auto& wanted = shared_->route->roles_any_of;
    if (!wanted.empty()) {
      const auto& have = r.principal.roles;
      const bool any = std::any_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
        return std::find(have.begin(), have.end(), w) != have.end();
      });
      if (!any) {
        return deny(r, DenyReason::kInsufficientRole, 403, "insufficient role",
                    bearer_challenge("insufficient_scope"));
      }
    }
    shared_->metrics->allowed(how).Increment();
    r.decision.recorded = true;
    r.decision.allow = true;
    r.decision.reason = "ok";
    state_ = State::kDone;
    return Action::kContinue;
  }

  Action deny_token(Request& r, jwt::Rejection why, std::string detail) {
    shared_->metrics->rejected(why).Increment();
    // The client learns "expired" (actionable and harmless) or "invalid"; the rest is logged.
    const std::string_view description =
        why == jwt::Rejection::kExpired ? "token expired" : "token invalid";
    r.decision.extra.emplace_back("detail", std::move(detail));
    return finish_deny(r, std::string(jwt::rejection_name(why)), 401, std::string(description),
                       bearer_challenge("invalid_token", description));
  }

  Action deny(Request& r, DenyReason why, unsigned status, std::string message,
              std::string challenge) {
    shared_->metrics->denied(why).Increment();
    return finish_deny(r, std::string(deny_reason_name(why)), status, std::move(message),
                       std::move(challenge));
  }

  Action finish_deny(Request& r, std::string reason, unsigned status, std::string message,
                     std::string challenge) {
    r.reply = StepReply{};
    r.reply.status = status;
    r.reply.message = std::move(message);
    r.reply.reason = "authn_denied{" + reason + "}";
    r.reply.www_authenticate = std::move(challenge);
    r.decision.recorded = true;
    r.decision.allow = false;
    r.decision.reason = std::move(reason);
    if (status == 401) {
      // Only a 403 keeps who the client is (for the log); a 401 names nobody.
      r.authenticated = false;
      r.principal = {};
    }
    state_ = State::kDone;
    return Action::kRespond;
  }

  std::shared_ptr<const Shared> shared_;
  State state_ = State::kIdle;
};

class AuthnFactory final : public StepFactory {
 public:
  explicit AuthnFactory(std::shared_ptr<const Shared> shared) : shared_(std::move(shared)) {}
  [[nodiscard]] std::unique_ptr<Step> create() const override {
    return std::make_unique<AuthnStep>(shared_);
  }

 private:
  std::shared_ptr<const Shared> shared_;
};

}  // namespace

Result<StepFactoryPtr> make_authn_step(const config::Config& cfg, const config::Route& route,
                                       AuthnDeps deps) {
  if (Status st = validate_route(cfg, route); !st.ok()) {
    return st;
  }
  auto shared = std::make_shared<Shared>();
  shared->route = &route;
  shared->identity = &cfg.identity;
  if (!deps.now) {
    deps.now = [] { return std::chrono::system_clock::now(); };
  }
  prometheus::Registry* registry = deps.registry;
  if (registry == nullptr) {
    shared->own_registry = std::make_shared<prometheus::Registry>();
    registry = shared->own_registry.get();
  }
  shared->metrics = std::make_unique<AuthnMetrics>(*registry);
  shared->fingerprint_key = cfg.identity.decision_fingerprint_key;
  if (route.accept.token) {
    for (const auto& p : cfg.identity.providers) {
      ProviderState ps;
      ps.cfg = &p;
      ps.keys = deps.find_keys ? deps.find_keys(p.name) : nullptr;
      ps.cache = std::make_unique<jwt::TokenCache<CachedToken>>(
          std::max(cfg.identity.token_cache_max_entries, kCacheShards), kCacheShards);
      shared->providers.push_back(std::move(ps));
    }
  }
  shared->deps = std::move(deps);
  return StepFactoryPtr(std::make_shared<AuthnFactory>(std::move(shared)));
}

Result<StepFactoryPtr> make_authn_step(const config::Config& cfg, const config::Route& route,
                                       Services& services) {
  if (route.accept.token && !cfg.identity.providers.empty() && services.keys == nullptr) {
    return Status::invalid_argument("route '" + route.name +
                                    "': token authentication needs the key registry, which "
                                    "this build does not start");
  }
  AuthnDeps deps;
  if (services.keys != nullptr) {
    identity::KeyRegistry* keys = services.keys;
    deps.find_keys = [keys](std::string_view name) { return keys->find(name); };
  }
  deps.registry = services.registry;
  return make_authn_step(cfg, route, std::move(deps));
}

}  // namespace obsgate::gateway::authn
