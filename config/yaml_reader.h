// A small typed reader over yaml-cpp nodes that records errors with file:line:col and the key
// path, so every config module reports problems the same way. Internal to config loading.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace obsgate::config {

// True when `path` can be opened for reading now.
bool readable(const std::string& path);

class YamlReader {
 public:
  explicit YamlReader(std::string source) : source_(std::move(source)) {}

  // Records "source:line:col: path: message" (line/col 1-based; omitted when unknown).
  void error(const YAML::Node& at, std::string_view path, std::string_view message);
  [[nodiscard]] bool ok() const { return errors_.empty(); }
  [[nodiscard]] const std::vector<std::string>& errors() const { return errors_; }

  // A map node whose keys must be among `allowed`; unknown keys are errors. Returns false (and
  // records an error) when `node` is not a map.
  bool expect_map(const YAML::Node& node, std::string_view path,
                  std::initializer_list<std::string_view> allowed);
  bool expect_seq(const YAML::Node& node, std::string_view path);

  // Each getter leaves `out` unchanged when the key is absent (the default stays) and records
  // an error when the key is present with the wrong type or value, or absent but required.
  void get(const YAML::Node& map, std::string_view key, std::string_view path, std::string& out,
           bool required = false);
  void get(const YAML::Node& map, std::string_view key, std::string_view path, bool& out);
  void get_port(const YAML::Node& map, std::string_view key, std::string_view path,
                uint16_t& out, bool required);
  void get_uint(const YAML::Node& map, std::string_view key, std::string_view path,
                uint64_t& out, uint64_t min, uint64_t max);
  // Sizes: integers or "512", "16KiB", "4MiB", "1GiB".
  void get_bytes(const YAML::Node& map, std::string_view key, std::string_view path,
                 uint64_t& out);
  // Durations: "250ms", "30s", "5m", "1h", "1m30s".
  void get_duration(const YAML::Node& map, std::string_view key, std::string_view path,
                    Duration& out);
  void get_list(const YAML::Node& map, std::string_view key, std::string_view path,
                std::vector<std::string>& out);

  // A `tls:` block towards a backend (ca_file, server_name, cert_file, key_file): files must be
  // readable, cert and key go together, and `https` says whether the URL allows TLS (pass true
  // when the URL is not known yet, so only one error is reported).
  std::optional<UpstreamTls> get_upstream_tls(const YAML::Node& t, std::string_view path,
                                              bool https);

  static std::string join(std::string_view path, std::string_view key);
  static std::string index(std::string_view path, size_t i);

 private:
  std::string source_;
  std::vector<std::string> errors_;
};

}  // namespace obsgate::config
