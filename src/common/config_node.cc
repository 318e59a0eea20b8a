#include "common/config_node.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <mutex>
#include <set>
#include <sstream>

namespace voxgate {
namespace {

Status TypeError(const std::string& where, std::string_view expected, const std::string& text) {
  return InvalidArgumentError(fmt::format("{}: expected {}, got '{}'", where, expected, text));
}

bool ParseBool(std::string text, bool* out) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text == "true" || text == "yes" || text == "on" || text == "1") {
    *out = true;
  } else if (text == "false" || text == "no" || text == "off" || text == "0") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

template <typename T>
bool ParseInteger(const std::string& text, T* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  if (v < static_cast<long long>(std::numeric_limits<T>::min()) ||
      v > static_cast<long long>(std::numeric_limits<T>::max())) {
    return false;
  }
  *out = static_cast<T>(v);
  return true;
}

bool ParseDouble(const std::string& text, double* out) {
  if (text.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(text.c_str(), &end);
  if (errno != 0 || *end != '\0' || !std::isfinite(v)) return false;
  *out = v;
  return true;
}

}  // namespace

struct ConfigNode::KeyLog {
  std::mutex mu;
  std::set<std::string, std::less<>> paths;
};

ConfigNode::ConfigNode() : read_(std::make_shared<KeyLog>()) {}

ConfigNode::ConfigNode(std::shared_ptr<const YAML::Node> node, std::string path,
                       std::shared_ptr<const EnvLookup> env, std::shared_ptr<KeyLog> read)
    : node_(std::move(node)),
      path_(std::move(path)),
      env_(std::move(env)),
      read_(std::move(read)) {}

void ConfigNode::MarkRead(std::string_view key) const {
  std::lock_guard<std::mutex> lock(read_->mu);
  read_->paths.insert(KeyPath(key));
}

std::vector<std::string> ConfigNode::UnreadKeys() const {
  std::vector<std::string> unread;
  if (!node_) return unread;
  std::lock_guard<std::mutex> lock(read_->mu);
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& node,
                                                                        const std::string& prefix) {
    if (!node.IsMap()) return;
    for (const auto& kv : node) {
      const std::string key = kv.first.IsScalar() ? kv.first.Scalar() : "<non-scalar key>";
      const std::string path = prefix.empty() ? key : prefix + "." + key;
      if (read_->paths.count(path) == 0) {
        unread.push_back(path);
      } else {
        walk(kv.second, path);
      }
    }
  };
  try {
    walk(*node_, path_);
  } catch (const YAML::Exception&) {
  }
  std::sort(unread.begin(), unread.end());
  return unread;
}

Result<ConfigNode> ConfigNode::Parse(std::string_view yaml_text) {
  try {
    auto root = std::make_shared<YAML::Node>(YAML::Load(std::string(yaml_text)));
    if (root->IsNull()) return ConfigNode();
    if (!root->IsMap()) return InvalidArgumentError("config: the top level must be a mapping");
    return ConfigNode(std::move(root), "", nullptr, std::make_shared<KeyLog>());
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(
        fmt::format("config: line {}, column {}: {}", e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

Result<ConfigNode> ConfigNode::LoadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFoundError("config file " + path + " not found or unreadable");
  std::stringstream text;
  text << in.rdbuf();
  auto node = Parse(text.str());
  if (!node.ok()) return node.status().WithContext(path);
  return node;
}

std::string ConfigNode::KeyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string ConfigNode::EnvName(std::string_view key) const {
  std::string name = "VOXGATE_";
  for (char c : KeyPath(key)) {
    name += (c == '.' || c == '-') ? '_'
                                   : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return name;
}

ConfigNode ConfigNode::Child(std::string_view key) const {
  MarkRead(key);
  std::shared_ptr<const YAML::Node> child;
  if (node_ && node_->IsMap()) {
    try {
      YAML::Node c = (*node_)[std::string(key)];
      if (c.IsDefined() && !c.IsNull()) child = std::make_shared<const YAML::Node>(c);
    } catch (const YAML::Exception&) {
    }
  }
  return ConfigNode(std::move(child), KeyPath(key), env_, read_);
}

void ConfigNode::SetEnvForTesting(std::shared_ptr<const EnvLookup> env) { env_ = std::move(env); }

bool ConfigNode::Lookup(std::string_view key, std::string* text, bool* from_env) const {
  MarkRead(key);
  const std::string env_name = EnvName(key);
  if (env_) {
    auto it = env_->find(env_name);
    if (it != env_->end()) {
      *text = it->second;
      *from_env = true;
      return true;
    }
  } else if (const char* v = std::getenv(env_name.c_str())) {
    *text = v;
    *from_env = true;
    return true;
  }
  *from_env = false;
  if (!node_ || !node_->IsMap()) return false;
  try {
    YAML::Node v = (*node_)[std::string(key)];
    if (!v.IsDefined() || v.IsNull()) return false;
    if (!v.IsScalar()) {
      *text = "<not a scalar>";
      return true;
    }
    *text = v.Scalar();
    return true;
  } catch (const YAML::Exception&) {
    return false;
  }
}

template <typename T, typename Convert>
Status ConfigNode::GetParsed(std::string_view key, T* value, std::string_view expected,
                             Convert convert) const {
  std::string text;
  bool env;
  if (!Lookup(key, &text, &env)) return Status::Ok();
  if (!convert(text, value)) return TypeError(env ? EnvName(key) : KeyPath(key), expected, text);
  return Status::Ok();
}

Status ConfigNode::Get(std::string_view key, bool* value) const {
  return GetParsed(key, value, "true or false", ParseBool);
}

Status ConfigNode::Get(std::string_view key, int* value) const {
  return GetParsed(key, value, "an integer", ParseInteger<int>);
}

Status ConfigNode::Get(std::string_view key, int64_t* value) const {
  return GetParsed(key, value, "an integer", ParseInteger<int64_t>);
}

Status ConfigNode::Get(std::string_view key, double* value) const {
  return GetParsed(key, value, "a number", ParseDouble);
}

Status ConfigNode::Get(std::string_view key, float* value) const {
  double d = *value;
  VOXGATE_RETURN_IF_ERROR(Get(key, &d));
  *value = static_cast<float>(d);
  return Status::Ok();
}

Status ConfigNode::Get(std::string_view key, std::string* value) const {
  std::string text;
  bool env;
  if (!Lookup(key, &text, &env)) return Status::Ok();
  if (text == "<not a scalar>" && !env)
    return TypeError(KeyPath(key), "a string", "a mapping or list");
  *value = text;
  return Status::Ok();
}

Status ConfigNode::Get(std::string_view key, std::vector<std::string>* value) const {
  std::string text;
  bool env;
  const std::string env_name = EnvName(key);
  if (Lookup(key, &text, &env) && env) {
    value->clear();
    std::stringstream ss(text);
    for (std::string item; std::getline(ss, item, ',');) {
      if (!item.empty()) value->push_back(item);
    }
    return Status::Ok();
  }
  if (!node_ || !node_->IsMap()) return Status::Ok();
  try {
    YAML::Node v = (*node_)[std::string(key)];
    if (!v.IsDefined() || v.IsNull()) return Status::Ok();
    if (!v.IsSequence())
      return TypeError(KeyPath(key), "a list", v.IsScalar() ? v.Scalar() : "a mapping");
    value->clear();
    for (const auto& item : v) {
      if (!item.IsScalar()) return TypeError(KeyPath(key), "a list of strings", "a nested value");
      value->push_back(item.Scalar());
    }
  } catch (const YAML::Exception& e) {
    return InvalidArgumentError(KeyPath(key) + ": " + e.msg);
  }
  return Status::Ok();
}

Status ConfigNode::GetSecret(std::string_view key, std::string* value) const {
  MarkRead(key);
  if (node_ && node_->IsMap()) {
    try {
      YAML::Node v = (*node_)[std::string(key)];
      if (v.IsDefined() && !v.IsNull()) {
        return InvalidArgumentError(
            fmt::format("{}: secrets are not read from the config file; set {} or use a key file",
                        KeyPath(key), EnvName(key)));
      }
    } catch (const YAML::Exception&) {
    }
  }
  std::string text;
  bool env;
  if (Lookup(key, &text, &env) && env) *value = text;
  return Status::Ok();
}

}  // namespace voxgate
