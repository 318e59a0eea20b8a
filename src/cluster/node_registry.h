// NodeRegistry: cluster membership in Redis. Each node is a hash
// "<prefix>cluster:node:<node_id>" holding its NodeInfo fields, with a TTL that the node's own
// heartbeat refreshes; a node that stops beating (crash, kill -9, partition) expires and is gone
// from List() once the TTL passes. The ids are kept in the set "<prefix>cluster:nodes" so listing
// needs no SCAN; ids whose hash expired are pruned while listing.
//
// Joins and departures are published on "<prefix>cluster:events" as JSON
// {"event":"join"|"leave"|"expired","node_id":...,"at":<unix ms>} for anyone who cares (gateways
// may refresh at once; dashboards).
//
// Thread-safe: every method may be called from any thread (RedisClient pools connections). The
// heartbeat runs on a thread of its own between StartHeartbeat and StopHeartbeat/destruction.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cluster/node_info.h"
#include "common/redis_client.h"

namespace voxgate::cluster {

class NodeRegistry {
 public:
  /// `key_prefix` as in store.redis.key_prefix ("voxgate:").
  NodeRegistry(std::shared_ptr<RedisClient> redis, std::string key_prefix);
  /// StopHeartbeat(/*deregister=*/false): a node that dies without a goodbye just expires.
  ~NodeRegistry();
  NodeRegistry(const NodeRegistry&) = delete;
  NodeRegistry& operator=(const NodeRegistry&) = delete;

  /// Writes `node` (validated) with a TTL of `ttl_ms` (0: no expiry, for nodes registered by an
  /// operator through POST /api/v1/cluster/nodes). Publishes "join" when it was not registered.
  /// kUnavailable when Redis is down.
  Status Register(const NodeInfo& node, int ttl_ms);
  /// Removes a node and publishes "leave". kNotFound when it is not registered.
  Status Remove(const std::string& node_id);
  /// One node; kNotFound when absent or expired.
  Result<NodeInfo> Get(const std::string& node_id);
  /// Every registered node, sorted by node_id.
  Result<std::vector<NodeInfo>> List();

  /// Registers `self()` every `interval_ms` with a TTL of `ttl_ms` (first beat at once, on the
  /// calling thread, so the caller learns if Redis is unreachable; later failures are logged and
  /// retried on the next beat).
  Status StartHeartbeat(std::function<NodeInfo()> self, int interval_ms, int ttl_ms);
  /// Stops the heartbeat; `deregister` removes the node at once (graceful shutdown) instead of
  /// letting it expire. Idempotent.
  void StopHeartbeat(bool deregister);
  /// Heartbeats written so far.
  int64_t heartbeats() const;

  std::string NodeKey(const std::string& node_id) const;
  std::string SetKey() const { return prefix_ + "cluster:nodes"; }
  std::string EventsChannel() const { return prefix_ + "cluster:events"; }

 private:
  void Publish(const char* event, const std::string& node_id);
  static Result<NodeInfo> FromHash(const RedisReply& reply);

  const std::shared_ptr<RedisClient> redis_;
  const std::string prefix_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;       // GUARDED_BY(mu_)
  int64_t heartbeats_ = 0;  // GUARDED_BY(mu_)
  std::string self_id_;     // GUARDED_BY(mu_)
  std::thread heartbeat_;
};

}  // namespace voxgate::cluster
