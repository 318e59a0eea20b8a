// VoiceprintService over the real engine (tiny random-weight model), real SQLite and real speech.
// The tiny model says nothing about speakers, so these tests check the service's logic: the same
// recording scores 1.0, lifecycle and index stay consistent, bad input is refused.
#include "api/voiceprint_service.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include "test_util.h"

namespace voxgate::api {
namespace {

using voxgate::testing::SpeechPath;
using voxgate::testing::TestDataPath;

// The tiny model has no calibration: every security level uses one threshold.
constexpr double kUncalibratedThreshold = 0.5;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string Utt(const std::string& speaker, const std::string& chapter, int n) {
  return ReadFile(voxgate::testing::DevSetUtterance(speaker + "-" + chapter, n));
}

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/voxgate-service-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store_config_.data_dir = dir_ + "/data";
    store_config_.encryption.key_env = "VOXGATE_SERVICE_TEST_NO_SUCH_KEY";
    store_config_.encryption.key_file = dir_ + "/test.key";
    voiceprint::EmbedderConfig ec;
    ec.model.model_path = TestDataPath("tiny_sherpa.onnx");
    auto embedder = voiceprint::Embedder::Create(ec);
    ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();
    embedder_ = *embedder;
    Open();
    alice_ = Utt("1688", "142285", 0);
    alice2_ = Utt("1688", "142285", 1);
    bob_ = Utt("2033", "164914", 0);
  }
  void TearDown() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    service_.reset();
    auto store = store::VoiceprintStore::Create(store_config_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    config_.enrollment.min_total_speech_s = 2.0;
    auto service =
        VoiceprintService::Create(config_, embedder_, std::move(*store),
                                  voiceprint::Calibration::Uncalibrated(kUncalibratedThreshold));
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
  }
  RegisterResult MustRegister(const std::string& id, const std::string& audio) {
    auto r = service_->Register({id, "Name of " + id, "{}", {{audio, "a.flac"}}}, ctx_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : RegisterResult{};
  }

  std::string dir_;
  store::StoreConfig store_config_;
  ServiceConfig config_;
  std::shared_ptr<voiceprint::Embedder> embedder_;
  std::unique_ptr<VoiceprintService> service_;
  CallContext ctx_{"key1", "req1"};
  std::string alice_, alice2_, bob_;
};

TEST_F(ServiceTest, RegisterVerifyIdentifyDelete) {
  RegisterResult r = MustRegister("alice", alice_);
  EXPECT_TRUE(r.created);
  EXPECT_EQ(r.version, 1);
  EXPECT_EQ(r.total_samples, 1);
  EXPECT_GT(r.report.total_speech_s, 5.0);
  MustRegister("bob", bob_);

  auto v = service_->Verify({{alice_, ""}, "alice", std::nullopt}, ctx_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_TRUE(v->verified);
  EXPECT_FALSE(v->inconclusive);
  EXPECT_NEAR(v->confidence, 1.0, 1e-4);
  EXPECT_DOUBLE_EQ(v->threshold, kUncalibratedThreshold);
  EXPECT_FALSE(v->calibrated);
  ASSERT_EQ(v->all_scores.size(), 2u);
  EXPECT_EQ(v->all_scores[0].user_id, "alice");
  EXPECT_EQ(v->all_scores[0].name, "Name of alice");

  // A threshold above any score rejects, with a reason.
  auto strict = service_->Verify({{bob_, ""}, "alice", 0.9999}, ctx_);
  ASSERT_TRUE(strict.ok());
  EXPECT_FALSE(strict->verified);
  EXPECT_FALSE(strict->reason.empty());

  // Without a claimed user: the best match over all active users.
  auto open = service_->Verify({{bob_, ""}, "", std::nullopt}, ctx_);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(open->user_id, "bob");
  EXPECT_TRUE(open->verified);

  auto id = service_->Identify({{bob_, ""}, 1, std::nullopt}, ctx_);
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(id->matches.size(), 1u);
  EXPECT_EQ(id->matches[0].user_id, "bob");
  EXPECT_TRUE(id->identified);

  ASSERT_TRUE(service_->Delete("bob", ctx_).ok());
  EXPECT_EQ(service_->Get("bob").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Delete("bob", ctx_).code(), StatusCode::kNotFound);
  auto after = service_->Identify({{bob_, ""}, 5, std::nullopt}, ctx_);
  ASSERT_TRUE(after.ok());
  ASSERT_EQ(after->matches.size(), 1u);
  EXPECT_EQ(after->matches[0].user_id, "alice");

  // Every step was audited.
  auto audit = service_->store().ReadAudit({});
  ASSERT_TRUE(audit.ok());
  EXPECT_GE(audit->total, 8);
  EXPECT_EQ(audit->events.front().action, store::AuditAction::kIdentify);  // newest first
  EXPECT_EQ(audit->events.front().actor, "key1");
  EXPECT_EQ(audit->events[1].action, store::AuditAction::kDelete);
  EXPECT_EQ(audit->events[1].user_id, "bob");
}

TEST_F(ServiceTest, AddingSamplesToAnExistingUser) {
  MustRegister("alice", alice_);
  RegisterResult again = MustRegister("alice", alice2_);
  EXPECT_FALSE(again.created);
  EXPECT_EQ(again.total_samples, 2);
  EXPECT_EQ(again.version, 2);
  auto record = service_->Get("alice");
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->samples.size(), 2u);
  EXPECT_EQ(record->model_id, embedder_->model_info().id);
}

TEST_F(ServiceTest, OnlyActiveUsersVerifyAndIdentify) {
  MustRegister("alice", alice_);
  ASSERT_TRUE(service_->SetStatus("alice", store::UserStatus::kBlocked, ctx_).ok());
  auto v = service_->Verify({{alice_, ""}, "alice", std::nullopt}, ctx_);
  ASSERT_TRUE(v.ok());
  EXPECT_FALSE(v->verified);
  EXPECT_NE(v->reason.find("blocked"), std::string::npos);
  auto id = service_->Identify({{alice_, ""}, 5, std::nullopt}, ctx_);
  ASSERT_TRUE(id.ok());
  EXPECT_TRUE(id->matches.empty());

  ASSERT_TRUE(service_->SetStatus("alice", store::UserStatus::kActive, ctx_).ok());
  v = service_->Verify({{alice_, ""}, "alice", std::nullopt}, ctx_);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->verified);
}

TEST_F(ServiceTest, IndexIsRebuiltFromTheStoreOnRestart) {
  MustRegister("alice", alice_);
  MustRegister("bob", bob_);
  ASSERT_TRUE(service_->SetStatus("bob", store::UserStatus::kInactive, ctx_).ok());
  Open();
  EXPECT_EQ(service_->Stats().indexed_users, 1u);
  auto id = service_->Identify({{alice_, ""}, 5, std::nullopt}, ctx_);
  ASSERT_TRUE(id.ok());
  ASSERT_EQ(id->matches.size(), 1u);
  EXPECT_EQ(id->matches[0].user_id, "alice");
}

TEST_F(ServiceTest, BadInputIsRefusedAndChangesNothing) {
  const std::string silence = ReadFile(TestDataPath("cli/silence.wav"));
  const std::string text = ReadFile(TestDataPath("audio/text.wav"));
  auto r = service_->Register({"carol", "Carol", "{}", {{silence, "s.wav"}}}, ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kUnusable);
  r = service_->Register({"carol", "Carol", "{}", {{text, "t.wav"}}}, ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
  r = service_->Register({"../etc/passwd", "X", "{}", {{alice_, ""}}}, ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = service_->Register({"carol", "", "{}", {{alice_, ""}}}, ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = service_->Register({"carol", "Carol", "[1,2]", {{alice_, ""}}}, ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = service_->Register({"carol", "Carol", "{}", {}}, ctx_);
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Get("carol").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->Stats().indexed_users, 0u);

  auto v = service_->Verify({{silence, ""}, "", std::nullopt}, ctx_);
  ASSERT_TRUE(v.ok());
  EXPECT_TRUE(v->inconclusive);
  EXPECT_FALSE(v->verified);
  EXPECT_EQ(service_->Verify({{alice_, ""}, "nobody", std::nullopt}, ctx_).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(service_->Verify({{alice_, ""}, "", 1.5}, ctx_).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->Identify({{alice_, ""}, 1000, std::nullopt}, ctx_).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, UserIdRules) {
  EXPECT_TRUE(VoiceprintService::ValidateUserId("user_01-a.b@x").ok());
  for (const char* bad : {"", ".hidden", "a/b", "a b", "a'b", "x;DROP", "é"}) {
    EXPECT_FALSE(VoiceprintService::ValidateUserId(bad).ok()) << bad;
  }
  EXPECT_FALSE(VoiceprintService::ValidateUserId(std::string(129, 'a')).ok());
}

TEST_F(ServiceTest, ConcurrentRegisterAndDeleteKeepStoreAndIndexInStep) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 6; ++i) {
        const std::string id = "u" + std::to_string(i % 3);
        if ((i + t) % 3 == 0) {
          (void)service_->Delete(id, ctx_);
        } else {
          (void)service_->Register({id, "N", "{}", {{t % 2 ? alice_ : bob_, ""}}}, ctx_);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  // The index holds exactly the users the store holds.
  auto page = service_->List({});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(service_->Stats().indexed_users, static_cast<size_t>(page->total));
  auto id = service_->Identify({{alice_, ""}, 10, std::nullopt}, ctx_);
  ASSERT_TRUE(id.ok());
  EXPECT_EQ(id->matches.size(), static_cast<size_t>(page->total));
}

}  // namespace
}  // namespace voxgate::api
