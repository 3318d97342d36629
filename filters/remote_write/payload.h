// Internal: structural validation of the parts of a WriteRequest the enforcer forwards without
// interpreting (samples, exemplars, native histograms, metadata). Each message is checked against
// its field table: a field number the table lacks, a wrong wire type, a truncated value or a bad
// packed run fails closed, so that every forwarded byte re-parses with libprotobuf.
#pragma once

#include <string_view>

namespace obsgate::filters::remote_write::payload {

enum class Check { kOk, kMalformed, kBadUtf8 };

Check sample(std::string_view bytes);
// The encoding every sender uses, checked inline: value (tag 0x09 + 8 bytes), then timestamp
// (tag 0x10 + one varint ending the message). False means "use sample()", not "malformed".
inline bool sample_fast(std::string_view b) {
  const size_t n = b.size();
  if (n < 11 || n > 20 || b[0] != 0x09 || b[9] != 0x10 || (b[n - 1] & 0x80) != 0) {
    return false;
  }
  for (size_t i = 10; i + 1 < n; ++i) {
    if ((b[i] & 0x80) == 0) {
      return false;
    }
  }
  return n < 20 || static_cast<unsigned char>(b[19]) <= 1;  // a 10-byte varint ends in 0 or 1
}
Check exemplar(std::string_view bytes);
Check histogram(std::string_view bytes);
// MetricMetadata; on success *family_name is its metric_family_name (last occurrence wins, as
// in libprotobuf; empty when absent).
Check metadata(std::string_view bytes, std::string_view* family_name);

}  // namespace obsgate::filters::remote_write::payload
