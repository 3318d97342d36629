#include "config/identity.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <cctype>
#include <fstream>
#include <set>
#include <sstream>

#include "config/yaml_reader.h"

namespace obsgate::config {

namespace {

namespace jwt = authz::jwt;
using std::chrono::milliseconds;

constexpr std::size_t kMinFingerprintKeyBytes = 32;
constexpr std::size_t kMaxFingerprintKeyBytes = 4096;
constexpr uint64_t kMaxCacheEntries = 10'000'000;

bool read_whole(const std::string& path, std::string& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return false;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  out = ss.str();
  return !in.bad();
}

// Provider names end up in logs and metric labels: keep them short and plain.
bool valid_name(std::string_view s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '-' || c == '_' || c == '.';
  });
}

// An absolute https URL (http on a loopback host) with no credentials or fragment.
bool valid_http_url(std::string_view s) {
  auto u = boost::urls::parse_absolute_uri(s);
  if (!u) {
    return false;
  }
  if (u->host().empty() || u->has_userinfo() || u->has_fragment()) {
    return false;
  }
  // Keys over plain http only from this machine (the local IdP, tests): anywhere else a
  // network attacker could hand us keys.
  const std::string host(u->encoded_host_address());
  const bool loopback =
      host == "127.0.0.1" || host == "[::1]" || host == "::1" || host == "localhost";
  return u->scheme() == "https" || (u->scheme() == "http" && loopback);
}

// The node named by a mapping-parser field path ("roles[1].values"), as deep as it exists,
// so that errors from authz parsers still point at the right line.
YAML::Node locate(const YAML::Node& root, std::string_view path) {
  YAML::Node at = root;
  while (!path.empty()) {
    std::size_t end = path.find_first_of(".[");
    if (end == 0 && path.front() == '[') {
      const std::size_t close = path.find(']');
      if (close == std::string_view::npos || !at.IsSequence()) {
        break;
      }
      std::size_t i = 0;
      for (char c : path.substr(1, close - 1)) {
        if (c < '0' || c > '9') {
          return at;
        }
        i = i * 10 + static_cast<std::size_t>(c - '0');
      }
      if (i >= at.size()) {
        break;
      }
      at = at[i];
      path.remove_prefix(close + 1);
    } else if (end == 0) {
      path.remove_prefix(1);  // '.'
    } else {
      const std::string key(path.substr(0, end));
      if (!at.IsMap() || !at[key].IsDefined()) {
        break;
      }
      at = at[key];
      path.remove_prefix(end == std::string_view::npos ? path.size() : end);
    }
  }
  return at;
}

// Reports an authz parser's InvalidArgument ("roles[1].values: empty list") at the right node:
// the message's leading field path is resolved under `node` and appended to `path`.
void report_nested(YamlReader& r, const YAML::Node& node, const std::string& path,
                   std::string_view prefix_to_drop, std::string_view message) {
  if (!prefix_to_drop.empty() && message.starts_with(prefix_to_drop)) {
    message.remove_prefix(prefix_to_drop.size());
  }
  const std::size_t colon = message.find(": ");
  std::string_view field;
  std::string_view text = message;
  if (colon != std::string_view::npos &&
      message.substr(0, colon).find(' ') == std::string_view::npos) {
    field = message.substr(0, colon);  // not for "principal mapping: ..."
    text = message.substr(colon + 2);
  }
  std::string full = path;
  if (!field.empty()) {
    full += field.front() == '[' ? "" : ".";
    full += field;
  }
  r.error(locate(node, field), full, text);
}

void load_keys(YamlReader& r, const YAML::Node& n, const std::string& p, OidcProvider& out) {
  if (!n.IsDefined()) {
    r.error(n, p, "required key is missing (one of discovery: true, jwks_uri, jwks_file)");
    return;
  }
  if (!r.expect_map(n, p, {"discovery", "jwks_uri", "jwks_file"})) {
    return;
  }
  if (n.size() != 1) {
    r.error(n, p, "exactly one of discovery, jwks_uri, jwks_file is required");
    return;
  }
  if (n["discovery"].IsDefined()) {
    bool on = false;
    r.get(n, "discovery", p, on);
    if (!on && n["discovery"].IsScalar() && n["discovery"].Scalar() == "false") {
      r.error(n["discovery"], p + ".discovery", "must be true (or use jwks_uri / jwks_file)");
    }
    out.keys.kind = KeySource::Kind::kDiscovery;
    std::string iss = out.verify.issuer;
    while (!iss.empty() && iss.back() == '/') {
      iss.pop_back();
    }
    out.keys.location = iss + "/.well-known/openid-configuration";
    if (!out.verify.issuer.empty() && !valid_http_url(out.verify.issuer)) {
      r.error(n["discovery"], p + ".discovery",
              "needs an https issuer URL (http only on a loopback host), got '" +
                  out.verify.issuer + "'");
    }
  } else if (n["jwks_uri"].IsDefined()) {
    out.keys.kind = KeySource::Kind::kJwksUri;
    r.get(n, "jwks_uri", p, out.keys.location, true);
    if (!valid_http_url(out.keys.location)) {
      r.error(n["jwks_uri"], p + ".jwks_uri",
              "expected an absolute https URL (http only on a loopback host), got '" +
                  out.keys.location + "'");
    }
  } else {
    out.keys.kind = KeySource::Kind::kJwksFile;
    r.get(n, "jwks_file", p, out.keys.location, true);
    if (!out.keys.location.empty() && !readable(out.keys.location)) {
      r.error(n["jwks_file"], p + ".jwks_file", "cannot read file '" + out.keys.location + "'");
    }
  }
}

void load_refresh(YamlReader& r, const YAML::Node& n, const std::string& p, RefreshBounds& out) {
  if (!n.IsDefined() || !r.expect_map(n, p, {"min", "max", "default"})) {
    return;
  }
  r.get_duration(n, "min", p, out.min);
  r.get_duration(n, "max", p, out.max);
  r.get_duration(n, "default", p, out.fallback);
  if (out.min < std::chrono::seconds(1)) {
    r.error(n["min"], p + ".min", "must be at least 1s");
  } else if (out.max < out.min) {
    r.error(n["max"], p + ".max", "must not be below min");
  } else if (out.fallback < out.min || out.fallback > out.max) {
    r.error(n["default"], p + ".default", "must lie between min and max");
  }
}

void load_provider(YamlReader& r, const YAML::Node& n, const std::string& p, OidcProvider& out) {
  if (!r.expect_map(n, p,
                    {"name", "issuer", "audiences", "algorithms", "keys", "ca_file",
                     "require_typ_at_jwt", "clock_skew", "max_token_bytes", "max_lifetime",
                     "refresh", "refetch_interval", "fetch_timeout", "mapping"})) {
    return;
  }
  r.get(n, "name", p, out.name, true);
  if (!out.name.empty() && !valid_name(out.name)) {
    r.error(n["name"], p + ".name",
            "expected 1-64 characters of [A-Za-z0-9._-], got '" + out.name + "'");
  }
  jwt::VerifyOptions& v = out.verify;
  r.get(n, "issuer", p, v.issuer, true);
  r.get_list(n, "audiences", p, v.audiences);
  if (v.audiences.empty() && !n["audiences"].IsDefined()) {
    r.error(n, p + ".audiences", "required key is missing (the accepted `aud` values)");
  } else if (v.audiences.empty() && n["audiences"].IsSequence()) {
    r.error(n["audiences"], p + ".audiences", "at least one audience is required");
  }
  if (n["algorithms"].IsDefined()) {
    std::vector<std::string> names;
    r.get_list(n, "algorithms", p, names);
    auto algs = jwt::parse_alg_list(names);
    if (!algs.ok()) {
      r.error(n["algorithms"], p + ".algorithms", algs.status().message());
    } else if (algs->empty()) {
      r.error(n["algorithms"], p + ".algorithms", "at least one algorithm is required");
    } else {
      v.allowed_algs = std::move(algs).value();
    }
  } else {
    v.allowed_algs = default_provider_algorithms();
  }
  load_keys(r, n["keys"], p + ".keys", out);
  r.get(n, "ca_file", p, out.ca_file);
  if (!out.ca_file.empty() && !readable(out.ca_file)) {
    r.error(n["ca_file"], p + ".ca_file", "cannot read file '" + out.ca_file + "'");
  }
  r.get(n, "require_typ_at_jwt", p, v.require_at_jwt);

  milliseconds skew = v.clock_skew;
  milliseconds lifetime = v.max_lifetime;
  r.get_duration(n, "clock_skew", p, skew);
  r.get_duration(n, "max_lifetime", p, lifetime);
  v.clock_skew = std::chrono::duration_cast<std::chrono::seconds>(skew);
  v.max_lifetime = std::chrono::duration_cast<std::chrono::seconds>(lifetime);
  uint64_t max_bytes = v.max_token_bytes;
  r.get_bytes(n, "max_token_bytes", p, max_bytes);
  v.max_token_bytes = static_cast<std::size_t>(max_bytes);
  if (v.max_lifetime.count() == 0 && n["max_lifetime"].IsDefined()) {
    r.error(n["max_lifetime"], p + ".max_lifetime", "must be at least 1s");
  }
  // The verifier's own range checks (skew <= 10m, token cap 1KiB..1MiB, ...), reported at the
  // field they name. Empty issuer/audiences/algorithms were reported above.
  if (!v.issuer.empty() && !v.audiences.empty() && !v.allowed_algs.empty()) {
    if (Status st = v.validate(); !st.ok()) {
      const std::string_view msg = st.message();
      std::string_view key = "issuer";
      for (std::string_view k : {"audiences", "clock_skew", "max_lifetime", "max_token_bytes"}) {
        if (msg.find(k) != std::string_view::npos) {
          key = k;
        }
      }
      const YAML::Node at = n[std::string(key)];
      r.error(at.IsDefined() ? at : n, YamlReader::join(p, key), msg);
    }
  }

  load_refresh(r, n["refresh"], p + ".refresh", out.refresh);
  r.get_duration(n, "refetch_interval", p, out.refetch_interval);
  if (out.refetch_interval < std::chrono::seconds(1)) {
    r.error(n["refetch_interval"], p + ".refetch_interval", "must be at least 1s");
  }
  r.get_duration(n, "fetch_timeout", p, out.fetch_timeout);
  if (out.fetch_timeout < milliseconds(100) || out.fetch_timeout > std::chrono::minutes(1)) {
    r.error(n["fetch_timeout"], p + ".fetch_timeout", "must lie between 100ms and 1m");
  }
  if (const YAML::Node m = n["mapping"]; m.IsDefined() && !m.IsNull()) {
    auto mapping = authz::PrincipalMapping::parse(m);
    if (!mapping.ok()) {
      report_nested(r, m, p + ".mapping", "principal mapping: ", mapping.status().message());
    } else {
      out.mapping = std::move(mapping).value();
    }
  }
}

void load_fingerprint_key(YamlReader& r, const YAML::Node& n, IdentityConfig& out) {
  r.get(n, "decision_fingerprint_key_file", "identity", out.decision_fingerprint_key_file);
  const std::string& path = out.decision_fingerprint_key_file;
  if (path.empty()) {
    return;
  }
  const YAML::Node at = n["decision_fingerprint_key_file"];
  const std::string p = "identity.decision_fingerprint_key_file";
  std::string key;
  if (!read_whole(path, key)) {
    r.error(at, p, "cannot read file '" + path + "'");
    return;
  }
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) {
    key.pop_back();
  }
  if (key.size() < kMinFingerprintKeyBytes || key.size() > kMaxFingerprintKeyBytes) {
    // Never echo key bytes; the size is enough to fix it.
    r.error(at, p,
            "the key must be 32 to 4096 bytes (e.g. `openssl rand -hex 32`), file '" + path +
                "' has " + std::to_string(key.size()));
    return;
  }
  out.decision_fingerprint_key = std::move(key);
}

}  // namespace

const std::vector<jwt::Alg>& default_provider_algorithms() {
  // Asymmetric algorithms that every mainstream IdP uses; the rest are opt-in per provider.
  static const std::vector<jwt::Alg> kDefault = {jwt::Alg::kRs256, jwt::Alg::kPs256,
                                                 jwt::Alg::kEs256, jwt::Alg::kEdDsa};
  return kDefault;
}

std::string default_provider_algorithm_names() {
  std::string out;
  for (jwt::Alg a : default_provider_algorithms()) {
    out += out.empty() ? "" : " ";
    out += jwt::alg_name(a);
  }
  return out;
}

const OidcProvider* IdentityConfig::find_provider(std::string_view iss) const {
  for (const auto& p : providers) {
    if (p.verify.issuer == iss) {
      return &p;
    }
  }
  return nullptr;
}

void load_identity(YamlReader& r, const YAML::Node& n, IdentityConfig& out) {
  if (!n.IsDefined() || n.IsNull()) {
    return;
  }
  if (!r.expect_map(
          n, "identity",
          {"providers", "certificates", "token_cache", "decision_fingerprint_key_file"})) {
    return;
  }
  if (const YAML::Node ps = n["providers"]; ps.IsDefined() && !ps.IsNull()) {
    if (r.expect_seq(ps, "identity.providers")) {
      std::set<std::string> names;
      std::set<std::string> issuers;
      for (std::size_t i = 0; i < ps.size(); ++i) {
        const std::string p = YamlReader::index("identity.providers", i);
        OidcProvider prov;
        load_provider(r, ps[i], p, prov);
        if (!prov.name.empty() && !names.insert(prov.name).second) {
          r.error(ps[i]["name"], p + ".name", "duplicate provider name '" + prov.name + "'");
        }
        // Tokens are routed to a provider by their `iss`: two providers with one issuer
        // would make that choice ambiguous.
        if (!prov.verify.issuer.empty() && !issuers.insert(prov.verify.issuer).second) {
          r.error(ps[i]["issuer"], p + ".issuer", "duplicate issuer '" + prov.verify.issuer + "'");
        }
        out.providers.push_back(std::move(prov));
      }
    }
  }
  if (const YAML::Node cs = n["certificates"]; cs.IsDefined() && !cs.IsNull()) {
    auto certs = authz::CertMapping::parse(cs);
    if (!certs.ok()) {
      report_nested(r, cs, "identity.certificates", "cert_principals", certs.status().message());
    } else {
      out.certificates = std::move(certs).value();
    }
  }
  if (const YAML::Node tc = n["token_cache"]; tc.IsDefined() && !tc.IsNull()) {
    if (r.expect_map(tc, "identity.token_cache", {"max_entries"})) {
      uint64_t entries = out.token_cache_max_entries;
      r.get_uint(tc, "max_entries", "identity.token_cache", entries, 1, kMaxCacheEntries);
      out.token_cache_max_entries = static_cast<std::size_t>(entries);
    }
  }
  load_fingerprint_key(r, n, out);
}

}  // namespace obsgate::config
