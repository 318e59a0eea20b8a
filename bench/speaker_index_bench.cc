// 1:N identification through voiceprint::SpeakerIndex at N enrolled voiceprints: HNSW against exact
// search (Faiss IndexFlatIP, the same class forced to exact) as the peer in the same run, on the
// same vectors and queries. Searches are single-threaded by construction and OpenMP is pinned to 1;
// graph builds use --build_threads (default 1).
//
// Vectors are synthetic 192-dim voiceprints shaped like real ones (tests/voiceprint/
// speaker_index_test.cc says how): per-coordinate standard deviation exp(-j / 64), L2-normalised;
// impostor cosines then spread like the starter model's (standard deviation 0.124).
// Three query kinds, a third of the queries each:
//   - new voices: nobody enrolled;
//   - takes at 0.6: another take of an enrolled speaker, cosine 0.6 to its voiceprint on average
//     (the starter model's same-speaker level). At a million enrolled, the best impostor scores
//     about as high, so exact search itself often names someone else: recall is also given for the
//     queries where exact search names the speaker;
//   - takes at 0.8: the same at cosine 0.8 (a stronger model's same-speaker level).
// recall@1 is the share of queries whose HNSW top-1 is the exact top-1 (or scores the same).
//
// Prints two tables: per size and method, build time, memory (the index's own estimate and the
// process RSS growth) and update latency; per size and ef_search, search latency p50/p99/mean for
// top-5 over all queries, and recall@1 per query kind.
//
// Usage: speaker_index_bench [--queries=N] [--m=M] [--ef_construction=N] [--ef_search=N[,N...]]
//                            [--build_threads=N] [SIZE...]      (sizes default: 10000 100000
//                            1000000)
// Each --ef_search value is measured on the same graph (SpeakerIndex::SetEfSearch).
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "voiceprint/scoring.h"
#include "voiceprint/speaker_index.h"

namespace voxgate {
namespace {

using Clock = std::chrono::steady_clock;
using voiceprint::SpeakerIndex;
using voiceprint::SpeakerIndexConfig;
using voiceprint::SpeakerVoiceprint;

constexpr size_t kDim = 192;
constexpr size_t kTopK = 5;  // the service's default identify top_k

std::vector<float> Synthetic(std::mt19937& rng) {
  std::normal_distribution<float> n;
  std::vector<float> v(kDim);
  for (size_t j = 0; j < kDim; ++j) v[j] = n(rng) * std::exp(-static_cast<float>(j) / 64.0f);
  voiceprint::L2Normalize(v);
  return v;
}

std::vector<float> NoisyCopy(std::mt19937& rng, const std::vector<float>& v, double cosine) {
  const float sigma = static_cast<float>(std::sqrt(1.0 / (cosine * cosine) - 1.0));
  std::vector<float> noise = Synthetic(rng);
  std::vector<float> q(kDim);
  for (size_t j = 0; j < kDim; ++j) q[j] = v[j] + sigma * noise[j];
  voiceprint::L2Normalize(q);
  return q;
}

double RssMb() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / 1e6;
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

struct Latency {
  double p50 = 0, p99 = 0, mean = 0;
};

Latency Summarise(std::vector<double> ms) {
  Latency l;
  if (ms.empty()) return l;
  std::sort(ms.begin(), ms.end());
  l.p50 = ms[ms.size() / 2];
  l.p99 = ms[std::min(ms.size() - 1, static_cast<size_t>(std::ceil(0.99 * ms.size())) - 1)];
  for (double x : ms) l.mean += x;
  l.mean /= static_cast<double>(ms.size());
  return l;
}

struct Run {
  double build_s = 0;
  double index_mb = 0;
  double rss_mb = 0;
  Latency search;
  std::vector<std::string> top1;
  std::vector<float> top1_score;
};

Status Build(SpeakerIndex& index, std::vector<SpeakerVoiceprint> load, Run* run) {
  const double rss0 = RssMb();
  const auto t0 = Clock::now();
  VOXGATE_RETURN_IF_ERROR(index.Assign(std::move(load)));
  run->build_s = Ms(Clock::now() - t0) / 1000.0;
  run->rss_mb = RssMb() - rss0;
  run->index_mb = static_cast<double>(index.Stats().memory_bytes) / 1e6;
  return Status::Ok();
}

void Query(const SpeakerIndex& index, const std::vector<std::vector<float>>& queries, Run* run) {
  std::vector<double> ms;
  ms.reserve(queries.size());
  run->top1.clear();
  run->top1_score.clear();
  for (const auto& q : queries) {
    const auto s = Clock::now();
    auto top = index.Search(q, kTopK);
    ms.push_back(Ms(Clock::now() - s));
    run->top1.push_back(top.empty() ? "" : top[0].user_id);
    run->top1_score.push_back(top.empty() ? -2.0f : top[0].score);
  }
  run->search = Summarise(std::move(ms));
}

int Main(int argc, char** argv) {
  size_t num_queries = 1500;
  int build_threads = 1;
  SpeakerIndexConfig hnsw_config;
  std::vector<size_t> sizes;
  std::vector<int> ef_sweep = {hnsw_config.hnsw_ef_search};
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* flag) -> const char* {
      const size_t n = std::strlen(flag);
      return arg.compare(0, n, flag) == 0 ? arg.c_str() + n : nullptr;
    };
    if (const char* v = value("--queries=")) {
      num_queries = std::stoul(v);
    } else if (const char* v = value("--m=")) {
      hnsw_config.hnsw_m = std::stoi(v);
    } else if (const char* v = value("--ef_construction=")) {
      hnsw_config.hnsw_ef_construction = std::stoi(v);
    } else if (const char* v = value("--ef_search=")) {
      ef_sweep.clear();
      for (std::string rest = v; !rest.empty();) {
        const size_t comma = rest.find(',');
        ef_sweep.push_back(std::stoi(rest.substr(0, comma)));
        rest = comma == std::string::npos ? "" : rest.substr(comma + 1);
      }
    } else if (const char* v = value("--build_threads=")) {
      build_threads = std::stoi(v);
    } else if (!arg.empty() && std::isdigit(static_cast<unsigned char>(arg[0]))) {
      sizes.push_back(std::stoul(arg));
    } else {
      std::cerr << "usage: speaker_index_bench [--queries=N] [--m=M] [--ef_construction=N] "
                   "[--ef_search=N[,N...]] [--build_threads=N] [SIZE...]\n";
      return 2;
    }
  }
  if (sizes.empty()) sizes = {10000, 100000, 1000000};
  omp_set_num_threads(1);
  hnsw_config.build_threads = build_threads;
  hnsw_config.hnsw_min_vectors = 1;  // HNSW at every size: this is the HNSW measurement
  hnsw_config.background_rebuild = false;
  if (Status s = hnsw_config.Validate(); !s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 2;
  }
  SpeakerIndexConfig exact_config;
  exact_config.hnsw_min_vectors = int64_t{1} << 40;  // never HNSW: IndexFlatIP
  exact_config.build_threads = build_threads;

  std::cout << "# " << hnsw_config.ToString() << "\n"
            << "# dim " << kDim << ", top-" << kTopK << ", " << num_queries
            << " queries, build threads " << build_threads << ", search threads 1\n";
  std::vector<std::string> build_rows, search_rows;
  char line[512];

  for (const size_t n : sizes) {
    std::mt19937 rng(static_cast<unsigned>(n));
    std::vector<SpeakerVoiceprint> load(n);
    for (size_t i = 0; i < n; ++i) load[i] = {"user-" + std::to_string(i), Synthetic(rng)};
    // Query i: kind i % 3 (0 new voice, 1 take at 0.6, 2 take at 0.8); source[i] its speaker.
    std::vector<std::vector<float>> queries;
    std::vector<std::string> source;
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    for (size_t i = 0; i < num_queries; ++i) {
      if (i % 3 == 0) {
        queries.push_back(Synthetic(rng));
        source.emplace_back();
      } else {
        const size_t s = pick(rng);
        queries.push_back(NoisyCopy(rng, load[s].voiceprint, i % 3 == 1 ? 0.6 : 0.8));
        source.push_back(load[s].user_id);
      }
    }

    Run exact_run;
    {
      SpeakerIndex exact(exact_config);
      if (Status s = Build(exact, load, &exact_run); !s.ok()) {
        std::cerr << "speaker_index_bench: " << s.ToString() << "\n";
        return 1;
      }
      Query(exact, queries, &exact_run);
    }
    // How often exact search names the speaker of a take.
    int named[3] = {0, 0, 0}, takes[3] = {0, 0, 0};
    for (size_t i = 0; i < queries.size(); ++i) {
      if (i % 3 == 0) continue;
      ++takes[i % 3];
      if (exact_run.top1[i] == source[i]) ++named[i % 3];
    }
    std::snprintf(line, sizeof(line),
                  "| %zu | exact (IndexFlatIP) | %.3f | %.3f | %.3f | 1x | reference; names the "
                  "speaker of %.3f | reference; names the speaker of %.3f | reference |",
                  n, exact_run.search.p50, exact_run.search.p99, exact_run.search.mean,
                  static_cast<double>(named[1]) / std::max(1, takes[1]),
                  static_cast<double>(named[2]) / std::max(1, takes[2]));
    search_rows.push_back(line);

    SpeakerIndex hnsw(hnsw_config);
    Run hnsw_run;
    if (Status s = Build(hnsw, std::move(load), &hnsw_run); !s.ok()) {
      std::cerr << "speaker_index_bench: " << s.ToString() << "\n";
      return 1;
    }
    // Updates against the built graph: new users in, then out again.
    std::vector<double> upsert_ms, remove_ms;
    for (int i = 0; i < 100; ++i) {
      std::vector<float> v = Synthetic(rng);
      const std::string id = "new-" + std::to_string(i);
      auto s = Clock::now();
      (void)hnsw.Upsert(id, std::move(v));
      upsert_ms.push_back(Ms(Clock::now() - s));
      s = Clock::now();
      hnsw.Remove(id);
      remove_ms.push_back(Ms(Clock::now() - s));
    }
    const Latency up = Summarise(upsert_ms), rm = Summarise(remove_ms);
    std::snprintf(line, sizeof(line), "| %zu | exact (IndexFlatIP) | %.1f | %.0f | %.0f | | |", n,
                  exact_run.build_s, exact_run.index_mb, exact_run.rss_mb);
    build_rows.push_back(line);
    std::snprintf(line, sizeof(line), "| %zu | HNSW | %.1f | %.0f | %.0f | %.2f / %.2f | %.4f |", n,
                  hnsw_run.build_s, hnsw_run.index_mb, hnsw_run.rss_mb, up.p50, up.p99, rm.p50);
    build_rows.push_back(line);
    std::cout << search_rows.back() << "\n"
              << build_rows[build_rows.size() - 2] << "\n"
              << build_rows.back() << "\n";

    for (const int ef : ef_sweep) {
      if (Status s = hnsw.SetEfSearch(ef); !s.ok()) {
        std::cerr << s.ToString() << "\n";
        return 2;
      }
      Query(hnsw, queries, &hnsw_run);
      // Agreement with exact search per query kind; equal scores count (ties between users).
      // hits[3] / total[3]: takes at 0.6 where exact search names the speaker.
      int hits[4] = {0, 0, 0, 0}, total[4] = {0, 0, 0, 0};
      for (size_t i = 0; i < queries.size(); ++i) {
        const bool hit = hnsw_run.top1[i] == exact_run.top1[i] ||
                         hnsw_run.top1_score[i] >= exact_run.top1_score[i] - 1e-6f;
        const size_t kind = i % 3;
        ++total[kind];
        hits[kind] += hit;
        if (kind == 1 && exact_run.top1[i] == source[i]) {
          ++total[3];
          hits[3] += hit;
        }
      }
      auto recall = [&](int k) { return static_cast<double>(hits[k]) / std::max(1, total[k]); };
      std::snprintf(line, sizeof(line),
                    "| %zu | HNSW ef_search %d | %.3f | %.3f | %.3f | %.1fx | %.4f (%.4f) | %.4f "
                    "| %.4f |",
                    n, ef, hnsw_run.search.p50, hnsw_run.search.p99, hnsw_run.search.mean,
                    exact_run.search.p99 / std::max(1e-9, hnsw_run.search.p99), recall(1),
                    recall(3), recall(2), recall(0));
      search_rows.push_back(line);
      std::cout << line << "\n" << std::flush;
    }
  }

  std::cout << "\n| enrolled | index | build s | index MB | RSS growth MB | upsert p50 / p99 ms "
               "| remove p50 ms |\n|---|---|---|---|---|---|---|\n";
  for (const auto& row : build_rows) std::cout << row << "\n";
  std::cout << "\n| enrolled | search | p50 ms | p99 ms | mean ms | p99 speed-up "
               "| recall@1 takes at 0.6 (where exact names the speaker) | recall@1 takes at 0.8 "
               "| recall@1 new voices |\n|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& row : search_rows) std::cout << row << "\n";
  return 0;
}

}  // namespace
}  // namespace voxgate

int main(int argc, char** argv) { return voxgate::Main(argc, argv); }
