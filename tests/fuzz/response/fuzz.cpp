// Response filter fuzz target: the first byte picks the entry point (low nibble) and, for the
// Loki merge and metadata, the limit (high nibble); the rest is the upstream body (for the
// merge: bodies separated by NUL bytes). Every output of a JSON filter must be valid JSON, and
// every filter must be idempotent: filtering its own output again succeeds and changes nothing
// (so no hidden label or out-of-scope rule survives the first pass). Seeds: corpus/
// (make_corpus.py).
#include <boost/json/parse.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "filters/response/response.h"

namespace {

namespace response = obsgate::filters::response;
using obsgate::Result;
using obsgate::filters::MatchOp;
using obsgate::filters::Scope;

const std::vector<std::string> kHidden = {"instance", "secret"};

[[noreturn]] void die(const char* what, std::string_view in, std::string_view out) {
  std::fprintf(stderr, "%s\n  input:  %.*s\n  output: %.*s\n", what, static_cast<int>(in.size()),
               in.data(), static_cast<int>(out.size()), out.data());
  std::abort();
}

void check_json(std::string_view in, const std::string& out) {
  boost::json::error_code ec;
  boost::json::parse(out, ec);
  if (ec) {
    die("output is not valid JSON", in, out);
  }
}

using Filter = std::function<Result<std::string>(std::string_view)>;

void check(std::string_view in, const Filter& f, bool json) {
  auto first = f(in);
  if (!first.ok()) {
    return;
  }
  if (json) {
    check_json(in, *first);
  }
  auto second = f(*first);
  if (!second.ok()) {
    die(("filtering the output again failed: " + second.status().to_string()).c_str(), in, *first);
  }
  if (*second != *first) {
    die("filtering is not idempotent", *first, *second);
  }
}

Scope tenant_scope(MatchOp op, const char* value) {
  Scope s;
  s.rules = {{{"tenant", op, value}}};
  return s;
}

std::vector<std::string_view> split_nul(std::string_view s) {
  std::vector<std::string_view> parts;
  std::size_t pos = 0;
  while (parts.size() < 8) {
    const std::size_t nul = s.find('\0', pos);
    parts.push_back(s.substr(pos, nul == std::string_view::npos ? s.npos : nul - pos));
    if (nul == std::string_view::npos) {
      break;
    }
    pos = nul + 1;
  }
  return parts;
}

Filter prom(response::Endpoint kind) {
  return [kind](std::string_view b) {
    return response::strip_hidden_labels_prometheus(b, kind, kHidden);
  };
}

Filter loki(response::LokiEndpoint kind) {
  return
      [kind](std::string_view b) { return response::strip_hidden_labels_loki(b, kind, kHidden); };
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  const unsigned which = data[0] & 0x0f;
  const std::size_t limit = 1 + (data[0] >> 4);
  switch (which) {
    case 0: check(body, prom(response::Endpoint::kQueryRange), true); break;
    case 1: check(body, prom(response::Endpoint::kQueryExemplars), true); break;
    case 2: check(body, prom(response::Endpoint::kSeries), true); break;
    case 3: check(body, prom(response::Endpoint::kLabels), true); break;
    case 4: check(body, prom(response::Endpoint::kLabelValues), true); break;
    case 5: check(body, loki(response::LokiEndpoint::kQueryRange), true); break;
    case 6: check(body, loki(response::LokiEndpoint::kSeries), true); break;
    case 7: check(body, loki(response::LokiEndpoint::kLabels), true); break;
    case 8: {
      const Scope s = tenant_scope(MatchOp::kEq, "a");
      check(
          body, [&](std::string_view b) { return response::filter_rules(b, s, kHidden); }, true);
      break;
    }
    case 9: {
      const Scope s = tenant_scope(MatchOp::kNeq, "b");
      check(
          body, [&](std::string_view b) { return response::filter_rules(b, s, kHidden); }, true);
      break;
    }
    case 10: {
      const Scope s = tenant_scope(MatchOp::kRe, "a|c.*");
      check(
          body, [&](std::string_view b) { return response::filter_alerts(b, s, kHidden); }, true);
      break;
    }
    case 11:  // the high nibble is the metadata limit (0: none)
      check(
          body,
          [&](std::string_view b) {
            return response::filter_metadata(b, {"up", "a", "h_bucket"}, limit - 1);
          },
          true);
      break;
    case 12:
    case 13: {
      const auto dir = which == 12 ? response::Direction::kForward : response::Direction::kBackward;
      const std::vector<std::string_view> bodies = split_nul(body);
      auto merged = response::merge_loki_streams(bodies, limit, dir);
      if (merged.ok()) {
        check_json(body, *merged);
        auto again = response::merge_loki_streams({*merged}, limit, dir);
        if (!again.ok() || *again != *merged) {
          die("merging a merged response changed it", *merged, again.ok() ? *again : "error");
        }
        // The merge output must be acceptable to the stripping step that follows it.
        check(*merged, loki(response::LokiEndpoint::kQueryRange), true);
      }
      break;
    }
    default:
      check(
          body, [](std::string_view b) { return response::strip_hidden_labels_text(b, kHidden); },
          false);
      break;
  }
  return 0;
}
