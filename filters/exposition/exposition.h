// The Prometheus text exposition format 0.0.4: a strict parser and a printer.
//
// Used by the OpenBao fan-out route (issue 7): every node's /v1/sys/metrics body is parsed here,
// merged (filters/exposition/merge.h) and printed once. Pure code: no I/O, no clock, no globals.
//
// What "strict" means (every rule is an InvalidArgument naming the 1-based line):
//   - lines end with '\n', the last one included (a body cut short by a timeout is refused);
//     '\r' and other control characters outside HELP text are errors; blank lines are ignored;
//   - `# HELP name text` (escapes \\ and \n) and `# TYPE name type` at most once per family,
//     TYPE before the family's first sample; other `#` lines are comments;
//   - names match [a-zA-Z_:][a-zA-Z0-9_:]*, label names [a-zA-Z_][a-zA-Z0-9_]* and not `__*`;
//     label values escape only \\, \" and \n; label values and HELP text are valid UTF-8;
//   - values as Go's strconv.ParseFloat reads decimals (no hex), plus NaN, Inf, +Inf, -Inf
//     (any case); out-of-range values are errors; timestamps are int64 milliseconds;
//   - all lines of a family are contiguous; a family never comes back after another one;
//   - histogram samples are name_bucket (with a numeric `le`), name_sum, name_count; summary
//     samples are name (with a numeric `quantile`), name_sum, name_count;
//   - two families may not claim the same sample name (histogram `x` and gauge `x_sum`);
//   - a series (name plus labels, empty-valued labels ignored as Prometheus does) appears
//     once; a sample carries no label twice.
// OpenMetrics input is not accepted (OpenBao answers in the text format).
//
// Thread-safety: values; the functions are reentrant.
//
// Example:
//   auto e = exposition::parse(body);
//   if (!e.ok()) { return e.status(); }          // "line 7: label value is not valid UTF-8"
//   std::string again = exposition::print(*e);   // parses back to the same families
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace obsgate::filters::exposition {

enum class MetricType : uint8_t { kUntyped, kCounter, kGauge, kHistogram, kSummary };

// "untyped", "counter", "gauge", "histogram", "summary".
std::string_view type_name(MetricType t) noexcept;

struct Label {
  std::string name;
  std::string value;  // unescaped
  bool operator==(const Label&) const = default;
};

struct Sample {
  std::string name;           // as written: x_bucket, x_sum, x_count for histograms
  std::vector<Label> labels;  // in the order written; names unique
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

struct Family {
  std::string name;
  MetricType type = MetricType::kUntyped;
  std::optional<std::string> help;  // unescaped; nullopt: no HELP line
  std::vector<Sample> samples;      // in input order
};

struct Exposition {
  std::vector<Family> families;  // in input order; a family may have no samples (HELP only)
};

// Caps on untrusted input; over a cap: ResourceExhausted.
struct Limits {
  size_t max_bytes = 64 * 1024 * 1024;
  size_t max_samples = 1'000'000;
  size_t max_labels_per_sample = 128;
};

// Parses a complete text-format body. Errors: InvalidArgument "line N: <what>", or
// ResourceExhausted for a cap.
Result<Exposition> parse(std::string_view body, const Limits& limits = {});

// Prints in the text format: HELP (when present and non-empty), then `# TYPE` (always, `untyped`
// included, so that parsing the output back assigns every sample to the same family), then the
// samples. A valid Exposition (one that parse() could have produced) prints to a body that
// parses back to the same samples.
std::string print(const Exposition& e);
void print_family(const Family& f, std::string& out);

// Escaping and value formatting, shared with the merger.
void append_label_value(std::string_view v, std::string& out);  // \\ \" \n
void append_help(std::string_view v, std::string& out);         // \\ \n
void append_value(double v, std::string& out);  // shortest round-trip; NaN, +Inf, -Inf

// The sample names a family of this type and name owns: {name} for counter, gauge and untyped;
// name_bucket/_sum/_count for histograms; name, name_sum, name_count for summaries.
std::vector<std::string> owned_sample_names(std::string_view family, MetricType t);

// A series' identity: name plus labels sorted by name, empty-valued labels ignored (as
// Prometheus does). Equal keys mean the same series.
std::string series_key(std::string_view name, const std::vector<Label>& labels);

// Content-Type of the text format.
inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace obsgate::filters::exposition
