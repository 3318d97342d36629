#include "authz/jwt/base64url.h"

#include <catch2/catch.hpp>
#include <optional>
#include <random>
#include <string>
#include <vector>

namespace obsgate::authz::jwt {
namespace {

struct Case {
  std::string name;
  std::string input;
  std::optional<std::string> want;  // nullopt: must be rejected
};

TEST_CASE("base64url_decode accepts canonical input and rejects everything else", "[base64url]") {
  const std::vector<Case> cases = {
      {"empty", "", std::string()},
      {"one byte", "aA", std::string("h")},
      {"two bytes", "aGk", std::string("hi")},
      {"three bytes", "aGk_", std::string("hi?")},
      {"url alphabet dash", "-_-_", std::string("\xfb\xff\xbf", 3)},
      {"binary zeros", "AAAA", std::string("\0\0\0", 3)},
      {"padding rejected", "aGk=", std::nullopt},
      {"double padding rejected", "aA==", std::nullopt},
      {"plus rejected", "+/+/", std::nullopt},
      {"slash rejected", "aG/k", std::nullopt},
      {"space rejected", "aG k", std::nullopt},
      {"newline rejected", "aGk\n", std::nullopt},
      {"nul rejected", std::string("aG\0k", 4), std::nullopt},
      {"dot rejected", "aG.k", std::nullopt},
      {"length 1 mod 4 impossible", "a", std::nullopt},
      {"length 5 impossible", "aGkaG", std::nullopt},
      {"non-canonical last char of 2", "aB", std::nullopt},
      {"non-canonical last char of 3", "aGl", std::nullopt},
      {"high byte rejected", "aG\xc3\xa9", std::nullopt},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::string out;
      const bool ok = base64url_decode(c.input, out);
      REQUIRE(ok == c.want.has_value());
      if (c.want) {
        CHECK(out == *c.want);
      }
    }
  }
}

TEST_CASE("base64url round-trips every length and byte value", "[base64url]") {
  std::mt19937 rng(42);
  for (std::size_t len = 0; len < 200; ++len) {
    std::string in(len, '\0');
    for (char& ch : in) {
      ch = static_cast<char>(rng() & 0xff);
    }
    const std::string enc = base64url_encode(in);
    CAPTURE(len, enc);
    CHECK(enc.find('=') == std::string::npos);
    std::string out;
    REQUIRE(base64url_decode(enc, out));
    CHECK(out == in);
  }
}

}  // namespace
}  // namespace obsgate::authz::jwt
