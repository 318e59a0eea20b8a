// Calibrated verdicts end to end: a real `voxgate serve` with the starter model and its shipped
// calibration (AS-Norm cohort, per-channel LLR, security-level thresholds per speech length), the
// whole development set enrolled over REST from 3 utterances each, then verified the way an app
// verifies: every remaining utterance against every enrolled speaker. Also the documented outcome
// of a 1-s probe, a clipped probe and a narrow-band probe, and the security_level field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "api/http_client.h"
#include "app/server_process.h"
#include "app/telephone_audio.h"
#include "audio/audio_decoder.h"
#include "audio/g711.h"
#include "audio/resampler.h"
#include "test_util.h"

namespace voxgate::testing {
namespace {

namespace fs = std::filesystem;

std::string DevDir() { return SpeechPath("resemblyzer-librispeech/librispeech_test-other"); }

std::vector<std::string> Speakers() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(DevDir())) {
    if (e.is_directory()) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> Files(const std::string& speaker) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(DevDir() + "/" + speaker)) {
    if (e.path().extension() == ".flac") out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

FormPart Audio(const std::string& path) {
  return {"audio", ReadBytes(path), fs::path(path).filename().string(), "application/octet-stream"};
}

class VerdictsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir("voxgate-verdicts");
    ServerProcess::Options o;
    o.data_dir = dir_->Sub("data");
    o.model = RepoPath("models/voxgate-starter.onnx");
    server_ = new ServerProcess(o);
    ASSERT_TRUE(server_->Start()) << server_->error();
    HttpClient c(server_->port());
    for (const std::string& s : Speakers()) {
      std::vector<FormPart> parts = {{"user_id", s, "", ""}, {"name", "Speaker " + s, "", ""}};
      const auto files = Files(s);
      for (int n = 0; n < 3; ++n) parts.push_back(Audio(files[n]));
      auto r = c.PostMultipart("/api/v1/voiceprint/register", parts);
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }
  static void TearDownTestSuite() {
    if (server_) EXPECT_EQ(server_->Stop(), 0);
    delete server_;
    delete dir_;
  }

  static nlohmann::json Verify(const std::string& user, const FormPart& audio,
                               const std::string& level = "") {
    HttpClient c(server_->port());
    std::vector<FormPart> parts = {{"user_id", user, "", ""}, audio};
    if (!level.empty()) parts.push_back({"security_level", level, "", ""});
    auto r = c.PostMultipart("/api/v1/voiceprint/verify", parts);
    EXPECT_EQ(r.status, 200) << r.body;
    return r.Json();
  }

  // A probe made from a dev-set utterance, written as a 16 kHz WAV.
  static FormPart Made(const std::string& name, const std::vector<float>& samples) {
    const std::string path = dir_->Sub(name);
    EXPECT_TRUE(WritePcmWav(path, samples, 16000));
    return Audio(path);
  }
  static std::vector<float> Decoded(const std::string& path) {
    auto clip = audio::DecodeFile(path);
    EXPECT_TRUE(clip.ok()) << clip.status().ToString();
    return clip.ok() ? clip->samples : std::vector<float>();
  }

  // A dev-set file as it arrives from a phone call: 8 kHz G.711 u-law, back at 16 kHz.
  static FormPart ThroughTelephone(const std::string& path) {
    const std::vector<float> wide = Decoded(path);
    auto narrow = audio::Resample(wide, 16000, 8000);
    EXPECT_TRUE(narrow.ok());
    const std::vector<float> coded =
        audio::G711Decode(audio::G711Encode(*narrow, audio::G711Law::kUlaw), audio::G711Law::kUlaw);
    auto back = audio::Resample(coded, 8000, 16000);
    EXPECT_TRUE(back.ok());
    return Made("phone-" + fs::path(path).stem().string() + ".wav", *back);
  }

  static TempDir* dir_;
  static ServerProcess* server_;
};
TempDir* VerdictsTest::dir_ = nullptr;
ServerProcess* VerdictsTest::server_ = nullptr;

// The figures users get at the default operating point (balanced, 1 % target FAR), measured over
// the whole development set. The bounds catch a regression of the calibration or the model
// (measured: see docs/benchmarks.md, "Verdicts"), not a statistical guarantee.
TEST_F(VerdictsTest, DevelopmentSetAtTheDefaultLevel) {
  const auto speakers = Speakers();
  ASSERT_EQ(speakers.size(), 10u);
  int targets = 0, impostors = 0, false_accepts = 0, false_rejects = 0, inconclusive = 0;
  for (const std::string& probe_speaker : speakers) {
    const auto files = Files(probe_speaker);
    for (size_t n = 3; n < files.size(); ++n) {
      const FormPart probe = Audio(files[n]);
      for (const std::string& claim : speakers) {
        const nlohmann::json j = Verify(claim, probe);
        ASSERT_EQ(j.value("security_level", ""), "balanced") << j.dump();
        ASSERT_TRUE(j.value("calibrated", false)) << j.dump();
        const bool verified = j.value("verified", false);
        if (j.value("inconclusive", false)) ++inconclusive;
        // The decision is the score against the trial's own threshold.
        if (!j.value("inconclusive", false)) {
          EXPECT_EQ(verified, j["score"].get<double>() >= j["threshold"].get<double>()) << j.dump();
        }
        if (claim == probe_speaker) {
          ++targets;
          if (!verified) ++false_rejects;
        } else {
          ++impostors;
          if (verified) ++false_accepts;
        }
      }
    }
  }
  EXPECT_EQ(targets, 70);
  EXPECT_EQ(impostors, 630);
  // Today 14 % of impostors were accepted at the default; the balanced level targets 1 %.
  EXPECT_LE(false_accepts, 6) << false_accepts << " of " << impostors << " impostors accepted";
  EXPECT_LE(false_rejects, 10) << false_rejects << " of " << targets << " true speakers refused";
  EXPECT_EQ(inconclusive, 0) << "whole dev-set utterances carry enough speech";
}

TEST_F(VerdictsTest, ResponsesCarryTheCalibratedVerdictAndItsQuality) {
  const auto speakers = Speakers();
  const FormPart probe = Audio(Files(speakers[0])[5]);
  const nlohmann::json same = Verify(speakers[0], probe);
  EXPECT_TRUE(same.value("verified", false)) << same.dump();
  EXPECT_GT(same["llr"].get<double>(), 0.0);
  EXPECT_GT(same["confidence"].get<double>(), 0.5);
  EXPECT_LE(same["confidence"].get<double>(), 1.0);
  const nlohmann::json& q = same["quality"];
  EXPECT_EQ(q["channel"], "wideband");
  EXPECT_FALSE(q["narrowband"].get<bool>());
  EXPECT_GT(q["bandwidth_hz"].get<double>(), 6000);
  EXPECT_GT(q["snr_db"].get<double>(), 15);
  EXPECT_LT(q["clipping_ratio"].get<double>(), 0.001);
  EXPECT_NEAR(q["speech_s"].get<double>(), same["speech_s"].get<double>(), 1e-9);

  const nlohmann::json other = Verify(speakers[1], probe);
  EXPECT_FALSE(other.value("verified", true)) << other.dump();
  EXPECT_FALSE(other.value("inconclusive", false));
  EXPECT_LT(other["llr"].get<double>(), same["llr"].get<double>());
  EXPECT_NE(other.value("reason", "").find("security level balanced"), std::string::npos)
      << other.dump();

  // Stricter levels hold the same trial to a higher threshold.
  const nlohmann::json high = Verify(speakers[0], probe, "high");
  const nlohmann::json convenient = Verify(speakers[0], probe, "convenient");
  EXPECT_EQ(high["security_level"], "high");
  EXPECT_GT(high["threshold"].get<double>(), same["threshold"].get<double>());
  EXPECT_GT(same["threshold"].get<double>(), convenient["threshold"].get<double>());
  EXPECT_DOUBLE_EQ(high["score"].get<double>(), convenient["score"].get<double>());
}

TEST_F(VerdictsTest, BadSecurityLevelIsRefused) {
  HttpClient c(server_->port());
  const auto speakers = Speakers();
  auto r = c.PostMultipart("/api/v1/voiceprint/verify",
                           {{"user_id", speakers[0], "", ""},
                            Audio(Files(speakers[0])[5]),
                            {"security_level", "<img src=x onerror=alert(1)>", "", ""}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("security_level must be high, balanced or convenient"), std::string::npos)
      << r.body;
}

TEST_F(VerdictsTest, OneSecondOfSpeechIsInconclusive) {
  const auto speakers = Speakers();
  std::vector<float> s = Decoded(Files(speakers[0])[5]);
  // One second from the middle of the utterance: all of it speech, and too little of it.
  ASSERT_GT(s.size(), 48000u);
  s = std::vector<float>(s.begin() + 16000, s.begin() + 32000);
  const nlohmann::json j = Verify(speakers[0], Made("one_second.wav", s));
  EXPECT_TRUE(j.value("inconclusive", false)) << j.dump();
  EXPECT_FALSE(j.value("verified", true));
  EXPECT_NE(j.value("reason", "").find("s of speech"), std::string::npos) << j.dump();
}

TEST_F(VerdictsTest, ClippedProbeIsInconclusive) {
  const auto speakers = Speakers();
  std::vector<float> s = Decoded(Files(speakers[0])[5]);
  for (float& x : s) x = std::clamp(8.0f * x, -1.0f, 1.0f);
  const nlohmann::json j = Verify(speakers[0], Made("clipped.wav", s));
  EXPECT_TRUE(j.value("inconclusive", false)) << j.dump();
  EXPECT_NE(j.value("reason", "").find("clipped"), std::string::npos) << j.dump();
  EXPECT_GT(j["quality"]["clipping_ratio"].get<double>(), 0.01);
}

// Phone calls over the whole development set: every remaining utterance through G.711, verified
// against every speaker enrolled from wideband audio (an app enrollment: cross-channel trials),
// and against every speaker enrolled from the same channel (telephone trials). Each trial is
// judged on its own channel's calibration; the bounds are those of the wideband test.
TEST_F(VerdictsTest, PhoneCallsAreJudgedOnTheirTrialsChannel) {
  const auto speakers = Speakers();
  HttpClient c(server_->port());
  for (const std::string& s : speakers) {
    std::vector<FormPart> parts = {{"user_id", "phone-" + s, "", ""},
                                   {"name", "Phone " + s, "", ""}};
    const auto files = Files(s);
    for (int n = 0; n < 3; ++n) parts.push_back(ThroughTelephone(files[n]));
    auto r = c.PostMultipart("/api/v1/voiceprint/register", parts);
    ASSERT_EQ(r.status, 201) << r.body;
  }
  auto got = c.Get("/api/v1/voiceprint/phone-" + speakers[0]);
  ASSERT_EQ(got.status, 200) << got.body;
  for (const auto& sample : got.Json()["samples"]) EXPECT_TRUE(sample["narrowband"].get<bool>());
  got = c.Get("/api/v1/voiceprint/" + speakers[0]);
  for (const auto& sample : got.Json()["samples"]) EXPECT_FALSE(sample["narrowband"].get<bool>());

  struct Tally {
    int targets = 0, impostors = 0, false_accepts = 0, false_rejects = 0, inconclusive = 0;
  };
  Tally cross, telephone;
  for (const std::string& probe_speaker : speakers) {
    const auto files = Files(probe_speaker);
    for (size_t n = 3; n < files.size(); ++n) {
      const FormPart probe = ThroughTelephone(files[n]);
      for (const std::string& claim : speakers) {
        for (bool phone_enrolled : {false, true}) {
          const nlohmann::json j = Verify((phone_enrolled ? "phone-" : "") + claim, probe);
          ASSERT_TRUE(j.value("calibrated", false)) << j.dump();
          ASSERT_EQ(j["quality"]["channel"], "telephone") << j.dump();
          ASSERT_TRUE(j["quality"]["narrowband"].get<bool>());
          ASSERT_LT(j["quality"]["bandwidth_hz"].get<double>(), 4300);
          Tally& t = phone_enrolled ? telephone : cross;
          const bool verified = j.value("verified", false);
          if (j.value("inconclusive", false)) ++t.inconclusive;
          if (claim == probe_speaker) {
            ++t.targets;
            if (!verified) ++t.false_rejects;
          } else {
            ++t.impostors;
            if (verified) ++t.false_accepts;
          }
        }
      }
    }
  }
  for (const auto& [name, t] : {std::pair{"cross", cross}, std::pair{"telephone", telephone}}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(t.targets, 70);
    EXPECT_EQ(t.impostors, 630);
    EXPECT_LE(t.false_accepts, 6) << t.false_accepts << " of " << t.impostors << " accepted";
    EXPECT_LE(t.false_rejects, 10) << t.false_rejects << " of " << t.targets << " refused";
    EXPECT_EQ(t.inconclusive, 0);
  }
}

}  // namespace
}  // namespace voxgate::testing
