// Where one provider's JWK Set comes from: OIDC discovery, an explicit jwks_uri, or a local
// file. The KeyProvider owns one KeySource and calls fetch() at most once at a time (it is the
// test seam: tests inject a fake). The pure helpers below (document checks, Cache-Control) are
// what the sources use and what the fuzz target exercises.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "authz/jwt/jwks.h"
#include "common/status.h"
#include "gateway/identity/key_registry.h"

namespace obsgate::gateway::identity {

struct FetchedKeys {
  authz::jwt::KeySetPtr keys;       // never null on success
  std::optional<Duration> max_age;  // from Cache-Control; none for files
};

class KeySource {
 public:
  virtual ~KeySource() = default;
  // One fetch, bounded in time by the source's configuration. Errors:
  // DeadlineExceeded (timeout), InvalidArgument (a document that breaks the
  // rules), Unavailable (I/O, status).
  virtual boost::asio::awaitable<Result<FetchedKeys>> fetch() = 0;
};

// The real source for a provider configuration (discovery, jwks_uri or file).
std::unique_ptr<KeySource> make_key_source(const ProviderKeysConfig& cfg);

// Limits for fetched documents.
inline constexpr std::size_t kMaxDiscoveryBytes = 512 * 1024;
inline constexpr std::size_t kMaxJwksBytes = 512 * 1024;

// <issuer without trailing '/'>/.well-known/openid-configuration
std::string discovery_url(std::string_view issuer);

// OK when `url` may be fetched for keys of `issuer`: https; or http when the
// issuer is an http URL on a loopback host and `url` is on the same loopback
// host (local IdPs and tests).
Status check_key_url(std::string_view url, std::string_view issuer);

// Parses a discovery document and returns its jwks_uri. Requires a JSON object
// whose "issuer" equals `issuer` exactly and whose "jwks_uri" passes
// check_key_url(). Errors name the member.
Result<std::string> parse_discovery(std::string_view body, std::string_view issuer);

// max-age of a Cache-Control header value (case-insensitive directives,
// optional quotes); `no-store` or `no-cache` give 0; none when absent or
// malformed. Capped at 10 years.
std::optional<Duration> parse_max_age(std::string_view cache_control);

// Blocking discovery + JWKS fetch for command-line tools (obsgate verify-token
// --discover): returns the JWKS document's bytes. Errors name the URL that
// failed. `max_bytes` caps each document ("response above N MiB").
Result<std::string> discover_jwks_blocking(const std::string& issuer, const std::string& ca_file,
                                           Duration timeout, std::size_t max_bytes);

}  // namespace obsgate::gateway::identity
