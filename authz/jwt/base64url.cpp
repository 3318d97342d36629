#include "authz/jwt/base64url.h"

#include <array>

namespace obsgate::authz::jwt {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xff;

// Reverse table built at compile time: a constexpr array is POD, not global state.
constexpr std::array<std::uint8_t, 256> make_reverse() {
  std::array<std::uint8_t, 256> t{};
  for (auto& v : t) {
    v = kInvalid;
  }
  for (std::uint8_t i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(kAlphabet[i])] = i;
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kReverse = make_reverse();

}  // namespace

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  const std::size_t rem = in.size() % 4;
  if (rem == 1) {
    return false;  // 6 bits cannot encode a byte
  }
  out.resize(in.size() / 4 * 3 + (rem == 0 ? 0 : rem - 1));
  std::size_t o = 0;
  std::size_t i = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(in.data());
  for (; i + 4 <= in.size(); i += 4) {
    const std::uint8_t a = kReverse[p[i]];
    const std::uint8_t b = kReverse[p[i + 1]];
    const std::uint8_t c = kReverse[p[i + 2]];
    const std::uint8_t d = kReverse[p[i + 3]];
    if (((a | b | c | d) & 0xc0) != 0) {  // kInvalid has the top bits set
      return false;
    }
    const std::uint32_t v = (std::uint32_t{a} << 18) | (std::uint32_t{b} << 12) |
                            (std::uint32_t{c} << 6) | std::uint32_t{d};
    out[o++] = static_cast<char>(v >> 16);
    out[o++] = static_cast<char>((v >> 8) & 0xff);
    out[o++] = static_cast<char>(v & 0xff);
  }
  if (rem == 0) {
    return true;
  }
  const std::uint8_t a = kReverse[p[i]];
  const std::uint8_t b = kReverse[p[i + 1]];
  const std::uint8_t c = rem == 3 ? kReverse[p[i + 2]] : 0;
  if (((a | b | c) & 0xc0) != 0) {
    return false;
  }
  // The bits below the last whole byte must be zero, otherwise two strings decode to the same
  // bytes and signatures/thumbprints stop being canonical.
  if (rem == 2) {
    if ((b & 0x0f) != 0) {
      return false;
    }
    out[o++] = static_cast<char>((a << 2) | (b >> 4));
  } else {
    if ((c & 0x03) != 0) {
      return false;
    }
    out[o++] = static_cast<char>((a << 2) | (b >> 4));
    out[o++] = static_cast<char>(((b & 0x0f) << 4) | (c >> 2));
  }
  return true;
}

std::string base64url_encode(std::span<const std::uint8_t> in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const std::uint32_t v =
        (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8) | std::uint32_t{in[i + 2]};
    out.push_back(kAlphabet[(v >> 18) & 0x3f]);
    out.push_back(kAlphabet[(v >> 12) & 0x3f]);
    out.push_back(kAlphabet[(v >> 6) & 0x3f]);
    out.push_back(kAlphabet[v & 0x3f]);
  }
  const std::size_t rem = in.size() - i;
  if (rem == 1) {
    const std::uint32_t v = std::uint32_t{in[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 0x3f]);
    out.push_back(kAlphabet[(v >> 12) & 0x3f]);
  } else if (rem == 2) {
    const std::uint32_t v = (std::uint32_t{in[i]} << 16) | (std::uint32_t{in[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 0x3f]);
    out.push_back(kAlphabet[(v >> 12) & 0x3f]);
    out.push_back(kAlphabet[(v >> 6) & 0x3f]);
  }
  return out;
}

std::string base64url_encode(std::string_view in) {
  return base64url_encode(
      std::span<const std::uint8_t>(reinterpret_cast<const std::uint8_t*>(in.data()), in.size()));
}

}  // namespace obsgate::authz::jwt
