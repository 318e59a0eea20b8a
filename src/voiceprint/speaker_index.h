// SpeakerIndex: the in-memory 1:N index of enrolled voiceprints, searched through Faiss. Vectors
// are L2-normalised on the way in, so cosine = inner product.
//
// Small populations are searched exactly (faiss::IndexFlatIP): below a few tens of thousands an
// exact scan costs about a millisecond and needs no graph. From `hnsw_min_vectors` live voiceprints
// on, searches go through an HNSW graph (faiss::IndexHNSWFlat, inner product), whose cost grows
// about logarithmically; the index falls back to exact search when it shrinks below half of that.
//
// HNSW cannot delete. A removed or replaced user leaves a tombstone: its node stays in the graph
// (still useful for navigation) but is filtered out of every result, and an update is a tombstone
// plus a new node. When tombstones exceed `max_tombstone_fraction` of the graph, or the size calls
// for the other search mode, the index is rebuilt from its live vectors. Graph rebuilds run off the
// lock (on a background thread, or in Rebuild()/Assign()): searches and updates go on against the
// old index meanwhile, and updates made during the build are replayed onto the new one before it
// replaces the old.
//
// Thread-safe: searches share a reader lock, updates take the writer lock for as long as the update
// itself (an HNSW insertion is about a millisecond at a million vectors, never a rebuild).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/config_node.h"
#include "common/status.h"

namespace voxgate::voiceprint {

struct SpeakerIndexConfig {
  int64_t hnsw_min_vectors = 20000;     // live voiceprints from which search uses HNSW (exact below
                                        // half of this, in between whichever the index has)
  int hnsw_m = 32;                      // HNSW links per node (2 * M on the bottom layer)
  int hnsw_ef_construction = 200;       // candidate list while inserting into the graph
  int hnsw_ef_search = 256;             // candidate list while searching (at least k)
  double max_tombstone_fraction = 0.1;  // rebuild the graph when this share of its nodes is dead
  bool background_rebuild = true;       // rebuilds made due by updates run on a background
                                        // thread; false: inside the update call (tests, tools)
  int build_threads = 0;                // OpenMP threads building a graph; 0: Faiss's default (all
                                        // cores). Searches are always single-threaded.

  Status Validate() const;
  std::string ToString() const;
  Status Load(const ConfigNode& node);
};

struct SpeakerMatch {
  std::string user_id;
  float score = 0.0f;
};

/// One user's voiceprint, for bulk loading.
struct SpeakerVoiceprint {
  std::string user_id;
  std::vector<float> voiceprint;
};

struct SpeakerIndexStats {
  size_t size = 0;          // live voiceprints
  size_t dim = 0;           // 0 before the first voiceprint and after Clear()
  bool hnsw = false;        // searches go through the HNSW graph (else exact)
  size_t tombstones = 0;    // dead graph nodes (removed or replaced users)
  bool rebuilding = false;  // a graph rebuild is scheduled or running
  uint64_t rebuilds = 0;    // index rebuilds completed since construction
  int ef_search = 0;        // HNSW search candidate list in effect
  size_t memory_bytes = 0;  // vectors, graph links and id tables (estimate, excludes a rebuild)
};

class SpeakerIndex {
 public:
  SpeakerIndex();
  /// `config` must be valid (Validate()); an invalid one is replaced by the defaults, with a log.
  explicit SpeakerIndex(SpeakerIndexConfig config);
  /// Stops a background rebuild (between build batches) and waits for it.
  ~SpeakerIndex();
  SpeakerIndex(const SpeakerIndex&) = delete;
  SpeakerIndex& operator=(const SpeakerIndex&) = delete;

  /// Adds or replaces the voiceprint of user_id. The first vector of an empty index fixes the
  /// dimension; a vector of another size is kInvalidArgument, as is an empty one.
  Status Upsert(const std::string& user_id, std::vector<float> voiceprint);
  /// Returns whether the user was present.
  bool Remove(const std::string& user_id);
  void Clear();
  /// Replaces the whole content with `voiceprints` (a later duplicate user_id wins), building the
  /// index for the final size once, with `build_threads`, instead of growing it one insertion at a
  /// time: this is the start-up path. Searches keep using the old content until the new one is
  /// complete; updates made while it builds are superseded. kInvalidArgument (and the old content
  /// kept) when a vector is empty or the dimensions differ.
  Status Assign(std::vector<SpeakerVoiceprint> voiceprints);
  /// Rebuilds now, in the caller's thread: drops tombstones and picks the search mode for the
  /// current size. Concurrent searches and updates go on meanwhile. Waits for a running rebuild.
  Status Rebuild();
  /// Blocks until no background rebuild is scheduled or running.
  void WaitForRebuild();
  /// Sets the HNSW search candidate list (recall against latency: docs/benchmarks.md) for the
  /// current graph and later ones, without a rebuild. kInvalidArgument outside [1, 8192].
  Status SetEfSearch(int ef_search);

  /// The k best matches, best first (fewer when fewer are enrolled); empty when the query's size
  /// is not dim() or k is 0. Exact below the HNSW switch-over, approximate above it.
  std::vector<SpeakerMatch> Search(std::span<const float> query, size_t k) const;
  /// Cosine score of one user against `query` (any norm); false when the user is absent or the
  /// sizes differ.
  bool ScoreOf(const std::string& user_id, std::span<const float> query, float* score) const;

  size_t size() const;
  /// Size of the vectors; 0 before the first voiceprint and after Clear().
  size_t dim() const;
  SpeakerIndexStats Stats() const;
  const SpeakerIndexConfig& config() const { return config_; }

 private:
  struct Table;  // one built Faiss index with its id maps (speaker_index.cc)

  bool RebuildDueLocked() const;
  bool AfterUpdateLocked();  // true: the caller rebuilds once it has released the lock
  void ScheduleRebuildLocked();
  void BackgroundRebuild();
  Status RebuildNow();
  void TouchLocked(const std::string& user_id);
  void InstallLocked(std::unique_ptr<Table> fresh, std::unique_ptr<Table>* old);

  const SpeakerIndexConfig config_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<Table> table_;             // never null, GUARDED_BY(mu_)
  uint64_t epoch_ = 0;                       // bumped when the content is replaced, GUARDED_BY(mu_)
  int ef_search_;                            // GUARDED_BY(mu_)
  bool tracking_ = false;                    // a graph build is running, GUARDED_BY(mu_)
  std::unordered_set<std::string> touched_;  // users updated since it began, GUARDED_BY(mu_)
  bool rebuild_pending_ = false;             // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  uint64_t rebuilds_ = 0;                    // GUARDED_BY(mu_)
  std::thread worker_;                       // the background rebuild, GUARDED_BY(mu_)
  std::condition_variable_any idle_cv_;      // rebuild_pending_ went false
  std::atomic<bool> stop_{false};            // ends a running build early (destructor)
  std::mutex build_mu_;                      // one build at a time
};

}  // namespace voxgate::voiceprint
