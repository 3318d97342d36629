// HTTP/1.1 wire output for the relay: message heads serialised into one string and body
// framing written by hand, so each relay step is one gather write (head + chunk framing +
// data). Beast's generic serializer showed up as the largest user-space cost in profiles of
// the pass-through path; this does the same job with a flat loop over the fields.
//
// Pure functions; no I/O.
#pragma once

#include <boost/beast/http/message.hpp>

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace obsgate::gateway {

namespace http = boost::beast::http;

// Appends "METHOD SP target SP HTTP/1.1 CRLF", the fields, and the empty line.
void append_head(std::string& out, const http::request_header<>& h);
// Appends "HTTP/1.x SP code SP reason CRLF", the fields, and the empty line.
void append_head(std::string& out, const http::response_header<>& h);

// The same with the gateway's own fields written after the message's: `extra` holds complete
// "Name: value\r\n" lines (see append_field). The request form also takes the target, and
// always writes HTTP/1.1 (the forwarded request). Setting these into the parsed head instead
// costs a field node allocation each, per request.
void append_head(std::string& out, const http::request_header<>& h, std::string_view target,
                 std::string_view extra);
void append_head(std::string& out, const http::response_header<>& h, std::string_view extra);

// Appends one "Name: value\r\n" line. The value must not contain CR or LF.
void append_field(std::string& out, std::string_view name, std::string_view value);

// How a body is delimited on the wire.
enum class Framing {
  kNone,     // no body (HEAD, 204, 304, or a request without one)
  kLength,   // Content-Length: raw bytes
  kChunked,  // chunked transfer coding
  kClose,    // raw bytes until the connection closes (HTTP/1.0 clients only)
};

// Chunk framing around `size` data bytes: prefix "<hex>\r\n", suffix "\r\n". The last chunk
// (`last`) also appends the zero-size terminating chunk "0\r\n\r\n" to the suffix. An empty
// non-last chunk yields empty framing (writing it would terminate the body).
struct ChunkFraming {
  std::array<char, 20> prefix{};
  size_t prefix_len = 0;
  std::array<char, 8> suffix{};
  size_t suffix_len = 0;
};
ChunkFraming chunk_framing(size_t size, bool last);

}  // namespace obsgate::gateway
