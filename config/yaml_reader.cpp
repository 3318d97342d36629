#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>

namespace obsgate::config {

namespace {

std::string describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null: return "null";
    case YAML::NodeType::Scalar: return "'" + n.Scalar() + "'";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Undefined: return "nothing";
  }
  return "?";
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) {
    return false;
  }
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool readable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return false;
  }
  std::fclose(f);
  return true;
}

std::optional<UpstreamTls> YamlReader::get_upstream_tls(const YAML::Node& t, std::string_view path,
                                                        bool https) {
  const std::string tp(path);
  if (!expect_map(t, tp, {"ca_file", "server_name", "cert_file", "key_file"})) {
    return std::nullopt;
  }
  UpstreamTls tls;
  get(t, "ca_file", tp, tls.ca_file);
  get(t, "server_name", tp, tls.server_name);
  get(t, "cert_file", tp, tls.cert_file);
  get(t, "key_file", tp, tls.key_file);
  if (tls.cert_file.empty() != tls.key_file.empty()) {
    error(t, tp, "cert_file and key_file go together");
  }
  for (const auto* f : {&tls.ca_file, &tls.cert_file, &tls.key_file}) {
    if (!f->empty() && !readable(*f)) {
      error(t, tp, "cannot read file '" + *f + "'");
    }
  }
  if (!https) {
    error(t, tp, "tls settings need an https:// url");
  }
  return tls;
}

std::string YamlReader::join(std::string_view path, std::string_view key) {
  if (path.empty()) {
    return std::string(key);
  }
  std::string s(path);
  s += '.';
  s += key;
  return s;
}

std::string YamlReader::index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

void YamlReader::error(const YAML::Node& at, std::string_view path, std::string_view message) {
  std::string e = source_;
  if (at.IsDefined() && at.Mark().line >= 0) {
    e += ":" + std::to_string(at.Mark().line + 1) + ":" + std::to_string(at.Mark().column + 1);
  }
  e += ": ";
  if (!path.empty()) {
    e += path;
    e += ": ";
  }
  e += message;
  errors_.push_back(std::move(e));
}

bool YamlReader::expect_map(const YAML::Node& node, std::string_view path,
                            std::initializer_list<std::string_view> allowed) {
  if (!node.IsMap()) {
    error(node, path, "expected a map, got " + describe(node));
    return false;
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string known;
      for (auto a : allowed) {
        known += known.empty() ? "" : ", ";
        known += a;
      }
      error(it->first, join(path, key), "unknown key (known keys: " + known + ")");
    }
  }
  return true;
}

bool YamlReader::expect_seq(const YAML::Node& node, std::string_view path) {
  if (!node.IsSequence()) {
    error(node, path, "expected a list, got " + describe(node));
    return false;
  }
  return true;
}

void YamlReader::get(const YAML::Node& map, std::string_view key, std::string_view path,
                     std::string& out, bool required) {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) {
    if (required) {
      error(map, join(path, key), "required key is missing");
    }
    return;
  }
  if (!n.IsScalar()) {
    error(n, join(path, key), "expected a string, got " + describe(n));
    return;
  }
  out = n.Scalar();
}

void YamlReader::get(const YAML::Node& map, std::string_view key, std::string_view path,
                     bool& out) {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) {
    return;
  }
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  if (s == "true") {
    out = true;
  } else if (s == "false") {
    out = false;
  } else {
    error(n, join(path, key), "expected true or false, got " + describe(n));
  }
}

void YamlReader::get_uint(const YAML::Node& map, std::string_view key, std::string_view path,
                          uint64_t& out, uint64_t min, uint64_t max) {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) {
    return;
  }
  uint64_t v = 0;
  if (!n.IsScalar() || !parse_u64(n.Scalar(), v)) {
    error(n, join(path, key), "expected a non-negative integer, got " + describe(n));
    return;
  }
  if (v < min || v > max) {
    error(n, join(path, key),
          "value " + n.Scalar() + " out of range [" + std::to_string(min) + ", " +
              std::to_string(max) + "]");
    return;
  }
  out = v;
}

void YamlReader::get_port(const YAML::Node& map, std::string_view key, std::string_view path,
                          uint16_t& out, bool required) {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) {
    if (required) {
      error(map, join(path, key), "required key is missing");
    }
    return;
  }
  uint64_t v = 0;
  get_uint(map, key, path, v, 1, 65535);
  out = static_cast<uint16_t>(v);
}

void YamlReader::get_bytes(const YAML::Node& map, std::string_view key, std::string_view path,
                           uint64_t& out) {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) {
    return;
  }
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"KiB", 1ULL << 10}, {"MiB", 1ULL << 20}, {"GiB", 1ULL << 30}, {"B", 1}};
  uint64_t mult = 1;
  std::string_view digits = s;
  for (const auto& [suffix, m] : kUnits) {
    if (digits.size() > suffix.size() && digits.ends_with(suffix)) {
      digits.remove_suffix(suffix.size());
      mult = m;
      break;
    }
  }
  uint64_t v = 0;
  if (!parse_u64(digits, v) || v > std::numeric_limits<uint64_t>::max() / mult) {
    error(n, join(path, key), "expected a size such as 65536, 64KiB, 16MiB or 1GiB, got " +
                                  describe(n));
    return;
  }
  out = v * mult;
}

void YamlReader::get_duration(const YAML::Node& map, std::string_view key, std::string_view path,
                              Duration& out) {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) {
    return;
  }
  const std::string s = n.IsScalar() ? n.Scalar() : "";
  // Units in strictly descending order, as Prometheus writes durations: 1h30m, 2s500ms.
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"h", 3600000}, {"ms", 1}, {"m", 60000}, {"s", 1000}};
  auto rank = [](std::string_view u) {
    return u == "h" ? 0 : u == "m" ? 1 : u == "s" ? 2 : 3;
  };
  uint64_t total = 0;
  int last_rank = -1;
  size_t i = 0;
  bool good = !s.empty();
  while (good && i < s.size()) {
    size_t j = i;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') {
      ++j;
    }
    uint64_t v = 0;
    if (j == i || !parse_u64(std::string_view(s).substr(i, j - i), v) || v > (1ULL << 40)) {
      good = false;
      break;
    }
    std::string_view rest = std::string_view(s).substr(j);
    bool matched = false;
    for (const auto& [unit, ms] : kUnits) {
      if (rest.starts_with(unit)) {
        if (rank(unit) <= last_rank) {
          break;
        }
        last_rank = rank(unit);
        total += v * ms;
        i = j + unit.size();
        matched = true;
        break;
      }
    }
    good = matched;
  }
  if (!good) {
    error(n, join(path, key), "expected a duration such as 250ms, 30s, 5m or 1h30m, got " +
                                  describe(n));
    return;
  }
  out = Duration(total);
}

void YamlReader::get_list(const YAML::Node& map, std::string_view key, std::string_view path,
                          std::vector<std::string>& out) {
  const YAML::Node n = map[std::string(key)];
  if (!n.IsDefined() || n.IsNull()) {
    return;
  }
  const std::string p = join(path, key);
  if (!expect_seq(n, p)) {
    return;
  }
  out.clear();
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      error(n[i], index(p, i), "expected a string, got " + describe(n[i]));
      continue;
    }
    out.push_back(n[i].Scalar());
  }
}

}  // namespace obsgate::config
