// ConfigNode: one section of the YAML configuration, with VOXGATE_* environment overrides.
//
// Every key is overridable from the environment: the value at path server.port is read from
// VOXGATE_SERVER_PORT when that variable is set, else from the YAML file, else the field keeps
// its default. Overrides need no schema: the config structs name their fields as they load them.
// Errors name the key and say what was expected. Every node of one tree records which keys were
// looked up, so that after the config structs have loaded, UnreadKeys() names the keys in the file
// that nothing reads (a typo must not silently keep a default). Thread-safe to read.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace YAML {
class Node;
}

namespace voxgate {

class ConfigNode {
 public:
  /// An empty tree: every Get leaves the default unless the environment sets the key.
  ConfigNode();
  /// Parses a YAML file. kNotFound if it does not exist; kInvalidArgument with the line on bad YAML
  /// or a top level that is not a mapping.
  static Result<ConfigNode> LoadFile(const std::string& path);
  static Result<ConfigNode> Parse(std::string_view yaml_text);

  /// The sub-section at key (possibly absent; env overrides still apply under its path).
  ConfigNode Child(std::string_view key) const;
  /// "server.port" style path of this node ("" at the root).
  const std::string& path() const { return path_; }
  /// The environment variable for key under this node: VOXGATE_SERVER_PORT.
  std::string EnvName(std::string_view key) const;

  // Read key into *value if the environment or the file sets it; otherwise leave *value alone.
  Status Get(std::string_view key, bool* value) const;
  Status Get(std::string_view key, int* value) const;
  Status Get(std::string_view key, int64_t* value) const;
  Status Get(std::string_view key, double* value) const;
  Status Get(std::string_view key, float* value) const;
  Status Get(std::string_view key, std::string* value) const;
  Status Get(std::string_view key, std::vector<std::string>* value) const;  // env: comma-separated

  /// A secret (key, password, token): only from the environment, never from the YAML file, so it
  /// cannot end up committed with the config. A value in the file is an error naming the key.
  Status GetSecret(std::string_view key, std::string* value) const;

  /// Keys present in the file under this node that no Get/GetSecret/Child call of this tree has
  /// asked for, as sorted paths ("server.prot"). Sections that were asked for are searched inside;
  /// a section nobody asked for is named once.
  std::vector<std::string> UnreadKeys() const;

  /// Replaces the environment lookup (tests); nullptr restores getenv.
  using EnvLookup = std::map<std::string, std::string>;
  void SetEnvForTesting(std::shared_ptr<const EnvLookup> env);

 private:
  struct KeyLog;
  ConfigNode(std::shared_ptr<const YAML::Node> node, std::string path,
             std::shared_ptr<const EnvLookup> env, std::shared_ptr<KeyLog> read);
  void MarkRead(std::string_view key) const;
  // The raw text for key from env or file, or nullptr-equivalent false when unset.
  bool Lookup(std::string_view key, std::string* text, bool* from_env) const;
  std::string KeyPath(std::string_view key) const;
  // Looks key up and converts it with convert(text, value); a failed conversion names the key (or
  // the environment variable it came from) and what was expected.
  template <typename T, typename Convert>
  Status GetParsed(std::string_view key, T* value, std::string_view expected,
                   Convert convert) const;

  std::shared_ptr<const YAML::Node> node_;  // null when this section is absent
  std::string path_;
  std::shared_ptr<const EnvLookup> env_;  // null: process environment
  std::shared_ptr<KeyLog> read_;          // shared by every node of the tree
};

}  // namespace voxgate
