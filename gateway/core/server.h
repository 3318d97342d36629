// The obsgate process: worker threads (one io_context each, listeners bound with SO_REUSEPORT
// when there are several), the admin listener (/healthz, /readyz, /metrics) on a thread of
// its own, and signal handling: SIGTERM/SIGINT drain and stop, SIGHUP reloads the config file
// atomically (a bad file is rejected, logged and counted; the old config keeps serving).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "config/config.h"

namespace obsgate::gateway {

class Server {
 public:
  virtual ~Server() = default;
  // Binds every listener; errors (port in use, TLS material) are returned, not thrown.
  static Result<std::unique_ptr<Server>> create(std::string config_path, config::ConfigPtr cfg);
  // Serves until a drain completes. Returns the process exit code.
  virtual int run() = 0;
};

// Reload-time compatibility: settings that need a restart (listeners, admin, worker threads,
// logging targets). Empty when `next` can replace `current` in place.
std::string restart_required_change(const config::Config& current, const config::Config& next);

}  // namespace obsgate::gateway
