// NodeState: the token file (rotation, failures, fail-closed), the active-node cache on a
// fake clock, health mapping and the self-metrics it keeps.
#include <catch2/catch.hpp>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "gateway/steps/openbao/node_state.h"

namespace obsgate::gateway::openbao {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct FakeClock {
  std::chrono::steady_clock::time_point t{std::chrono::seconds(1000)};
  NodeState::Now now() {
    return [this] { return t; };
  }
};

std::string serialize(prometheus::Registry& reg) {
  return prometheus::TextSerializer().Serialize(reg.Collect());
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("obsgate-bao-" + std::to_string(::getpid()))) {
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

void write(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  std::ofstream(tmp, std::ios::binary) << text;
  fs::rename(tmp, path);
}

TEST_CASE("openbao token file") {
  TempDir dir;
  const std::string path = dir.file("token");
  prometheus::Registry reg;
  auto state = NodeState::create(&reg);

  struct Step {
    std::string name;
    std::function<void()> before;  // changes the file
    std::string want;              // expected token; empty: an error
  };
  const std::vector<Step> steps = {
      {"first read trims whitespace", [&] { write(path, "  s.one\n"); }, "s.one"},
      {"unchanged file", [] {}, "s.one"},
      {"rotated by rename", [&] { write(path, "s.two\n"); }, "s.two"},
      {"rewritten in place with the same length", [&] { std::ofstream(path) << "s.333\n"; },
       "s.333"},
      {"emptied", [&] { write(path, " \n"); }, ""},
      {"restored", [&] { write(path, "s.four"); }, "s.four"},
      {"removed: fail closed", [&] { fs::remove(path); }, ""},
      {"back", [&] { write(path, "s.five\n"); }, "s.five"},
  };
  for (const Step& s : steps) {
    s.before();
    auto t = state->token(path);
    INFO(s.name);
    if (s.want.empty()) {
      REQUIRE_FALSE(t.ok());
      CHECK(t.status().code() == Code::kUnavailable);
    } else {
      REQUIRE(t.ok());
      CHECK(t.value() == s.want);
    }
  }
  const std::string m = serialize(reg);
  // s.one, s.two, s.333, s.four, s.five; the unchanged read is not a reload.
  CHECK(has_line(m, "obsgate_openbao_token_reloads_total{result=\"ok\"} 5"));
  CHECK(has_line(m, "obsgate_openbao_token_reloads_total{result=\"error\"} 2"));
}

TEST_CASE("openbao active node cache on a fake clock") {
  FakeClock clock;
  auto state = NodeState::create(nullptr, clock.now());
  CHECK_FALSE(state->cached_active(2s).has_value());
  state->set_active("bao-1");
  CHECK(state->cached_active(2s) == std::optional<std::string>("bao-1"));
  clock.t += 1999ms;
  CHECK(state->cached_active(2s).has_value());
  clock.t += 1ms;
  CHECK_FALSE(state->cached_active(2s).has_value());
  state->set_active("bao-2");
  CHECK(state->cached_active(2s) == std::optional<std::string>("bao-2"));
  CHECK_FALSE(state->cached_active(0ms).has_value());  // health_cache: 0s
  state->forget_active();
  CHECK_FALSE(state->cached_active(2s).has_value());
}

TEST_CASE("openbao health from /v1/sys/health status codes") {
  struct Case {
    unsigned status;
    std::string state;
  };
  const std::vector<Case> cases = {{200, "active"},        {429, "standby"},
                                   {472, "dr_secondary"},  {473, "perf_standby"},
                                   {501, "uninitialized"}, {503, "sealed"},
                                   {500, "unknown"},       {404, "unknown"}};
  for (const Case& c : cases) {
    DYNAMIC_SECTION(c.status) { CHECK(health_name(health_from_status(c.status)) == c.state); }
  }
}

TEST_CASE("openbao self-metrics") {
  prometheus::Registry reg;
  auto state = NodeState::create(&reg);
  state->set_health("bao-0", Health::kActive);
  state->set_health("bao-0", Health::kSealed);
  state->count_scrape("bao-0", ScrapeResult::kOk);
  state->count_scrape("bao-0", ScrapeResult::kOk);
  state->count_scrape("bao-1", ScrapeResult::kTimeout);
  state->count_active_lookup(true);
  state->count_active_lookup(false);
  const std::string m = serialize(reg);
  CAPTURE(m);
  CHECK(has_line(m, "obsgate_openbao_node_health_state{node=\"bao-0\",state=\"sealed\"} 1"));
  CHECK(has_line(m, "obsgate_openbao_node_health_state{node=\"bao-0\",state=\"active\"} 0"));
  CHECK(has_line(m, "obsgate_openbao_scrapes_total{node=\"bao-0\",result=\"ok\"} 2"));
  CHECK(has_line(m, "obsgate_openbao_scrapes_total{node=\"bao-1\",result=\"timeout\"} 1"));
  CHECK(has_line(m, "obsgate_openbao_active_lookups_total{result=\"found\"} 1"));
  CHECK(has_line(m, "obsgate_openbao_active_lookups_total{result=\"none\"} 1"));
}

}  // namespace
}  // namespace obsgate::gateway::openbao
