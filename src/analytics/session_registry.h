// SessionRegistry: the live sessions of this node (SIP calls, WebSocket streams), for
// GET /api/v1/sessions[/{id}], plus the final snapshots of the most recently ended ones, so a
// client asking right after a call hung up still gets its numbers.
//
// Metrics: voxgate_sessions_active{kind} (gauge), voxgate_sessions_total{kind} (counter, on Add).
// It publishes no events (sessions do that themselves).
//
// Thread-safe. Describe() of a session is always called without the registry's lock held, so a
// slow or re-entrant session cannot stall or deadlock the registry.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "analytics/session_view.h"
#include "common/status.h"
#include "metrics/registry.h"

namespace voxgate::analytics {

class SessionRegistry {
 public:
  static constexpr size_t kDefaultMaxEnded = 100;

  /// `registry`: where the session metrics go (null: metrics::Registry::Default()). `max_ended`:
  /// how many ended sessions to remember (0: none).
  explicit SessionRegistry(std::shared_ptr<metrics::Registry> registry = nullptr,
                           size_t max_ended = kDefaultMaxEnded);
  SessionRegistry(const SessionRegistry&) = delete;
  SessionRegistry& operator=(const SessionRegistry&) = delete;

  /// Creates the per-kind series at 0 (voxgate_sessions_active/_total{kind}) before any session of
  /// that kind, so that dashboards and alerts see them.
  void DeclareKinds(const std::vector<std::string>& kinds);
  /// Registers a live session. kInvalidArgument for null or an empty id, kAlreadyExists when a
  /// live session has that id.
  Status Add(std::shared_ptr<SessionView> session);
  /// Ends a session: takes its final Describe(now_s) into the ended list. kNotFound if it is not
  /// live.
  Status Remove(const std::string& id, double now_s);

  /// Live sessions (sorted by id) then, with include_ended, ended ones (most recent first). Each is
  /// the session's Describe() with "id", "kind" and "state" ("active" or "ended") set.
  nlohmann::json List(double now_s, bool include_ended) const;
  /// One session, live or recently ended (live wins if an id was reused); nullopt if unknown.
  std::optional<nlohmann::json> Get(const std::string& id, double now_s) const;
  /// The live session itself (to act on it, e.g. hang up); null if not live.
  std::shared_ptr<SessionView> Find(const std::string& id) const;

  /// Live sessions.
  size_t active() const;

 private:
  struct Ended {
    std::string id;
    nlohmann::json description;  // with id, kind and state set
  };

  std::shared_ptr<metrics::Registry> registry_;
  const size_t max_ended_;
  metrics::Family<metrics::Gauge>& active_gauge_;
  metrics::Family<metrics::Counter>& total_counter_;

  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<SessionView>> live_;  // GUARDED_BY(mu_)
  std::deque<Ended> ended_;                                   // GUARDED_BY(mu_): newest first
};

}  // namespace voxgate::analytics
