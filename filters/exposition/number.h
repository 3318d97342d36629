// Internal: numbers of the text format, read as Go's strconv.ParseFloat / ParseInt read them
// (Prometheus' parsers use those), minus hexadecimal floats.
#pragma once

#include <cstdint>
#include <string_view>

namespace obsgate::filters::exposition {

// Decimal floats ([+-]?(d+(.d*)?|.d+)([eE][+-]?d+)?), NaN, and [+-]?Inf(inity) in any case.
// Overflow is an error (Go: ErrRange); underflow gives a signed zero (Go: no error).
bool parse_float(std::string_view s, double& out);

// [+-]?d+ within int64.
bool parse_int64(std::string_view s, int64_t& out);

}  // namespace obsgate::filters::exposition
