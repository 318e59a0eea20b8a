#include "api/health_registry.h"

#include "api/response.h"

namespace voxgate::api {

void HealthRegistry::Add(std::string component, HealthCheck check, bool required_for_ready) {
  std::lock_guard lock(mu_);
  for (auto& e : entries_) {
    if (e.name == component) {
      e.check = std::move(check);
      e.required_for_ready = required_for_ready;
      return;
    }
  }
  entries_.push_back(Entry{std::move(component), std::move(check), required_for_ready});
}

std::vector<HealthRegistry::Entry> HealthRegistry::Snapshot() const {
  std::lock_guard lock(mu_);
  return entries_;
}

ComponentHealth HealthRegistry::Run(const Entry& entry) {
  try {
    return entry.check ? entry.check() : ComponentHealth{};
  } catch (const std::exception& e) {
    return ComponentHealth{false, std::string("health check failed: ") + e.what(), {}};
  } catch (...) {
    return ComponentHealth{false, "health check failed", {}};
  }
}

nlohmann::json HealthRegistry::HealthJson() const {
  bool all_healthy = true;
  nlohmann::json components = nlohmann::json::object();
  for (const auto& entry : Snapshot()) {
    ComponentHealth h = Run(entry);
    nlohmann::json c = h.details.is_object() ? h.details : nlohmann::json::object();
    c["status"] = h.healthy ? "healthy" : "unhealthy";
    if (!h.message.empty()) c["message"] = h.message;
    components[entry.name] = std::move(c);
    all_healthy = all_healthy && h.healthy;
  }
  return {{"status", all_healthy ? "healthy" : "degraded"},
          {"timestamp", Iso8601Utc()},
          {"components", std::move(components)}};
}

HealthRegistry::Readiness HealthRegistry::Ready(const std::string& extra_failure) const {
  Readiness r;
  nlohmann::json components = nlohmann::json::object();
  nlohmann::json failing = nlohmann::json::array();
  if (!extra_failure.empty()) {
    components["server"] = extra_failure;
    failing.push_back("server");
  }
  for (const auto& entry : Snapshot()) {
    if (!entry.required_for_ready) continue;
    ComponentHealth h = Run(entry);
    if (h.healthy) {
      components[entry.name] = "ok";
    } else {
      components[entry.name] = h.message.empty() ? "unhealthy" : h.message;
      failing.push_back(entry.name);
    }
  }
  r.ready = failing.empty();
  r.body = {{"status", r.ready ? "ready" : "not_ready"},
            {"timestamp", Iso8601Utc()},
            {"components", std::move(components)},
            {"failing", std::move(failing)}};
  return r;
}

}  // namespace voxgate::api
