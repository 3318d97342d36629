#include "gateway/steps/authn/credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/x509.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <array>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <vector>

#include "authz/jwt/base64url.h"
#include "authz/jwt/verify.h"

namespace obsgate::gateway::authn {

namespace {

// A payload larger than this cannot be a token any provider accepts (max_token_bytes <= 1 MiB
// at load), and the peek runs before any size check of verify().
constexpr std::size_t kMaxPeekBytes = 1024 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (x != b[i]) {
      return false;
    }
  }
  return true;
}

std::string_view trim_spaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// RFC 7235 token68: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
// A table: this runs over every byte of every token on every request.
constexpr std::array<bool, 256> kToken68 = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) {
    t[static_cast<std::size_t>(c)] = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                                     (c >= '0' && c <= '9') || c == '-' || c == '.' ||
                                     c == '_' || c == '~' || c == '+' || c == '/';
  }
  return t;
}();

#if defined(__SSE2__)
constexpr std::size_t kBlock = 16;

// True when all sixteen bytes are token68 characters other than "=" (the kToken68 table, a
// block per step: this runs over every byte of every token on every request). Signed byte
// compares: bytes >= 0x80 are negative, so they fall outside every range, as they should.
bool block_is_token68(const char* p) {
  const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const auto in = [v](char lo, char hi) {
    return _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(static_cast<char>(lo - 1))),
                         _mm_cmplt_epi8(v, _mm_set1_epi8(static_cast<char>(hi + 1))));
  };
  const auto is = [v](char c) { return _mm_cmpeq_epi8(v, _mm_set1_epi8(c)); };
  // "-" "." "/" and the digits are one range (0x2d..0x39); "+" "_" "~" are single bytes.
  const __m128i ok = _mm_or_si128(
      _mm_or_si128(_mm_or_si128(in('-', '9'), in('A', 'Z')), _mm_or_si128(in('a', 'z'), is('+'))),
      _mm_or_si128(is('_'), is('~')));
  return _mm_movemask_epi8(ok) == 0xffff;
}
#else
constexpr std::size_t kBlock = 1;

bool block_is_token68(const char* p) { return kToken68[static_cast<unsigned char>(*p)]; }
#endif

bool is_token68(std::string_view s) {
  std::size_t i = 0;
  while (i + kBlock <= s.size() && block_is_token68(s.data() + i)) {
    i += kBlock;
  }
  // The tail, the "=" padding, and the block that stopped the loop, byte by byte.
  while (i < s.size() && kToken68[static_cast<unsigned char>(s[i])]) {
    ++i;
  }
  if (i == 0) {
    return false;
  }
  while (i < s.size() && s[i] == '=') {
    ++i;
  }
  return i == s.size();
}

}  // namespace

BearerCredentials parse_bearer(std::string_view authorization) {
  const std::string_view v = trim_spaces(authorization);
  const std::size_t sp = v.find_first_of(" \t");
  const std::string_view scheme = v.substr(0, sp);
  if (!iequals(scheme, "bearer")) {
    return {scheme.empty() ? BearerParse::kMalformed : BearerParse::kOtherScheme, {}};
  }
  if (sp == std::string_view::npos) {
    return {BearerParse::kMalformed, {}};
  }
  const std::string_view token = trim_spaces(v.substr(sp));
  if (!is_token68(token)) {
    return {BearerParse::kMalformed, {}};
  }
  return {BearerParse::kBearer, token};
}

std::optional<std::string> peek_issuer(std::string_view token) {
  const std::size_t a = token.find('.');
  if (a == std::string_view::npos) {
    return std::nullopt;
  }
  const std::size_t b = token.find('.', a + 1);
  if (b == std::string_view::npos || b - a - 1 > kMaxPeekBytes) {
    return std::nullopt;
  }
  std::string payload;
  if (!authz::jwt::base64url_decode(token.substr(a + 1, b - a - 1), payload)) {
    return std::nullopt;
  }
  boost::system::error_code ec;
  const boost::json::value v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) {
    return std::nullopt;
  }
  const auto* iss = v.as_object().if_contains("iss");
  if (iss == nullptr || !iss->is_string()) {
    return std::nullopt;
  }
  return std::string(iss->as_string());
}

std::string token_fingerprint(std::span<const unsigned char> key, std::string_view token) {
  if (key.empty()) {
    return {};
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac.data(),
           &len) == nullptr ||
      len < 16) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(32);
  for (std::size_t i = 0; i < 16; ++i) {
    out += kHex[mac[i] >> 4];
    out += kHex[mac[i] & 0xF];
  }
  return out;
}

std::string bearer_challenge(std::string_view error, std::string_view description) {
  std::string out = "Bearer realm=\"obsgate\"";
  if (!error.empty()) {
    out += ", error=\"";
    out += error;
    out += '"';
  }
  if (!description.empty()) {
    out += ", error_description=\"";
    out += description;
    out += '"';
  }
  return out;
}

std::optional<std::string> certificate_thumbprint(X509* cert) {
  if (cert == nullptr) {
    return std::nullopt;
  }
  const int n = i2d_X509(cert, nullptr);
  if (n <= 0) {
    return std::nullopt;
  }
  std::vector<std::uint8_t> der(static_cast<std::size_t>(n));
  unsigned char* p = der.data();
  if (i2d_X509(cert, &p) != n) {
    return std::nullopt;
  }
  return authz::jwt::cert_thumbprint_sha256(der);
}

}  // namespace obsgate::gateway::authn
