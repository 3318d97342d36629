#include "gateway/core/local_reply.h"

#include <catch2/catch.hpp>

using obsgate::config::ApiFlavor;
using obsgate::gateway::make_local_reply;

TEST_CASE("local replies speak each backend API's error format") {
  struct Case {
    const char* name;
    ApiFlavor flavor;
    unsigned status;
    bool expose;
    const char* content_type;
    const char* body;
  };
  const Case cases[] = {
      {"prometheus 502", ApiFlavor::kPrometheus, 502, true, "application/json",
       R"({"status":"error","errorType":"unavailable","error":"upstream \"x\" down","reason":"upstream_error{connect}"})"},
      {"prometheus 504 no reason", ApiFlavor::kPrometheus, 504, false, "application/json",
       R"({"status":"error","errorType":"timeout","error":"upstream \"x\" down"})"},
      {"prometheus 400", ApiFlavor::kPrometheus, 400, false, "application/json",
       R"({"status":"error","errorType":"bad_data","error":"upstream \"x\" down"})"},
      {"loki text", ApiFlavor::kLoki, 502, true, "text/plain; charset=utf-8",
       "upstream \"x\" down (upstream_error{connect})\n"},
      {"openbao", ApiFlavor::kOpenBao, 403, true, "application/json",
       R"({"errors":["upstream \"x\" down"]})"},
      {"generic", ApiFlavor::kGeneric, 404, true, "application/json",
       R"({"error":"upstream \"x\" down","reason":"upstream_error{connect}"})"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto r = make_local_reply(c.flavor, c.status, "upstream \"x\" down", "upstream_error{connect}",
                                c.expose);
      CHECK(r.status == c.status);
      CHECK(r.content_type == c.content_type);
      CHECK(r.body == c.body);
    }
  }
}

TEST_CASE("control characters in messages are escaped in JSON bodies") {
  auto r = make_local_reply(ApiFlavor::kGeneric, 400, "bad\n\x01", "", false);
  CHECK(r.body == R"({"error":"bad\n\u0001"})");
}
