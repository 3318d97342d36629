// Line-oriented log sinks: the access log (one JSON line per request) and the decision log
// (one JSON line per authorization decision, filled by authz). Each line is written with one
// write(2), so concurrent worker threads never interleave within a line.
//
// Thread-safety: write() may be called from any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace obsgate::gateway {

class LogSink {
 public:
  // target: "stdout", "stderr", "off", or a file path (opened O_APPEND|O_CREAT).
  static Result<std::shared_ptr<LogSink>> open(const std::string& target);
  ~LogSink();
  LogSink(const LogSink&) = delete;
  LogSink& operator=(const LogSink&) = delete;

  [[nodiscard]] bool enabled() const { return fd_ >= 0; }
  // Appends '\n' and writes the line.
  void write(std::string_view line);

 private:
  LogSink(int fd, bool owned) : fd_(fd), owned_(owned) {}
  int fd_;
  bool owned_;
  std::mutex mu_;
  std::string buf_;
};

// Minimal JSON object builder for log lines: no allocation beyond the output string.
class JsonLine {
 public:
  JsonLine() { out_.reserve(384); out_ += '{'; }
  JsonLine& str(std::string_view key, std::string_view value);
  JsonLine& num(std::string_view key, long long value);
  JsonLine& dbl(std::string_view key, double value);
  JsonLine& boolean(std::string_view key, bool value);
  JsonLine& null(std::string_view key);
  JsonLine& strs(std::string_view key, const std::vector<std::string>& values);  // array
  JsonLine& raw(std::string_view key, std::string_view json);  // value already JSON
  std::string finish();

  static void escape_into(std::string& out, std::string_view s);

 private:
  void key(std::string_view k);
  std::string out_;
  bool first_ = true;
};

// RFC 3339 UTC with milliseconds, e.g. 2026-11-22T03:04:05.678Z.
std::string utc_timestamp_now();

// A single line to stderr for operational events (start, reload, errors).
void log_event(std::string_view level, std::string_view message);

}  // namespace obsgate::gateway
