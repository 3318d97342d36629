#include "gateway/core/log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace obsgate::gateway {

Result<std::shared_ptr<LogSink>> LogSink::open(const std::string& target) {
  if (target == "off") {
    return std::shared_ptr<LogSink>(new LogSink(-1, false));
  }
  if (target == "stdout") {
    return std::shared_ptr<LogSink>(new LogSink(STDOUT_FILENO, false));
  }
  if (target == "stderr") {
    return std::shared_ptr<LogSink>(new LogSink(STDERR_FILENO, false));
  }
  int fd = ::open(target.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return Status::invalid_argument("cannot open log file '" + target +
                                    "': " + std::strerror(errno));
  }
  return std::shared_ptr<LogSink>(new LogSink(fd, true));
}

LogSink::~LogSink() {
  if (owned_ && fd_ >= 0) {
    ::close(fd_);
  }
}

void LogSink::write(std::string_view line) {
  if (fd_ < 0) {
    return;
  }
  std::lock_guard lock(mu_);
  buf_.assign(line);
  buf_ += '\n';
  const char* p = buf_.data();
  size_t left = buf_.size();
  while (left > 0) {
    ssize_t n = ::write(fd_, p, left);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return;  // a full disk must not take the data path down
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
}

void JsonLine::escape_into(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void JsonLine::key(std::string_view k) {
  if (!first_) {
    out_ += ',';
  }
  first_ = false;
  out_ += '"';
  out_ += k;
  out_ += "\":";
}

JsonLine& JsonLine::str(std::string_view k, std::string_view value) {
  key(k);
  out_ += '"';
  escape_into(out_, value);
  out_ += '"';
  return *this;
}

JsonLine& JsonLine::num(std::string_view k, long long value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

JsonLine& JsonLine::dbl(std::string_view k, double value) {
  key(k);
  char buf[32];
  int n = std::snprintf(buf, sizeof buf, "%.6f", value);
  out_.append(buf, static_cast<size_t>(n));
  return *this;
}

JsonLine& JsonLine::boolean(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::null(std::string_view k) {
  key(k);
  out_ += "null";
  return *this;
}

JsonLine& JsonLine::strs(std::string_view k, const std::vector<std::string>& values) {
  key(k);
  out_ += '[';
  for (size_t i = 0; i < values.size(); ++i) {
    out_ += i == 0 ? "\"" : ",\"";
    escape_into(out_, values[i]);
    out_ += '"';
  }
  out_ += ']';
  return *this;
}

JsonLine& JsonLine::raw(std::string_view k, std::string_view json) {
  key(k);
  out_ += json;
  return *this;
}

std::string JsonLine::finish() {
  out_ += '}';
  return std::move(out_);
}

std::string utc_timestamp_now() {
  const auto now = std::chrono::system_clock::now();
  const auto secs = std::chrono::time_point_cast<std::chrono::seconds>(now);
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now - secs).count();
  const std::time_t t = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms));
  return buf;
}

void log_event(std::string_view level, std::string_view message) {
  std::string line = JsonLine()
                         .str("time", utc_timestamp_now())
                         .str("level", level)
                         .str("msg", message)
                         .finish();
  line += '\n';
  [[maybe_unused]] ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace obsgate::gateway
