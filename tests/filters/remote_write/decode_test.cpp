// Decoding: snappy framing, size caps, malformed protobuf. Every case fails closed with the
// expected code, never forwarding anything.
#include "tests/filters/remote_write/test_common.h"

using namespace rwtest;  // NOLINT(google-build-using-namespace): test-local helpers
using obsgate::Code;

namespace {

const Labels kUp = {{"__name__", "up"}, {"job", "x"}};

std::string good_raw() { return request({series(kUp, 2), series(kUp, 1)}).SerializeAsString(); }

std::string sample_bytes(double v, int64_t ts) {
  pb::Sample s;
  s.set_value(v);
  s.set_timestamp(ts);
  return s.SerializeAsString();
}

std::string series_with(const std::string& extra) {
  return len_field(1, raw_label("__name__", "up") + extra);
}

struct Case {
  const char* name;
  std::string body;  // as sent: snappy unless `raw` is set
  bool raw;          // run enforce_uncompressed on body instead
  Code want;
  const char* message_part;
};

std::vector<Case> cases() {
  const std::string raw = good_raw();
  std::string bomb;  // a snappy header claiming 1 GiB, then a few bytes
  varint(bomb, size_t{1} << 30);
  bomb += std::string("\x00\x61", 2);
  std::string over_uint32;  // header varint that does not fit
  over_uint32 = std::string("\xff\xff\xff\xff\xff\xff", 6);
  std::string corrupt = compress(raw);
  corrupt[corrupt.size() / 2] = static_cast<char>(0xff);
  corrupt.resize(corrupt.size() - 3);
  std::vector<Case> out = {
      {"empty body is not snappy", "", false, Code::kInvalidArgument, "snappy"},
      {"garbage header", over_uint32, false, Code::kInvalidArgument, "snappy"},
      {"decompression bomb", bomb, false, Code::kResourceExhausted, "1073741824"},
      {"corrupt snappy", corrupt, false, Code::kInvalidArgument, "snappy"},
      {"uncompressed protobuf sent as snappy", raw, false, Code::kInvalidArgument, ""},
      {"unknown top-level field", raw + len_field(4, "x"), true, Code::kInvalidArgument,
       "field 1"},
      {"reserved field 2", len_field(2, "x") + raw, true, Code::kInvalidArgument, "byte 0"},
      {"timeseries as varint", std::string("\x08\x01", 2), true, Code::kInvalidArgument, ""},
      {"field number zero", std::string("\x02\x00", 2), true, Code::kInvalidArgument, ""},
      {"group wire type", std::string("\x0b\x0c", 2), true, Code::kInvalidArgument, ""},
      {"overlong varint", std::string("\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f", 11), true,
       Code::kInvalidArgument, ""},
      {"length past the end", std::string("\x0a\x10\x0a", 3), true, Code::kInvalidArgument, ""},
      {"label with unknown field", len_field(1, len_field(1, len_field(3, "x"))), true,
       Code::kInvalidArgument, "Label"},
      {"label with repeated name",
       len_field(1, len_field(1, len_field(1, "a") + len_field(1, "b"))), true,
       Code::kInvalidArgument, "Label"},
      {"label name as varint", len_field(1, len_field(1, std::string("\x08\x01", 2))), true,
       Code::kInvalidArgument, "Label"},
      {"unknown TimeSeries field", series_with(len_field(5, "")), true, Code::kInvalidArgument,
       "TimeSeries"},
      {"sample value as varint", series_with(len_field(2, std::string("\x08\x01", 2))), true,
       Code::kInvalidArgument, "Sample"},
      {"truncated sample", series_with(len_field(2, sample_bytes(1, 2).substr(0, 5))), true,
       Code::kInvalidArgument, "Sample"},
      {"unknown sample field", series_with(len_field(2, sample_bytes(1, 2) + "\x18\x01")), true,
       Code::kInvalidArgument, "Sample"},
      {"packed doubles not a multiple of 8",
       series_with(len_field(4, len_field(13, "1234567"))), true, Code::kInvalidArgument,
       "Histogram"},
      {"packed deltas truncated varint", series_with(len_field(4, len_field(12, "\x80"))), true,
       Code::kInvalidArgument, "Histogram"},
      {"histogram span with bad field", series_with(len_field(4, len_field(8, len_field(1, "")))),
       true, Code::kInvalidArgument, "Histogram"},
      {"exemplar label truncated", series_with(len_field(3, std::string("\x0a\x05\x0a", 3))), true,
       Code::kInvalidArgument, "Exemplar"},
      {"metadata with unknown field", len_field(3, len_field(3, "x")), true,
       Code::kInvalidArgument, "MetricMetadata"},
      {"metadata with bad UTF-8 help", len_field(3, len_field(4, "\xc0\xaf")), true,
       Code::kInvalidArgument, "MetricMetadata"},
  };
  // Every proper prefix of a valid request that cuts inside a field is malformed.
  for (size_t cut : {size_t{1}, size_t{2}, raw.size() / 3, raw.size() / 2, raw.size() - 1}) {
    out.push_back({"truncated protobuf", raw.substr(0, cut), true, Code::kInvalidArgument, ""});
  }
  return out;
}

}  // namespace

TEST_CASE("malformed bodies fail closed") {
  const auto enforcer = make_enforcer(tenant_policy(rw::WritePolicy::OnViolation::kDrop));
  for (const Case& c : cases()) {
    DYNAMIC_SECTION(c.name << " (" << c.body.size() << " bytes)") {
      auto out = c.raw ? enforcer.enforce_uncompressed(c.body) : enforcer.enforce(c.body);
      REQUIRE_FALSE(out.ok());
      CHECK(out.status().code() == c.want);
      CHECK_THAT(out.status().message(), Catch::Contains(c.message_part));
    }
  }
}

TEST_CASE("the valid request used by the malformed cases is itself accepted") {
  const auto enforcer = make_enforcer(tenant_policy(rw::WritePolicy::OnViolation::kDrop));
  auto out = enforcer.enforce_uncompressed(good_raw());
  REQUIRE(out.ok());
  CHECK(out->accepted.series == 2);
}

TEST_CASE("request-wide limits refuse the whole request") {
  struct Case {
    const char* name;
    size_t rw::Limits::*field;
    size_t value;
    bool ok;
  };
  // The request: 3 series of 4 samples, about 150 bytes raw.
  const std::string raw = request({series(kUp, 4), series(kUp, 4), series(kUp, 4)})
                              .SerializeAsString();
  const Case cases[] = {
      {"series at the limit", &rw::Limits::max_series, 3, true},
      {"series over the limit", &rw::Limits::max_series, 2, false},
      {"samples at the limit", &rw::Limits::max_samples, 12, true},
      {"samples over the limit", &rw::Limits::max_samples, 11, false},
      {"uncompressed at the limit", &rw::Limits::max_uncompressed_bytes, raw.size(), true},
      {"uncompressed over the limit", &rw::Limits::max_uncompressed_bytes, raw.size() - 1, false},
      {"compressed at the limit", &rw::Limits::max_compressed_bytes, compress(raw).size(), true},
      {"compressed over the limit", &rw::Limits::max_compressed_bytes, compress(raw).size() - 1,
       false},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      rw::WritePolicy p = tenant_policy(rw::WritePolicy::OnViolation::kDrop);
      p.limits.*c.field = c.value;
      auto out = make_enforcer(p).enforce(compress(raw));
      CHECK(out.ok() == c.ok);
      if (!c.ok) {
        CHECK(out.status().code() == Code::kResourceExhausted);
      }
    }
  }
}
