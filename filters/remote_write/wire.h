// Internal: the small subset of the protobuf wire format the enforcer needs. Not a public API.
//
// The reader is strict: it accepts only encodings that libprotobuf also accepts (varints of at
// most 10 bytes, field numbers >= 1, lengths within the buffer, no groups), so that whatever the
// enforcer forwards re-parses.
#pragma once

#include "common/utf8.h"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace obsgate::filters::remote_write::wire {

enum WireType : uint32_t { kVarint = 0, kI64 = 1, kLen = 2, kSGroup = 3, kEGroup = 4, kI32 = 5 };

class Reader {
 public:
  explicit Reader(std::string_view s)
      : begin_(reinterpret_cast<const uint8_t*>(s.data())), p_(begin_), end_(begin_ + s.size()) {}

  [[nodiscard]] bool done() const { return p_ == end_; }
  [[nodiscard]] size_t offset() const { return static_cast<size_t>(p_ - begin_); }

  bool read_varint(uint64_t& v) {
    if (p_ != end_ && *p_ < 0x80) {  // fast path: one byte
      v = *p_++;
      return true;
    }
    uint64_t result = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ == end_) {
        return false;
      }
      const uint8_t b = *p_++;
      if (shift == 63 && b > 1) {
        return false;  // 10th byte may only carry bit 63
      }
      result |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (b < 0x80) {
        v = result;
        return true;
      }
    }
    return false;
  }

  // A tag: field number >= 1 and a wire type other than the (deprecated) groups.
  bool read_tag(uint32_t& field, uint32_t& wire_type) {
    uint64_t tag = 0;
    if (!read_varint(tag) || tag > 0xffffffffu) {
      return false;
    }
    field = static_cast<uint32_t>(tag >> 3);
    wire_type = static_cast<uint32_t>(tag & 7);
    return field != 0 && wire_type != kSGroup && wire_type != kEGroup && wire_type <= kI32;
  }

  bool read_len(std::string_view& out) {
    uint64_t n = 0;
    if (!read_varint(n) || n > static_cast<uint64_t>(end_ - p_)) {
      return false;
    }
    out = std::string_view(reinterpret_cast<const char*>(p_), static_cast<size_t>(n));
    p_ += n;
    return true;
  }

  bool skip(size_t n) {
    if (n > static_cast<size_t>(end_ - p_)) {
      return false;
    }
    p_ += n;
    return true;
  }

  // Skips a value of a non-group wire type.
  bool skip_value(uint32_t wire_type) {
    uint64_t v = 0;
    std::string_view s;
    switch (wire_type) {
      case kVarint: return read_varint(v);
      case kI64: return skip(8);
      case kLen: return read_len(s);
      case kI32: return skip(4);
      default: return false;
    }
  }

 private:
  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
};

inline size_t varint_size(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

inline void put_varint(std::string& out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

inline void put_len_field(std::string& out, uint32_t field, std::string_view bytes) {
  put_varint(out, (uint64_t{field} << 3) | kLen);
  put_varint(out, bytes.size());
  out.append(bytes);
}

inline bool is_ascii(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const size_t n = s.size();
  uint64_t acc = 0;
  if (n >= 8) {
    uint64_t w;
    for (size_t i = 0; i + 8 <= n; i += 8) {
      std::memcpy(&w, p + i, 8);
      acc |= w;
    }
    std::memcpy(&w, p + n - 8, 8);  // the tail, overlapping the last full word
    acc |= w;
  } else {
    for (size_t i = 0; i < n; ++i) {
      acc |= p[i];
    }
  }
  return (acc & 0x8080808080808080ull) == 0;
}

// Strict UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), as libprotobuf checks
// proto3 strings. ASCII runs are checked eight bytes at a time.
using ::obsgate::valid_utf8;  // common/utf8.h

}  // namespace obsgate::filters::remote_write::wire
