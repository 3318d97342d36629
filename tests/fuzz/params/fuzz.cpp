// Fuzzes parse_params / encode_params / merge_url_and_form. Invariants (a violation traps):
// parse(encode(parse(x))) == parse(x); the encoding is canonical (a fixed point, made only of
// unreserved bytes, "=", "&" and uppercase escapes); merging with a policy never loses pairs;
// is_valid_utf8 agrees with a naive code-point decoder.
#include <cstdint>
#include <string>
#include <string_view>

#include "gateway/routing/params.h"

namespace {

using obsgate::routing::encode_params;
using obsgate::routing::parse_params;

void require(bool cond) {
  if (!cond) {
    __builtin_trap();
  }
}

bool canonical_byte(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '-' || c == '.' || c == '_' || c == '~' || c == '%' || c == '=' || c == '&';
}

// Naive UTF-8 validity by decoding code points, as an oracle for is_valid_utf8's range table
// and 8-byte fast path.
bool reference_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t len = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (s.size() - i < len) {
      return false;
    }
    for (size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) {
        return false;
      }
      cp = (cp << 6) | (b & 0x3F);
    }
    const uint32_t min_for_len[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_for_len[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += len;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  require(obsgate::routing::is_valid_utf8(in) == reference_utf8(in));
  auto p = parse_params(in);
  if (!p.ok()) {
    return 0;
  }
  const std::string enc = encode_params(*p);
  for (size_t i = 0; i < enc.size(); ++i) {
    require(canonical_byte(enc[i]));
    if (enc[i] == '%') {
      require(i + 2 < enc.size());
      for (size_t k = 1; k <= 2; ++k) {
        const char h = enc[i + k];
        require((h >= '0' && h <= '9') || (h >= 'A' && h <= 'F'));
      }
    }
  }
  auto back = parse_params(enc);
  require(back.ok() && *back == *p);
  require(encode_params(*back) == enc);

  // Split the input in two at a data-dependent point and merge as URL + body.
  const size_t cut = size == 0 ? 0 : data[0] % (size + 1);
  auto url = parse_params(in.substr(0, cut));
  auto form = parse_params(in.substr(cut));
  if (url.ok() && form.ok()) {
    const obsgate::routing::ParamPolicy policy{{"query", "time", "a"}};
    auto merged = obsgate::routing::merge_url_and_form(*url, *form, policy);
    if (merged.ok()) {
      require(merged->size() == url->size() + form->size());
      for (const auto& k : policy.single_valued) {
        require(merged->count(k) <= 1);
      }
    } else {
      bool dup = false;
      for (const auto& k : policy.single_valued) {
        dup = dup || url->count(k) + form->count(k) > 1;
      }
      require(dup);
    }
  }
  return 0;
}
