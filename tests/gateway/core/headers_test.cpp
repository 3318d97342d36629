#include "gateway/core/headers.h"

#include <catch2/catch.hpp>

#include <boost/beast/http/field.hpp>

using namespace obsgate::gateway;
namespace http = boost::beast::http;

TEST_CASE("raw head screening rejects what the parser would silently normalise") {
  struct Case {
    const char* name;
    std::string head;
    const char* reason;  // "" = accepted
  };
  const Case cases[] = {
      {"clean", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ""},
      {"bare LF line", "GET / HTTP/1.1\nHost: a\r\n\r\n", "bare_lf"},
      {"bare LF terminator", "GET / HTTP/1.1\r\nHost: a\n\n", "bare_lf"},
      {"obs-fold space", "GET / HTTP/1.1\r\nX-A: 1\r\n 2\r\nHost: a\r\n\r\n", "obs_fold"},
      {"obs-fold tab", "GET / HTTP/1.1\r\nX-A: 1\r\n\t2\r\nHost: a\r\n\r\n", "obs_fold"},
      {"NUL", std::string("GET / HTTP/1.1\r\nX-A: \0\r\n\r\n", 27), "nul_in_header"},
      {"bare CR", "GET / HTTP/1.1\r\nX-A: 1\rX-B: 2\r\n\r\n", "bare_cr"},
      {"control char", "GET / HTTP/1.1\r\nX-A: \x01\r\n\r\n", "control_char_in_header"},
      {"tab in value ok", "GET / HTTP/1.1\r\nX-A: a\tb\r\nHost: a\r\n\r\n", ""},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      CHECK(screen_raw_head(c.head) == std::string_view(c.reason));
    }
  }
}

TEST_CASE("find_head_end finds CRLF CRLF and bare LF LF") {
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n\r\nbody") == 27);
  CHECK(find_head_end("GET / HTTP/1.1\nHost: a\n\nbody") == 24);
  CHECK(find_head_end("GET / HTTP/1.1\r\nHost: a\r\n") == std::string_view::npos);
  CHECK(find_head_end("") == std::string_view::npos);
}

TEST_CASE("framing checks refuse ambiguous message lengths") {
  struct Case {
    const char* name;
    std::vector<std::pair<std::string, std::string>> fields;
    unsigned version;
    const char* reason;
  };
  const Case cases[] = {
      {"plain", {{"Host", "a"}, {"Content-Length", "3"}}, 11, ""},
      {"chunked", {{"Host", "a"}, {"Transfer-Encoding", "chunked"}}, 11, ""},
      {"chunked uppercase", {{"Host", "a"}, {"Transfer-Encoding", " Chunked "}}, 11, ""},
      {"CL and TE", {{"Host", "a"}, {"Content-Length", "3"}, {"Transfer-Encoding", "chunked"}}, 11,
       "content_length_with_transfer_encoding"},
      {"two CL", {{"Host", "a"}, {"Content-Length", "3"}, {"Content-Length", "3"}}, 11,
       "duplicate_content_length"},
      {"gzip chunked", {{"Host", "a"}, {"Transfer-Encoding", "gzip, chunked"}}, 11,
       "unsupported_transfer_encoding"},
      {"two TE", {{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "chunked"}},
       11, "unsupported_transfer_encoding"},
      {"two hosts", {{"Host", "a"}, {"Host", "b"}}, 11, "duplicate_host"},
      {"CL list", {{"Host", "a"}, {"Content-Length", "5, 5"}}, 11, "invalid_content_length"},
      {"CL sign", {{"Host", "a"}, {"Content-Length", "+5"}}, 11, "invalid_content_length"},
      {"CL empty", {{"Host", "a"}, {"Content-Length", ""}}, 11, "invalid_content_length"},
      {"no host 1.1", {{"X-A", "1"}}, 11, "missing_host"},
      {"no host 1.0", {{"X-A", "1"}}, 10, ""},
      {"too many", {{"Host", "a"}, {"A", "1"}, {"B", "1"}, {"C", "1"}}, 11, "too_many_headers"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      http::fields f;
      for (const auto& [k, v] : c.fields) {
        f.insert(k, v);
      }
      CHECK(check_request_framing(f, c.version, 3) == std::string_view(c.reason));
    }
  }
}

TEST_CASE("hop-by-hop headers and those named in Connection are removed") {
  http::fields f;
  f.insert("Host", "a");
  f.insert("Connection", "keep-alive, X-Secret ,X-Other");
  f.insert("Keep-Alive", "timeout=5");
  f.insert("TE", "trailers");
  f.insert("Upgrade", "websocket");
  f.insert("Proxy-Connection", "keep-alive");
  f.insert("Transfer-Encoding", "chunked");
  f.insert("X-Secret", "1");
  f.insert("X-Other", "1");
  f.insert("X-Kept", "1");
  remove_hop_by_hop(f);
  std::vector<std::string> left;
  for (const auto& h : f) {
    left.emplace_back(h.name_string());
  }
  CHECK(left == std::vector<std::string>{"Host", "X-Kept"});
}

TEST_CASE("Connection cannot remove the framing or the target host") {
  http::fields f;
  f.insert("Host", "a");
  f.insert("Connection", "Content-Length, host, X-Hop");
  f.insert("Content-Length", "44");
  f.insert("X-Hop", "1");
  remove_hop_by_hop(f);
  CHECK(f["Content-Length"] == "44");
  CHECK(f["Host"] == "a");
  CHECK(f.find("X-Hop") == f.end());
  CHECK(f.find("Connection") == f.end());
}

TEST_CASE("owned headers are stripped case-insensitively") {
  http::fields f;
  f.insert("authorization", "Bearer x");
  f.insert("X-Scope-OrgID", "tenant-b");
  f.insert("x-vault-token", "s.1");
  f.insert("Accept", "*/*");
  strip_headers(f, {"authorization", "x-scope-orgid", "x-vault-token"});
  CHECK(f.find("Authorization") == f.end());
  CHECK(f.find("X-Scope-OrgID") == f.end());
  CHECK(f.find("X-Vault-Token") == f.end());
  CHECK(f["Accept"] == "*/*");
}

TEST_CASE("request ids are validated and generated") {
  CHECK(valid_request_id("abc-123_X.y:z"));
  CHECK_FALSE(valid_request_id(""));
  CHECK_FALSE(valid_request_id("a b"));
  CHECK_FALSE(valid_request_id("a\"b"));
  CHECK_FALSE(valid_request_id(std::string(129, 'a')));
  const auto a = new_request_id();
  const auto b = new_request_id();
  CHECK(a.size() == 32);
  CHECK(valid_request_id(a));
  CHECK(a != b);
}

TEST_CASE("forwarding headers append the client and set the scheme") {
  http::fields f;
  set_forwarded(f, "10.0.0.1", false);
  CHECK(f["X-Forwarded-For"] == "10.0.0.1");
  CHECK(f["X-Forwarded-Proto"] == "http");
  set_forwarded(f, "127.0.0.1", true);
  CHECK(f["X-Forwarded-For"] == "10.0.0.1, 127.0.0.1");
  CHECK(f["X-Forwarded-Proto"] == "https");
}
