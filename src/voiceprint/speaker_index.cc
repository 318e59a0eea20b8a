#include "voiceprint/speaker_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/utils/Heap.h>
#include <faiss/utils/distances.h>
#include <fmt/format.h>
#include <omp.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <exception>
#include <unordered_map>

#include "voiceprint/scoring.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace voxgate::voiceprint {

// ---------------------------------------------------------------------------------------------
// SpeakerIndexConfig

Status SpeakerIndexConfig::Validate() const {
  if (hnsw_min_vectors < 1) {
    return InvalidArgumentError(
        fmt::format("index.hnsw_min_vectors must be >= 1, got {}", hnsw_min_vectors));
  }
  if (hnsw_m < 4 || hnsw_m > 256) {
    return InvalidArgumentError(fmt::format("index.hnsw_m must be in [4, 256], got {}", hnsw_m));
  }
  if (hnsw_ef_construction < 8 || hnsw_ef_construction > 8192) {
    return InvalidArgumentError(fmt::format(
        "index.hnsw_ef_construction must be in [8, 8192], got {}", hnsw_ef_construction));
  }
  if (hnsw_ef_search < 1 || hnsw_ef_search > 8192) {
    return InvalidArgumentError(
        fmt::format("index.hnsw_ef_search must be in [1, 8192], got {}", hnsw_ef_search));
  }
  if (!(max_tombstone_fraction > 0.0 && max_tombstone_fraction < 1.0)) {
    return InvalidArgumentError(fmt::format(
        "index.max_tombstone_fraction must be in (0, 1), got {}", max_tombstone_fraction));
  }
  if (build_threads < 0 || build_threads > 256) {
    return InvalidArgumentError(
        fmt::format("index.build_threads must be in [0, 256], got {}", build_threads));
  }
  return Status::Ok();
}

std::string SpeakerIndexConfig::ToString() const {
  return fmt::format(
      "SpeakerIndexConfig(hnsw_min_vectors={}, hnsw_m={}, hnsw_ef_construction={}, "
      "hnsw_ef_search={}, max_tombstone_fraction={}, background_rebuild={}, build_threads={})",
      hnsw_min_vectors, hnsw_m, hnsw_ef_construction, hnsw_ef_search, max_tombstone_fraction,
      background_rebuild, build_threads);
}

Status SpeakerIndexConfig::Load(const ConfigNode& node) {
  VOXGATE_RETURN_IF_ERROR(node.Get("hnsw_min_vectors", &hnsw_min_vectors));
  VOXGATE_RETURN_IF_ERROR(node.Get("hnsw_m", &hnsw_m));
  VOXGATE_RETURN_IF_ERROR(node.Get("hnsw_ef_construction", &hnsw_ef_construction));
  VOXGATE_RETURN_IF_ERROR(node.Get("hnsw_ef_search", &hnsw_ef_search));
  VOXGATE_RETURN_IF_ERROR(node.Get("max_tombstone_fraction", &max_tombstone_fraction));
  VOXGATE_RETURN_IF_ERROR(node.Get("background_rebuild", &background_rebuild));
  VOXGATE_RETURN_IF_ERROR(node.Get("build_threads", &build_threads));
  return Validate();
}

namespace {

using FaissId = faiss::Index::idx_t;

// Graph builds add this many vectors per Faiss call, so that a destructor or a replaced content
// stops a build within seconds rather than after the whole graph.
constexpr size_t kBuildBatch = 4096;

// ---------------------------------------------------------------------------------------------
// The inner product behind every graph step. Debian's Faiss 1.7.3 is built for baseline x86-64 and
// its fvec_inner_product does not vectorise: about 78 ns for 192 dimensions against 15 ns with
// AVX2+FMA, and because the slow loop also stalls the out-of-order window, 850 ns against 190 ns
// when the vector must come from memory, as it does on every hop of a large graph. The graph
// algorithms stay Faiss's; only this kernel is ours, chosen once by what the CPU supports.

using DotFn = float (*)(const float*, const float*, size_t);

float DotFaiss(const float* a, const float* b, size_t d) {
  return faiss::fvec_inner_product(a, b, d);
}

#if defined(__x86_64__)
__attribute__((target("avx2,fma"))) float DotAvx2(const float* a, const float* b, size_t d) {
  __m256 s0 = _mm256_setzero_ps();
  __m256 s1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= d; i += 16) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
  }
  for (; i + 8 <= d; i += 8) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  }
  s0 = _mm256_add_ps(s0, s1);
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s0), _mm256_extractf128_ps(s0, 1));
  h = _mm_hadd_ps(h, h);
  h = _mm_hadd_ps(h, h);
  float r = _mm_cvtss_f32(h);
  for (; i < d; ++i) r += a[i] * b[i];
  return r;
}
#endif

DotFn PickDot() {
#if defined(__x86_64__)
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return &DotAvx2;
#endif
  return &DotFaiss;
}

const DotFn dot_kernel = PickDot();

// Inner products of a query (or a stored row) with stored rows. `sign` -1 turns similarities into
// the distances HNSW::search minimises; Faiss's own graph build negates a +1 computer itself.
class RowDistance final : public faiss::DistanceComputer {
 public:
  RowDistance(const float* rows, size_t dim, float sign) : rows_(rows), dim_(dim), sign_(sign) {}
  void set_query(const float* x) override { query_ = x; }
  float operator()(idx_t i) override { return sign_ * dot_kernel(query_, rows_ + i * dim_, dim_); }
  float symmetric_dis(idx_t i, idx_t j) override {
    return sign_ * dot_kernel(rows_ + i * dim_, rows_ + j * dim_, dim_);
  }

 private:
  const float* rows_;
  size_t dim_;
  float sign_;
  const float* query_ = nullptr;
};

// faiss::IndexFlatIP whose distance computer (what IndexHNSW builds and searches with) uses the
// kernel above. Exact search (IndexFlat::search) is Faiss's own.
struct VectorStore final : faiss::IndexFlatIP {
  explicit VectorStore(size_t dim) : faiss::IndexFlatIP(static_cast<FaissId>(dim)) {}
  faiss::DistanceComputer* get_distance_computer() const override {
    return new RowDistance(get_xb(), static_cast<size_t>(d), 1.0f);
  }
};

// Excludes tombstoned rows from results (they are still walked through).
class LiveRows final : public faiss::IDSelector {
 public:
  explicit LiveRows(const std::vector<uint8_t>& dead) : dead_(dead) {}
  bool is_member(idx_t id) const override { return dead_[static_cast<size_t>(id)] == 0; }

 private:
  const std::vector<uint8_t>& dead_;
};

// Sets the calling thread's OpenMP team size for a Faiss call and restores it afterwards (the
// setting is per thread, so other callers are unaffected). 0 keeps the current setting.
class OmpThreads {
 public:
  explicit OmpThreads(int threads) : saved_(omp_get_max_threads()) {
    if (threads > 0) omp_set_num_threads(threads);
  }
  ~OmpThreads() { omp_set_num_threads(saved_); }
  OmpThreads(const OmpThreads&) = delete;
  OmpThreads& operator=(const OmpThreads&) = delete;

 private:
  int saved_;
};

faiss::VisitedTable& ThreadVisitedTable(size_t rows) {
  // One per searching thread, reused: a fresh table is a zeroed byte per row (1 MB at a million).
  // Growing keeps it valid: new entries are 0, never equal to the current visit number.
  thread_local faiss::VisitedTable table(0);
  if (table.visited.size() < rows) table.visited.resize(rows, 0);
  return table;
}

double SecondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Table: one built index. Row i of `store` is slot i; `users[i]` is whose it is.

struct SpeakerIndex::Table {
  size_t dim = 0;                                  // 0: empty, nothing built yet
  std::unique_ptr<faiss::IndexHNSW> hnsw;          // HNSW mode; owns `store`
  std::unique_ptr<VectorStore> flat;               // exact mode; owns `store`
  VectorStore* store = nullptr;                    // the vectors, in either mode
  std::vector<std::string> users;                  // slot -> user id
  std::vector<uint8_t> dead;                       // slot -> tombstone (HNSW mode only)
  std::unordered_map<std::string, FaissId> slots;  // live user -> slot
  size_t tombstones = 0;

  static std::unique_ptr<Table> Make(size_t dim, bool use_hnsw, const SpeakerIndexConfig& config,
                                     size_t expected_rows) {
    auto t = std::make_unique<Table>();
    t->dim = dim;
    auto store = std::make_unique<VectorStore>(dim);
    // Room for the rows plus the tombstones a graph collects before its rebuild, so updates do
    // not copy the whole matrix while holding the writer lock.
    const auto headroom =
        static_cast<size_t>(static_cast<double>(expected_rows) * config.max_tombstone_fraction);
    store->codes.reserve((expected_rows + headroom) * dim * sizeof(float));
    t->store = store.get();
    if (use_hnsw) {
      t->hnsw = std::make_unique<faiss::IndexHNSW>(store.release(), config.hnsw_m);
      t->hnsw->own_fields = true;
      t->hnsw->hnsw.efConstruction = config.hnsw_ef_construction;
      t->hnsw->hnsw.efSearch = config.hnsw_ef_search;
    } else {
      t->flat = std::move(store);
    }
    t->users.reserve(expected_rows);
    t->dead.reserve(expected_rows);
    t->slots.reserve(expected_rows);
    return t;
  }

  size_t live() const { return slots.size(); }
  size_t rows() const { return users.size(); }
  const float* Row(FaissId slot) const { return store->get_xb() + static_cast<size_t>(slot) * dim; }

  /// Appends n rows (normalised, n * dim floats) for users not in the table.
  Status Add(size_t n, const float* x, const std::string* ids, int threads) {
    if (n == 0) return Status::Ok();
    Status status = Status::Ok();
    try {
      OmpThreads omp(threads);
      if (hnsw) {
        hnsw->add(static_cast<FaissId>(n), x);
      } else {
        store->add(static_cast<FaissId>(n), x);
      }
    } catch (const std::exception& e) {
      status = InternalError(std::string("faiss add: ") + e.what());
    }
    // Rows the store took count as added, graph links or not: on a failure they become
    // tombstones, so slots and store rows stay in step.
    const size_t stored = static_cast<size_t>(store->ntotal);
    for (size_t i = 0; rows() < stored; ++i) {
      const FaissId slot = static_cast<FaissId>(rows());
      users.push_back(ids[i]);
      dead.push_back(0);
      if (status.ok()) {
        slots[ids[i]] = slot;
      } else {
        dead.back() = 1;
        ++tombstones;
      }
    }
    return status;
  }

  /// HNSW mode: the row stays in the graph, out of every result. The user stays mapped if the
  /// map already points at a newer row.
  void Kill(FaissId slot) {
    dead[static_cast<size_t>(slot)] = 1;
    ++tombstones;
    auto it = slots.find(users[static_cast<size_t>(slot)]);
    if (it != slots.end() && it->second == slot) slots.erase(it);
  }

  /// Exact mode: moves the last row into the hole. Returns the moved user, if any.
  const std::string* SwapRemove(FaissId slot) {
    const size_t row = static_cast<size_t>(slot);
    const size_t last = rows() - 1;
    slots.erase(users[row]);
    const std::string* moved = nullptr;
    float* xb = store->get_xb();
    if (row != last) {
      std::memcpy(xb + row * dim, xb + last * dim, dim * sizeof(float));
      users[row] = std::move(users[last]);
      slots[users[row]] = slot;
      moved = &users[row];
    }
    users.pop_back();
    dead.pop_back();
    store->codes.resize(users.size() * dim * sizeof(float));
    store->ntotal = static_cast<FaissId>(users.size());
    return moved;
  }

  size_t MemoryBytes() const {
    size_t bytes = store ? store->codes.capacity() : 0;
    if (hnsw) {
      const auto& g = hnsw->hnsw;
      bytes += g.neighbors.capacity() * sizeof(g.neighbors[0]) +
               g.levels.capacity() * sizeof(g.levels[0]) +
               g.offsets.capacity() * sizeof(g.offsets[0]);
    }
    bytes += users.capacity() * sizeof(std::string) + dead.capacity();
    for (const auto& u : users) {
      if (u.capacity() > 15) bytes += u.capacity() + 1;  // past the small-string buffer
    }
    // Map nodes: key, value and next pointer plus the cached hash; then the buckets.
    bytes += slots.size() * (sizeof(std::string) + sizeof(FaissId) + 2 * sizeof(void*)) +
             slots.bucket_count() * sizeof(void*);
    return bytes;
  }
};

// ---------------------------------------------------------------------------------------------
// SpeakerIndex

namespace {

SpeakerIndexConfig ValidOrDefault(const SpeakerIndexConfig& config) {
  Status status = config.Validate();
  if (status.ok()) return config;
  spdlog::error("speaker index: {}; using the defaults", status.ToString());
  return SpeakerIndexConfig();
}

}  // namespace

SpeakerIndex::SpeakerIndex() : SpeakerIndex(SpeakerIndexConfig()) {}

SpeakerIndex::SpeakerIndex(SpeakerIndexConfig config)
    : config_(ValidOrDefault(config)),
      table_(std::make_unique<Table>()),
      ef_search_(config_.hnsw_ef_search) {}

SpeakerIndex::~SpeakerIndex() {
  {
    std::unique_lock lock(mu_);
    stopping_ = true;
  }
  stop_ = true;
  // No one schedules once stopping_ is set, so worker_ is ours to join.
  if (worker_.joinable()) worker_.join();
}

void SpeakerIndex::InstallLocked(std::unique_ptr<Table> fresh, std::unique_ptr<Table>* old) {
  if (fresh->hnsw) fresh->hnsw->hnsw.efSearch = ef_search_;
  *old = std::move(table_);
  table_ = std::move(fresh);
}

Status SpeakerIndex::SetEfSearch(int ef_search) {
  if (ef_search < 1 || ef_search > 8192) {
    return InvalidArgumentError(fmt::format("ef_search must be in [1, 8192], got {}", ef_search));
  }
  std::unique_lock lock(mu_);
  ef_search_ = ef_search;
  // Faiss 1.7.3's HNSW::search reads the graph's own efSearch (SearchParametersHNSW::efSearch is
  // ignored), so it is set on the graph, under the writer lock.
  if (table_->hnsw) table_->hnsw->hnsw.efSearch = ef_search;
  return Status::Ok();
}

void SpeakerIndex::TouchLocked(const std::string& user_id) {
  if (tracking_) touched_.insert(user_id);
}

bool SpeakerIndex::RebuildDueLocked() const {
  const Table& t = *table_;
  const auto min = static_cast<size_t>(config_.hnsw_min_vectors);
  if (!t.hnsw) return t.live() >= min;
  return t.live() * 2 < min || static_cast<double>(t.tombstones) >
                                   config_.max_tombstone_fraction * static_cast<double>(t.rows());
}

bool SpeakerIndex::AfterUpdateLocked() {
  if (!RebuildDueLocked()) return false;
  if (config_.background_rebuild) {
    ScheduleRebuildLocked();
    return false;
  }
  return true;
}

void SpeakerIndex::ScheduleRebuildLocked() {
  if (rebuild_pending_ || stopping_) return;
  rebuild_pending_ = true;
  // A previous worker cleared rebuild_pending_ as its last use of mu_, so it is exiting.
  if (worker_.joinable()) worker_.join();
  try {
    worker_ = std::thread([this] { BackgroundRebuild(); });
  } catch (const std::exception& e) {
    rebuild_pending_ = false;
    spdlog::error("speaker index: cannot start a rebuild thread: {}", e.what());
  }
}

void SpeakerIndex::BackgroundRebuild() {
  Status status = RebuildNow();
  if (!status.ok()) spdlog::error("speaker index: rebuild failed: {}", status.ToString());
  {
    std::unique_lock lock(mu_);
    rebuild_pending_ = false;
  }
  idle_cv_.notify_all();
}

void SpeakerIndex::WaitForRebuild() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [this] { return !rebuild_pending_; });
}

Status SpeakerIndex::Upsert(const std::string& user_id, std::vector<float> voiceprint) {
  if (voiceprint.empty()) return InvalidArgumentError("empty voiceprint");
  L2Normalize(voiceprint);
  bool rebuild_here = false;
  std::unique_ptr<Table> old;  // freed after the lock is released
  {
    std::unique_lock lock(mu_);
    if (table_->live() == 0 && table_->dim != voiceprint.size()) {
      // The first vector of an empty index fixes the dimension.
      InstallLocked(Table::Make(voiceprint.size(), false, config_, 0), &old);
      ++epoch_;
    }
    Table& t = *table_;
    if (voiceprint.size() != t.dim) {
      return InvalidArgumentError(
          fmt::format("voiceprint of size {} in an index of size {}", voiceprint.size(), t.dim));
    }
    auto it = t.slots.find(user_id);
    if (it != t.slots.end() && !t.hnsw) {
      std::copy(voiceprint.begin(), voiceprint.end(), t.store->get_xb() + it->second * t.dim);
    } else {
      // A graph node cannot move: add the new one, then retire the old.
      const FaissId previous = it == t.slots.end() ? -1 : it->second;
      VOXGATE_RETURN_IF_ERROR(t.Add(1, voiceprint.data(), &user_id, 1));
      if (previous >= 0) t.Kill(previous);
    }
    TouchLocked(user_id);
    rebuild_here = AfterUpdateLocked();
  }
  if (rebuild_here) {
    Status status = RebuildNow();
    if (!status.ok()) spdlog::error("speaker index: rebuild failed: {}", status.ToString());
  }
  return Status::Ok();
}

bool SpeakerIndex::Remove(const std::string& user_id) {
  bool rebuild_here = false;
  {
    std::unique_lock lock(mu_);
    Table& t = *table_;
    auto it = t.slots.find(user_id);
    if (it == t.slots.end()) return false;
    if (t.hnsw) {
      t.Kill(it->second);
    } else if (const std::string* moved = t.SwapRemove(it->second)) {
      TouchLocked(*moved);  // its row changed under a running build's snapshot
    }
    TouchLocked(user_id);
    rebuild_here = AfterUpdateLocked();
  }
  if (rebuild_here) {
    Status status = RebuildNow();
    if (!status.ok()) spdlog::error("speaker index: rebuild failed: {}", status.ToString());
  }
  return true;
}

void SpeakerIndex::Clear() {
  std::unique_ptr<Table> old;
  std::unique_lock lock(mu_);
  old = std::move(table_);
  table_ = std::make_unique<Table>();
  ++epoch_;  // a running build is for the old content
  lock.unlock();
}

Status SpeakerIndex::Assign(std::vector<SpeakerVoiceprint> voiceprints) {
  // Later duplicates win, as repeated Upserts would.
  std::unordered_map<std::string, size_t> position;
  position.reserve(voiceprints.size());
  std::vector<size_t> order;
  order.reserve(voiceprints.size());
  const size_t dim = voiceprints.empty() ? 0 : voiceprints.front().voiceprint.size();
  for (size_t i = 0; i < voiceprints.size(); ++i) {
    auto& v = voiceprints[i].voiceprint;
    if (v.empty()) {
      return InvalidArgumentError(
          fmt::format("empty voiceprint for user '{}'", voiceprints[i].user_id));
    }
    if (v.size() != dim) {
      return InvalidArgumentError(
          fmt::format("voiceprint of size {} for user '{}' among voiceprints of size {}", v.size(),
                      voiceprints[i].user_id, dim));
    }
    auto [it, inserted] = position.emplace(voiceprints[i].user_id, order.size());
    if (inserted) {
      order.push_back(i);
    } else {
      order[it->second] = i;
    }
  }
  {
    std::unique_lock lock(mu_);
    ++epoch_;  // a running rebuild of the old content stops at its next batch
  }

  const auto t0 = std::chrono::steady_clock::now();
  const bool use_hnsw = order.size() >= static_cast<size_t>(config_.hnsw_min_vectors);
  std::unique_ptr<Table> fresh =
      dim == 0 ? std::make_unique<Table>() : Table::Make(dim, use_hnsw, config_, order.size());
  std::vector<float> batch;
  std::vector<std::string> ids;
  const size_t batch_size = use_hnsw ? kBuildBatch : order.size();
  for (size_t begin = 0; begin < order.size(); begin += batch_size) {
    if (stop_) return UnavailableError("speaker index is shutting down");
    const size_t end = std::min(order.size(), begin + batch_size);
    batch.resize((end - begin) * dim);
    ids.clear();
    for (size_t j = begin; j < end; ++j) {
      SpeakerVoiceprint& entry = voiceprints[order[j]];
      L2Normalize(entry.voiceprint);
      std::copy(entry.voiceprint.begin(), entry.voiceprint.end(),
                batch.begin() + (j - begin) * dim);
      std::vector<float>().swap(entry.voiceprint);  // keep the peak near one copy
      ids.push_back(std::move(entry.user_id));
    }
    VOXGATE_RETURN_IF_ERROR(fresh->Add(end - begin, batch.data(), ids.data(), config_.build_threads)
                                .WithContext("building the speaker index"));
  }
  if (use_hnsw) {
    spdlog::info("speaker index: HNSW graph of {} voiceprints built in {:.1f} s", order.size(),
                 SecondsSince(t0));
  }

  std::unique_ptr<Table> old;
  std::unique_lock lock(mu_);
  InstallLocked(std::move(fresh), &old);
  ++epoch_;
  ++rebuilds_;
  lock.unlock();
  return Status::Ok();
}

Status SpeakerIndex::Rebuild() { return RebuildNow(); }

Status SpeakerIndex::RebuildNow() {
  std::lock_guard build_lock(build_mu_);
  const auto t0 = std::chrono::steady_clock::now();
  const auto min = static_cast<size_t>(config_.hnsw_min_vectors);
  uint64_t epoch = 0;
  size_t dim = 0;
  size_t end_slot = 0;
  size_t expected = 0;
  {
    std::unique_lock lock(mu_);
    const Table& t = *table_;
    const bool want_hnsw = t.live() >= min || (t.hnsw && t.live() * 2 >= min);
    if (!want_hnsw) {
      if (!t.hnsw) return Status::Ok();  // an exact table has no tombstones
      // At most hnsw_min_vectors / 2 rows: copying them under the lock is cheaper than a
      // snapshot-and-replay.
      std::vector<float> rows;
      std::vector<std::string> ids;
      rows.reserve(t.live() * t.dim);
      ids.reserve(t.live());
      for (size_t slot = 0; slot < t.rows(); ++slot) {
        if (t.dead[slot]) continue;
        const float* row = t.Row(static_cast<FaissId>(slot));
        rows.insert(rows.end(), row, row + t.dim);
        ids.push_back(t.users[slot]);
      }
      auto fresh = Table::Make(t.dim, false, config_, ids.size());
      VOXGATE_RETURN_IF_ERROR(fresh->Add(ids.size(), rows.data(), ids.data(), 1));
      std::unique_ptr<Table> old;
      InstallLocked(std::move(fresh), &old);
      ++epoch_;  // the graph is gone: no build of it is current any more
      ++rebuilds_;
      lock.unlock();
      return Status::Ok();
    }
    epoch = epoch_;
    dim = t.dim;
    end_slot = t.rows();
    expected = t.live();
    tracking_ = true;
    touched_.clear();
  }

  // Build the graph from the live rows, a batch at a time. Only a shared lock is held while a
  // batch is copied; users updated since tracking began are skipped and replayed at the end.
  auto fresh = Table::Make(dim, true, config_, expected);
  Status status = Status::Ok();
  bool current = true;
  std::vector<float> batch;
  std::vector<std::string> ids;
  for (size_t begin = 0; begin < end_slot && status.ok(); begin += kBuildBatch) {
    batch.clear();
    ids.clear();
    {
      std::shared_lock lock(mu_);
      if (epoch_ != epoch || stop_) {
        current = false;
        break;
      }
      const Table& t = *table_;
      const size_t end = std::min({end_slot, begin + kBuildBatch, t.rows()});
      for (size_t slot = begin; slot < end; ++slot) {
        if (t.dead[slot] || touched_.count(t.users[slot]) != 0) continue;
        const float* row = t.Row(static_cast<FaissId>(slot));
        batch.insert(batch.end(), row, row + dim);
        ids.push_back(t.users[slot]);
      }
    }
    status = fresh->Add(ids.size(), batch.data(), ids.data(), config_.build_threads);
  }

  std::unique_ptr<Table> old;
  std::unique_lock lock(mu_);
  tracking_ = false;
  if (!status.ok() || !current || epoch_ != epoch) {
    touched_.clear();
    return status;
  }
  // Replay what changed during the build: drop the user's row from the new graph if it has one,
  // then add the user's current vector if the user is still enrolled.
  const Table& t = *table_;
  batch.clear();
  ids.clear();
  for (const std::string& user : touched_) {
    if (auto it = fresh->slots.find(user); it != fresh->slots.end()) fresh->Kill(it->second);
    if (auto it = t.slots.find(user); it != t.slots.end()) {
      const float* row = t.Row(it->second);
      batch.insert(batch.end(), row, row + dim);
      ids.push_back(user);
    }
  }
  touched_.clear();
  VOXGATE_RETURN_IF_ERROR(fresh->Add(ids.size(), batch.data(), ids.data(), 1));
  InstallLocked(std::move(fresh), &old);
  ++rebuilds_;
  const size_t live = table_->live();
  lock.unlock();
  spdlog::info("speaker index: HNSW graph of {} voiceprints rebuilt in {:.1f} s", live,
               SecondsSince(t0));
  return Status::Ok();
}

std::vector<SpeakerMatch> SpeakerIndex::Search(std::span<const float> query, size_t k) const {
  std::vector<float> q(query.begin(), query.end());
  L2Normalize(q);
  std::vector<SpeakerMatch> out;
  std::shared_lock lock(mu_);
  const Table& t = *table_;
  if (k == 0 || q.size() != t.dim || t.live() == 0) return out;
  k = std::min(k, t.live());
  std::vector<float> scores(k);
  std::vector<FaissId> slots(k, -1);
  try {
    size_t found = 0;
    LiveRows live_rows(t.dead);
    faiss::SearchParametersHNSW params;
    params.sel = t.tombstones > 0 ? &live_rows : nullptr;
    if (t.hnsw) {
      // HNSW::search directly rather than IndexHNSW::search: the latter opens an OpenMP team and
      // allocates a visited table per call even for one query. (Faiss 1.7.3 takes efSearch from
      // the graph, see SetEfSearch(); later versions from here.)
      params.efSearch = std::max(ef_search_, static_cast<int>(k));
      RowDistance distance(t.store->get_xb(), t.dim, -1.0f);
      distance.set_query(q.data());
      faiss::VisitedTable& visited = ThreadVisitedTable(t.rows());
      faiss::maxheap_heapify(k, scores.data(), slots.data());
      t.hnsw->hnsw.search(distance, static_cast<int>(k), slots.data(), scores.data(), visited,
                          &params);
      visited.advance();
      faiss::maxheap_reorder(k, scores.data(), slots.data());
      for (float& s : scores) s = -s;
      // Tombstones are filtered inside the search; fewer than k live hits (a graph region full
      // of them) falls back to an exact scan of the live rows.
      for (size_t i = 0; i < k && slots[i] >= 0 && !t.dead[static_cast<size_t>(slots[i])]; ++i) {
        ++found;
      }
    }
    if (found < k) {
      t.store->search(1, q.data(), static_cast<FaissId>(k), scores.data(), slots.data(),
                      params.sel ? &params : nullptr);
    }
  } catch (const std::exception& e) {
    spdlog::error("speaker index: faiss search: {}", e.what());
    return out;
  }
  out.reserve(k);
  for (size_t i = 0; i < k; ++i) {
    if (slots[i] < 0) break;
    out.push_back({t.users[static_cast<size_t>(slots[i])], scores[i]});
  }
  return out;
}

bool SpeakerIndex::ScoreOf(const std::string& user_id, std::span<const float> query,
                           float* score) const {
  std::shared_lock lock(mu_);
  const Table& t = *table_;
  auto it = t.slots.find(user_id);
  if (it == t.slots.end() || query.size() != t.dim) return false;
  *score = Score({t.Row(it->second), t.dim}, query);
  return true;
}

size_t SpeakerIndex::size() const {
  std::shared_lock lock(mu_);
  return table_->live();
}

size_t SpeakerIndex::dim() const {
  std::shared_lock lock(mu_);
  return table_->dim;
}

SpeakerIndexStats SpeakerIndex::Stats() const {
  std::shared_lock lock(mu_);
  const Table& t = *table_;
  SpeakerIndexStats s;
  s.size = t.live();
  s.dim = t.dim;
  s.hnsw = t.hnsw != nullptr;
  s.tombstones = t.tombstones;
  s.rebuilding = rebuild_pending_ || tracking_;
  s.rebuilds = rebuilds_;
  s.ef_search = ef_search_;
  s.memory_bytes = t.MemoryBytes();
  return s;
}

}  // namespace voxgate::voiceprint
