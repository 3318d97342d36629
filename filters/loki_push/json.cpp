// The JSON walk: {"streams":[{"stream":{"k":"v"},"values":[["<ns>","line",{..}]]}]}.
//
// Each stream's labels are decoded and judged; its "values" array is validated entry by entry
// (Loki's shape: a timestamp string of decimal unix nanoseconds, a line string, and optionally
// an object of string structured metadata) and then copied into the output as received, so
// entries are forwarded byte for byte. Unknown keys are skipped and not forwarded; a repeated
// "streams", "stream" or "values" key fails the request rather than pick one. Those three keys
// match ASCII case-insensitively, as Loki's decoder (jsoniter, like encoding/json) matches
// struct fields; "Streams" next to "streams" is a repeated key.
#include <charconv>

#include "filters/loki_push/internal.h"
#include "filters/loki_push/json_reader.h"

namespace obsgate::filters::loki_push::detail {
namespace {

Status malformed(size_t offset, std::string_view what) {
  return Status::invalid_argument("loki_push: malformed JSON push request at byte " +
                                  std::to_string(offset) + ": " + std::string(what));
}

bool key_is(std::string_view key, std::string_view want) {
  if (key.size() != want.size()) {
    return false;
  }
  for (size_t i = 0; i < key.size(); ++i) {
    char c = key[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != want[i]) {
      return false;
    }
  }
  return true;
}

// Loki parses the raw string bytes with strconv-like ParseInt: digits, an optional '-', int64.
bool timestamp_ok(std::string_view raw) {
  if (raw.empty() || raw.size() > 20) {
    return false;
  }
  const char* b = raw.data();
  const char* e = b + raw.size();
  if (*b == '+') {
    return false;
  }
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(b, e, v);
  return ec == std::errc() && ptr == e;
}

class Walk {
 public:
  Walk(const Enforcer::Impl& p, std::string_view in) : p_(p), in_(in), j_(in), chk_(p) {}

  Result<Outcome> run();

 private:
  Status stream(bool& stop);
  Status entry(Counts& c);
  Status labels();

  const Enforcer::Impl& p_;
  std::string_view in_;
  JsonReader j_;
  EntryChecker chk_;
  Outcome out_;
  Labels received_;
  Labels fwd_;
  std::string scratch_;
  std::string scratch2_;
  uint64_t streams_ = 0;
  uint64_t entries_ = 0;
  bool first_out_ = true;
};

Result<Outcome> Walk::run() {
  out_.body.reserve(in_.size() + in_.size() / 16 + 64);
  out_.body = "{\"streams\":[";
  if (!j_.eat('{')) {
    return malformed(j_.offset(), "expected an object");
  }
  bool seen_streams = false;
  if (!j_.eat('}')) {
    do {
      std::string_view raw;
      bool esc = false;
      const size_t at = j_.offset();
      if (!j_.string(raw, esc) || !j_.eat(':')) {
        return malformed(at, "expected a key");
      }
      if (!key_is(j_.value(raw, esc, scratch_), "streams")) {
        if (!j_.skip_value()) {
          return malformed(j_.offset(), "invalid JSON value");
        }
        continue;
      }
      if (seen_streams) {
        return malformed(at, "repeated \"streams\"");
      }
      seen_streams = true;
      if (!j_.eat('[')) {
        return malformed(j_.offset(), "\"streams\" must be an array");
      }
      if (j_.eat(']')) {
        continue;
      }
      do {
        bool stop = false;
        if (Status st = stream(stop); !st.ok()) {
          return st;
        }
        if (stop) {
          return std::move(out_);  // rejected
        }
      } while (j_.eat(','));
      if (!j_.eat(']')) {
        return malformed(j_.offset(), "expected , or ] in \"streams\"");
      }
    } while (j_.eat(','));
    if (!j_.eat('}')) {
      return malformed(j_.offset(), "expected , or }");
    }
  }
  if (!j_.at_end()) {
    return malformed(j_.offset(), "trailing data after the request");
  }
  out_.body += "]}";
  return std::move(out_);
}

Status Walk::labels() {
  if (!j_.eat('{')) {
    return malformed(j_.offset(), "\"stream\" must be an object of label values");
  }
  if (j_.eat('}')) {
    return {};
  }
  do {
    std::string_view name;
    std::string_view value;
    bool esc_n = false;
    bool esc_v = false;
    const size_t at = j_.offset();
    if (!j_.string(name, esc_n) || !j_.eat(':') || !j_.string(value, esc_v)) {
      return malformed(at, "a stream label must be \"name\": \"value\"");
    }
    received_.matchers.push_back({std::string(j_.value(name, esc_n, scratch_)),
                                  filters::MatchOp::kEq,
                                  {std::string(j_.value(value, esc_v, scratch2_)), false}});
  } while (j_.eat(','));
  if (!j_.eat('}')) {
    return malformed(j_.offset(), "expected , or } in \"stream\"");
  }
  return {};
}

Status Walk::entry(Counts& c) {
  const size_t at = j_.offset();
  std::string_view ts;
  std::string_view line;
  bool esc_ts = false;
  bool esc_line = false;
  if (!j_.eat('[') || !j_.string(ts, esc_ts) || !j_.eat(',') || !j_.string(line, esc_line)) {
    return malformed(at, "an entry is [\"<unix ns>\", \"<line>\"] or with a metadata object");
  }
  if (esc_ts || !timestamp_ok(ts)) {
    return malformed(at, "entry timestamp must be a string of decimal unix nanoseconds");
  }
  const size_t line_bytes = JsonReader::decoded_size(line, esc_line);
  chk_.line(line_bytes);
  size_t pairs = 0;
  if (j_.eat(',')) {
    if (!j_.eat('{')) {
      return malformed(j_.offset(), "the third entry element must be a metadata object");
    }
    if (!j_.eat('}')) {
      do {
        std::string_view name;
        std::string_view value;
        bool esc_n = false;
        bool esc_v = false;
        const size_t pat = j_.offset();
        if (!j_.string(name, esc_n) || !j_.eat(':') || !j_.string(value, esc_v)) {
          return malformed(pat, "structured metadata must be \"name\": \"value\"");
        }
        chk_.metadata_name(j_.value(name, esc_n, scratch_));
        ++pairs;
      } while (j_.eat(','));
      if (!j_.eat('}')) {
        return malformed(j_.offset(), "expected , or } in structured metadata");
      }
    }
  }
  if (!j_.eat(']')) {
    return malformed(j_.offset(), "an entry has at most three elements");
  }
  chk_.metadata_count(pairs);
  ++c.entries;
  c.line_bytes += line_bytes;
  return {};
}

Status Walk::stream(bool& stop) {
  const Limits& lim = p_.policy.limits;
  if (!j_.eat('{')) {
    return malformed(j_.offset(), "a stream must be an object");
  }
  received_.matchers.clear();
  chk_.reset();
  Counts c{1, 0, 0};
  std::string_view values;
  bool seen_stream = false;
  bool seen_values = false;
  if (!j_.eat('}')) {
    do {
      std::string_view raw;
      bool esc = false;
      const size_t at = j_.offset();
      if (!j_.string(raw, esc) || !j_.eat(':')) {
        return malformed(at, "expected a key");
      }
      const std::string_view key = j_.value(raw, esc, scratch_);
      if (key_is(key, "stream")) {
        if (seen_stream) {
          return malformed(at, "repeated \"stream\"");
        }
        seen_stream = true;
        if (Status st = labels(); !st.ok()) {
          return st;
        }
      } else if (key_is(key, "values")) {
        if (seen_values) {
          return malformed(at, "repeated \"values\"");
        }
        seen_values = true;
        if (!j_.eat('[')) {
          return malformed(j_.offset(), "\"values\" must be an array");
        }
        const size_t begin = j_.offset() - 1;
        if (!j_.eat(']')) {
          do {
            if (Status st = entry(c); !st.ok()) {
              return st;
            }
          } while (j_.eat(','));
          if (!j_.eat(']')) {
            return malformed(j_.offset(), "expected , or ] in \"values\"");
          }
        }
        values = in_.substr(begin, j_.offset() - begin);
      } else if (!j_.skip_value()) {
        return malformed(j_.offset(), "invalid JSON value");
      }
    } while (j_.eat(','));
    if (!j_.eat('}')) {
      return malformed(j_.offset(), "expected , or } in a stream");
    }
  }
  ++streams_;
  entries_ += c.entries;
  if (streams_ > lim.max_streams || entries_ > lim.max_entries) {
    return Status::resource_exhausted(
        "loki_push: request exceeds the limit of " + std::to_string(lim.max_streams) +
        " streams or " + std::to_string(lim.max_entries) + " entries");
  }
  Verdict v = judge_labels(p_, received_, fwd_);
  if (v.ok && !chk_.issue().ok) {
    v = chk_.issue();
  }
  if (!record(p_, out_, v, c, received_)) {
    stop = true;
    return {};
  }
  if (!v.ok) {
    return {};
  }
  std::string& b = out_.body;
  if (!first_out_) {
    b += ',';
  }
  first_out_ = false;
  b += "{\"stream\":{";
  for (size_t i = 0; i < fwd_.matchers.size(); ++i) {
    if (i > 0) {
      b += ',';
    }
    append_json_string(b, fwd_.matchers[i].name);
    b += ':';
    append_json_string(b, fwd_.matchers[i].value.value);
  }
  b += "},\"values\":";
  b += values.empty() ? std::string_view("[]") : values;
  b += '}';
  return {};
}

}  // namespace

Result<Outcome> enforce_json(const Enforcer::Impl& p, std::string_view json) {
  Walk w(p, json);
  return w.run();
}

}  // namespace obsgate::filters::loki_push::detail
