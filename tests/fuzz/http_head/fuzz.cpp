// The request-head path of a session, without sockets: find the end of the head, screen the
// raw bytes, parse with Beast, check framing, parse the target. Asserts the invariants the
// session relies on: a screened head has CRLF line endings only and no obs-fold, the parser
// consumes at most the head, and an accepted target is normalised (idempotent).
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "gateway/core/headers.h"
#include "gateway/routing/target.h"

namespace http = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t end = obsgate::gateway::find_head_end(in);
  if (end == std::string_view::npos) {
    return 0;
  }
  if (end > in.size()) {
    std::abort();
  }
  const std::string_view head = in.substr(0, end);
  if (!obsgate::gateway::screen_raw_head(head).empty()) {
    return 0;
  }
  // Screened: every LF is preceded by CR and no line starts with SP/HTAB.
  for (size_t i = 0; i < head.size(); ++i) {
    if (head[i] == '\n' && (i == 0 || head[i - 1] != '\r')) {
      std::abort();
    }
    if (head[i] == '\n' && i + 1 < head.size() && (head[i + 1] == ' ' || head[i + 1] == '\t')) {
      std::abort();
    }
  }
  http::request_parser<http::buffer_body> p;
  p.header_limit(64 * 1024);
  p.body_limit(1 << 20);
  boost::beast::error_code ec;
  const size_t used = p.put(boost::asio::buffer(head.data(), head.size()), ec);
  if (used > head.size()) {
    std::abort();
  }
  if (ec || !p.is_header_done()) {
    return 0;
  }
  const auto& req = p.get();
  (void)obsgate::gateway::check_request_framing(req, req.version(), 100);
  auto target = obsgate::routing::parse_target(req.target());
  if (target.ok()) {
    auto again = obsgate::routing::normalise_path(target->path);
    if (!again.ok() || *again != target->path) {
      std::abort();
    }
  }
  http::fields copy = req.base();
  obsgate::gateway::remove_hop_by_hop(copy);
  if (req.find(http::field::content_length) != req.end() &&
      copy.find(http::field::content_length) == copy.end()) {
    std::abort();  // Connection must never strip the framing
  }
  return 0;
}
