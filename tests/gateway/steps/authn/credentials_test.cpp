// The authentication step's pure helpers: Authorization parsing, the unverified issuer peek,
// the HMAC fingerprint and the RFC 6750 challenge.
#include "gateway/steps/authn/credentials.h"

#include <catch2/catch.hpp>
#include <optional>
#include <string>

#include "authz/jwt/base64url.h"
#include "tests/gateway/steps/authn/fakes.h"

namespace {

using obsgate::gateway::authn::BearerParse;
using obsgate::gateway::authn::parse_bearer;
using obsgate::gateway::authn::peek_issuer;

std::string jws(const std::string& payload_json) {
  return obsgate::authz::jwt::base64url_encode(std::string_view(R"({"alg":"ES256"})")) + "." +
         obsgate::authz::jwt::base64url_encode(payload_json) + ".c2ln";
}

}  // namespace

TEST_CASE("parse_bearer follows RFC 6750 2.1") {
  struct Case {
    const char* name;
    const char* header;
    BearerParse want;
    const char* token;
  };
  const Case cases[] = {
      {"plain", "Bearer abc.def.ghi", BearerParse::kBearer, "abc.def.ghi"},
      {"lower-case scheme", "bearer abc", BearerParse::kBearer, "abc"},
      {"several spaces", "Bearer    abc", BearerParse::kBearer, "abc"},
      {"surrounding spaces", "  Bearer abc  ", BearerParse::kBearer, "abc"},
      {"token68 padding", "Bearer YWJj==", BearerParse::kBearer, "YWJj=="},
      {"token68 symbols", "Bearer a-b._~+/", BearerParse::kBearer, "a-b._~+/"},
      {"basic", "Basic dXNlcjpwdw==", BearerParse::kOtherScheme, ""},
      {"scheme prefix only", "Bearerabc", BearerParse::kOtherScheme, ""},
      {"no token", "Bearer", BearerParse::kMalformed, ""},
      {"only spaces after", "Bearer   ", BearerParse::kMalformed, ""},
      {"two tokens", "Bearer a b", BearerParse::kMalformed, ""},
      {"padding in the middle", "Bearer a=b", BearerParse::kMalformed, ""},
      {"quote", "Bearer \"abc\"", BearerParse::kMalformed, ""},
      {"comma", "Bearer abc, def", BearerParse::kMalformed, ""},
      {"empty", "", BearerParse::kMalformed, ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      const auto b = parse_bearer(c.header);
      CHECK(b.result == c.want);
      CHECK(b.token == c.token);
    }
  }
}

// The token68 check reads 16 bytes at a time: every byte value, at every position of a
// token of two blocks and a tail (each lane of a whole block, and the byte-wise tail), must be
// judged as RFC 7235 says. The oracle is written independently of the implementation.
TEST_CASE("parse_bearer judges every byte at every position of a long token") {
  const auto token68_char = [](unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
  };
  constexpr std::size_t kLength = 37;  // two 16-byte blocks and a five-byte tail
  int checked = 0;
  for (std::size_t pos = 0; pos < kLength; ++pos) {
    for (int v = 0; v < 256; ++v) {
      const auto c = static_cast<unsigned char>(v);
      std::string token(kLength, 'a');
      token[pos] = static_cast<char>(c);
      const bool first = pos == 0;
      const bool last = pos + 1 == kLength;
      const bool blank = c == ' ' || c == '\t';
      // Blanks at either end are trimmed away; "=" is padding only at the end.
      const bool want_ok = token68_char(c) || (last && c == '=') || (blank && (first || last));
      const std::string header = "Bearer " + token;  // b.token views into it
      const auto b = parse_bearer(header);
      CAPTURE(pos, v);
      CHECK((b.result == BearerParse::kBearer) == want_ok);
      if (want_ok) {
        const std::string want = blank ? (first ? token.substr(1) : token.substr(0, pos)) : token;
        CHECK(b.token == want);
      }
      ++checked;
    }
  }
  CHECK(checked == 256 * static_cast<int>(kLength));
}

TEST_CASE("peek_issuer reads iss without verifying, and nothing else") {
  struct Case {
    const char* name;
    std::string token;
    std::optional<std::string> want;
  };
  const Case cases[] = {
      {"string iss", jws(R"({"iss":"https://idp.test","sub":"x"})"), "https://idp.test"},
      {"no iss", jws(R"({"sub":"x"})"), std::nullopt},
      {"numeric iss", jws(R"({"iss":1})"), std::nullopt},
      {"array payload", jws(R"(["iss"])"), std::nullopt},
      {"not json", jws("iss"), std::nullopt},
      {"one segment", "abc", std::nullopt},
      {"two segments without the second dot", "abc.def", std::nullopt},
      {"bad base64url", "abc.d*f.ghi", std::nullopt},
      {"padded base64url", "abc.eyJpc3MiOiJ4In0=.sig", std::nullopt},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) { CHECK(peek_issuer(c.token) == c.want); }
  }
}

TEST_CASE("token_fingerprint is HMAC-SHA256 truncated to 16 bytes, hex") {
  // RFC 4231 test case 2.
  const std::string key = "Jefe";
  const std::span<const unsigned char> k(reinterpret_cast<const unsigned char*>(key.data()),
                                         key.size());
  CHECK(obsgate::gateway::authn::token_fingerprint(k, "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c7");
  CHECK(obsgate::gateway::authn::token_fingerprint({}, "x").empty());
}

TEST_CASE("bearer_challenge") {
  using obsgate::gateway::authn::bearer_challenge;
  CHECK(bearer_challenge() == R"(Bearer realm="obsgate")");
  CHECK(bearer_challenge("insufficient_scope") ==
        R"(Bearer realm="obsgate", error="insufficient_scope")");
  CHECK(bearer_challenge("invalid_token", "token expired") ==
        R"(Bearer realm="obsgate", error="invalid_token", error_description="token expired")");
}

TEST_CASE("certificate_thumbprint is base64url SHA-256 of the DER") {
  auto a = obsgate::gateway::authn::testing::make_cert("a", "");
  auto b = obsgate::gateway::authn::testing::make_cert("a", "");
  const auto ta = obsgate::gateway::authn::certificate_thumbprint(a.get());
  REQUIRE(ta.has_value());
  CHECK(ta->size() == 43);
  CHECK(ta == obsgate::gateway::authn::certificate_thumbprint(a.get()));
  CHECK(ta != obsgate::gateway::authn::certificate_thumbprint(b.get()));  // fresh key
  CHECK_FALSE(obsgate::gateway::authn::certificate_thumbprint(nullptr).has_value());
}
