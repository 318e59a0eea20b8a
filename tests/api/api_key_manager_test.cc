#include "api/api_key_manager.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

namespace voxgate::api {
namespace {

class ApiKeyManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("voxgate_keys_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::shared_ptr<ApiKeyManager> Open() {
    auto m = ApiKeyManager::Open(dir_.string());
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : nullptr;
  }
  std::string FileText() {
    std::ifstream in(dir_ / "api_keys.json");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  std::filesystem::path dir_;
};

TEST_F(ApiKeyManagerTest, CreateReturnsKeyOnceAndStoresOnlyItsHash) {
  auto keys = Open();
  auto created = keys->Create("ops", Role::kAdmin);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  const std::string& key = created->key;
  EXPECT_EQ(key.size(), 3u + ApiKeyManager::kIdLength + ApiKeyManager::kSecretLength);
  EXPECT_TRUE(key.starts_with("vx_"));
  EXPECT_EQ(key.substr(3, ApiKeyManager::kIdLength), created->info.id);

  std::string text = FileText();
  EXPECT_EQ(text.find(key), std::string::npos);
  EXPECT_EQ(text.find(key.substr(3 + ApiKeyManager::kIdLength)), std::string::npos);
  EXPECT_NE(text.find(created->info.id), std::string::npos);
  EXPECT_NE(text.find("\"sha256\""), std::string::npos);

  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "api_keys.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  // No temp files are left behind.
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    if (e.path().filename().string().find(".tmp.") != std::string::npos) ++files;
  }
  EXPECT_EQ(files, 0);
}

TEST_F(ApiKeyManagerTest, AuthenticatesBearerAndBareKeys) {
  auto keys = Open();
  auto admin = keys->Create("ops", Role::kAdmin);
  auto client = keys->Create("app", Role::kClient);
  ASSERT_TRUE(admin.ok() && client.ok());

  auto p = keys->Authenticate("Bearer " + admin->key);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->key_id, admin->info.id);
  EXPECT_EQ(p->role, Role::kAdmin);
  EXPECT_TRUE(p->authenticated);
  EXPECT_EQ(p->key_name, "ops");

  p = keys->Authenticate("bearer   " + client->key + " ");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kClient);
  EXPECT_TRUE(keys->AuthenticateKey(client->key).ok());

  for (std::string bad :
       {std::string(""), std::string("Bearer"), std::string("Bearer "), "Basic " + admin->key,
        admin->key, std::string("Bearer vx_short"), "Bearer " + admin->key + "x"}) {
    auto r = keys->Authenticate(bad);
    EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated) << bad;
    EXPECT_EQ(r.status().message().find(admin->key), std::string::npos);
  }
  // Right id, wrong secret.
  std::string forged = admin->key;
  forged.back() = forged.back() == 'a' ? 'b' : 'a';
  EXPECT_EQ(keys->AuthenticateKey(forged).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(ApiKeyManagerTest, ListNeverShowsSecrets) {
  auto keys = Open();
  auto a = keys->Create("first", Role::kAdmin);
  auto b = keys->Create("second", Role::kClient);
  ASSERT_TRUE(a.ok() && b.ok());
  std::vector<ApiKeyInfo> list = keys->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "first");
  EXPECT_EQ(list[0].role, Role::kAdmin);
  EXPECT_EQ(list[1].id, b->info.id);
  EXPECT_FALSE(list[0].revoked());
  EXPECT_GT(list[0].created_at_ms, 0);
}

TEST_F(ApiKeyManagerTest, RevokeStopsAuthentication) {
  auto keys = Open();
  auto k = keys->Create("app", Role::kClient);
  ASSERT_TRUE(k.ok());
  ASSERT_TRUE(keys->AuthenticateKey(k->key).ok());
  ASSERT_TRUE(keys->Revoke(k->info.id).ok());
  EXPECT_TRUE(keys->Revoke(k->info.id).ok());  // idempotent
  EXPECT_EQ(keys->AuthenticateKey(k->key).status().code(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(keys->List()[0].revoked());
  EXPECT_EQ(keys->Revoke("nope").code(), StatusCode::kNotFound);
}

TEST_F(ApiKeyManagerTest, PersistsAndSeesChangesFromAnotherInstance) {
  auto server_side = Open();
  auto cli_side = Open();  // e.g. `voxgate keys create` in another process
  auto k = cli_side->Create("app", Role::kClient);
  ASSERT_TRUE(k.ok());
  // The server notices the file change within about a second.
  bool seen = false;
  for (int i = 0; i < 30 && !seen; ++i) {
    seen = server_side->AuthenticateKey(k->key).ok();
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(seen);
  ASSERT_TRUE(cli_side->Revoke(k->info.id).ok());
  bool refused = false;
  for (int i = 0; i < 30 && !refused; ++i) {
    refused = !server_side->AuthenticateKey(k->key).ok();
    if (!refused) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(refused);

  auto reopened = Open();
  EXPECT_EQ(reopened->List().size(), 1u);
  EXPECT_FALSE(reopened->AuthenticateKey(k->key).ok());
}

TEST_F(ApiKeyManagerTest, ValidatesNamesAndRejectsCorruptFiles) {
  auto keys = Open();
  EXPECT_FALSE(keys->Create("", Role::kClient).ok());
  EXPECT_FALSE(keys->Create(std::string(65, 'x'), Role::kClient).ok());
  EXPECT_FALSE(keys->Create("a\nb", Role::kClient).ok());
  {
    std::ofstream out(dir_ / "api_keys.json");
    out << "{not json";
  }
  auto broken = ApiKeyManager::Open(dir_.string());
  EXPECT_EQ(broken.status().code(), StatusCode::kDataLoss);
}

TEST(RoleTest, ParsesNames) {
  EXPECT_EQ(*ParseRole("Admin"), Role::kAdmin);
  EXPECT_EQ(*ParseRole("client"), Role::kClient);
  EXPECT_FALSE(ParseRole("root").ok());
  EXPECT_EQ(RoleName(Role::kAdmin), "admin");
}

}  // namespace
}  // namespace voxgate::api
