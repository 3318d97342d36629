// Fakes for gateway/identity tests: a scripted KeySource and a JWKS maker.
#pragma once

#include <atomic>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "authz/jwt/alg.h"
#include "gateway/identity/key_source.h"
#include "tests/authz/jwt/test_keys.h"

namespace obsgate::gateway::identity::testing {

// {"keys":[...]} with one fresh ES256 public key per kid.
inline std::string make_jwks(const std::vector<std::string>& kids) {
  std::vector<std::string> jwks;
  for (const auto& kid : kids) {
    auto k = authz::jwt::testing::make_key(authz::jwt::Alg::kEs256, kid);
    jwks.push_back(authz::jwt::testing::public_jwk(k));
  }
  return authz::jwt::testing::jwks(jwks);
}

inline authz::jwt::KeySetPtr make_keyset(const std::vector<std::string>& kids) {
  auto r = authz::jwt::KeySet::parse(make_jwks(kids));
  return r.ok() ? *r : nullptr;
}

inline bool has_kid(const authz::jwt::KeySetPtr& ks, const std::string& kid) {
  if (!ks) {
    return false;
  }
  for (const auto& k : ks->keys()) {
    if (k.kid == kid) {
      return true;
    }
  }
  return false;
}

// What the next fetches answer. Shared between the test thread and the fetching
// thread.
struct Script {
  struct Answer {
    Result<FetchedKeys> result;
    std::chrono::milliseconds delay{0};  // 0: completes inline (no suspension at all)
  };
  std::mutex mu;
  std::deque<Answer> answers;  // consumed in order; when empty, `fallback` is answered
  Answer fallback{Status::unavailable("script: no answer"), std::chrono::milliseconds(0)};
  std::atomic<int> fetches{0};

  void push(Result<FetchedKeys> r, std::chrono::milliseconds delay = {}) {
    std::lock_guard lock(mu);
    answers.push_back({std::move(r), delay});
  }
  void always(Result<FetchedKeys> r, std::chrono::milliseconds delay = {}) {
    std::lock_guard lock(mu);
    fallback = {std::move(r), delay};
  }
};

class ScriptedSource final : public KeySource {
 public:
  explicit ScriptedSource(std::shared_ptr<Script> s) : s_(std::move(s)) {}
  boost::asio::awaitable<Result<FetchedKeys>> fetch() override {
    ++s_->fetches;
    Script::Answer a{Status::internal("unset"), {}};
    {
      std::lock_guard lock(s_->mu);
      if (s_->answers.empty()) {
        a = s_->fallback;
      } else {
        a = std::move(s_->answers.front());
        s_->answers.pop_front();
      }
    }
    if (a.delay.count() > 0) {
      boost::asio::steady_timer t(co_await boost::asio::this_coro::executor);
      t.expires_after(a.delay);
      boost::system::error_code ec;
      co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
    co_return a.result;
  }

 private:
  std::shared_ptr<Script> s_;
};

}  // namespace obsgate::gateway::identity::testing
