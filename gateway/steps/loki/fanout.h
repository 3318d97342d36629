// The per-rule fan-out of the loki step (query_range over scope rules that do not collapse).
//
// fetch_all() sends every call through `fetch` concurrently, at most `max_in_flight` at a time
// (0 counts as 1), on the calling coroutine's executor, and returns when every started call has
// finished. Results come back in call order. After the first failure (a non-OK Result or an
// answer whose status is not 200) no further call is started; the calls already in flight run
// to completion, so a failure of call i is always reported with every call before i finished
// (the caller reports the first failure in call order, as a sequential loop would). Calls
// never started have no result (nullopt).
//
// The calls run as coroutines spawned on the caller's executor and own their state; the caller
// waits for all of them, so no call outlives the awaiting step (structured concurrency). `cfg`
// and `route` must outlive the co_await (they do: they belong to the request). Single-threaded
// use only: the caller's executor is the session's strand.
//
// upstream_fetcher() is the default UpstreamFetcher: an UpstreamCall to the route's upstream
// over gateway/client (one connection per call, the upstream's TLS settings,
// server.timeouts.upstream_response as the whole-exchange deadline, the response body capped at
// server.limits.max_buffered_body_bytes).
#pragma once

#include <boost/asio/awaitable.hpp>

#include <cstddef>
#include <optional>
#include <vector>

#include "gateway/steps/loki/loki.h"

namespace obsgate::gateway::loki_api {

using FetchResults = std::vector<std::optional<Result<UpstreamAnswer>>>;

boost::asio::awaitable<FetchResults> fetch_all(UpstreamFetcher fetch, const config::Config& cfg,
                                               const config::Route& route,
                                               std::vector<UpstreamCall> calls,
                                               size_t max_in_flight);

UpstreamFetcher upstream_fetcher();

}  // namespace obsgate::gateway::loki_api
