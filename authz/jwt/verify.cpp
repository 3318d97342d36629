#include "authz/jwt/verify.h"

#include <openssl/evp.h>

#include <array>
#include <boost/json/value.hpp>
#include <cmath>

#include "authz/jwt/base64url.h"
#include "authz/jwt/strict_json.h"

namespace obsgate::authz::jwt {
namespace {

namespace json = boost::json;
using Clock = std::chrono::system_clock;

constexpr std::array<std::string_view, kRejectionCount> kRejectionNames = {
    "none",          "malformed",     "too_large",        "alg_not_allowed",   "unknown_kid",
    "key_mismatch",  "bad_signature", "crit_unsupported", "typ_mismatch",      "expired",
    "not_yet_valid", "wrong_issuer",  "wrong_audience",   "lifetime_too_long", "cnf_mismatch",
};

constexpr std::size_t kMaxKidBytes = 256;
// NumericDate upper bound: the largest second count that fits a nanosecond system_clock
// (year ~2262), rounded down. Larger values are not dates anyone issues.
constexpr double kMaxNumericDate = 9.0e9;

Status reject(Rejection r, std::string_view detail) {
  std::string m(rejection_name(r));
  m += ": ";
  m += detail;
  return Status::unauthenticated(std::move(m));
}

// Echoes an attacker-controlled claim value in a message: bounded and printable only.
std::string sanitized(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 64)) {
    out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  }
  if (s.size() > 64) {
    out += "...";
  }
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    x = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
    y = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
    if (x != y) {
      return false;
    }
  }
  return true;
}

std::string_view sv(const json::string& s) { return {s.data(), s.size()}; }

enum class Member { kAbsent, kOk, kBadType };

// Reads an optional string member.
Member string_member(const json::object& o, std::string_view name, std::string_view& out) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) {
    return Member::kAbsent;
  }
  if (!v->is_string()) {
    return Member::kBadType;
  }
  out = sv(v->get_string());
  return Member::kOk;
}

// Reads an optional NumericDate (RFC 7519 §2): a JSON number of seconds, possibly fractional.
// Strings, booleans, negative or absurd values are bad types.
Member date_member(const json::object& o, std::string_view name, Clock::time_point& out) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) {
    return Member::kAbsent;
  }
  double secs = 0;
  if (v->is_int64()) {
    secs = static_cast<double>(v->get_int64());
  } else if (v->is_uint64()) {
    secs = static_cast<double>(v->get_uint64());
  } else if (v->is_double()) {
    secs = v->get_double();
  } else {
    return Member::kBadType;
  }
  if (!std::isfinite(secs) || secs < 0 || secs > kMaxNumericDate) {
    return Member::kBadType;
  }
  // Whole seconds exactly, the fraction to the microsecond: a double cannot carry a
  // nanosecond count of today's dates without rounding.
  const double whole = std::floor(secs);
  out = Clock::time_point(std::chrono::seconds(static_cast<long long>(whole))) +
        std::chrono::microseconds(static_cast<long long>(std::llround((secs - whole) * 1e6)));
  return Member::kOk;
}

struct Header {
  Alg alg = Alg::kRs256;
  std::string_view kid;
  bool has_kid = false;
  std::string_view typ;
};

// Parses and checks the protected header; the views point into `obj`.
Status check_header(const json::object& obj, const VerifyOptions& options, Header& h) {
  std::string_view alg;
  if (string_member(obj, "alg", alg) != Member::kOk) {
    return reject(Rejection::kMalformed, "header has no string alg");
  }
  std::optional<Alg> a = alg_from_name(alg);
  if (!a) {
    // Covers none/None/NONE, HS256/384/512 and anything unknown: never accepted.
    return reject(Rejection::kAlgNotAllowed, "alg is not a supported asymmetric algorithm");
  }
  bool allowed = false;
  for (Alg x : options.allowed_algs) {
    allowed = allowed || x == *a;
  }
  if (!allowed) {
    return reject(Rejection::kAlgNotAllowed,
                  std::string("alg ") + std::string(alg_name(*a)) + " is not allowed");
  }
  h.alg = *a;
  if (const json::value* crit = obj.if_contains("crit")) {
    if (!crit->is_array() || crit->get_array().empty()) {
      return reject(Rejection::kMalformed, "crit must be a non-empty array");
    }
    // We implement no JWS extension (b64, ...): any critical one is unsupported (RFC 7515
    // §4.1.11 requires rejection).
    return reject(Rejection::kCritUnsupported, "crit names an unsupported extension");
  }
  Member typ = string_member(obj, "typ", h.typ);
  if (typ == Member::kBadType) {
    return reject(Rejection::kMalformed, "typ is not a string");
  }
  if (options.require_at_jwt && !iequals(h.typ, "at+jwt") &&
      !iequals(h.typ, "application/at+jwt")) {
    return reject(Rejection::kTypMismatch, "typ is not at+jwt");
  }
  Member kid = string_member(obj, "kid", h.kid);
  if (kid == Member::kBadType) {
    return reject(Rejection::kMalformed, "kid is not a string");
  }
  if (h.kid.size() > kMaxKidBytes) {
    return reject(Rejection::kMalformed, "kid is longer than 256 bytes");
  }
  h.has_kid = kid == Member::kOk;
  return Status();
}

Result<const Jwk*> select_key(const KeySet& keys, const Header& h) {
  const Jwk* found = nullptr;
  std::size_t candidates = 0;
  bool kid_seen = false;
  for (const Jwk& k : keys.keys()) {
    if (h.has_kid && k.kid != h.kid) {
      continue;
    }
    kid_seen = true;
    if (k.compatible_with(h.alg)) {
      found = found == nullptr ? &k : found;
      ++candidates;
    }
  }
  if (h.has_kid) {
    if (!kid_seen) {
      return reject(Rejection::kUnknownKid, "no key with this kid");
    }
    if (found == nullptr) {
      return reject(Rejection::kKeyMismatch,
                    std::string("the kid's key cannot verify ") + std::string(alg_name(h.alg)));
    }
    return found;  // KeySet::parse keeps one key per (kid, kty, crv)
  }
  if (candidates == 0) {
    return reject(Rejection::kUnknownKid, "no kid and no key compatible with the alg");
  }
  if (candidates > 1) {
    return reject(Rejection::kMalformed, "no kid and several compatible keys");
  }
  return found;
}

Status check_audience(const json::object& c, const VerifyOptions& options,
                      std::vector<std::string>& out) {
  const json::value* aud = c.if_contains("aud");
  if (aud == nullptr) {
    return reject(Rejection::kWrongAudience, "token has no aud");
  }
  if (aud->is_string()) {
    out.emplace_back(sv(aud->get_string()));
  } else if (aud->is_array()) {
    for (const json::value& v : aud->get_array()) {
      if (!v.is_string()) {
        return reject(Rejection::kMalformed, "aud array holds a non-string");
      }
      out.emplace_back(sv(v.get_string()));
    }
  } else {
    return reject(Rejection::kMalformed, "aud is neither a string nor an array");
  }
  for (const std::string& want : options.audiences) {
    for (const std::string& have : out) {
      if (have == want) {
        return Status();
      }
    }
  }
  return reject(Rejection::kWrongAudience, "aud does not contain an accepted audience");
}

Status check_times(const json::object& c, const VerifyOptions& options, Clock::time_point now,
                   VerifiedToken& t) {
  Clock::time_point exp;
  Clock::time_point nbf;
  Clock::time_point iat;
  const Member e = date_member(c, "exp", exp);
  const Member n = date_member(c, "nbf", nbf);
  const Member i = date_member(c, "iat", iat);
  if (e != Member::kOk) {
    return reject(Rejection::kMalformed,
                  e == Member::kAbsent ? "exp is missing" : "exp is not a NumericDate");
  }
  if (n == Member::kBadType || i == Member::kBadType) {
    return reject(Rejection::kMalformed, "nbf/iat is not a NumericDate");
  }
  if (now > exp + options.clock_skew) {
    return reject(Rejection::kExpired, "token expired");
  }
  if (n == Member::kOk && now + options.clock_skew < nbf) {
    return reject(Rejection::kNotYetValid, "token not valid before nbf");
  }
  if (i == Member::kOk && iat > now + options.clock_skew) {
    return reject(Rejection::kNotYetValid, "token issued in the future");
  }
  const Clock::time_point from = i == Member::kOk ? iat : now;
  if (exp - from > options.max_lifetime) {
    return reject(Rejection::kLifetimeTooLong, "token lifetime exceeds the maximum");
  }
  t.expires_at = exp;
  if (n == Member::kOk) {
    t.not_before = nbf;
  }
  if (i == Member::kOk) {
    t.issued_at = iat;
  }
  return Status();
}

Status check_cnf(const json::object& c, std::optional<std::string_view> cert, VerifiedToken& t) {
  const json::value* cnf = c.if_contains("cnf");
  if (cnf == nullptr) {
    return Status();
  }
  if (!cnf->is_object()) {
    return reject(Rejection::kMalformed, "cnf is not an object");
  }
  std::string_view x5t;
  const Member m = string_member(cnf->get_object(), "x5t#S256", x5t);
  if (m == Member::kBadType) {
    return reject(Rejection::kMalformed, "cnf x5t#S256 is not a string");
  }
  if (m == Member::kAbsent) {
    // A key-bound token (DPoP jkt, ...) we cannot check: presenting it as a bearer token
    // must not work.
    return reject(Rejection::kCnfMismatch, "unsupported confirmation method");
  }
  if (!cert) {
    return reject(Rejection::kCnfMismatch, "certificate-bound token without a client cert");
  }
  if (*cert != x5t) {
    return reject(Rejection::kCnfMismatch, "client certificate does not match cnf x5t#S256");
  }
  t.cnf_x5t_s256 = std::string(x5t);
  return Status();
}

Status check_claims(const json::object& c, const VerifyOptions& options, Clock::time_point now,
                    std::optional<std::string_view> cert, VerifiedToken& t) {
  std::string_view iss;
  const Member m = string_member(c, "iss", iss);
  if (m == Member::kBadType) {
    return reject(Rejection::kMalformed, "iss is not a string");
  }
  if (m == Member::kAbsent || options.issuer.empty() || iss != options.issuer) {
    return reject(Rejection::kWrongIssuer, "unexpected issuer \"" + sanitized(iss) + "\"");
  }
  t.issuer = std::string(iss);
  std::string_view sub;
  if (string_member(c, "sub", sub) == Member::kBadType) {
    return reject(Rejection::kMalformed, "sub is not a string");
  }
  t.subject = std::string(sub);
  if (Status s = check_times(c, options, now, t); !s.ok()) {
    return s;
  }
  if (Status s = check_audience(c, options, t.audiences); !s.ok()) {
    return s;
  }
  return check_cnf(c, cert, t);
}

}  // namespace

Status VerifyOptions::validate() const {
  if (issuer.empty()) {
    return Status::invalid_argument("issuer: required");
  }
  if (audiences.empty()) {
    return Status::invalid_argument("audiences: at least one is required");
  }
  for (const std::string& a : audiences) {
    if (a.empty()) {
      return Status::invalid_argument("audiences: empty value");
    }
  }
  if (allowed_algs.empty()) {
    return Status::invalid_argument("allowed_algs: at least one is required");
  }
  if (clock_skew.count() < 0 || clock_skew > std::chrono::minutes(10)) {
    return Status::invalid_argument("clock_skew: " + std::to_string(clock_skew.count()) +
                                    "s is outside [0, 600]");
  }
  if (max_lifetime.count() <= 0) {
    return Status::invalid_argument("max_lifetime: " + std::to_string(max_lifetime.count()) +
                                    "s must be positive");
  }
  if (max_token_bytes < 1024 || max_token_bytes > 1024 * 1024) {
    return Status::invalid_argument("max_token_bytes: " + std::to_string(max_token_bytes) +
                                    " is outside [1024, 1048576]");
  }
  return Status();
}

std::string_view rejection_name(Rejection r) {
  const auto i = static_cast<std::size_t>(r);
  return i < kRejectionNames.size() ? kRejectionNames[i] : "malformed";
}

Rejection rejection_of(const Status& s) {
  if (s.ok()) {
    return Rejection::kNone;
  }
  const std::string_view m = s.message();
  const std::string_view name = m.substr(0, m.find(':'));
  for (std::size_t i = 1; i < kRejectionNames.size(); ++i) {
    if (kRejectionNames[i] == name) {
      return static_cast<Rejection>(i);
    }
  }
  return Rejection::kMalformed;
}

Result<VerifiedToken> verify(std::string_view token, const KeySet& keys,
                             const VerifyOptions& options, Clock::time_point now,
                             std::optional<std::string_view> client_cert_sha256_b64url) {
  if (token.size() > options.max_token_bytes) {
    return reject(Rejection::kTooLarge,
                  "token exceeds " + std::to_string(options.max_token_bytes) + " bytes");
  }
  const std::size_t d1 = token.find('.');
  const std::size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return reject(Rejection::kMalformed, "token is not three dot-separated segments");
  }
  const std::string_view header_b64 = token.substr(0, d1);
  const std::string_view payload_b64 = token.substr(d1 + 1, d2 - d1 - 1);
  const std::string_view sig_b64 = token.substr(d2 + 1);
  if (header_b64.empty() || payload_b64.empty()) {
    return reject(Rejection::kMalformed, "empty header or payload segment");
  }

  std::string buf;
  if (!base64url_decode(header_b64, buf)) {
    return reject(Rejection::kMalformed, "header is not base64url");
  }
  JsonLimits header_limits;
  header_limits.max_depth = 4;  // flat; jwk/x5c members nest one level
  Result<json::object> header_obj = parse_strict_object(buf, header_limits);
  if (!header_obj.ok()) {
    return reject(Rejection::kMalformed, "header: " + header_obj.status().message());
  }
  Header h;
  if (Status s = check_header(*header_obj, options, h); !s.ok()) {
    return s;
  }
  Result<const Jwk*> key = select_key(keys, h);
  if (!key.ok()) {
    return key.status();
  }
  if (!base64url_decode(sig_b64, buf)) {
    return reject(Rejection::kMalformed, "signature is not base64url");
  }
  const std::string_view signing_input = token.substr(0, d2);
  if (!verify_signature(h.alg, (*key)->pkey.get(), signing_input, buf)) {
    return reject(Rejection::kBadSignature, "signature does not verify");
  }

  // Authentic from here on: the claims are the issuer's.
  if (!base64url_decode(payload_b64, buf)) {
    return reject(Rejection::kMalformed, "payload is not base64url");
  }
  Result<json::object> claims = parse_strict_object(buf, JsonLimits{});
  if (!claims.ok()) {
    return reject(Rejection::kMalformed, "claims: " + claims.status().message());
  }
  VerifiedToken t;
  if (Status s = check_claims(*claims, options, now, client_cert_sha256_b64url, t); !s.ok()) {
    return s;
  }
  t.alg = h.alg;
  t.kid = std::string(h.kid);
  t.typ = std::string(h.typ);
  t.claims = std::make_shared<const json::object>(std::move(claims).value());
  return t;
}

std::string cert_thumbprint_sha256(std::span<const std::uint8_t> der) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(der.data(), der.size(), md, &len, EVP_sha256(), nullptr) != 1) {
    return {};
  }
  return base64url_encode(std::span<const std::uint8_t>(md, len));
}

}  // namespace obsgate::authz::jwt
