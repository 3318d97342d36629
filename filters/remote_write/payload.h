// Internal: structural validation of the parts of a WriteRequest the enforcer forwards without
// interpreting (samples, exemplars, native histograms, metadata). Each message is checked against
// its field table: a field number the table lacks, a wrong wire type, a truncated value or a bad
// packed run fails closed, so that every forwarded byte re-parses with libprotobuf.
#pragma once

#include <string_view>

namespace obsgate::filters::remote_write::payload {

enum class Check { kOk, kMalformed, kBadUtf8 };

Check sample(std::string_view bytes);
Check exemplar(std::string_view bytes);
Check histogram(std::string_view bytes);
// MetricMetadata; on success *family_name is its metric_family_name (last occurrence wins, as
// in libprotobuf; empty when absent).
Check metadata(std::string_view bytes, std::string_view* family_name);

}  // namespace obsgate::filters::remote_write::payload
