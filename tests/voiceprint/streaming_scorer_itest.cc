// StreamingScorer on real speech with the starter model: live verify, identify, speaker turns and
// enrollment, fed in 10 ms frames the way a live session feeds it. The directory is a real
// SpeakerIndex over real embeddings (the service's own implementation is tested in api/).
#include <gtest/gtest.h>

#include <map>
#include <mutex>

#include "audio/audio_decoder.h"
#include "test_util.h"
#include "voiceprint/scoring.h"
#include "voiceprint/streaming_scorer.h"

namespace voxgate::voiceprint {
namespace {

const std::vector<std::string> kSpeakers = {"1688-142285", "1998-15444", "2033-164914",
                                            "2414-128291", "2609-156975"};

// A directory over the real 1:N index, enrolled from dev-set utterances.
class IndexDirectory : public SpeakerDirectory {
 public:
  // Uncalibrated (the model's own threshold): no AS-Norm statistics are kept here.
  IndexDirectory(std::shared_ptr<const Embedder> embedder)
      : embedder_(std::move(embedder)),
        calibration_(Calibration::Uncalibrated(embedder_->model_info().threshold)) {}
  const ModelInfo& model_info() const override { return embedder_->model_info(); }
  const Calibration& calibration() const override { return calibration_; }
  Result<float> ScoreUser(std::string_view user_id,
                          std::span<const float> embedding) const override {
    float score = 0;
    if (!index_.ScoreOf(std::string(user_id), embedding, &score)) {
      return NotFoundError("unknown user " + std::string(user_id));
    }
    return score;
  }
  std::vector<SpeakerMatch> Search(std::span<const float> embedding, size_t k) const override {
    return index_.Search(embedding, k);
  }
  std::string DisplayName(std::string_view user_id) const override {
    return "name of " + std::string(user_id);
  }
  Status CheckScorable(std::string_view user_id) const override {
    float score = 0;
    const std::vector<float> probe(index_.dim(), 0.0f);
    return index_.ScoreOf(std::string(user_id), probe, &score) ? Status::Ok()
                                                               : NotFoundError("not enrolled");
  }
  Result<LiveEnrollment> EnrollSpeech(const std::string& user_id, const std::string&,
                                      const std::vector<std::vector<float>>& clips,
                                      const std::string&) override {
    std::vector<float> sum;
    for (const auto& clip : clips) {
      VOXGATE_ASSIGN_OR_RETURN(Embedding e, embedder_->EmbedSpeech(clip));
      if (sum.empty()) sum.assign(e.vector.size(), 0.0f);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += e.vector[i];
    }
    VOXGATE_RETURN_IF_ERROR(index_.Upsert(user_id, sum));
    LiveEnrollment out;
    out.user_id = user_id;
    out.created = true;
    out.total_samples = static_cast<int>(clips.size());
    return out;
  }
  Status EnrollFiles(const std::string& user_id, const std::vector<std::string>& files) {
    std::vector<float> sum;
    for (const auto& f : files) {
      VOXGATE_ASSIGN_OR_RETURN(audio::AudioClip clip, audio::DecodeFile(f));
      VOXGATE_ASSIGN_OR_RETURN(Embedding e, embedder_->Embed(clip));
      if (sum.empty()) sum.assign(e.vector.size(), 0.0f);
      for (size_t i = 0; i < sum.size(); ++i) sum[i] += e.vector[i];
    }
    return index_.Upsert(user_id, sum);
  }

 private:
  std::shared_ptr<const Embedder> embedder_;
  Calibration calibration_;
  SpeakerIndex index_;
};

class StreamingScorerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EmbedderConfig config;
    config.model.model_path = testing::RepoPath("models/voxgate-starter.onnx");
    auto embedder = Embedder::Create(config);
    ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();
    embedder_ = new std::shared_ptr<Embedder>(*embedder);
    dsp::VadConfig vad_config = TrimmingVadConfig();
    auto vad = dsp::SileroVad::Create(vad_config);
    ASSERT_TRUE(vad.ok()) << vad.status().ToString();
    vad_ = new std::shared_ptr<dsp::SileroVad>(*vad);
  }
  static void TearDownTestSuite() {
    delete embedder_;
    delete vad_;
  }

  void SetUp() override {
    directory_ = std::make_shared<IndexDirectory>(*embedder_);
    for (const auto& s : kSpeakers) {
      ASSERT_TRUE(
          directory_
              ->EnrollFiles(s, {testing::DevSetUtterance(s, 0), testing::DevSetUtterance(s, 1),
                                testing::DevSetUtterance(s, 2)})
              .ok());
    }
  }

  // Speech of utterances [first, last] of a speaker, VAD-trimmed and concatenated.
  static std::vector<float> Speech(const std::string& speaker, int first, int last) {
    std::vector<float> out;
    for (int n = first; n <= last; ++n) {
      auto clip = audio::DecodeFile(testing::DevSetUtterance(speaker, n));
      EXPECT_TRUE(clip.ok());
      if (!clip.ok()) continue;
      auto segments = (*vad_)->Detect(clip->samples);
      EXPECT_TRUE(segments.ok());
      auto speech = dsp::KeepSegments(clip->samples, *segments);
      out.insert(out.end(), speech.begin(), speech.end());
    }
    return out;
  }

  std::unique_ptr<StreamingScorer> MakeScorer(LiveMode mode, const std::string& user,
                                              StreamingScorerConfig config = {}) {
    auto scorer = StreamingScorer::Create(
        config, mode, user, -2.0, *embedder_, directory_,
        [](std::function<void()> job) {
          job();  // inline: deterministic
          return true;
        },
        [this](const ScorerEvent& e) {
          std::lock_guard lock(mu_);
          events_.push_back(e);
        });
    EXPECT_TRUE(scorer.ok()) << scorer.status().ToString();
    return scorer.ok() ? std::move(*scorer) : nullptr;
  }

  // Feeds speech in 10 ms frames with a gap of `gap` samples before it.
  static int64_t FeedFrames(StreamingScorer& scorer, const std::vector<float>& speech,
                            int64_t clock) {
    for (size_t i = 0; i < speech.size(); i += 160) {
      const size_t n = std::min<size_t>(160, speech.size() - i);
      scorer.Feed(std::span<const float>(speech).subspan(i, n), clock);
      clock += static_cast<int64_t>(n);
      scorer.Poll();
    }
    return clock;
  }

  std::vector<ScorerEvent> Of(ScorerEvent::Kind kind) {
    std::vector<ScorerEvent> out;
    for (const auto& e : events_) {
      if (e.kind == kind) out.push_back(e);
    }
    return out;
  }

  static std::shared_ptr<Embedder>* embedder_;
  static std::shared_ptr<dsp::SileroVad>* vad_;
  std::shared_ptr<IndexDirectory> directory_;
  std::mutex mu_;
  std::vector<ScorerEvent> events_;
};

std::shared_ptr<Embedder>* StreamingScorerTest::embedder_ = nullptr;
std::shared_ptr<dsp::SileroVad>* StreamingScorerTest::vad_ = nullptr;

TEST_F(StreamingScorerTest, VerifiesTheTrueSpeakerBeforeTheEndOfTheSpeech) {
  auto scorer = MakeScorer(LiveMode::kVerify, kSpeakers[0]);
  const auto speech = Speech(kSpeakers[0], 4, 7);
  ASSERT_GT(speech.size(), 16000u * 8);
  FeedFrames(*scorer, speech, 0);
  auto decisions = Of(ScorerEvent::Kind::kDecision);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].decision, "verified");
  EXPECT_EQ(decisions[0].user_id, kSpeakers[0]);
  EXPECT_GE(decisions[0].score, decisions[0].threshold);
  // Early: decided on less speech than was fed, and running scores came first.
  EXPECT_LT(decisions[0].speech_s, speech.size() / 16000.0);
  EXPECT_GE(decisions[0].speech_s, StreamingScorerConfig{}.decide_min_speech_s);
  EXPECT_FALSE(Of(ScorerEvent::Kind::kScore).empty());
  scorer->Finish();
  EXPECT_EQ(Of(ScorerEvent::Kind::kDecision).size(), 1u) << "Finish must not decide twice";
}

TEST_F(StreamingScorerTest, RejectsAnImpostor) {
  auto scorer = MakeScorer(LiveMode::kVerify, kSpeakers[0]);
  FeedFrames(*scorer, Speech(kSpeakers[1], 4, 7), 0);
  scorer->Finish();
  auto decisions = Of(ScorerEvent::Kind::kDecision);
  ASSERT_FALSE(decisions.empty());
  EXPECT_EQ(decisions[0].decision, "rejected");
  EXPECT_LT(decisions[0].score, decisions[0].threshold + 0.0001);
}

TEST_F(StreamingScorerTest, IdentifiesEachEnrolledSpeaker) {
  for (const auto& speaker : kSpeakers) {
    events_.clear();
    auto scorer = MakeScorer(LiveMode::kIdentify, "");
    FeedFrames(*scorer, Speech(speaker, 4, 6), 0);
    scorer->Finish();
    auto decisions = Of(ScorerEvent::Kind::kDecision);
    ASSERT_FALSE(decisions.empty()) << speaker;
    EXPECT_EQ(decisions[0].decision, "identified") << speaker;
    EXPECT_EQ(decisions[0].user_id, speaker);
    EXPECT_EQ(decisions[0].name, "name of " + speaker);
    ASSERT_FALSE(decisions[0].matches.empty());
    EXPECT_EQ(decisions[0].matches[0].user_id, speaker);
  }
}

TEST_F(StreamingScorerTest, TwoVoicesGiveTwoTurnsWithTheRightSpeakers) {
  for (auto [a, b] : {std::pair{2, 3}, std::pair{0, 4}, std::pair{1, 0}}) {
    SCOPED_TRACE(kSpeakers[a] + " then " + kSpeakers[b]);
    events_.clear();
    // The change threshold serve uses: the shipped calibration's (this directory scores raw).
    auto shipped = Calibration::Load(testing::RepoPath("models/voxgate-starter.calibration.json"),
                                     (*embedder_)->model_info().id);
    ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
    StreamingScorerConfig config;
    config.change_threshold = shipped->ShortProbeCosineThreshold(SecurityLevel::kConvenient, -2.0);
    ASSERT_GT(config.change_threshold, 0.0);
    auto scorer = MakeScorer(LiveMode::kIdentify, "", config);
    const auto first = Speech(kSpeakers[a], 4, 6);
    const auto second = Speech(kSpeakers[b], 4, 6);
    int64_t clock = FeedFrames(*scorer, first, 0);
    clock += 8000;  // a half-second pause between the speakers
    FeedFrames(*scorer, second, clock);
    scorer->Finish();
    EXPECT_EQ(scorer->turns(), 2);
    auto decisions = Of(ScorerEvent::Kind::kDecision);
    ASSERT_EQ(decisions.size(), 2u);
    EXPECT_EQ(decisions.front().turn, 0);
    EXPECT_EQ(decisions.front().user_id, kSpeakers[a]);
    EXPECT_EQ(decisions.back().turn, 1);
    EXPECT_EQ(decisions.back().user_id, kSpeakers[b]);
    // The turn boundary lies near the real change (within one change chunk of it).
    auto turns = Of(ScorerEvent::Kind::kTurn);
    ASSERT_EQ(turns.size(), 1u);
    const double change_s = (first.size() + 8000) / 16000.0;
    EXPECT_NEAR(turns.front().turn_start_s, change_s, StreamingScorerConfig{}.change_chunk_s + 0.1);
  }
}

TEST_F(StreamingScorerTest, OneVoiceStaysOneTurn) {
  auto shipped = Calibration::Load(testing::RepoPath("models/voxgate-starter.calibration.json"),
                                   (*embedder_)->model_info().id);
  ASSERT_TRUE(shipped.ok()) << shipped.status().ToString();
  StreamingScorerConfig config;  // with the change threshold serve uses, as above
  config.change_threshold = shipped->ShortProbeCosineThreshold(SecurityLevel::kConvenient, -2.0);
  auto scorer = MakeScorer(LiveMode::kIdentify, "", config);
  FeedFrames(*scorer, Speech(kSpeakers[4], 3, 9), 0);
  scorer->Finish();
  EXPECT_EQ(scorer->turns(), 1);
  EXPECT_TRUE(Of(ScorerEvent::Kind::kTurn).empty());
}

TEST_F(StreamingScorerTest, UnknownClaimedUserIsRejectedWithAnError) {
  auto scorer = MakeScorer(LiveMode::kVerify, "nobody");
  FeedFrames(*scorer, Speech(kSpeakers[0], 4, 5), 0);
  scorer->Finish();
  auto decisions = Of(ScorerEvent::Kind::kDecision);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].decision, "rejected");
  EXPECT_NE(decisions[0].message.find("nobody"), std::string::npos);
}

TEST_F(StreamingScorerTest, TooLittleSpeechIsInconclusive) {
  auto scorer = MakeScorer(LiveMode::kVerify, kSpeakers[0]);
  auto speech = Speech(kSpeakers[0], 4, 4);
  speech.resize(16000 / 2);
  FeedFrames(*scorer, speech, 0);
  scorer->Finish();
  auto decisions = Of(ScorerEvent::Kind::kDecision);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].decision, "inconclusive");
}

TEST_F(StreamingScorerTest, EnrollsFromLiveSpeechThenVerifies) {
  const std::string speaker = "3005-163389";
  auto enroll = MakeScorer(LiveMode::kEnroll, "new-user");
  FeedFrames(*enroll, Speech(speaker, 0, 4), 0);
  enroll->Finish();
  auto enrolled = Of(ScorerEvent::Kind::kEnrolled);
  ASSERT_EQ(enrolled.size(), 1u);
  EXPECT_EQ(enrolled[0].user_id, "new-user");

  events_.clear();
  auto verify = MakeScorer(LiveMode::kVerify, "new-user");
  FeedFrames(*verify, Speech(speaker, 6, 8), 0);
  verify->Finish();
  auto decisions = Of(ScorerEvent::Kind::kDecision);
  ASSERT_FALSE(decisions.empty());
  EXPECT_EQ(decisions[0].decision, "verified");
}

TEST_F(StreamingScorerTest, ARefusingExecutorOnlyDelaysScoring) {
  int offered = 0;
  auto scorer = StreamingScorer::Create(
      {}, LiveMode::kVerify, kSpeakers[0], -2.0, *embedder_, directory_,
      [&offered](std::function<void()> job) {
        if (++offered % 2 == 1) return false;  // every other job refused: pool full
        job();
        return true;
      },
      [this](const ScorerEvent& e) { events_.push_back(e); });
  ASSERT_TRUE(scorer.ok());
  FeedFrames(**scorer, Speech(kSpeakers[0], 4, 7), 0);
  (*scorer)->Finish();
  auto decisions = Of(ScorerEvent::Kind::kDecision);
  ASSERT_EQ(decisions.size(), 1u);
  EXPECT_EQ(decisions[0].decision, "verified");
  EXPECT_GT(offered, 2);
}

TEST(StreamingScorerConfigTest, RejectsInconsistentSettings) {
  StreamingScorerConfig c;
  EXPECT_TRUE(c.Validate().ok());
  c.decide_min_speech_s = 0.5;
  EXPECT_FALSE(c.Validate().ok());
  c = {};
  c.decide_max_speech_s = 1;
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_FALSE(ParseLiveMode("listen").ok());
  EXPECT_EQ(*ParseLiveMode("identify"), LiveMode::kIdentify);
}

}  // namespace
}  // namespace voxgate::voiceprint
