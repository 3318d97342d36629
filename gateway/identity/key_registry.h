// JWKS key sets of the configured OpenID providers, fetched and refreshed in the background.
//
// One KeyProvider per provider configuration. It loads the provider's JWK Set at start (from
// OIDC discovery, an explicit jwks_uri, or a local file), refreshes it on a schedule (the
// response's Cache-Control max-age clamped into [min_refresh, max_refresh], default_refresh
// when absent; a file is re-read every default_refresh), refetches early when a token names an
// unknown kid (single-flight, at most once per refetch_interval), and keeps the last good set
// when a fetch fails (retrying with exponential backoff: 1 s doubling up to min(5 min,
// default_refresh)).
//
// Who calls what:
//   server (owner)            KeyRegistry reg(admin_executor, metrics_registry);
//                             reg.sync(providers_of(cfg));     // at start and on every reload
//                             services.keys = &reg;  /readyz answers reg.ready()
//   authn step (per request)  auto p = services.keys->find(cfg_provider_name);  // at factory
//                             KeySetPtr keys = p->current();   // null: not loaded yet -> 503/401
//                             verify(...) says kUnknownKid ->
//                               keys = co_await p->refetch_for_unknown_kid(keys); retry once
//
// Rules for fetched documents:
//   - Discovery: GET <issuer>/.well-known/openid-configuration (issuer without trailing '/').
//     Its "issuer" must equal the configured issuer byte for byte, and "jwks_uri" must be an
//     https URL, except that http is accepted when the configured issuer itself is http on a
//     loopback host (127.0.0.1, [::1], localhost) and jwks_uri is on that same loopback host
//     (the local IdP and tests). The jwks_uri is remembered and discovery is redone only after a
//     JWKS fetch failed.
//   - Explicit jwks_uri: the same http rule (https, or http to a loopback host only).
//   - Every fetch: status 200 only (redirects are not followed), body <= 512 KiB, bounded by
//     fetch_timeout in total (connect, TLS, request, response). TLS: SNI and host name
//     verification against the URL's host, trust from ca_file or the system store.
//   - The body goes to authz::jwt::KeySet::parse(); a document that yields no usable key is a
//     failed fetch (the previous set stays).
//
// Callers: pass refetch_for_unknown_kid() an lvalue or nullptr; GCC 12 miscompiles some
// non-trivial temporaries handed to coroutines (see key_registry.cpp).
//
// Thread-safety: KeyRegistry::sync/stop must be called from one thread at a time (the server's
// control thread); find(), ready() and everything on KeyProvider may be called from any thread.
// Fetches and timers run on the executor passed to the KeyRegistry (the server's admin thread);
// refetch_for_unknown_kid() resumes the caller on the caller's own executor.
//
// Metrics (registered on the prometheus::Registry passed in; `provider` is the config name):
//   obsgate_jwks_refresh_total{provider,result}   result: ok | fetch_error | invalid | timeout
//   obsgate_jwks_keys{provider}                    usable keys in the current set
//   obsgate_jwks_last_success_timestamp_seconds{provider}
// Refresh failures are logged as one line each (gateway::log_event, or the injected log).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/jwks.h"

namespace prometheus {
class Registry;
}  // namespace prometheus

namespace obsgate::gateway::identity {

using Duration = std::chrono::milliseconds;
using namespace std::chrono_literals;

// What the key fetcher needs to know about one provider. Built by the identity config wiring
// from config::IdentityConfig; compared with == by sync() to decide "unchanged".
struct ProviderKeysConfig {
  enum Source { kDiscovery, kJwksUri, kFile };

  std::string name;    // the provider's config name; unique; used as the metrics label
  std::string issuer;  // exact "iss" value; discovery is fetched from it
  Source source = kDiscovery;
  std::string jwks_uri_or_file;  // kJwksUri: the https URL; kFile: the path; kDiscovery: unused
  std::string ca_file;           // PEM bundle for https fetches; empty: the system trust store
  Duration fetch_timeout{2s};    // total bound of one fetch (discovery + JWKS count separately)
  Duration refetch_interval{30s};  // minimum gap between fetches triggered by unknown kids
  Duration min_refresh{1min};      // Cache-Control max-age is clamped into [min, max]
  Duration max_refresh{24h};
  Duration default_refresh{10min};  // when the response has no usable max-age, and for kFile

  bool operator==(const ProviderKeysConfig&) const = default;
};

// Monotonic time for scheduling plus wall time for the last-success metric. Injected so that
// the schedule is testable on a fake clock (see refresh_schedule.h).
class Clock {
 public:
  virtual ~Clock() = default;
  [[nodiscard]] virtual std::chrono::steady_clock::time_point now() const = 0;
  [[nodiscard]] virtual std::chrono::system_clock::time_point wall_now() const = 0;
  // The process's real clocks.
  static const Clock& real();
};

// One OpenID provider's keys. Thread-safe. A fake of this interface is all an authn step test
// needs.
class KeyProvider {
 public:
  virtual ~KeyProvider() = default;

  [[nodiscard]] virtual const std::string& name() const = 0;
  // The newest good key set; null until the first successful load.
  [[nodiscard]] virtual authz::jwt::KeySetPtr current() const = 0;
  // A token named a kid not in `seen` (the set the caller verified with; may be null). If `seen`
  // is older than current(), returns current() at once. Otherwise, if a fetch is in flight, waits
  // for it; else if no fetch started within refetch_interval, starts one (one fetch in flight per
  // provider, shared by all waiters on all threads) and waits for it, bounded by fetch_timeout;
  // else returns current() at once. Returns the newest set, which may be `seen` again or null.
  // Resumes on the caller's executor; never throws.
  virtual boost::asio::awaitable<authz::jwt::KeySetPtr> refetch_for_unknown_kid(
      authz::jwt::KeySetPtr seen) = 0;
};

using KeyProviderPtr = std::shared_ptr<KeyProvider>;

class KeySource;  // key_source.h: where one provider's JWKS bytes come from (test seam)

struct KeyRegistryOptions {
  const Clock* clock = nullptr;  // null: Clock::real(); must outlive the registry
  // Makes the source for a provider; empty: the real one (discovery / jwks_uri / file).
  std::function<std::unique_ptr<KeySource>(const ProviderKeysConfig&)> make_source;
  // One line per refresh failure or notable event; empty: gateway::log_event("warn", ...).
  std::function<void(std::string_view)> log;
};

// Owned by the server, kept across config reloads.
class KeyRegistry final {
 public:
  // `ex`: where fetches and refresh timers run (one thread, e.g. the admin io_context).
  // `metrics`: must outlive the registry.
  KeyRegistry(boost::asio::any_io_executor ex, prometheus::Registry& metrics,
              KeyRegistryOptions options = {});
  ~KeyRegistry();  // stop()
  KeyRegistry(const KeyRegistry&) = delete;
  KeyRegistry& operator=(const KeyRegistry&) = delete;

  // Start/adjust providers for a (re)loaded config: a provider whose ProviderKeysConfig is
  // unchanged keeps its keys, timers and KeyProvider object; a new or changed one starts
  // fetching at once (a changed one with the same issuer starts from the old keys, so a reload
  // does not make /readyz flap); removed ones stop. Names must be unique (later duplicates are
  // ignored and logged).
  void sync(const std::vector<ProviderKeysConfig>& providers);
  // The provider of that config name, or null. The pointer stays valid (keys and all) even if a
  // later sync() removes the provider; it just stops refreshing.
  [[nodiscard]] KeyProviderPtr find(std::string_view name) const;
  // True when every provider of the last sync() has loaded a key set at least once (true with
  // no providers). A provider that loaded once stays ready while its fetches fail.
  [[nodiscard]] bool ready() const;
  // Names of the providers that have never loaded (for /readyz's body and logs).
  [[nodiscard]] std::vector<std::string> not_ready() const;
  // Stops every timer and pending fetch; in-flight waiters get current() at once.
  void stop();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace obsgate::gateway::identity
