// Helpers shared by the store tests: a temporary directory, configs that never touch the real
// environment key, deterministic embeddings and raw file inspection.
#pragma once

#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "store/store_config.h"

namespace voxgate::store::testing {

/// A fresh directory under /tmp, removed with everything in it at destruction.
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/voxgate-store-test-XXXXXX";
    char* p = ::mkdtemp(tmpl);
    path_ = p ? p : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// A dev-profile config in `dir`: the key comes from (or is created in) dir/test.key; the key
/// environment variable is one no test sets, so the real VOXGATE_ENCRYPTION_KEY is never read.
inline StoreConfig TestConfig(const TempDir& dir) {
  StoreConfig c;
  c.data_dir = dir / "data";
  c.encryption.profile = "dev";
  c.encryption.key_env = "VOXGATE_STORE_TEST_NO_SUCH_KEY";
  c.encryption.key_file = dir / "test.key";
  c.sqlite.read_connections = 3;
  return c;
}

/// Distinctive values (no runs of zeros) so their bytes are easy to find in a file.
inline std::vector<float> MakeEmbedding(int seed, size_t dim = 192) {
  std::vector<float> v(dim);
  for (size_t i = 0; i < dim; ++i) {
    v[i] = 0.123456f + static_cast<float>(seed) * 1.618034f + static_cast<float>(i) * 0.0371f;
  }
  return v;
}

inline std::string ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// The database file and its WAL, concatenated: everything SQLite keeps on disk.
inline std::string ReadDbBytes(const std::string& db_path) {
  return ReadFileBytes(db_path) + ReadFileBytes(db_path + "-wal");
}

inline std::string FloatBytes(const std::vector<float>& v, size_t first, size_t count) {
  return std::string(reinterpret_cast<const char*>(v.data() + first), count * sizeof(float));
}

inline bool ContainsBytes(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

inline int FileMode(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return static_cast<int>(st.st_mode & 0777);
}

/// A raw SQLite connection for inspecting or tampering with the database behind the store.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_busy_timeout(db_, 5000);
  }
  ~RawDb() { sqlite3_close_v2(db_); }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;

  /// Runs SQL; returns "" on success or the SQLite error message.
  std::string Exec(const std::string& sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
    std::string msg = rc == SQLITE_OK ? "" : (err ? err : "error");
    sqlite3_free(err);
    return msg;
  }
  /// First column of every row, as text or blob bytes.
  std::vector<std::string> Column(const std::string& sql,
                                  const std::vector<std::string>& params = {}) {
    std::vector<std::string> out;
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) return out;
    for (size_t i = 0; i < params.size(); ++i) {
      sqlite3_bind_text(stmt, static_cast<int>(i + 1), params[i].data(),
                        static_cast<int>(params[i].size()), SQLITE_TRANSIENT);
    }
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, 0));
      out.emplace_back(p ? p : "", static_cast<size_t>(sqlite3_column_bytes(stmt, 0)));
    }
    sqlite3_finalize(stmt);
    return out;
  }
  /// Sets one sample's encrypted blob.
  bool SetBlob(const std::string& user_id, const std::string& sample_id, const std::string& blob) {
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(
        db_, "UPDATE samples SET embedding_enc = ?1 WHERE user_id = ?2 AND sample_id = ?3", -1,
        &stmt, nullptr);
    sqlite3_bind_blob(stmt, 1, blob.data(), static_cast<int>(blob.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 2, user_id.data(), static_cast<int>(user_id.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(stmt, 3, sample_id.data(), static_cast<int>(sample_id.size()),
                      SQLITE_TRANSIENT);
    bool ok = sqlite3_step(stmt) == SQLITE_DONE && sqlite3_changes(db_) == 1;
    sqlite3_finalize(stmt);
    return ok;
  }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace voxgate::store::testing
