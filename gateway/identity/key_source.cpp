#include "gateway/identity/key_source.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <cctype>
#include <fstream>
#include <sstream>

#include "authz/jwt/strict_json.h"
#include "gateway/client/http_client.h"

namespace obsgate::gateway::identity {

namespace {

namespace asio = boost::asio;
namespace json = boost::json;

std::string size_text(std::size_t n) {
  if (n % (1024 * 1024) == 0) {
    return std::to_string(n / (1024 * 1024)) + " MiB";
  }
  if (n % 1024 == 0) {
    return std::to_string(n / 1024) + " KiB";
  }
  return std::to_string(n) + " bytes";
}

// GET url; only 200 is a success. Errors start with the URL.
asio::awaitable<Result<client::ClientResponse>> get_document(const std::string& url,
                                                             const std::string& ca_file,
                                                             Duration timeout,
                                                             std::size_t max_bytes) {
  client::ClientRequest req;
  req.url = url;
  req.headers = {{"Accept", "application/json"}, {"User-Agent", "obsgate"}};
  req.ca_file = ca_file;
  req.timeout = timeout;
  req.max_body_bytes = max_bytes;
  auto res = co_await client::fetch(std::move(req));
  if (!res.ok()) {
    if (res.status().code() == Code::kResourceExhausted) {
      co_return Status::resource_exhausted(url + ": response above " + size_text(max_bytes));
    }
    co_return res.status();
  }
  if (res->status != 200) {
    co_return Status::unavailable(url + ": HTTP status " + std::to_string(res->status));
  }
  co_return res;
}

Result<FetchedKeys> to_keys(const std::string& where, std::string_view body,
                            std::optional<Duration> max_age) {
  authz::jwt::JwksLimits limits;
  limits.max_bytes = kMaxJwksBytes;
  auto keys = authz::jwt::KeySet::parse(body, limits);
  if (!keys.ok()) {
    return Status::invalid_argument(where + ": " + keys.status().message());
  }
  return FetchedKeys{std::move(keys).value(), max_age};
}

std::optional<Duration> max_age_of(const client::ClientResponse& r) {
  if (auto cc = r.header("Cache-Control")) {
    return parse_max_age(*cc);
  }
  return std::nullopt;
}

class UriSource final : public KeySource {
 public:
  explicit UriSource(const ProviderKeysConfig& cfg) : cfg_(cfg) {}

  asio::awaitable<Result<FetchedKeys>> fetch() override {
    std::string uri = cfg_.jwks_uri_or_file;
    if (cfg_.source == ProviderKeysConfig::kDiscovery) {
      if (discovered_.empty()) {
        const std::string url = discovery_url(cfg_.issuer);
        auto doc = co_await get_document(url, cfg_.ca_file, cfg_.fetch_timeout, kMaxDiscoveryBytes);
        if (!doc.ok()) {
          co_return doc.status();
        }
        auto jwks_uri = parse_discovery(doc->body, cfg_.issuer);
        if (!jwks_uri.ok()) {
          co_return Status::invalid_argument(url + ": " + jwks_uri.status().message());
        }
        discovered_ = std::move(jwks_uri).value();
      }
      uri = discovered_;
    } else if (Status st = check_key_url(uri, cfg_.issuer); !st.ok()) {
      co_return st;
    }
    auto doc = co_await get_document(uri, cfg_.ca_file, cfg_.fetch_timeout, kMaxJwksBytes);
    Result<FetchedKeys> out =
        doc.ok() ? to_keys(uri, doc->body, max_age_of(*doc)) : Result<FetchedKeys>(doc.status());
    if (!out.ok()) {
      discovered_.clear();  // the provider may have moved its keys: rediscover
                            // next time
    }
    co_return out;
  }

 private:
  ProviderKeysConfig cfg_;
  std::string discovered_;
};

class FileSource final : public KeySource {
 public:
  explicit FileSource(std::string path) : path_(std::move(path)) {}

  asio::awaitable<Result<FetchedKeys>> fetch() override {
    std::ifstream in(path_, std::ios::binary);
    if (!in) {
      co_return Status::unavailable(path_ + ": cannot read");
    }
    std::string body;
    body.resize(kMaxJwksBytes + 1);
    in.read(body.data(), static_cast<std::streamsize>(body.size()));
    body.resize(static_cast<std::size_t>(in.gcount()));
    if (body.size() > kMaxJwksBytes) {
      co_return Status::invalid_argument(path_ + ": above " + size_text(kMaxJwksBytes));
    }
    co_return to_keys(path_, body, std::nullopt);
  }

 private:
  std::string path_;
};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

std::unique_ptr<KeySource> make_key_source(const ProviderKeysConfig& cfg) {
  if (cfg.source == ProviderKeysConfig::kFile) {
    return std::make_unique<FileSource>(cfg.jwks_uri_or_file);
  }
  return std::make_unique<UriSource>(cfg);
}

std::string discovery_url(std::string_view issuer) {
  while (!issuer.empty() && issuer.back() == '/') {
    issuer.remove_suffix(1);
  }
  return std::string(issuer) + "/.well-known/openid-configuration";
}

Status check_key_url(std::string_view url, std::string_view issuer) {
  auto u = client::parse_url(url);
  if (!u.ok()) {
    return u.status();
  }
  if (u->https) {
    return {};
  }
  auto iss = client::parse_url(issuer);
  if (iss.ok() && !iss->https && iss->loopback() && u->loopback() && iequals(iss->host, u->host)) {
    return {};
  }
  return Status::invalid_argument("'" + std::string(url) +
                                  "' is not https (http is accepted only for a loopback issuer "
                                  "on the same host)");
}

Result<std::string> parse_discovery(std::string_view body, std::string_view issuer) {
  authz::jwt::JsonLimits limits;
  limits.max_bytes = kMaxDiscoveryBytes;
  limits.max_depth = 16;
  auto obj = authz::jwt::parse_strict_object(body, limits);
  if (!obj.ok()) {
    return Status::invalid_argument("discovery document: " + obj.status().message());
  }
  const json::value* iss = obj->if_contains("issuer");
  if (iss == nullptr || !iss->is_string()) {
    return Status::invalid_argument("discovery document: no \"issuer\" string");
  }
  if (iss->get_string() != issuer) {
    return Status::invalid_argument("discovery document: \"issuer\" " + json::serialize(*iss) +
                                    " is not the configured issuer \"" + std::string(issuer) +
                                    "\"");
  }
  const json::value* uri = obj->if_contains("jwks_uri");
  if (uri == nullptr || !uri->is_string()) {
    return Status::invalid_argument("discovery document: no \"jwks_uri\" string");
  }
  std::string out(uri->get_string());
  if (Status st = check_key_url(out, issuer); !st.ok()) {
    return Status::invalid_argument("discovery document: \"jwks_uri\": " + st.message());
  }
  return out;
}

std::optional<Duration> parse_max_age(std::string_view cc) {
  constexpr long long kCap = 10LL * 365 * 24 * 3600;
  std::optional<Duration> out;
  bool no_cache = false;
  while (!cc.empty()) {
    const std::size_t comma = cc.find(',');
    std::string_view d = trim(cc.substr(0, comma));
    cc = comma == std::string_view::npos ? std::string_view() : cc.substr(comma + 1);
    const std::size_t eq = d.find('=');
    const std::string_view name = trim(d.substr(0, eq));
    if (iequals(name, "no-store") || iequals(name, "no-cache")) {
      no_cache = true;
      continue;
    }
    if (!iequals(name, "max-age") || eq == std::string_view::npos) {
      continue;
    }
    std::string_view v = trim(d.substr(eq + 1));
    if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
      v = v.substr(1, v.size() - 2);
    }
    if (v.empty() || out) {
      return std::nullopt;  // empty or repeated max-age: malformed (RFC 9111
                            // §4.2.1)
    }
    long long n = 0;
    for (char c : v) {
      if (c < '0' || c > '9') {
        return std::nullopt;
      }
      n = std::min(n * 10 + (c - '0'), kCap);
    }
    out = std::chrono::duration_cast<Duration>(std::chrono::seconds(n));
  }
  if (no_cache) {
    return Duration(0);
  }
  return out;
}

Result<std::string> discover_jwks_blocking(const std::string& issuer, const std::string& ca_file,
                                           Duration timeout, std::size_t max_bytes) {
  asio::io_context ioc{1};
  std::optional<Result<std::string>> out;
  auto run = [&]() -> asio::awaitable<void> {
    const std::string url = discovery_url(issuer);
    auto doc = co_await get_document(url, ca_file, timeout, max_bytes);
    if (!doc.ok()) {
      out.emplace(doc.status());
      co_return;
    }
    auto uri = parse_discovery(doc->body, issuer);
    if (!uri.ok()) {
      out.emplace(Status::invalid_argument(url + ": " + uri.status().message()));
      co_return;
    }
    auto jwks = co_await get_document(*uri, ca_file, timeout, max_bytes);
    if (!jwks.ok()) {
      out.emplace(jwks.status());
      co_return;
    }
    out.emplace(std::move(jwks->body));
  };
  asio::co_spawn(ioc, run(), asio::detached);
  ioc.run();
  if (!out) {
    return Status::internal("discovery did not complete");
  }
  return std::move(*out);
}

}  // namespace obsgate::gateway::identity
