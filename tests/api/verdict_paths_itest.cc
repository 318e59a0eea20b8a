// One verdict, whichever way the audio comes in: the REST verify of a recording, the directory's
// JudgeUser on its embedding (what WebSocket streams and SIP calls use through the live scorer)
// and the live StreamingScorer fed the same speech give the same score, AS-Norm, LLR, threshold
// and decision. Real starter model, its shipped calibration, real SQLite, real speech.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "api/voiceprint_service.h"
#include "audio/audio_decoder.h"
#include "test_util.h"
#include "voiceprint/streaming_scorer.h"

namespace voxgate::api {
namespace {

using voxgate::testing::DevSetUtterance;
using voxgate::testing::RepoPath;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

class VerdictPathsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/voxgate-verdict-paths-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    store::StoreConfig sc;
    sc.data_dir = dir_ + "/data";
    sc.encryption.key_env = "VOXGATE_VERDICT_PATHS_NO_SUCH_KEY";
    sc.encryption.key_file = dir_ + "/test.key";
    voiceprint::EmbedderConfig ec;
    ec.model.model_path = RepoPath("models/voxgate-starter.onnx");
    auto embedder = voiceprint::Embedder::Create(ec);
    ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();
    embedder_ = *embedder;
    auto calibration = voiceprint::Calibration::Load(
        voiceprint::Calibration::PathForModel(embedder_->model_info().path),
        embedder_->model_info().id);
    ASSERT_TRUE(calibration.ok()) << calibration.status().ToString();
    ASSERT_TRUE(calibration->calibrated());
    ASSERT_FALSE(calibration->cohort().empty());
    auto store = store::VoiceprintStore::Create(sc);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto service = VoiceprintService::Create({}, embedder_, std::move(*store), *calibration);
    ASSERT_TRUE(service.ok()) << service.status().ToString();
    service_ = std::move(*service);
    for (const std::string s : {"1688-142285", "2033-164914"}) {
      std::vector<std::string> bytes;
      for (int n = 0; n < 3; ++n) bytes.push_back(ReadFile(DevSetUtterance(s, n)));
      RegisterRequest r{s, "Speaker " + s, "{}", {}};
      for (const auto& b : bytes) r.audio.push_back({b, "enroll.flac"});
      ASSERT_TRUE(service_->Register(r, {}).ok());
    }
  }
  void TearDown() override {
    service_.reset();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::shared_ptr<voiceprint::Embedder> embedder_;
  std::shared_ptr<VoiceprintService> service_;
};

TEST_F(VerdictPathsTest, RestJudgeUserAndLiveScorerAgree) {
  const std::string probe_path = DevSetUtterance("1688-142285", 5);
  const std::string bytes = ReadFile(probe_path);
  auto clip = audio::DecodeFile(probe_path);
  ASSERT_TRUE(clip.ok());
  for (const std::string claim : {"1688-142285", "2033-164914"}) {
    for (voiceprint::SecurityLevel level : voiceprint::kSecurityLevels) {
      SCOPED_TRACE(claim + " " + voiceprint::SecurityLevelName(level));
      VerifyRequest req;
      req.audio = {bytes, "probe.flac"};
      req.user_id = claim;
      req.security_level = level;
      auto rest = service_->Verify(req, {});
      ASSERT_TRUE(rest.ok()) << rest.status().ToString();
      EXPECT_TRUE(rest->calibrated);

      // What a live session does with speech: the directory's verdict on its embedding.
      auto e = embedder_->Embed(*clip);
      ASSERT_TRUE(e.ok());
      auto judged = service_->JudgeUser(claim, service_->Evidence(*e), level);
      ASSERT_TRUE(judged.ok()) << judged.status().ToString();
      EXPECT_DOUBLE_EQ(judged->score, rest->score);
      EXPECT_DOUBLE_EQ(judged->llr, rest->llr);
      EXPECT_DOUBLE_EQ(judged->threshold, rest->threshold);
      EXPECT_EQ(judged->accepted(), rest->verified);
      EXPECT_EQ(judged->inconclusive(), rest->inconclusive);
    }
  }
  // The same speaker at the default level is verified, the other refused.
  VerifyRequest same{{bytes, "p.flac"}, "1688-142285", std::nullopt, std::nullopt};
  EXPECT_TRUE(service_->Verify(same, {})->verified);
  VerifyRequest other{{bytes, "p.flac"}, "2033-164914", std::nullopt, std::nullopt};
  EXPECT_FALSE(service_->Verify(other, {})->verified);
}

TEST_F(VerdictPathsTest, LiveScorerOnTheSameSpeechDecidesAsRest) {
  const std::string probe_path = DevSetUtterance("1688-142285", 5);
  auto clip = audio::DecodeFile(probe_path);
  ASSERT_TRUE(clip.ok());
  auto speech = embedder_->Speech(*clip);
  ASSERT_TRUE(speech.ok());
  ASSERT_LT(speech->size(), 10u * 16000) << "one scoring window covers the whole utterance";

  voiceprint::StreamingScorerConfig config;
  config.speaker_change = false;
  // Decide only at the end, on everything heard: one look, as REST's.
  config.decide_max_speech_s = 1000;
  config.accept_margin = 1000;
  config.reject_margin = 1000;
  std::vector<voiceprint::ScorerEvent> events;
  auto scorer = voiceprint::StreamingScorer::Create(
      config, voiceprint::LiveMode::kVerify, "1688-142285", -2.0, embedder_, service_,
      [](std::function<void()> job) {
        job();
        return true;
      },
      [&](const voiceprint::ScorerEvent& e) { events.push_back(e); });
  ASSERT_TRUE(scorer.ok()) << scorer.status().ToString();
  for (size_t i = 0; i < speech->size(); i += 160) {
    const size_t n = std::min<size_t>(160, speech->size() - i);
    (*scorer)->Feed(std::span<const float>(*speech).subspan(i, n), static_cast<int64_t>(i));
    (*scorer)->Poll();
  }
  (*scorer)->Finish();
  const voiceprint::ScorerEvent* decision = nullptr;
  for (const auto& e : events) {
    if (e.kind == voiceprint::ScorerEvent::Kind::kDecision) decision = &e;
  }
  ASSERT_NE(decision, nullptr);

  const std::string bytes = ReadFile(probe_path);  // AudioInput only views it
  VerifyRequest req{{bytes, "p.flac"}, "1688-142285", std::nullopt, std::nullopt};
  auto rest = service_->Verify(req, {});
  ASSERT_TRUE(rest.ok());
  EXPECT_EQ(decision->decision, rest->verified ? "verified" : "rejected");
  EXPECT_NEAR(decision->score, rest->score, 1e-6);
  EXPECT_NEAR(decision->threshold, rest->threshold, 1e-9);
  EXPECT_NEAR(decision->llr, rest->llr, 1e-6);
}

}  // namespace
}  // namespace voxgate::api
