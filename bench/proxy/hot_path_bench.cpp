// Per-request helpers of the proxy path (gateway/core/headers.h), on the request and response
// heads of bench.py's authenticated query: a ~700-byte request head (a 600-byte RS256 bearer
// token) and nginx's response head.
//
// The *ByteLoop / *Copying benchmarks run the previous versions of screen_raw_head and
// remove_hop_by_hop, kept here only as the references the current ones are measured against in
// the same run.
#include <benchmark/benchmark.h>

#include <boost/beast/http/fields.hpp>

#include <boost/beast/core/string.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "gateway/core/headers.h"

namespace {

namespace gw = obsgate::gateway;
namespace http = boost::beast::http;

std::string request_head() {
  std::string token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImJlbmNoLTEiLCJ0eXAiOiJKV1QifQ.";
  token.append(220, 'x');
  token += '.';
  token.append(342, 'y');
  return "GET /api/v1/query?query=sum%28rate%28http_requests_total%7Bjob%3D%22api%22%7D%5B5m"
         "%5D%29%29 HTTP/1.1\r\nHost: 127.0.0.1:18086\r\nAuthorization: Bearer " +
         token + "\r\n\r\n";
}

std::string_view screen_byte_loop(std::string_view head) noexcept {
  for (size_t i = 0; i < head.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(head[i]);
    if (c == '\n') {
      if (i == 0 || head[i - 1] != '\r') {
        return "bare_lf";
      }
      if (i + 1 < head.size() && (head[i + 1] == ' ' || head[i + 1] == '\t')) {
        return "obs_fold";
      }
    } else if (c == 0) {
      return "nul_in_header";
    } else if (c == '\r') {
      if (i + 1 >= head.size() || head[i + 1] != '\n') {
        return "bare_cr";
      }
    } else if ((c < 0x20 && c != '\t') || c == 0x7F) {
      return "control_char_in_header";
    }
  }
  return {};
}

void BM_ScreenRawHead(benchmark::State& state) {
  const std::string head = request_head();
  for (auto _ : state) {
    benchmark::DoNotOptimize(gw::screen_raw_head(head));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * head.size()));
}
BENCHMARK(BM_ScreenRawHead);

void BM_ScreenRawHeadByteLoop(benchmark::State& state) {
  const std::string head = request_head();
  for (auto _ : state) {
    benchmark::DoNotOptimize(screen_byte_loop(head));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * head.size()));
}
BENCHMARK(BM_ScreenRawHeadByteLoop);

// nginx's response head as the relay sees it. Each iteration builds the field set and removes
// the hop-by-hop headers; BM_BuildResponseFields is the building alone, to subtract.
void build_response(http::fields& f) {
  f.insert(http::field::server, "nginx/1.22.1");
  f.insert(http::field::date, "Sun, 22 Nov 2026 09:00:00 GMT");
  f.insert(http::field::content_type, "application/json");
  f.insert(http::field::content_length, "299");
  f.insert(http::field::last_modified, "Sun, 22 Nov 2026 08:59:00 GMT");
  f.insert(http::field::connection, "keep-alive");
  f.insert(http::field::etag, "\"6740f0a4-12b\"");
  f.insert(http::field::accept_ranges, "bytes");
}

// The previous remove_hop_by_hop: copies each Connection token into a vector first.
bool iequals(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && boost::beast::iequals(a, b);
}

void remove_hop_by_hop_copying(http::fields& f) {
  std::vector<std::string> named;
  for (auto it = f.find(http::field::connection);
       it != f.end() && it->name() == http::field::connection; ++it) {
    std::string_view v = it->value();
    while (!v.empty()) {
      const size_t comma = v.find(',');
      std::string_view token = v.substr(0, comma);
      while (!token.empty() && (token.front() == ' ' || token.front() == '\t')) {
        token.remove_prefix(1);
      }
      while (!token.empty() && (token.back() == ' ' || token.back() == '\t')) {
        token.remove_suffix(1);
      }
      if (!token.empty()) {
        named.emplace_back(token);
      }
      v = comma == std::string_view::npos ? std::string_view() : v.substr(comma + 1);
    }
  }
  for (const auto& n : named) {
    if (iequals(n, "content-length") || iequals(n, "host")) {
      continue;
    }
    f.erase(n);
  }
  for (auto h : {http::field::connection, http::field::proxy_connection, http::field::keep_alive,
                 http::field::te, http::field::trailer, http::field::transfer_encoding,
                 http::field::upgrade}) {
    f.erase(h);
  }
}

void BM_BuildResponseFields(benchmark::State& state) {
  for (auto _ : state) {
    http::fields f;
    build_response(f);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_BuildResponseFields);

void BM_RemoveHopByHop(benchmark::State& state) {
  for (auto _ : state) {
    http::fields f;
    build_response(f);
    gw::remove_hop_by_hop(f);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_RemoveHopByHop);

void BM_RemoveHopByHopCopying(benchmark::State& state) {
  for (auto _ : state) {
    http::fields f;
    build_response(f);
    remove_hop_by_hop_copying(f);
    benchmark::DoNotOptimize(f);
  }
}
BENCHMARK(BM_RemoveHopByHopCopying);

}  // namespace

BENCHMARK_MAIN();
