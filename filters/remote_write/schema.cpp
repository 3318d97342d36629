// SchemaContract: parsing (config load) and name resolution (data path).
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "filters/remote_write/remote_write.h"

namespace obsgate::filters::remote_write {
namespace {

constexpr std::string_view kSuffixes[] = {"_bucket", "_sum", "_count", "_total", "_created"};

// A YAML sequence of non-empty strings, sorted and de-duplicated; errors name `where`.
Result<std::vector<std::string>> string_list(const YAML::Node& n, const std::string& where) {
  std::vector<std::string> out;
  if (n.IsNull()) {
    return out;
  }
  if (!n.IsSequence()) {
    return Status::invalid_argument(where + ": expected a list of label names");
  }
  for (size_t i = 0; i < n.size(); ++i) {
    const std::string at = where + "[" + std::to_string(i) + "]";
    if (!n[i].IsScalar() || n[i].Scalar().empty()) {
      return Status::invalid_argument(at + ": expected a non-empty string");
    }
    out.push_back(n[i].Scalar());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Status merge_into(SchemaContract& into, SchemaContract&& from, const std::string& source) {
  for (auto& [name, labels] : from.metrics) {
    if (into.metrics.count(name) != 0) {
      return Status::invalid_argument(source + ": metrics." + name +
                                      ": already defined in another file");
    }
    into.metrics.emplace(name, std::move(labels));
  }
  std::vector<std::string> all = into.always_allowed;
  all.insert(all.end(), from.always_allowed.begin(), from.always_allowed.end());
  std::sort(all.begin(), all.end());
  all.erase(std::unique(all.begin(), all.end()), all.end());
  into.always_allowed = std::move(all);
  return {};
}

Result<SchemaContract> parse_file(const std::filesystem::path& file) {
  try {
    auto parsed = SchemaContract::parse(YAML::LoadFile(file.string()));
    if (!parsed.ok()) {
      return Status::invalid_argument(file.string() + ": " + parsed.status().message());
    }
    return parsed;
  } catch (const YAML::Exception& e) {
    return Status::invalid_argument(file.string() + ": " + e.what());
  }
}

}  // namespace

Result<SchemaContract> SchemaContract::parse(const YAML::Node& node) {
  SchemaContract sc;
  if (!node.IsMap()) {
    return Status::invalid_argument("schema contract: expected a mapping with key 'metrics'");
  }
  bool saw_metrics = false;
  for (const auto& kv : node) {
    const std::string key = kv.first.Scalar();
    if (key == "always_allowed_labels") {
      auto l = string_list(kv.second, key);
      if (!l.ok()) {
        return l.status();
      }
      sc.always_allowed = std::move(l).value();
    } else if (key == "metrics") {
      saw_metrics = true;
      if (!kv.second.IsMap()) {
        return Status::invalid_argument("metrics: expected a mapping of metric name to labels");
      }
      for (const auto& m : kv.second) {
        const std::string name = m.first.Scalar();
        const std::string where = "metrics." + name;
        if (name.empty()) {
          return Status::invalid_argument("metrics: empty metric name");
        }
        auto l = string_list(m.second, where);
        if (!l.ok()) {
          return l.status();
        }
        if (!sc.metrics.emplace(name, std::move(l).value()).second) {
          return Status::invalid_argument(where + ": defined twice");
        }
      }
    } else {
      return Status::invalid_argument("schema contract: unknown key '" + key + "'");
    }
  }
  if (!saw_metrics) {
    return Status::invalid_argument("schema contract: missing key 'metrics'");
  }
  return sc;
}

Result<SchemaContract> SchemaContract::load(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(path, ec)) {
    return parse_file(path);
  }
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(path, ec)) {
    const auto ext = e.path().extension();
    if (e.is_regular_file() && (ext == ".yaml" || ext == ".yml")) {
      files.push_back(e.path());
    }
  }
  if (ec) {
    return Status::invalid_argument(path + ": " + ec.message());
  }
  if (files.empty()) {
    return Status::invalid_argument(path + ": no *.yaml or *.yml schema files");
  }
  std::sort(files.begin(), files.end());
  SchemaContract all;
  all.always_allowed.clear();
  for (const auto& f : files) {
    auto one = parse_file(f);
    if (!one.ok()) {
      return one.status();
    }
    if (Status s = merge_into(all, std::move(one).value(), f.string()); !s.ok()) {
      return s;
    }
  }
  return all;
}

const std::vector<std::string>* SchemaContract::resolve(std::string_view metric) const {
  if (auto it = metrics.find(metric); it != metrics.end()) {
    return &it->second;
  }
  for (std::string_view suffix : kSuffixes) {
    if (metric.size() > suffix.size() && metric.ends_with(suffix)) {
      auto it = metrics.find(metric.substr(0, metric.size() - suffix.size()));
      if (it != metrics.end()) {
        return &it->second;
      }
    }
  }
  return nullptr;
}

}  // namespace obsgate::filters::remote_write
