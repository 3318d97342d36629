// Prometheus Remote-Write 1.0: decoding with limits and per-tenant enforcement, as a pure
// function from a request body to a rewritten body (no I/O, no clock, no globals).
//
// The enforcer never materialises the protobuf message. It walks the WriteRequest wire format,
// reads only each TimeSeries' labels, checks them against the policy and copies every other
// byte (samples, exemplars, native histograms, metadata) unchanged; a series that lacks the
// tenant label gets it inserted at its sorted position. Everything it forwards re-parses with
// libprotobuf; anything it does not recognise (unknown fields, wrong wire types, truncated or
// overlong data, groups, a Label repeating its name or value, invalid UTF-8 in metadata) fails
// the whole request closed. Invalid UTF-8 in a series' or exemplar's labels refuses that series
// (Reason::kInvalidLabels). Exemplar labels are checked for structure and UTF-8 only: the policy
// (forbidden labels, scope, schema) applies to series labels.
//
// Usage:
//   WritePolicy p;
//   p.tenant_label = "tenant"; p.tenant_value = "team-a";
//   p.forbidden_labels = {"user_id"};
//   auto enforcer = Enforcer::create(std::move(p));          // at config load
//   ...
//   auto out = enforcer->enforce(body);                       // per request, any thread
//   if (!out.ok())      -> reply per out.status() (400 malformed, 413 over a cap)
//   if (out->rejected)  -> reply per out->status()  (400/403, names the series and the rule)
//   else                -> forward out->body (snappy block format, Content-Encoding: snappy)
//
// Thread-safety: an Enforcer is immutable after create(); share it freely (copies are cheap and
// share the compiled policy). SchemaContract is a plain value.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "filters/scope/scope.h"

namespace YAML {
class Node;
}  // namespace YAML

namespace obsgate::filters::remote_write {

// Caps. Request-wide caps (bytes, series, samples) fail the whole request with
// ResourceExhausted whatever the violation mode; per-series caps (label count and lengths) are
// series violations (Reason::kLimit), dropped or rejected per WritePolicy::on_violation.
struct Limits {
  size_t max_compressed_bytes = size_t{16} << 20;     // the snappy body as received
  size_t max_uncompressed_bytes = size_t{64} << 20;   // from the snappy header, before inflating
  size_t max_series = 500'000;                        // TimeSeries per request
  size_t max_samples = 5'000'000;                     // samples + histogram samples per request
  size_t max_labels_per_series = 64;                  // counted after stamping
  size_t max_label_name_bytes = 256;
  size_t max_label_value_bytes = 4096;
  size_t max_violations = 16;                         // entries kept in Outcome::violations
};

// Allowed metric names -> allowed label names. A series passes when its metric name resolves to
// an entry and each of its label names is in that entry, in always_allowed, or is one of
// __name__, the policy's tenant label, "le" or "quantile" (bucket and quantile dimensions).
//
// Name resolution (histogram and summary families): an exact entry wins; otherwise one suffix
// out of _bucket, _sum, _count, _total, _created is stripped and the base family is looked up.
// So a contract naming "http_request_duration_seconds" admits its _bucket/_sum/_count series,
// and one naming "http_requests" admits "http_requests_total". Only one suffix is stripped.
//
// YAML (a file, or every *.yaml / *.yml file of a directory, merged; a metric may appear once):
//   always_allowed_labels: [job, instance]     # optional; this is the default
//   metrics:
//     http_requests: [method, code, handler]   # a list of label names, possibly empty
//     process_cpu_seconds: []
struct SchemaContract {
  std::map<std::string, std::vector<std::string>, std::less<>> metrics;  // label lists sorted
  std::vector<std::string> always_allowed{"instance", "job"};           // sorted

  // Errors name the offending key, e.g. "metrics.http_requests[2]: expected a string".
  static Result<SchemaContract> parse(const YAML::Node& node);
  // Config-load-time I/O: reads one YAML file or every *.yaml/*.yml in a directory.
  static Result<SchemaContract> load(const std::string& path);

  // The label list of the entry `metric` resolves to (see above), or nullptr.
  [[nodiscard]] const std::vector<std::string>* resolve(std::string_view metric) const;
};

struct WritePolicy {
  enum class OnViolation { kReject, kDrop };

  std::string tenant_label;                   // e.g. "tenant"; empty = no stamping, no check
  std::string tenant_value;                   // the writer's tenant; required with tenant_label
  std::vector<filters::Rule> write_scope;     // a series must satisfy >= 1 rule; empty = any
  std::vector<std::string> forbidden_labels;  // e.g. user_id, request_id, hidden labels
  Limits limits;
  std::optional<SchemaContract> schema;
  bool drop_metadata_outside_schema = false;  // with a schema: drop unknown families' metadata
  OnViolation on_violation = OnViolation::kReject;
};

// Why a series was refused: a bounded set, safe as a metrics label (reason_name()).
enum class Reason : uint8_t {
  kInvalidLabels,   // empty name, invalid UTF-8, unsorted or duplicate names
  kLimit,           // too many labels, name or value too long
  kMissingName,     // no (or empty) __name__
  kTenantMismatch,  // carries the tenant label with another value
  kForbiddenLabel,  // carries a forbidden label
  kSchema,          // metric or label outside the schema contract
  kOutOfScope,      // satisfies no write_scope rule
};
inline constexpr size_t kReasonCount = 7;
std::string_view reason_name(Reason r) noexcept;  // "invalid_labels", "limit", ...

struct Counts {
  uint64_t series = 0;
  uint64_t samples = 0;
  uint64_t histograms = 0;
  uint64_t exemplars = 0;
};

struct Violation {
  Reason reason;
  std::string series;  // the series' labels as received: {__name__="x", a="b"} (capped ~1 KiB)
  std::string detail;  // the rule, e.g. label "user_id" is forbidden
};

struct Outcome {
  // Reject mode only: the request is refused because of violations.front() (the first offending
  // series, in input order); body is empty and counts cover the input up to that series.
  bool rejected = false;
  std::string body;  // the request to forward: snappy block format (enforce()) or raw protobuf
                     // (enforce_uncompressed()); the input itself when nothing changed
  bool modified = false;  // false: body is byte-identical to the input
  Counts accepted;
  std::array<Counts, kReasonCount> dropped{};  // indexed by Reason
  std::vector<Violation> violations;           // first Limits::max_violations, input order
  uint64_t violations_total = 0;
  uint64_t metadata_forwarded = 0;
  uint64_t metadata_dropped = 0;

  // OK unless rejected. Then "remote_write_denied{<reason>}: series <labels>: <detail>" as
  // InvalidArgument (400) for malformed series (invalid_labels, limit, missing_name) and
  // PermissionDenied (403) for policy refusals (tenant_mismatch, forbidden_label, schema,
  // out_of_scope).
  [[nodiscard]] Status status() const;
};

class Enforcer final {
 public:
  // Validates the policy (tenant value present, unique forbidden labels, matchers with names and
  // RE2 patterns that compile) and compiles it once. Errors name the offending field.
  static Result<Enforcer> create(WritePolicy policy);

  // body: the HTTP request body, snappy block format. Checks the compressed size and the
  // uncompressed length claimed by the snappy header against the limits before inflating.
  // Errors: InvalidArgument (corrupt snappy, malformed protobuf), ResourceExhausted (caps).
  [[nodiscard]] Result<Outcome> enforce(std::string_view body) const;

  // The same on an already decompressed WriteRequest; Outcome::body is raw protobuf.
  [[nodiscard]] Result<Outcome> enforce_uncompressed(std::string_view write_request) const;

  [[nodiscard]] const WritePolicy& policy() const;

  struct Impl;

 private:
  explicit Enforcer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// Remote-write protocol version of a request, from its Content-Type and
// X-Prometheus-Remote-Write-Version headers (either may be empty = absent).
//   ""                                                         -> kV1 (1.0 senders predate it)
//   application/x-protobuf                                     -> kV1
//   application/x-protobuf;proto=prometheus.WriteRequest       -> kV1
//   application/x-protobuf;proto=io.prometheus.write.v2.Request -> kV2
//   a version header 2.x with a bare content type              -> kV2
// Anything else (another media type or proto) is InvalidArgument. The gateway answers 415 with
// kUnsupportedVersionMessage for kV2, and 415 with the error message for an error.
enum class Version { kV1, kV2 };
Result<Version> detect_version(std::string_view content_type, std::string_view version_header);
inline constexpr std::string_view kUnsupportedVersionMessage =
    "remote-write 2.0 (io.prometheus.write.v2.Request) is not supported; send remote-write 1.0 "
    "(Content-Type: application/x-protobuf;proto=prometheus.WriteRequest)";

}  // namespace obsgate::filters::remote_write
