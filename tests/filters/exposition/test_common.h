// Shared helpers for the exposition tests: a canonical one-line rendering of samples, so that
// checks compare plain strings, and small composable checks over parse results.
#pragma once

#include <catch2/catch.hpp>

#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "filters/exposition/exposition.h"

namespace obsgate::filters::exposition::testing {

// `name{a="v",b="w"} value [@ts]`, label values escaped as in the format.
inline std::string render(const Sample& s) {
  std::string out = s.name + "{";
  for (size_t i = 0; i < s.labels.size(); ++i) {
    out += (i > 0 ? "," : "") + s.labels[i].name + "=\"";
    append_label_value(s.labels[i].value, out);
    out += "\"";
  }
  out += "} ";
  append_value(s.value, out);
  if (s.timestamp_ms) {
    out += " @" + std::to_string(*s.timestamp_ms);
  }
  return out;
}

// Every sample of every family, in order.
inline std::vector<std::string> render_all(const Exposition& e) {
  std::vector<std::string> out;
  for (const Family& f : e.families) {
    for (const Sample& s : f.samples) {
      out.push_back(render(s));
    }
  }
  return out;
}

// "name:type" for each family, in order (families without samples included).
inline std::vector<std::string> family_types(const Exposition& e) {
  std::vector<std::string> out;
  for (const Family& f : e.families) {
    out.push_back(f.name + ":" + std::string(type_name(f.type)));
  }
  return out;
}

inline std::string read_testdata(const std::string& name) {
  std::ifstream in(std::string(OBSGATE_EXPOSITION_TESTDATA) + "/" + name, std::ios::binary);
  REQUIRE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using Check = std::function<void(const Result<Exposition>&)>;

inline Check is_ok() {
  return [](const Result<Exposition>& r) {
    if (!r.ok()) {
      FAIL("unexpected error: " << r.status().message());
    }
  };
}

// InvalidArgument (or `code`) whose message contains `part`.
inline Check fails_with(const std::string& part, Code code = Code::kInvalidArgument) {
  return [part, code](const Result<Exposition>& r) {
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == code);
    CHECK_THAT(r.status().message(), Catch::Matchers::Contains(part));
  };
}

inline Check samples_are(std::vector<std::string> want) {
  return [want](const Result<Exposition>& r) {
    REQUIRE(r.ok());
    CHECK(render_all(*r) == want);
  };
}

inline Check families_are(std::vector<std::string> want) {
  return [want](const Result<Exposition>& r) {
    REQUIRE(r.ok());
    CHECK(family_types(*r) == want);
  };
}

inline Check help_is(size_t family, std::string want) {
  return [family, want](const Result<Exposition>& r) {
    REQUIRE(r.ok());
    REQUIRE(r->families.size() > family);
    REQUIRE(r->families[family].help.has_value());
    CHECK(*r->families[family].help == want);
  };
}

// All of `checks`, in order.
inline Check all(std::vector<Check> checks) {
  return [checks](const Result<Exposition>& r) {
    for (const auto& c : checks) {
      c(r);
    }
  };
}

}  // namespace obsgate::filters::exposition::testing
