// Loki push (/loki/api/v1/push): decoding with limits and per-tenant enforcement, as a pure
// function from a request body to the body to forward (no I/O, no clock, no globals).
//
// Two wire formats, each forwarded in the format it came in:
//   - kProtobuf: snappy block-compressed logproto.PushRequest (Content-Type
//     application/x-protobuf). Out: snappy block-compressed PushRequest.
//   - kJson: {"streams":[{"stream":{"k":"v"},"values":[["<unix ns>","line",{"sm":"v"}]]}]}
//     (Content-Type application/json). Out: uncompressed JSON, whatever the input encoding.
// Either may arrive with Content-Encoding: gzip (Encoding::kGzip); the output is never gzipped,
// so the caller drops Content-Encoding (and sets Content-Length) when forwarding.
//
// Only each stream's label set changes: it is parsed, checked against the policy, stamped with
// the tenant label when absent, and re-rendered sorted by name (protobuf: Loki's
// `{a="b", c="d"}` with Go-style quoting; JSON: an object in name order). Labels with an empty
// value are dropped, as Loki drops them. Entries (timestamps, lines, structured metadata) are
// forwarded byte for byte: protobuf EntryAdapter fields are copied unchanged, and each JSON
// stream's "values" array is copied as received after strict validation. The protobuf stream
// `hash` field is dropped (it would be stale); Loki recomputes it.
//
// Fail closed: unknown protobuf fields, wire-type mismatches, a repeated singular field, the
// internal PushRequest.format and EntryAdapter.parsed fields, out-of-range timestamps, invalid
// JSON (including invalid UTF-8, which Loki would silently replace with U+FFFD), JSON entries
// that are not [ts, line] or [ts, line, {..}], and a timestamp that is not a decimal int64 in a
// string fail the whole request (InvalidArgument). Unknown JSON object keys are skipped and not
// forwarded; "streams", "stream" and "values" match ASCII case-insensitively, as in Loki. Protobuf lines and structured-metadata values are not checked for UTF-8: Loki
// stores them as bytes. A stream label string must be a bare selector of `=` matchers
// (`{a="b", c="d"}`), parsed with the LogQL selector parser (filters/logql): identifiers are
// ASCII-only and quoted label names are refused, which is stricter than Loki's ParseLabels.
//
// Usage:
//   PushPolicy p;
//   p.tenant_label = "tenant"; p.tenant_value = "team-a";
//   p.write_scope.unrestricted = true;           // or rules: each stream must satisfy one
//   p.audit_streams = {{{"stream", MatchOp::kEq, "audit"}}};
//   auto enforcer = Enforcer::create(std::move(p));                 // at config load
//   ...
//   auto type = detect_body_type(content_type, content_encoding);   // per request
//   if (!type.ok())   -> 415 with type.status().message()
//   auto out = enforcer->enforce(body, type->format, type->encoding);
//   if (!out.ok())     -> reply per out.status() (400 malformed, 413 over a request cap)
//   if (out->rejected) -> reply per out->status() (400/403, names the stream and the rule)
//   else               -> forward out->body, same Content-Type, no Content-Encoding
//
// Thread-safety: an Enforcer is immutable after create(); share it freely (copies are cheap and
// share the compiled policy).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "filters/scope/scope.h"

namespace obsgate::filters::loki_push {

enum class Format : uint8_t { kProtobuf, kJson };
enum class Encoding : uint8_t { kIdentity, kGzip };

struct BodyType {
  Format format = Format::kProtobuf;
  Encoding encoding = Encoding::kIdentity;
};

// From the Content-Type and Content-Encoding headers (empty = absent), as Loki reads them:
// application/json (parameters such as charset ignored) is JSON; application/x-protobuf or no
// Content-Type is protobuf. Content-Encoding: absent or identity, or gzip; for protobuf also
// snappy (the body is snappy block format anyway). Anything else is InvalidArgument (415).
Result<BodyType> detect_body_type(std::string_view content_type,
                                  std::string_view content_encoding);

// Caps. Request-wide caps (bytes, streams, entries) fail the whole request with
// ResourceExhausted whatever the violation mode; per-stream caps (labels, lengths, line size,
// structured metadata) are stream violations (Reason::kLimit), dropped or rejected per
// PushPolicy::on_violation. Per-stream defaults are Loki's own default limits.
struct Limits {
  size_t max_body_bytes = size_t{16} << 20;          // the body as received
  size_t max_decompressed_bytes = size_t{64} << 20;  // after snappy / gzip (the bomb guard)
  size_t max_streams = 10'000;                       // streams per request
  size_t max_entries = 1'000'000;                    // entries per request
  size_t max_line_bytes = 256 * 1024;                // Loki max_line_size
  size_t max_labels_per_stream = 15;                 // counted after stamping
  size_t max_label_name_bytes = 1024;
  size_t max_label_value_bytes = 2048;
  size_t max_structured_metadata_pairs = 128;  // per entry
  size_t max_violations = 16;                  // entries kept in Outcome::violations
};

struct PushPolicy {
  enum class OnViolation { kReject, kDrop };

  std::string tenant_label;   // e.g. "tenant"; empty = no stamping, no check
  std::string tenant_value;   // the writer's tenant; required with tenant_label
  filters::Scope write_scope;  // a stream (as forwarded) must satisfy it; default: nothing.
                               // Its hidden_labels are forbidden like forbidden_labels.
  std::vector<std::string> forbidden_labels;  // neither stream labels nor structured metadata
  std::vector<filters::Rule> audit_streams;   // a stream matching any rule is an audit stream
  bool may_write_audit = false;               // true only for the audit shipper's identity
  Limits limits;
  OnViolation on_violation = OnViolation::kReject;
};

// Why a stream was refused: a bounded set, safe as a metrics label (reason_name()).
enum class Reason : uint8_t {
  kInvalidLabels,   // unparsable, non-`=` matcher, empty/invalid/duplicate name, no labels
  kLimit,           // too many labels, name/value too long, line too long, too much metadata
  kTenantMismatch,  // carries the tenant label with another value (or as structured metadata)
  kForbiddenLabel,  // a forbidden or hidden label, as a stream label or structured metadata
  kAuditStream,     // matches an audit-stream rule and the writer is not the audit shipper
  kOutOfScope,      // does not satisfy the write scope
};
inline constexpr size_t kReasonCount = 6;
std::string_view reason_name(Reason r) noexcept;  // "invalid_labels", "limit", ...

struct Counts {
  uint64_t streams = 0;
  uint64_t entries = 0;
  uint64_t line_bytes = 0;
};

struct Violation {
  Reason reason;
  std::string stream;  // the labels as received, {app="x", tenant="b"} (capped near 1 KiB)
  std::string detail;  // the rule, e.g. label tenant="b" is not your tenant "a"
};

struct Outcome {
  // Reject mode only: the request is refused because of violations.front() (the first
  // offending stream in input order); body is empty.
  bool rejected = false;
  std::string body;  // the request to forward, in the input's format, never gzipped
  Counts accepted;
  std::array<Counts, kReasonCount> dropped{};  // indexed by Reason
  std::vector<Violation> violations;           // first Limits::max_violations, input order
  uint64_t violations_total = 0;

  // OK unless rejected. Then "loki_push_denied{<reason>}: stream <labels>: <detail>" as
  // InvalidArgument (400) for malformed streams (invalid_labels, limit) and PermissionDenied
  // (403) for policy refusals (tenant_mismatch, forbidden_label, audit_stream, out_of_scope).
  [[nodiscard]] Status status() const;
};

class Enforcer final {
 public:
  // Validates the policy (tenant label a valid label name with a value, forbidden labels
  // non-empty, matchers with names and RE2 patterns that compile, limits > 0) and compiles it
  // once. Errors name the offending field.
  static Result<Enforcer> create(PushPolicy policy);

  // body: the HTTP request body as received. Errors: InvalidArgument (corrupt snappy or gzip,
  // malformed protobuf or JSON), ResourceExhausted (request-wide caps, decompression bombs).
  [[nodiscard]] Result<Outcome> enforce(std::string_view body, Format format,
                                        Encoding encoding = Encoding::kIdentity) const;

  [[nodiscard]] const PushPolicy& policy() const;

  struct Impl;

 private:
  explicit Enforcer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// One-shot convenience: create(policy) then enforce(body, format). Compiles the policy's
// regexes on every call; the gateway builds an Enforcer once at config load instead.
Result<Outcome> enforce(std::string_view body, Format format, const PushPolicy& policy);

}  // namespace obsgate::filters::loki_push
