#include "gateway/cli/verify_token.h"

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "authz/jwt/alg.h"
#include "authz/jwt/jwks.h"
#include "authz/jwt/verify.h"
#include "authz/principal/claims_mapping.h"
#include "config/identity.h"
#include "gateway/identity/key_source.h"

namespace obsgate::cli {

namespace {

namespace json = boost::json;
namespace jwt = authz::jwt;

constexpr std::chrono::seconds kFetchTimeout{5};
constexpr std::size_t kFetchMaxBytes = 1024 * 1024;

int usage(const std::string& why) {
  // The configured provider's default, so the CLI can't drift from the gateway.
  const std::string default_algs = config::default_provider_algorithm_names();
  std::fprintf(stderr,
               "obsgate verify-token: %s\n"
               "usage: obsgate verify-token --issuer ISS --audience AUD "
               "(--jwks FILE | --discover)\n"
               "         [--alg ALG]... [--typ at+jwt] [--clock-skew 60s] [--max-lifetime 24h]\n"
               "         [--cert FILE.pem] [--mapping FILE.yaml] TOKEN\n"
               "  --alg        repeatable; default: %s (none and HS* are never accepted)\n"
               "  --audience   repeatable; any one must appear in aud\n"
               "  --typ at+jwt require an RFC 9068 access token\n"
               "  --discover   fetch ISS/.well-known/openid-configuration, then its jwks_uri\n"
               "  durations: N, Ns, Nm, Nh (seconds when no unit)\n"
               "  TOKEN may start with 'Bearer '\n",
               why.c_str(), default_algs.c_str());
  return 2;
}

std::optional<std::chrono::seconds> parse_duration(std::string_view s) {
  long long mult = 1;
  if (!s.empty() && (s.back() == 's' || s.back() == 'm' || s.back() == 'h')) {
    mult = s.back() == 's' ? 1 : (s.back() == 'm' ? 60 : 3600);
    s.remove_suffix(1);
  }
  if (s.empty() || s.size() > 9) {
    return std::nullopt;
  }
  long long n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    n = n * 10 + (c - '0');
  }
  return std::chrono::seconds(n * mult);
}

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::invalid_argument("cannot read " + path);
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---------------------------------------------------------------------------------------
// Output.

void pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent + 2), ' ');
  const std::string end_pad(static_cast<std::size_t>(indent), ' ');
  if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& kv : *o) {
      out += first ? "" : ",\n";
      first = false;
      out += pad + json::serialize(json::string(kv.key())) + ": ";
      pretty(out, kv.value(), indent + 2);
    }
    out += "\n" + end_pad + "}";
  } else if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
    out += "[\n";
    for (std::size_t i = 0; i < a->size(); ++i) {
      out += i == 0 ? "" : ",\n";
      out += pad;
      pretty(out, (*a)[i], indent + 2);
    }
    out += "\n" + end_pad + "]";
  } else {
    out += json::serialize(v);
  }
}

json::array to_array(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) {
    a.emplace_back(s);
  }
  return a;
}

Result<std::string> cert_thumbprint(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::invalid_argument("--cert: cannot read " + path);
  }
  X509* x = PEM_read_X509(f, nullptr, nullptr, nullptr);
  std::fclose(f);
  if (x == nullptr) {
    return Status::invalid_argument("--cert: " + path + ": no PEM certificate");
  }
  unsigned char* der = nullptr;
  const int n = i2d_X509(x, &der);
  X509_free(x);
  if (n <= 0) {
    return Status::invalid_argument("--cert: " + path + ": cannot encode certificate");
  }
  std::string thumb = jwt::cert_thumbprint_sha256({der, static_cast<std::size_t>(n)});
  OPENSSL_free(der);
  return thumb;
}

}  // namespace

int run_verify_token(int argc, char** argv) {
  jwt::VerifyOptions opts;  // the provider defaults: 60 s skew, 24 h lifetime, 16 KiB
  std::vector<std::string> alg_names;
  std::string jwks_file;
  bool discover = false;
  std::string cert_file;
  std::string mapping_file;
  std::string token;
  bool have_token = false;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    std::string v;
    auto value = [&]() {
      if (i + 1 >= argc) {
        return false;
      }
      v = argv[++i];
      return true;
    };
    if (a == "--help" || a == "-h") {
      usage("check one bearer token as a configured provider would");
      return 0;
    } else if (a == "--issuer" && value()) {
      opts.issuer = v;
    } else if (a == "--audience" && value()) {
      opts.audiences.push_back(v);
    } else if (a == "--jwks" && value()) {
      jwks_file = v;
    } else if (a == "--discover") {
      discover = true;
    } else if (a == "--alg" && value()) {
      alg_names.push_back(v);
    } else if (a == "--typ" && value()) {
      if (v != "at+jwt") {
        return usage("--typ: only at+jwt can be required");
      }
      opts.require_at_jwt = true;
    } else if ((a == "--clock-skew" || a == "--max-lifetime") && value()) {
      auto d = parse_duration(v);
      if (!d) {
        return usage(std::string(a) + ": bad duration '" + v + "'");
      }
      (a == "--clock-skew" ? opts.clock_skew : opts.max_lifetime) = *d;
    } else if (a == "--cert" && value()) {
      cert_file = v;
    } else if (a == "--mapping" && value()) {
      mapping_file = v;
    } else if (!a.empty() && a.front() != '-' && !have_token) {
      token = std::string(a);
      have_token = true;
    } else {
      return usage("unknown or incomplete argument '" + std::string(a) + "'");
    }
  }
  if (!have_token) {
    return usage("no TOKEN given");
  }
  if (opts.issuer.empty() || opts.audiences.empty()) {
    return usage("--issuer and --audience are required");
  }
  if (discover == !jwks_file.empty()) {
    return usage("give exactly one of --jwks FILE and --discover");
  }
  if (alg_names.empty()) {
    opts.allowed_algs = config::default_provider_algorithms();  // as a provider without
  } else {                                                      // `algorithms:` would have
    auto algs = jwt::parse_alg_list(alg_names);
    if (!algs.ok()) {
      return usage("--alg: " + algs.status().message());
    }
    opts.allowed_algs = std::move(algs).value();
  }
  if (Status st = opts.validate(); !st.ok()) {
    return usage(st.message());
  }
  std::string_view bearer = token;
  if (bearer.substr(0, 7) == "Bearer ") {
    bearer.remove_prefix(7);
  }

  std::optional<authz::PrincipalMapping> mapping;
  if (!mapping_file.empty()) {
    try {
      auto m = authz::PrincipalMapping::parse(YAML::LoadFile(mapping_file));
      if (!m.ok()) {
        std::fprintf(stderr, "--mapping %s: %s\n", mapping_file.c_str(),
                     m.status().message().c_str());
        return 1;
      }
      mapping = std::move(m).value();
    } catch (const YAML::Exception& e) {
      std::fprintf(stderr, "--mapping %s: %s\n", mapping_file.c_str(), e.what());
      return 1;
    }
  }
  std::optional<std::string> thumb;
  if (!cert_file.empty()) {
    auto t = cert_thumbprint(cert_file);
    if (!t.ok()) {
      std::fprintf(stderr, "%s\n", t.status().message().c_str());
      return 1;
    }
    thumb = std::move(t).value();
  }
  // --discover follows the gateway's own rules (gateway/identity/key_source.h): the document's
  // issuer must equal --issuer, jwks_uri must be https (http only for a loopback issuer).
  auto body = discover ? gateway::identity::discover_jwks_blocking(opts.issuer, /*ca_file=*/"",
                                                                   kFetchTimeout, kFetchMaxBytes)
                       : read_file(jwks_file);
  if (!body.ok()) {
    std::fprintf(stderr, "JWKS: %s\n", body.status().message().c_str());
    return 1;
  }
  auto keys = jwt::KeySet::parse(*body);
  if (!keys.ok()) {
    std::fprintf(stderr, "JWKS: %s\n", keys.status().message().c_str());
    return 1;
  }
  for (const auto& s : (*keys)->skipped()) {
    std::fprintf(stderr, "note: JWKS key %zu (kid '%s') skipped: %s\n", s.index, s.kid.c_str(),
                 s.reason.c_str());
  }

  auto t = jwt::verify(bearer, **keys, opts, std::chrono::system_clock::now(),
                       thumb ? std::optional<std::string_view>(*thumb) : std::nullopt);
  if (!t.ok()) {
    const jwt::Rejection r = jwt::rejection_of(t.status());
    const std::string_view name = jwt::rejection_name(r);
    std::fprintf(stderr, "rejected: %.*s\n%s\n", static_cast<int>(name.size()), name.data(),
                 t.status().message().c_str());
    if (r == jwt::Rejection::kCnfMismatch && !thumb) {
      std::fprintf(stderr, "hint: the token is certificate-bound; pass --cert FILE.pem\n");
    }
    return 1;
  }
  json::object header;
  header["alg"] = jwt::alg_name(t->alg);
  if (!t->kid.empty()) {
    header["kid"] = t->kid;
  }
  if (!t->typ.empty()) {
    header["typ"] = t->typ;
  }
  std::string out = "verified\nheader: ";
  pretty(out, header, 0);
  out += "\nclaims: ";
  pretty(out, *t->claims, 0);
  out += "\n";
  if (!mapping) {
    out += "principal: no mapping given (--mapping FILE.yaml)\n";
  } else {
    const authz::Principal p = authz::map_token(*mapping, *t);
    json::object po;
    po["issuer"] = p.issuer;
    po["subject"] = p.subject;
    po["tenants"] = to_array(p.tenants);
    po["roles"] = to_array(p.roles);
    out += "principal: ";
    pretty(out, po, 0);
    out += "\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace obsgate::cli
