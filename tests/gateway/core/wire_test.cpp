// The hand-written head serialisation must produce exactly what Beast's serializer produces
// for the same message, so switching the relay to it changes no byte on the wire.
#include "gateway/core/wire.h"

#include <catch2/catch.hpp>

#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/write.hpp>

#include <sstream>

using namespace obsgate::gateway;
namespace http = boost::beast::http;

namespace {
template <bool isRequest>
std::string beast_head(http::message<isRequest, http::empty_body>& m) {
  std::ostringstream out;
  out << m.base();
  return out.str();
}
}  // namespace

TEST_CASE("request heads match Beast's serialisation") {
  http::request<http::empty_body> req{http::verb::get, "/api/v1/query?query=up", 11};
  req.set(http::field::host, "127.0.0.1:9090");
  req.insert("X-Custom", "a b");
  req.insert("X-Custom", "second");
  req.set("X-Request-Id", "abc");
  std::string mine;
  append_head(mine, req.base());
  CHECK(mine == beast_head(req));
  CHECK(mine.starts_with("GET /api/v1/query?query=up HTTP/1.1\r\nHost: 127.0.0.1:9090\r\n"));
  CHECK(mine.ends_with("\r\n\r\n"));
}

TEST_CASE("response heads keep the upstream reason phrase or use the standard one") {
  http::response<http::empty_body> res{http::status::ok, 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::content_length, "21");
  std::string mine;
  append_head(mine, res.base());
  CHECK(mine == beast_head(res));
  CHECK(mine == "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 21\r\n\r\n");

  res.reason("Fine Thanks");
  res.version(10);
  mine.clear();
  append_head(mine, res.base());
  CHECK(mine.starts_with("HTTP/1.0 200 Fine Thanks\r\n"));

  http::response<http::empty_body> odd{static_cast<http::status>(599), 11};
  mine.clear();
  append_head(mine, odd.base());
  CHECK(mine.starts_with("HTTP/1.1 599 "));
}

TEST_CASE("chunk framing") {
  struct Case {
    size_t size;
    bool last;
    const char* prefix;
    const char* suffix;
  };
  const Case cases[] = {
      {1, false, "1\r\n", "\r\n"},
      {32768, false, "8000\r\n", "\r\n"},
      {255, true, "ff\r\n", "\r\n0\r\n\r\n"},
      {0, true, "", "0\r\n\r\n"},
      {0, false, "", ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.size << (c.last ? " last" : "")) {
      auto f = chunk_framing(c.size, c.last);
      CHECK(std::string(f.prefix.data(), f.prefix_len) == c.prefix);
      CHECK(std::string(f.suffix.data(), f.suffix_len) == c.suffix);
    }
  }
}
