#include "gateway/core/wire.h"

#include <boost/beast/http/status.hpp>

#include <charconv>
#include <cstring>

namespace obsgate::gateway {

namespace {

void append_fields(std::string& out, const http::fields& f, std::string_view extra = {}) {
  for (const auto& field : f) {
    out += field.name_string();
    out += ": ";
    out += field.value();
    out += "\r\n";
  }
  out += extra;
  out += "\r\n";
}

void append_uint(std::string& out, unsigned v) {
  char buf[12];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

}  // namespace

void append_head(std::string& out, const http::request_header<>& h) {
  out += h.method_string();
  out += ' ';
  out += h.target();
  out += h.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n";
  append_fields(out, h);
}

void append_head(std::string& out, const http::request_header<>& h, std::string_view target,
                 std::string_view extra) {
  out += h.method_string();
  out += ' ';
  out += target;
  out += " HTTP/1.1\r\n";
  append_fields(out, h, extra);
}

void append_head(std::string& out, const http::response_header<>& h) {
  append_head(out, h, std::string_view());
}

void append_head(std::string& out, const http::response_header<>& h, std::string_view extra) {
  out += h.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  append_uint(out, h.result_int());
  out += ' ';
  // Keep the upstream's reason phrase when it sent one; otherwise the standard one.
  auto reason = h.reason();
  if (reason.empty()) {
    reason = http::obsolete_reason(h.result());
  }
  out += reason;
  out += "\r\n";
  append_fields(out, h, extra);
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += name;
  out += ": ";
  out += value;
  out += "\r\n";
}

ChunkFraming chunk_framing(size_t size, bool last) {
  ChunkFraming f;
  if (size > 0) {
    auto [end, ec] = std::to_chars(f.prefix.data(), f.prefix.data() + 16, size, 16);
    f.prefix_len = static_cast<size_t>(end - f.prefix.data());
    f.prefix[f.prefix_len++] = '\r';
    f.prefix[f.prefix_len++] = '\n';
    f.suffix[f.suffix_len++] = '\r';
    f.suffix[f.suffix_len++] = '\n';
  }
  if (last) {
    std::memcpy(f.suffix.data() + f.suffix_len, "0\r\n\r\n", 5);
    f.suffix_len += 5;
  }
  return f;
}

}  // namespace obsgate::gateway
