#include "analytics/session_registry.h"

#include <vector>

namespace voxgate::analytics {
namespace {

std::shared_ptr<metrics::Registry> OrDefault(std::shared_ptr<metrics::Registry> r) {
  if (r) return r;
  return std::shared_ptr<metrics::Registry>(&metrics::Registry::Default(),
                                            [](metrics::Registry*) {});
}

// The session's own description, with the fields every listing relies on. A description that is
// not an object is kept under "info".
nlohmann::json Normalized(nlohmann::json description, const std::string& id,
                          const std::string& kind, const char* state) {
  if (!description.is_object()) {
    description = nlohmann::json{{"info", std::move(description)}};
  }
  description["id"] = id;
  description["kind"] = kind;
  description["state"] = state;
  return description;
}

}  // namespace

SessionRegistry::SessionRegistry(std::shared_ptr<metrics::Registry> registry, size_t max_ended)
    : registry_(OrDefault(std::move(registry))),
      max_ended_(max_ended),
      active_gauge_(registry_->GaugeFamily("voxgate_sessions_active",
                                           "Live sessions (calls, streams) by kind.", {"kind"})),
      total_counter_(registry_->CounterFamily("voxgate_sessions_total",
                                              "Sessions started, by kind.", {"kind"})) {}

void SessionRegistry::DeclareKinds(const std::vector<std::string>& kinds) {
  for (const auto& kind : kinds) {
    active_gauge_.WithLabels({kind});
    total_counter_.WithLabels({kind});
  }
}

Status SessionRegistry::Add(std::shared_ptr<SessionView> session) {
  if (session == nullptr) return InvalidArgumentError("session registry: null session");
  std::string id = session->id();
  if (id.empty()) return InvalidArgumentError("session registry: empty session id");
  const std::string kind = session->kind();
  {
    std::lock_guard lock(mu_);
    if (!live_.emplace(id, std::move(session)).second) {
      return Status(StatusCode::kAlreadyExists, "session " + id + " is already registered");
    }
  }
  active_gauge_.WithLabels({kind}).Increment();
  total_counter_.WithLabels({kind}).Increment();
  return Status::Ok();
}

Status SessionRegistry::Remove(const std::string& id, double now_s) {
  std::shared_ptr<SessionView> session = Find(id);
  if (session == nullptr) return NotFoundError("session " + id + " is not live");
  // The final snapshot, taken outside the lock (see the class comment).
  const std::string kind = session->kind();
  nlohmann::json final_description = Normalized(session->Describe(now_s), id, kind, "ended");
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(id);
    // Another Remove (or a Remove and re-Add) got there first.
    if (it == live_.end() || it->second != session) {
      return NotFoundError("session " + id + " is not live");
    }
    live_.erase(it);
    if (max_ended_ > 0) {
      ended_.push_front(Ended{id, std::move(final_description)});
      while (ended_.size() > max_ended_) ended_.pop_back();
    }
  }
  active_gauge_.WithLabels({kind}).Decrement();
  return Status::Ok();
}

nlohmann::json SessionRegistry::List(double now_s, bool include_ended) const {
  std::vector<std::pair<std::string, std::shared_ptr<SessionView>>> live;
  nlohmann::json out = nlohmann::json::array();
  std::vector<nlohmann::json> ended;
  {
    std::lock_guard lock(mu_);
    live.assign(live_.begin(), live_.end());
    if (include_ended) {
      for (const Ended& e : ended_) ended.push_back(e.description);
    }
  }
  for (const auto& [id, session] : live) {
    out.push_back(Normalized(session->Describe(now_s), id, session->kind(), "active"));
  }
  for (auto& e : ended) out.push_back(std::move(e));
  return out;
}

std::optional<nlohmann::json> SessionRegistry::Get(const std::string& id, double now_s) const {
  std::shared_ptr<SessionView> session;
  {
    std::lock_guard lock(mu_);
    auto it = live_.find(id);
    if (it != live_.end()) {
      session = it->second;
    } else {
      for (const Ended& e : ended_) {
        if (e.id == id) return e.description;
      }
      return std::nullopt;
    }
  }
  return Normalized(session->Describe(now_s), id, session->kind(), "active");
}

std::shared_ptr<SessionView> SessionRegistry::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = live_.find(id);
  return it == live_.end() ? nullptr : it->second;
}

size_t SessionRegistry::active() const {
  std::lock_guard lock(mu_);
  return live_.size();
}

}  // namespace voxgate::analytics
