// Literal values of LogQL: durations, byte sizes, numbers and strings, read the way Loki's
// lexer reads them and written back in a form that reads back to the same value.
// Internal to filters/logql.
#pragma once

#include "common/utf8.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace obsgate::filters::logql::detail {

// Prometheus model.ParseDuration: units y w d h m s ms, in that order, integers only; "0".
std::optional<int64_t> parse_model_duration(std::string_view s);
// Go time.ParseDuration: optional sign, components with fractions, units ns us µs ms s m h.
std::optional<int64_t> parse_go_duration(std::string_view s);
// Loki's label-filter duration: model first, then Go.
std::optional<int64_t> parse_duration(std::string_view s);
// go-humanize ParseBytes restricted to what the lexer hands it (digits, '.', size suffix).
std::optional<uint64_t> parse_bytes(std::string_view s);
// strconv.ParseFloat on a decimal literal; nullopt on syntax error or overflow.
std::optional<double> parse_float(std::string_view s);
// strconv.Atoi.
std::optional<int64_t> parse_int(std::string_view s);

// A range: model style (y w d h m s ms); ns must be a non-negative multiple of 1ms.
std::string format_range(int64_t ns);
// Any duration, readable by parse_duration (model style when possible, else Go style).
std::string format_duration(int64_t ns);
// Shortest text that reads back to the same double ("-0.0" for negative zero).
std::string format_number(double v);

// Go strconv.Unquote of a "..." literal including its quotes; nullopt if malformed.
std::optional<std::string> unquote(std::string_view quoted);
// A double-quoted Go literal for any byte string (invalid UTF-8 is \x-escaped).
void append_quoted(std::string& out, std::string_view value);
// Valid UTF-8?
using ::obsgate::valid_utf8;  // common/utf8.h

}  // namespace obsgate::filters::logql::detail
