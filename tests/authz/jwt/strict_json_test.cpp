#include "authz/jwt/strict_json.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace obsgate::authz::jwt {
namespace {

struct Case {
  std::string name;
  std::string input;
  bool ok;
  std::string message_part;  // for rejections: a substring of the message
};

std::string nested(int depth) {
  std::string s = "{\"a\":";
  for (int i = 0; i < depth; ++i) {
    s += "[";
  }
  s += "1";
  for (int i = 0; i < depth; ++i) {
    s += "]";
  }
  return s + "}";
}

TEST_CASE("parse_strict_object", "[strict_json]") {
  const std::vector<Case> cases = {
      {"empty object", "{}", true, ""},
      {"flat", R"({"a":1,"b":"x","c":true,"d":null,"e":1.5})", true, ""},
      {"nested distinct keys", R"({"a":{"a":{"a":1}},"b":[{"a":1},{"a":2}]})", true, ""},
      {"same key in sibling objects", R"({"x":{"k":1},"y":{"k":2}})", true, ""},
      {"surrounding whitespace", " \n{\"a\":1}\t ", true, ""},
      {"duplicate top-level key", R"({"a":1,"a":2})", false, "duplicate"},
      {"duplicate with same value", R"({"a":1,"a":1})", false, "duplicate"},
      {"duplicate nested key", R"({"o":{"k":1,"k":2}})", false, "duplicate"},
      {"duplicate inside array element", R"({"l":[{"k":1,"k":2}]})", false, "duplicate"},
      {"duplicate replacing a nested object", R"({"a":{"x":1},"a":2})", false, "duplicate"},
      {"duplicate replaced by a nested object", R"({"a":2,"a":{"x":1}})", false, "duplicate"},
      {"duplicate objects of equal shape", R"({"a":{"x":1},"a":{"y":1}})", false, "duplicate"},
      {"duplicate deep in second sibling", R"({"a":{"x":1},"b":{"c":{"k":1,"k":1}}})", false,
       "duplicate"},
      {"duplicate via escape", R"({"a":1,"\u0061":2})", false, "duplicate"},
      {"array top level", "[1,2]", false, "not an object"},
      {"string top level", "\"x\"", false, "not an object"},
      {"number top level", "42", false, "not an object"},
      {"empty", "", false, "not an object"},
      {"trailing data", "{}{}", false, ""},
      {"trailing comma", R"({"a":1,})", false, "syntax"},
      {"comment", "{/*x*/}", false, ""},
      {"truncated", R"({"a":)", false, ""},
      {"invalid utf8", "{\"a\":\"\xff\"}", false, ""},
      {"depth at limit", nested(15), true, ""},
      {"depth bomb", nested(5000), false, ""},
  };
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Result<boost::json::object> r = parse_strict_object(c.input, JsonLimits{});
      CHECK(r.ok() == c.ok);
      if (!c.ok && !r.ok()) {
        CHECK(r.status().code() == Code::kInvalidArgument);
        CHECK(r.status().message().find(c.message_part) != std::string::npos);
      }
    }
  }
}

TEST_CASE("parse_strict_object enforces the size limit", "[strict_json]") {
  JsonLimits limits;
  limits.max_bytes = 16;
  CHECK(parse_strict_object(R"({"a":"12345678"})", limits).ok());
  CHECK_FALSE(parse_strict_object(R"({"a":"123456789"})", limits).ok());
}

TEST_CASE("parse_strict_object keeps values", "[strict_json]") {
  Result<boost::json::object> r = parse_strict_object(
      R"({"s":"v","i":-3,"u":18446744073709551615,"d":0.5,"l":["x",{"y":2}]})", JsonLimits{});
  REQUIRE(r.ok());
  const boost::json::object& o = *r;
  CHECK(o.at("s").as_string() == "v");
  CHECK(o.at("i").as_int64() == -3);
  CHECK(o.at("u").as_uint64() == 18446744073709551615ULL);
  CHECK(o.at("d").as_double() == 0.5);
  CHECK(o.at("l").as_array().at(1).as_object().at("y").as_int64() == 2);
}

}  // namespace
}  // namespace obsgate::authz::jwt
