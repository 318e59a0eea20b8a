// 1:N identification through voiceprint::SpeakerIndex at N enrolled voiceprints: HNSW against exact
// search (Faiss IndexFlatIP, the same class forced to exact) as the peer in the same run, on the
// same vectors and queries. One thread throughout: OpenMP is pinned to 1 for the builds too unless
// --build_threads says otherwise, and searches are single-threaded by construction.
//
// Vectors are synthetic 192-dim voiceprints shaped like real ones (tests/voiceprint/
// speaker_index_test.cc says how): per-coordinate standard deviation exp(-j / 64), L2-normalised.
// Queries: half are other takes of enrolled speakers (cosine 0.6 to the enrolled voiceprint on
// average, what identification sees), half are voices of nobody enrolled. recall@1 is the share of
// queries whose HNSW top-1 is the exact top-1 (or scores the same).
//
// Prints, per size and method: build time, memory (the index's own estimate and the process RSS
// growth), search latency p50/p99/mean for top-5, recall@1 per query kind, and for HNSW the
// latency of updates (Upsert of a new user, Remove).
//
// Usage: speaker_index_bench [--queries=N] [--m=M] [--ef_construction=N] [--ef_search=N]
//                            [--build_threads=N] [SIZE...]      (sizes default: 10000 100000
//                            1000000)
// --ef_search takes a list (128,256,512): each is measured on the same graph (SetEfSearch).
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
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
  long pages = 0, resident = 0;
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

Run Build(SpeakerIndex& index, std::vector<SpeakerVoiceprint> load) {
  Run run;
  const double rss0 = RssMb();
  const auto t0 = Clock::now();
  Status status = index.Assign(std::move(load));
  run.build_s = Ms(Clock::now() - t0) / 1000.0;
  if (!status.ok()) {
    std::cerr << "speaker_index_bench: " << status.ToString() << "\n";
    std::exit(1);
  }
  run.rss_mb = RssMb() - rss0;
  run.index_mb = static_cast<double>(index.Stats().memory_bytes) / 1e6;
  return run;
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
  size_t num_queries = 1000;
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
            << " queries (half other takes of enrolled speakers at cosine 0.6, half new voices), "
            << "build threads " << build_threads << ", search threads 1\n";
  std::cout
      << "| enrolled | method | build s | index MB | RSS growth MB | p50 ms | p99 ms | mean ms "
         "| p99 speed-up | recall@1 enrolled | recall@1 new voices | upsert p50 / p99 ms "
         "| remove p50 ms |\n"
      << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";

  for (const size_t n : sizes) {
    std::mt19937 rng(static_cast<unsigned>(n));
    std::vector<SpeakerVoiceprint> load(n);
    for (size_t i = 0; i < n; ++i) load[i] = {"user-" + std::to_string(i), Synthetic(rng)};
    std::vector<std::vector<float>> queries;
    std::uniform_int_distribution<size_t> pick(0, n - 1);
    for (size_t i = 0; i < num_queries; ++i) {
      queries.push_back(i % 2 == 0 ? NoisyCopy(rng, load[pick(rng)].voiceprint, 0.6)
                                   : Synthetic(rng));
    }

    Run exact_run;
    {
      SpeakerIndex exact(exact_config);
      exact_run = Build(exact, load);
      Query(exact, queries, &exact_run);
    }
    SpeakerIndex hnsw(hnsw_config);
    Run hnsw_run = Build(hnsw, std::move(load));

    auto row = [&](const std::string& method, const Run& r) {
      std::printf("| %zu | %s | %.1f | %.0f | %.0f | %.3f | %.3f | %.3f | ", n, method.c_str(),
                  r.build_s, r.index_mb, r.rss_mb, r.search.p50, r.search.p99, r.search.mean);
    };
    row("exact (IndexFlatIP)", exact_run);
    std::printf("1x | 1 (reference) | 1 (reference) | | |\n");

    for (const int ef : ef_sweep) {
      if (Status s = hnsw.SetEfSearch(ef); !s.ok()) {
        std::cerr << s.ToString() << "\n";
        return 2;
      }
      Query(hnsw, queries, &hnsw_run);
      // Agreement with exact search; equal scores count (ties between users).
      int hits[2] = {0, 0}, total[2] = {0, 0};
      for (size_t i = 0; i < queries.size(); ++i) {
        const int kind = static_cast<int>(i % 2);
        ++total[kind];
        if (hnsw_run.top1[i] == exact_run.top1[i] ||
            hnsw_run.top1_score[i] >= exact_run.top1_score[i] - 1e-6f) {
          ++hits[kind];
        }
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
      row("HNSW ef_search " + std::to_string(ef), hnsw_run);
      std::printf("%.1fx | %.4f | %.4f | %.2f / %.2f | %.3f |\n",
                  exact_run.search.p99 / std::max(1e-9, hnsw_run.search.p99),
                  static_cast<double>(hits[0]) / total[0], static_cast<double>(hits[1]) / total[1],
                  up.p50, up.p99, rm.p50);
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace voxgate

int main(int argc, char** argv) { return voxgate::Main(argc, argv); }
