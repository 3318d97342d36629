// A client connection: reads requests one at a time (keep-alive, pipelined bytes kept in the
// connection buffer), screens and routes each, forwards it upstream and streams the response
// back. Runs as a coroutine on its worker's io_context.
//
// Per request, in order: head read (idle timeout until the first byte, then request_read for
// the whole head; size and count limits -> 431), raw-head screening (bare LF, obs-fold -> 400),
// framing checks (CL+TE, duplicate CL -> 400), target normalisation (-> 400), routing (-> 404 /
// 405), authentication requirement, parameter allowlist, then the upstream exchange with
// streaming bodies in both directions (32 KiB chunks, backpressure by awaiting each write).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "gateway/core/worker.h"

namespace obsgate::gateway {

asio::awaitable<void> serve_plain(asio::ip::tcp::socket socket, const ListenerInfo& listener,
                                  Worker& worker);
asio::awaitable<void> serve_tls(asio::ip::tcp::socket socket, asio::ssl::context& ctx,
                                const ListenerInfo& listener, Worker& worker);

}  // namespace obsgate::gateway
