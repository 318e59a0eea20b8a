// The backend contract (store_contract.h) run against SqliteStore, the reference backend: the
// suite itself is checked here against the store the rest of the product already relies on.
#include "store_contract.h"

#include "store/sqlite_store.h"

namespace voxgate::store::testing {
namespace {

/// A fresh SQLite store in its own temp dir.
class SqliteContractBackend {
 public:
  std::unique_ptr<VoiceprintStore> Open(std::string* error) {
    auto store = VoiceprintStore::Create(TestConfig(dir_));
    if (!store.ok()) {
      *error = store.status().ToString();
      return nullptr;
    }
    return std::move(store).value();
  }

 private:
  TempDir dir_;
};

INSTANTIATE_TYPED_TEST_SUITE_P(Sqlite, StoreContractTest, ::testing::Types<SqliteContractBackend>);

}  // namespace
}  // namespace voxgate::store::testing
