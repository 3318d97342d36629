#include "gateway/core/headers.h"

#include <boost/beast/http/field.hpp>

#include <algorithm>
#include <array>
#include <random>

namespace obsgate::gateway {

namespace {

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    if (x >= 'A' && x <= 'Z') {
      x = static_cast<char>(x - 'A' + 'a');
    }
    if (y >= 'A' && y <= 'Z') {
      y = static_cast<char>(y - 'A' + 'a');
    }
    if (x != y) {
      return false;
    }
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

size_t find_head_end(std::string_view data) noexcept {
  // The first empty line ends the head, whether it is CRLF CRLF or uses a bare LF.
  for (size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
    if (i + 1 < data.size() && data[i + 1] == '\n') {
      return i + 2;
    }
    if (i + 2 < data.size() && data[i + 1] == '\r' && data[i + 2] == '\n') {
      return i + 3;
    }
  }
  return std::string_view::npos;
}

std::string_view screen_raw_head(std::string_view head) noexcept {
  for (size_t i = 0; i < head.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(head[i]);
    if (c == '\n') {
      if (i == 0 || head[i - 1] != '\r') {
        return "bare_lf";
      }
      // A line that starts with SP or HTAB continues the previous header: obs-fold.
      if (i + 1 < head.size() && (head[i + 1] == ' ' || head[i + 1] == '\t')) {
        return "obs_fold";
      }
    } else if (c == 0) {
      return "nul_in_header";
    } else if (c == '\r') {
      if (i + 1 >= head.size() || head[i + 1] != '\n') {
        return "bare_cr";
      }
    } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
      return "control_char_in_header";
    }
  }
  return {};
}

std::string_view check_request_framing(const http::fields& f, unsigned version,
                                       size_t max_header_count) noexcept {
  size_t count = 0;
  size_t content_length = 0;
  size_t transfer_encoding = 0;
  size_t host = 0;
  for (const auto& field : f) {
    ++count;
    switch (field.name()) {
      case http::field::content_length: ++content_length; break;
      case http::field::transfer_encoding: ++transfer_encoding; break;
      case http::field::host: ++host; break;
      default: break;
    }
  }
  if (count > max_header_count) {
    return "too_many_headers";
  }
  if (content_length > 1) {
    return "duplicate_content_length";
  }
  if (transfer_encoding > 0 && content_length > 0) {
    return "content_length_with_transfer_encoding";
  }
  if (content_length == 1) {
    // Only plain digits: "5, 5" and "+5" are refused rather than guessed at (RFC 9110 §8.6).
    const auto v = f[http::field::content_length];
    if (v.empty() || v.size() > 19 ||
        !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return "invalid_content_length";
    }
  }
  if (transfer_encoding > 1) {
    return "unsupported_transfer_encoding";
  }
  if (transfer_encoding == 1 && !iequals(trim(f[http::field::transfer_encoding]), "chunked")) {
    // Only a single, final "chunked" is unambiguous; "gzip, chunked" and friends are refused.
    return "unsupported_transfer_encoding";
  }
  if (host > 1) {
    return "duplicate_host";
  }
  if (host == 0 && version >= 11) {
    return "missing_host";  // RFC 9112 §3.2
  }
  return {};
}

void remove_hop_by_hop(http::fields& f) {
  // Headers named in Connection are hop-by-hop too.
  std::vector<std::string> named;
  for (auto it = f.find(http::field::connection); it != f.end() && it->name() == http::field::connection; ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      size_t comma = v.find(',');
      std::string_view token = trim(v.substr(0, comma));
      if (!token.empty()) {
        named.emplace_back(token);
      }
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    }
  }
  for (const auto& n : named) {
    // Connection may name only hop-by-hop extensions. Letting it remove the message's framing
    // or target would let a peer desynchronise us from the next hop (request smuggling), so
    // those names are ignored here; the framing headers are rewritten by the relay anyway.
    if (iequals(n, "content-length") || iequals(n, "host")) {
      continue;
    }
    f.erase(n);
  }
  static constexpr std::array kHopByHop = {
      http::field::connection, http::field::proxy_connection, http::field::keep_alive,
      http::field::te,         http::field::trailer,          http::field::transfer_encoding,
      http::field::upgrade};
  for (auto h : kHopByHop) {
    f.erase(h);
  }
}

bool header_has_token(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    const size_t comma = value.find(',');
    if (iequals(trim(value.substr(0, comma)), token)) {
      return true;
    }
    value = comma == std::string_view::npos ? std::string_view() : value.substr(comma + 1);
  }
  return false;
}

void strip_headers(http::fields& f, const std::vector<std::string>& lower_names) {
  for (const auto& n : lower_names) {
    f.erase(n);
  }
}

bool valid_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == ':';
  });
}

std::string new_request_id() {
  thread_local std::mt19937_64 gen{[] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  uint64_t a = gen();
  uint64_t b = gen();
  for (int i = 0; i < 16; ++i) {
    out[i] = kHex[(a >> (i * 4)) & 0xF];
    out[16 + i] = kHex[(b >> (i * 4)) & 0xF];
  }
  return out;
}

void set_forwarded(http::fields& f, std::string_view client_ip, bool tls) {
  auto it = f.find("X-Forwarded-For");
  if (it != f.end()) {
    std::string v(it->value());
    v += ", ";
    v += client_ip;
    f.set("X-Forwarded-For", v);
  } else {
    f.set("X-Forwarded-For", client_ip);
  }
  f.set("X-Forwarded-Proto", tls ? "https" : "http");
}

}  // namespace obsgate::gateway
