#include "gateway/core/headers.h"

#include <boost/beast/http/field.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
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

// Bytes screen_raw_head() must look at: every control character but HTAB, and DEL.
constexpr std::array<bool, 256> kSpecialHeadByte = [] {
  std::array<bool, 256> t{};
  for (size_t c = 0; c < 0x20; ++c) {
    t[c] = c != '\t';
  }
  t[0x7F] = true;
  return t;
}();

// Whether any of the 8 bytes at `p` is below 0x20 or is DEL (0x7F). Exact as a yes/no (the
// classic "has a byte less than n" and "has a zero byte" bit tricks, n <= 128); HTAB says yes
// too, and the byte loop then lets it pass.
bool word_has_special(const unsigned char* p) noexcept {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t x = 0;
  std::memcpy(&x, p, sizeof(x));
  const uint64_t below_space = (x - kOnes * 0x20) & ~x & kHigh;
  const uint64_t d = x ^ (kOnes * 0x7F);
  const uint64_t del = (d - kOnes) & ~d & kHigh;
  return (below_space | del) != 0;
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
  // Almost every byte of a head is ordinary (printable or HTAB), and this runs over the whole
  // head of every request, an Authorization header of ~1 KiB included. So eight bytes at a time
  // are tested for any special byte at once; only the words that have one (each line's CRLF,
  // a HTAB) are looked at byte by byte.
  const auto* p = reinterpret_cast<const unsigned char*>(head.data());
  const size_t n = head.size();
  size_t i = 0;
  while (i < n) {
    while (i + 8 <= n && !word_has_special(p + i)) {
      i += 8;
    }
    const size_t stop = std::min(n, i + 8);
    for (; i < stop; ++i) {
      const unsigned char c = p[i];
      if (!kSpecialHeadByte[c]) {
        continue;
      }
      if (c == '\n') {
        if (i == 0 || p[i - 1] != '\r') {
          return "bare_lf";
        }
        // A line that starts with SP or HTAB continues the previous header: obs-fold.
        if (i + 1 < n && (p[i + 1] == ' ' || p[i + 1] == '\t')) {
          return "obs_fold";
        }
      } else if (c == 0) {
        return "nul_in_header";
      } else if (c == '\r') {
        if (i + 1 >= n || p[i + 1] != '\n') {
          return "bare_cr";
        }
      } else {
        return "control_char_in_header";
      }
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
  // Headers named in Connection are hop-by-hop too. Each token is a view into its Connection
  // field, which stays valid while other fields are erased (a token naming Connection itself
  // is skipped: Connection goes below anyway). No copies: this runs on every request and
  // every response, and most responses carry "Connection: keep-alive".
  for (const auto& field : f) {
    if (field.name() != http::field::connection) {
      continue;
    }
    std::string_view v = field.value();
    while (!v.empty()) {
      const size_t comma = v.find(',');
      const std::string_view token = trim(v.substr(0, comma));
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
      // Connection may name only hop-by-hop extensions. Letting it remove the message's
      // framing or target would let a peer desynchronise us from the next hop (request
      // smuggling), so those names are ignored here; the framing headers are rewritten by the
      // relay anyway.
      if (token.empty() || iequals(token, "content-length") || iequals(token, "host") ||
          iequals(token, "connection")) {
        continue;
      }
      f.erase(token);
    }
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

void move_forwarded_to(std::string& out, http::fields& f, std::string_view client_ip, bool tls) {
  out += "X-Forwarded-For: ";
  if (auto it = f.find("X-Forwarded-For"); it != f.end()) {
    out += it->value();
    out += ", ";
  }
  out += client_ip;
  out += "\r\nX-Forwarded-Proto: ";
  out += tls ? "https" : "http";
  out += "\r\n";
  f.erase("X-Forwarded-For");
  f.erase("X-Forwarded-Proto");
}

}  // namespace obsgate::gateway
