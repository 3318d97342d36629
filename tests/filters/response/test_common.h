// Shared helpers for the response filter tests: small composable checks over Result<std::string>.
#pragma once

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "filters/response/response.h"

namespace obsgate::filters::response::testing {

using Out = Result<std::string>;
using Check = std::function<void(const Out&)>;

inline Check is_ok() {
  return [](const Out& r) {
    INFO((r.ok() ? std::string("ok") : r.status().to_string()));
    REQUIRE(r.ok());
  };
}

// The output, byte for byte.
inline Check output_is(std::string want) {
  return [want = std::move(want)](const Out& r) {
    INFO((r.ok() ? std::string("ok") : r.status().to_string()));
    REQUIRE(r.ok());
    CHECK(*r == want);
  };
}

inline Check output_contains(std::string part) {
  return [part = std::move(part)](const Out& r) {
    REQUIRE(r.ok());
    CAPTURE(*r);
    CHECK(r->find(part) != std::string::npos);
  };
}

inline Check output_lacks(std::string part) {
  return [part = std::move(part)](const Out& r) {
    REQUIRE(r.ok());
    CAPTURE(*r);
    CHECK(r->find(part) == std::string::npos);
  };
}

// The output parses as JSON.
inline Check valid_json() {
  return [](const Out& r) {
    REQUIRE(r.ok());
    boost::json::error_code ec;
    boost::json::parse(*r, ec);
    CAPTURE(*r);
    CHECK(!ec);
  };
}

inline Check has_code(Code code) {
  return [code](const Out& r) {
    REQUIRE(!r.ok());
    CAPTURE(r.status().to_string());
    CHECK(r.status().code() == code);
  };
}

inline Check message_contains(std::string part) {
  return [part = std::move(part)](const Out& r) {
    REQUIRE(!r.ok());
    CAPTURE(r.status().message());
    CHECK(r.status().message().find(part) != std::string::npos);
  };
}

inline Check upstream_refused() { return has_code(Code::kUnavailable); }

struct Case {
  const char* name;
  std::string input;
  std::vector<Check> checks;
};

inline void run(const Out& r, const std::vector<Check>& checks) {
  for (const Check& c : checks) {
    c(r);
  }
}

inline std::string read_golden(const std::string& name) {
  std::ifstream in(std::string(OBSGATE_RESPONSE_GOLDEN_DIR) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace obsgate::filters::response::testing
