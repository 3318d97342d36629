// Response filtering: pure functions that rewrite Prometheus and Loki API response bodies before
// they reach the client (issues 4 and 5). No I/O, no globals; every function is thread-safe.
//
// Input is network input from a backend: the caller buffers the body with a size cap and passes
// it whole. Every function first validates the body as strict RFC 8259 JSON (Boost.JSON's
// parser: UTF-8 checked, no comments, no trailing commas, nesting depth <= kMaxJsonDepth) and
// then walks only the parts it must understand. It never throws on bad input and fails closed:
//   - a body it cannot understand (not JSON, wrong types, unknown result type, unknown key in a
//     series/stream object, duplicate keys in an object it interprets) -> Code::kUnavailable
//     (the gateway answers 502: the upstream sent something we will not relay);
//   - a result that the filtering would make ambiguous -> Code::kInvalidArgument (400), with a
//     message the user can act on (see "Duplicate series" below).
//
// Fidelity: the output is built by copying untouched spans of the input byte for byte and
// re-emitting only the JSON objects and arrays that change. Numbers are never converted through
// double (Boost.JSON would print 1700000000.123 as 1.700000000123E9), string escapes in kept
// labels are kept as sent, and fields we do not interpret (status, warnings, infos, stats,
// errorType, error, ...) are copied verbatim. Whitespace inside a re-emitted array or object is
// dropped (compact output); elsewhere it is kept.
//
// Envelope: {"status": "success"|"error", "data": ..., ...}. When "data" is absent or null the
// body is returned unchanged (there is nothing to filter). An error envelope that carries data
// has its data filtered like a success one (Prometheus may return partial data with errors).
// The "error" message of an error envelope is kept unless it names a hidden label as a whole
// word (Prometheus quotes label sets in e.g. many-to-many matching errors): then it is replaced
// by "upstream error withheld: it mentions a hidden label" (filter_metadata has no hidden
// labels and keeps it).
//
// Hidden labels: a label name listed in `hidden` is removed from every label set the response
// carries: series "metric"s, Loki "stream"s, exemplar labels, rule and alert labels, and (for
// Loki's categorize-labels encoding) each entry's structuredMetadata and parsed labels.
//
// Duplicate series: if removing hidden labels makes two series of one query result identical,
// the client would get two series it cannot tell apart (and Prometheus clients reject that), so
// the functions return InvalidArgument naming the label, e.g.
//   hidden label "client_ip" distinguishes series that would otherwise be identical; aggregate
//   it away (e.g. sum without (client_ip) (...))
// For Loki log streams the hint is `| drop client_ip` instead. Series and label-name lists
// (/api/v1/series, /labels) are sets, so there the duplicates are merged instead; exemplar
// groups that become identical have their exemplars concatenated.
//
// Usage (gateway, after buffering the upstream body):
//   auto out = response::strip_hidden_labels_prometheus(body, response::Endpoint::kQueryRange,
//                                                       scope.hidden_labels);
//   if (!out.ok()) { return local_reply(out.status()); }
//   send(*out);
#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "filters/scope/scope.h"

namespace obsgate::filters::response {

// Deepest JSON nesting accepted (Prometheus native histograms reach ~6; Loki stats ~4).
inline constexpr std::size_t kMaxJsonDepth = 64;

// Prometheus HTTP API endpoints whose JSON responses carry label names.
enum class Endpoint {
  kQuery,           // /api/v1/query: resultType vector|matrix|scalar|string
  kQueryRange,      // /api/v1/query_range: same shapes
  kQueryExemplars,  // /api/v1/query_exemplars: [{seriesLabels, exemplars: [{labels,...}]}]
  kSeries,          // /api/v1/series: [label set, ...] (deduplicated after stripping)
  kLabels,          // /api/v1/labels: [name, ...] (hidden names removed)
  kLabelValues,     // /api/v1/label/<name>/values: validated and passed unchanged (the caller
                    // refuses hidden label names before asking the backend)
};

// Removes hidden labels from a Prometheus API response (federate: strip_hidden_labels_text).
Result<std::string> strip_hidden_labels_prometheus(std::string_view body, Endpoint kind,
                                                   const std::vector<std::string>& hidden);

// /api/v1/rules. Keeps the rules (alerting and recording) whose own labels satisfy `scope`
// (filters::matches: a missing label reads as ""), in the manner of prom-label-proxy's
// filterRules; within a kept alerting rule, drops the active alerts whose labels do not satisfy
// the scope. Groups left without rules are dropped. Hidden labels are removed from the label
// sets that remain. Other fields of groups, rules and data (e.g. groupNextToken) are copied
// verbatim, except as below.
//
// Rendered annotations and templated labels (the hidden-value rule). An active alert's
// annotations and rule-added labels are Go templates rendered over the alert's labels, e.g.
// `summary: "{{ $labels.client_ip }} is slow"` or `runbook: "...?ip={{ $labels.client_ip |
// urlquery }}"`. For an alert (here and in filter_alerts) that carries a hidden label with a
// non-empty value:
//   - all of its annotations are removed ("annotations": {}): a template may transform the
//     value (urlquery, toUpper, reReplaceAll, title, ...) so that no text search could prove a
//     rendered annotation free of it. Removing only the annotations whose text contains the
//     value would pass `10%2E0%2E0%2E1`; redacting would too, and fail open.
//   - besides the hidden labels, every other label whose value contains a hidden value is
//     removed (rule labels templated from it), except labels the scope's rules name (they
//     decided visibility). A label template that transforms the value is not detected:
//     operators must not derive alert labels from hidden ones.
// An alert without hidden labels keeps its annotations: $labels cannot render what the alert
// does not carry. Rule-level "annotations" and "labels" of /api/v1/rules are the unrendered
// templates (no series values) and pass unchanged. A rule's "lastError" that names a hidden
// label as a word is replaced by "rule error withheld: it mentions a hidden label". Not
// covered: templates that run queries (`{{ query "..." }}`) render data outside any scope;
// such rules must not be shown to tenants (scope them with labels no tenant matches).
Result<std::string> filter_rules(std::string_view body, const Scope& scope,
                                 const std::vector<std::string>& hidden);

// /api/v1/alerts: keeps data.alerts[] entries whose labels satisfy the scope, hidden removed,
// with the hidden-value rule of filter_rules for annotations and templated labels.
Result<std::string> filter_alerts(std::string_view body, const Scope& scope,
                                  const std::vector<std::string>& hidden);

// /api/v1/metadata: data is {metric name: [...]}; keeps only the visible metric names. Metadata
// is keyed by metric family: a name is kept whole when it is a visible series name; otherwise
// each entry is kept when a sample name its type gives the family is visible (counter: _total,
// _created; histogram: _bucket, _count, _sum, _created; summary: _count, _sum, _created;
// gaugehistogram: _bucket, _gcount, _gsum; info: _info), so histograms, summaries and
// OpenMetrics counters keep their metadata while another tenant's gauge named like a visible
// counter's family stays hidden. Metadata holds
// type, help and unit only (no label values); a family name shared by two tenants shows both
// tenants' help texts to either, as Prometheus merges them per name.
// `limit` (0: none) keeps at most that many metric names, in the upstream's order: Prometheus'
// own `limit` parameter must not be forwarded (it would cut the list before the scope does);
// the caller passes it here instead.
Result<std::string> filter_metadata(std::string_view body,
                                    const std::set<std::string>& visible_metric_names,
                                    std::size_t limit = 0);

// Loki HTTP API endpoints whose JSON responses carry label names.
enum class LokiEndpoint {
  kQuery,        // /loki/api/v1/query: resultType streams|vector|scalar
  kQueryRange,   // /loki/api/v1/query_range: resultType streams|matrix
  kSeries,       // /loki/api/v1/series: [label set, ...] (deduplicated after stripping)
  kLabels,       // /loki/api/v1/labels: [name, ...] (hidden names removed)
  kLabelValues,  // /loki/api/v1/label/<name>/values: validated and passed unchanged
};

Result<std::string> strip_hidden_labels_loki(std::string_view body, LokiEndpoint kind,
                                             const std::vector<std::string>& hidden);

enum class Direction { kForward, kBackward };

// Merges the responses of several log queries (one per scope rule) into one Loki query_range
// response with resultType "streams", as Loki itself would have answered the union:
//   - streams with identical labels (decoded, order-insensitive) become one stream whose
//     entries are deduplicated by (timestamp, line);
//   - entries are ordered by timestamp: ascending for kForward, descending for kBackward (ties
//     by line, byte order), and each entry array is copied verbatim (categorize-labels
//     metadata included);
//   - `limit` caps the total number of entries across all streams, keeping the first ones in
//     direction order (Loki's semantics); streams left empty are dropped; the remaining
//     streams are ordered by their label sets (sorted name/value pairs);
//   - stats: the first body that has "stats" gives the structure and the non-integer figures
//     (execTime, rates); every integer figure is the sum over all bodies at the same path;
//     summary.totalEntriesReturned is set to the number of entries returned;
//   - top-level "warnings" are united (deduplicated, in order of first appearance).
// Any body that is not a success "streams" response fails the merge: an error envelope maps to
// InvalidArgument (errorType bad_data), DeadlineExceeded (timeout) or Unavailable, with the
// upstream message; anything else to Unavailable. limit == 0 is InvalidArgument (Loki rejects
// it too). Hidden labels are NOT removed here: call strip_hidden_labels_loki on the result.
Result<std::string> merge_loki_streams(const std::vector<std::string_view>& bodies,
                                       std::size_t limit, Direction dir);

// Prometheus text exposition format 0.0.4 (the /federate body): removes hidden labels from each
// sample line; HELP, TYPE and other comment lines, blank lines and the value/timestamp part of
// each line are kept byte for byte. Strict: metric and label names must be legacy Prometheus
// names (UTF-8 quoted names are refused), label values must be double-quoted with only the
// escapes \\ \" \n, values and timestamps must look like numbers, the body must be UTF-8.
// Two samples with the same name and remaining labels -> InvalidArgument as above; a body we
// cannot parse -> Unavailable.
Result<std::string> strip_hidden_labels_text(std::string_view exposition,
                                             const std::vector<std::string>& hidden);

}  // namespace obsgate::filters::response
