// Go string literal rules (common/go_string.h), checked against what Go's strconv does with the
// same inputs (the expected values were worked out from the Go spec's escape table).
#include <catch2/catch.hpp>

#include <string>

#include "common/go_string.h"

namespace gs = obsgate::go_string;

TEST_CASE("unescape follows strconv.Unquote", "[common][go_string]") {
  struct Case {
    std::string name;
    std::string body;
    char quote;
    std::string want;  // decoded value when err is empty
    std::string err;
  };
  const std::vector<Case> cases = {
      {"plain", "abc", '"', "abc", ""},
      {"single escapes", R"(\a\b\f\n\r\t\v\\)", '"', "\a\b\f\n\r\t\v\\", ""},
      {"own quote escaped (double)", R"(\")", '"', "\"", ""},
      {"own quote escaped (single)", R"(\')", '\'', "'", ""},
      {"other quote escaped is unknown", R"(\')", '"', "", "unknown escape sequence"},
      {"raw other quote is fine", "it's", '"', "it's", ""},
      {"raw own quote", "a\"b", '"', "", "invalid syntax"},
      {"raw newline", "a\nb", '\'', "", "invalid syntax"},
      {"hex byte, either case", R"(\x41\x6a\x6A)", '"', "Ajj", ""},
      {"hex byte is a raw byte", R"(\xff)", '"', "\xff", ""},
      {"short hex", R"(\x4)", '"', "", "illegal character in escape sequence"},
      {"bad hex digit", R"(\xg1)", '"', "", "illegal character in escape sequence"},
      {"\\u to UTF-8", R"(\u00e9\u4e16)", '"', "\xc3\xa9\xe4\xb8\x96", ""},
      {"\\U to UTF-8", R"(\U0001F600)", '"', "\xf0\x9f\x98\x80", ""},
      {"surrogate", R"(\ud800)", '"', "", "escape sequence is an invalid Unicode code point"},
      {"beyond U+10FFFF", R"(\U00110000)", '"', "",
       "escape sequence is an invalid Unicode code point"},
      {"octal", R"(\101\000)", '"', std::string("A\0", 2), ""},
      {"octal over 255", R"(\400)", '"', "", "octal escape value > 255"},
      {"short octal", R"(\12)", '"', "", "illegal character in escape sequence"},
      {"bad octal digit", R"(\18a)", '"', "", "illegal character in escape sequence"},
      {"unknown escape", R"(\q)", '"', "", "unknown escape sequence"},
      {"trailing backslash", "abc\\", '"', "", "unterminated escape sequence"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::string out;
      const char* err = gs::unescape(c.body, c.quote, out);
      if (c.err.empty()) {
        REQUIRE(err == nullptr);
        CHECK(out == c.want);
      } else {
        REQUIRE(err != nullptr);
        CHECK(std::string(err) == c.err);
      }
    }
  }
}

TEST_CASE("append_quoted follows strconv.Quote and round-trips", "[common][go_string]") {
  struct Case {
    std::string name;
    std::string value;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"plain", "team-a", R"("team-a")"},
      {"quote and backslash", "a\"b\\c", R"("a\"b\\c")"},
      {"named controls", "\a\b\f\n\r\t\v", R"("\a\b\f\n\r\t\v")"},
      {"other controls and DEL as lower-case hex", std::string("\x01\x1f\x7f", 3),
       R"("\x01\x1f\x7f")"},
      {"NUL", std::string("\0", 1), R"("\x00")"},
      {"valid UTF-8 copied", "caf\xc3\xa9 \xf0\x9f\x98\x80", "\"caf\xc3\xa9 \xf0\x9f\x98\x80\""},
      {"stray continuation byte", "\x80", R"("\x80")"},
      {"truncated sequence", "a\xe4\xb8", R"("a\xe4\xb8")"},
      {"overlong encoding", "\xc0\xaf", R"("\xc0\xaf")"},
      {"single quote kept", "it's", R"("it's")"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      std::string out;
      gs::append_quoted(out, c.value);
      CHECK(out == c.want);
      std::string back;
      REQUIRE(gs::unescape(std::string_view(out).substr(1, out.size() - 2), '"', back) ==
              nullptr);
      CHECK(back == c.value);
    }
  }
}
