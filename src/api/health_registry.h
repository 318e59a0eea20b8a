// HealthRegistry: named health checks behind GET /health and GET /ready. Components (the model,
// the store, the cluster link) register a callback; /health reports them all, /ready answers 200
// only when every check marked required_for_ready passes.
//
// Thread-safe. Checks run on an I/O thread for each probe: they must be quick and must not block
// (report a cached state that a background task refreshes, if finding it out is slow).
#pragma once

#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace voxgate::api {

struct ComponentHealth {
  bool healthy = true;
  std::string message;                                // why not healthy (or a short note)
  nlohmann::json details = nlohmann::json::object();  // merged into the component's JSON
};

using HealthCheck = std::function<ComponentHealth()>;

class HealthRegistry {
 public:
  /// Adds (or replaces, by name) a check.
  void Add(std::string component, HealthCheck check, bool required_for_ready = true);

  /// {"status":"healthy"|"degraded","timestamp":"<ISO 8601>","components":{"<name>":
  ///  {"status":"healthy"|"unhealthy","message"?:...,<details>}}}. A check that throws is
  /// unhealthy.
  nlohmann::json HealthJson() const;

  struct Readiness {
    bool ready = true;
    /// {"status":"ready"|"not_ready","timestamp":...,"components":{"<name>":"ok"|"<message>"},
    ///  "failing":["<name>",...]}
    nlohmann::json body;
  };
  /// `extra_failure`, when not empty, is reported as failing component "server" (e.g. draining).
  Readiness Ready(const std::string& extra_failure = {}) const;

 private:
  struct Entry {
    std::string name;
    HealthCheck check;
    bool required_for_ready;
  };
  std::vector<Entry> Snapshot() const;
  static ComponentHealth Run(const Entry& entry);

  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // guarded by mu_
};

}  // namespace voxgate::api
