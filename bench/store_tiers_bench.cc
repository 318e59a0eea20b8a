// Voiceprint store tiers side by side, in one run on the same machine and records: SQLite (the
// embedded default, synchronous=FULL), PostgreSQL on loopback (fsync=on), Redis on loopback, and
// the tiered store (memory -> Redis -> PostgreSQL) with a warm cache. Single client thread;
// latency p50/p99 per call and calls per second for:
//   - Get: one user (3 samples, 192-dim, decrypted) out of --users, random order;
//   - CreateVoiceprint: a new user with 3 samples (one durable transaction);
//   - LoadActive: every active user (--users users, 3 samples each), as the 1:N index rebuild.
// Then the ratios of each tier to SQLite.
//
// The servers are started by the bench on loopback (tests/store/postgres_server.h,
// tests/common/redis_server.h) unless --postgres_url / --redis_url name running ones (the bench
// writes into them: use an empty database). Embeddings are synthetic; the stores do not look at
// their values.
//
// Usage: store_tiers_bench [--users=N] [--ops=N] [--load_ops=N] [--postgres_url=URL]
//                          [--redis_url=URL] [--no_redis]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "../tests/common/redis_server.h"
#include "../tests/store/postgres_server.h"
#include "store/store_config.h"
#include "store/voiceprint_store.h"

namespace voxgate {
namespace {

using Clock = std::chrono::steady_clock;
using store::StoreConfig;
using store::VoiceprintRecord;
using store::VoiceprintStore;

struct Options {
  int users = 1000;
  int ops = 2000;
  int load_ops = 20;
  std::string postgres_url;
  std::string redis_url;
  bool redis = true;
};

struct Figures {
  double p50_ms = 0, p99_ms = 0, ops_s = 0;
};

struct Row {
  std::string tier;
  Figures get, create, load;
};

Figures Summarise(std::vector<double> ms, double total_s) {
  Figures f;
  if (ms.empty()) return f;
  std::sort(ms.begin(), ms.end());
  f.p50_ms = ms[ms.size() / 2];
  f.p99_ms = ms[std::min(ms.size() - 1, ms.size() * 99 / 100)];
  f.ops_s = static_cast<double>(ms.size()) / total_s;
  return f;
}

VoiceprintRecord MakeRecord(const std::string& id, std::mt19937& rng) {
  std::normal_distribution<float> n;
  VoiceprintRecord r;
  r.user_id = id;
  r.name = "User " + id;
  r.model_id = "campplus-v1";
  for (int s = 0; s < 3; ++s) {
    store::VoiceprintSample sample;
    sample.embedding.resize(192);
    for (float& x : sample.embedding) x = n(rng);
    sample.speech_s = 3.0;
    r.samples.push_back(std::move(sample));
  }
  return r;
}

// Runs `op` n times; stops at the first failure (printed) so a broken tier is not timed.
template <typename Op>
bool Time(int n, Op op, Figures* out) {
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(n));
  const auto begin = Clock::now();
  for (int i = 0; i < n; ++i) {
    const auto t0 = Clock::now();
    Status st = op(i);
    if (!st.ok()) {
      std::fprintf(stderr, "  failed: %s\n", st.ToString().c_str());
      return false;
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  *out = Summarise(std::move(ms), std::chrono::duration<double>(Clock::now() - begin).count());
  return true;
}

bool Measure(const std::string& tier, VoiceprintStore& db, const Options& o, Row* row) {
  row->tier = tier;
  std::mt19937 rng(42);
  std::fprintf(stderr, "%s: enrolling %d users...\n", tier.c_str(), o.users);
  for (int i = 0; i < o.users; ++i) {
    auto created = db.CreateVoiceprint(MakeRecord("user-" + std::to_string(i), rng));
    if (!created.ok()) {
      std::fprintf(stderr, "  enroll failed: %s\n", created.status().ToString().c_str());
      return false;
    }
  }
  std::vector<int> order(static_cast<size_t>(o.ops));
  std::uniform_int_distribution<int> pick(0, o.users - 1);
  for (int& x : order) x = pick(rng);
  // Warm-up (and, for the tiered store, the cache fill): every user read once.
  for (int i = 0; i < o.users; ++i) (void)db.Get("user-" + std::to_string(i));
  bool ok = Time(
      o.ops,
      [&](int i) {
        return db.Get("user-" + std::to_string(order[static_cast<size_t>(i)])).status();
      },
      &row->get);
  ok = ok && Time(
                 o.ops,
                 [&](int i) {
                   return db.CreateVoiceprint(MakeRecord("new-" + std::to_string(i), rng)).status();
                 },
                 &row->create);
  ok = ok && Time(
                 o.load_ops, [&](int) { return db.LoadActive().status(); }, &row->load);
  return ok;
}

StoreConfig BaseConfig(const std::string& dir) {
  StoreConfig c;
  c.data_dir = dir + "/data";
  c.encryption.profile = "dev";
  c.encryption.key_env = "VOXGATE_BENCH_NO_SUCH_KEY";
  c.encryption.key_file = dir + "/bench.key";
  c.postgres.url_env = "VOXGATE_BENCH_NO_SUCH_URL";
  c.redis.url_env = "VOXGATE_BENCH_NO_SUCH_URL";
  return c;
}

int Main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&](const char* name) -> const char* {
      const size_t n = std::strlen(name);
      return a.compare(0, n, name) == 0 ? a.c_str() + n : nullptr;
    };
    if (const char* v = value("--users=")) {
      o.users = std::max(1, std::atoi(v));
    } else if (const char* v2 = value("--ops=")) {
      o.ops = std::max(1, std::atoi(v2));
    } else if (const char* v3 = value("--load_ops=")) {
      o.load_ops = std::max(1, std::atoi(v3));
    } else if (const char* v4 = value("--postgres_url=")) {
      o.postgres_url = v4;
    } else if (const char* v5 = value("--redis_url=")) {
      o.redis_url = v5;
    } else if (a == "--no_redis") {
      o.redis = false;
    } else {
      std::fprintf(stderr, "unknown argument %s (see the header of store_tiers_bench.cc)\n",
                   a.c_str());
      return 2;
    }
  }
  char tmpl[] = "/tmp/voxgate-store-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return 1;
  const std::string dir = tmpl;

  std::unique_ptr<store::testing::PostgresServer> pg;
  std::string pg_url = o.postgres_url;
  if (pg_url.empty()) {
    pg = std::make_unique<store::testing::PostgresServer>();
    if (!pg->ok()) {
      std::fprintf(stderr, "cannot start PostgreSQL: %s\n", pg->error().c_str());
      return 1;
    }
    std::string out;
    pg->Psql("CREATE DATABASE tiered", &out, "postgres");
    pg_url = pg->url();
  }
  std::unique_ptr<testing::RedisServer> redis;
  std::string redis_url = o.redis_url;
  if (o.redis && redis_url.empty()) {
    redis = std::make_unique<testing::RedisServer>();
    Status st = redis->Start();
    if (!st.ok()) {
      std::fprintf(stderr, "no Redis (%s): Redis and tiered rows left out\n",
                   st.ToString().c_str());
      o.redis = false;
    } else {
      redis_url = redis->url();
    }
  }

  std::vector<Row> rows;
  auto run = [&](const std::string& tier, StoreConfig c) {
    auto db = VoiceprintStore::Create(c);
    if (!db.ok()) {
      std::fprintf(stderr, "%s: %s\n", tier.c_str(), db.status().ToString().c_str());
      return;
    }
    Row row;
    if (Measure(tier, **db, o, &row)) rows.push_back(row);
  };
  {
    StoreConfig c = BaseConfig(dir);
    c.backend = "sqlite";
    run("sqlite", c);
  }
  {
    StoreConfig c = BaseConfig(dir);
    c.backend = "postgres";
    c.postgres.url = pg_url;
    run("postgres", c);
  }
  if (o.redis) {
    StoreConfig c = BaseConfig(dir);
    c.backend = "redis";
    c.redis.url = redis_url;
    c.redis.key_prefix = "bench-redis:";
    run("redis", c);
    c.backend = "tiered";
    c.redis.key_prefix = "bench-tiered:";
    c.tiered.durable = "postgres";
    // A database of its own, so the tier's users do not collide with the postgres row's.
    c.postgres.url = pg ? pg->url("tiered") : pg_url;
    c.tiered.memory_capacity = o.users + o.ops + 16;
    run("tiered", c);
  }

  std::printf("\nstore tiers: %d users x 3 samples (192-dim), %d Get/Create ops, %d LoadActive\n",
              o.users, o.ops, o.load_ops);
  std::printf("%-9s | %-28s | %-28s | %-30s\n", "tier", "Get p50/p99 ms, ops/s",
              "Create p50/p99 ms, ops/s", "LoadActive p50/p99 ms, ops/s");
  for (const Row& r : rows) {
    std::printf("%-9s | %7.3f %8.3f %10.0f | %7.3f %8.3f %10.0f | %8.2f %8.2f %10.1f\n",
                r.tier.c_str(), r.get.p50_ms, r.get.p99_ms, r.get.ops_s, r.create.p50_ms,
                r.create.p99_ms, r.create.ops_s, r.load.p50_ms, r.load.p99_ms, r.load.ops_s);
  }
  if (!rows.empty() && rows[0].tier == "sqlite") {
    const Row& base = rows[0];
    std::printf("\np50 latency relative to sqlite (x):\n");
    for (const Row& r : rows) {
      std::printf("%-9s | Get %6.2f | Create %6.2f | LoadActive %6.2f\n", r.tier.c_str(),
                  r.get.p50_ms / base.get.p50_ms, r.create.p50_ms / base.create.p50_ms,
                  r.load.p50_ms / base.load.p50_ms);
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return rows.empty() ? 1 : 0;
}

}  // namespace
}  // namespace voxgate

int main(int argc, char** argv) { return voxgate::Main(argc, argv); }
