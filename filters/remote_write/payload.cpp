#include "filters/remote_write/payload.h"

#include <array>
#include <cstdint>

#include "filters/remote_write/wire.h"

namespace obsgate::filters::remote_write::payload {
namespace {

using wire::Reader;

// What a field number may carry. Repeated scalars accept both packed (LEN) and unpacked
// encodings, as libprotobuf does.
enum class Kind : uint8_t { kNone, kVarint, kI64, kString, kMessage, kRepVarint, kRepI64 };

constexpr size_t kMaxField = 16;

struct Spec {
  std::array<Kind, kMaxField + 1> kinds{};
  std::array<const Spec*, kMaxField + 1> subs{};
};

constexpr Spec make_label() {
  Spec s;
  s.kinds[1] = Kind::kString;
  s.kinds[2] = Kind::kString;
  return s;
}
constexpr Spec make_sample() {
  Spec s;
  s.kinds[1] = Kind::kI64;     // value
  s.kinds[2] = Kind::kVarint;  // timestamp
  return s;
}
constexpr Spec make_span() {
  Spec s;
  s.kinds[1] = Kind::kVarint;  // offset (sint32)
  s.kinds[2] = Kind::kVarint;  // length
  return s;
}
constexpr Spec kLabel = make_label();
constexpr Spec kSample = make_sample();
constexpr Spec kSpan = make_span();

constexpr Spec make_exemplar() {
  Spec s;
  s.kinds[1] = Kind::kMessage;
  s.subs[1] = &kLabel;
  s.kinds[2] = Kind::kI64;
  s.kinds[3] = Kind::kVarint;
  return s;
}
constexpr Spec make_histogram() {
  Spec s;
  s.kinds[1] = Kind::kVarint;  // count_int
  s.kinds[2] = Kind::kI64;     // count_float
  s.kinds[3] = Kind::kI64;     // sum
  s.kinds[4] = Kind::kVarint;  // schema
  s.kinds[5] = Kind::kI64;     // zero_threshold
  s.kinds[6] = Kind::kVarint;  // zero_count_int
  s.kinds[7] = Kind::kI64;     // zero_count_float
  s.kinds[8] = Kind::kMessage;  // negative_spans
  s.subs[8] = &kSpan;
  s.kinds[9] = Kind::kRepVarint;  // negative_deltas
  s.kinds[10] = Kind::kRepI64;    // negative_counts
  s.kinds[11] = Kind::kMessage;   // positive_spans
  s.subs[11] = &kSpan;
  s.kinds[12] = Kind::kRepVarint;  // positive_deltas
  s.kinds[13] = Kind::kRepI64;     // positive_counts
  s.kinds[14] = Kind::kVarint;     // reset_hint
  s.kinds[15] = Kind::kVarint;     // timestamp
  s.kinds[16] = Kind::kRepI64;     // custom_values
  return s;
}
constexpr Spec make_metadata() {
  Spec s;
  s.kinds[1] = Kind::kVarint;  // type
  s.kinds[2] = Kind::kString;  // metric_family_name
  s.kinds[4] = Kind::kString;  // help
  s.kinds[5] = Kind::kString;  // unit
  return s;
}
constexpr Spec kExemplar = make_exemplar();
constexpr Spec kHistogram = make_histogram();
constexpr Spec kMetadata = make_metadata();

bool packed_varints(std::string_view run) {
  Reader r(run);
  uint64_t v = 0;
  while (!r.done()) {
    if (!r.read_varint(v)) {
      return false;
    }
  }
  return true;
}

// Depth is bounded by the specs themselves (Histogram -> BucketSpan, Exemplar -> Label).
Check validate(std::string_view bytes, const Spec& spec, uint32_t capture_field,
               std::string_view* captured) {
  Reader r(bytes);
  while (!r.done()) {
    uint32_t field = 0;
    uint32_t wt = 0;
    if (!r.read_tag(field, wt) || field > kMaxField) {
      return Check::kMalformed;
    }
    const Kind kind = spec.kinds[field];
    std::string_view sub;
    uint64_t v = 0;
    switch (kind) {
      case Kind::kNone: return Check::kMalformed;
      case Kind::kVarint:
        if (wt != wire::kVarint || !r.read_varint(v)) {
          return Check::kMalformed;
        }
        break;
      case Kind::kI64:
        if (wt != wire::kI64 || !r.skip(8)) {
          return Check::kMalformed;
        }
        break;
      case Kind::kString:
        if (wt != wire::kLen || !r.read_len(sub)) {
          return Check::kMalformed;
        }
        if (!wire::valid_utf8(sub)) {
          return Check::kBadUtf8;
        }
        if (field == capture_field && captured != nullptr) {
          *captured = sub;
        }
        break;
      case Kind::kMessage: {
        if (wt != wire::kLen || !r.read_len(sub)) {
          return Check::kMalformed;
        }
        const Check c = validate(sub, *spec.subs[field], 0, nullptr);
        if (c != Check::kOk) {
          return c;
        }
        break;
      }
      case Kind::kRepVarint:
        if (wt == wire::kVarint) {
          if (!r.read_varint(v)) {
            return Check::kMalformed;
          }
        } else if (wt != wire::kLen || !r.read_len(sub) || !packed_varints(sub)) {
          return Check::kMalformed;
        }
        break;
      case Kind::kRepI64:
        if (wt == wire::kI64) {
          if (!r.skip(8)) {
            return Check::kMalformed;
          }
        } else if (wt != wire::kLen || !r.read_len(sub) || sub.size() % 8 != 0) {
          return Check::kMalformed;
        }
        break;
    }
  }
  return Check::kOk;
}

}  // namespace

Check sample(std::string_view bytes) { return validate(bytes, kSample, 0, nullptr); }

Check exemplar(std::string_view bytes) { return validate(bytes, kExemplar, 0, nullptr); }

Check histogram(std::string_view bytes) { return validate(bytes, kHistogram, 0, nullptr); }

Check metadata(std::string_view bytes, std::string_view* family_name) {
  *family_name = {};
  return validate(bytes, kMetadata, 2, family_name);
}

}  // namespace obsgate::filters::remote_write::payload
