// The voxgate binary as users and scripts call it: real files, real process, exit codes and JSON.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "test_util.h"

namespace voxgate::testing {
namespace {

struct CmdResult {
  int status = -1;
  std::string out;  // stdout and stderr
};

CmdResult Voxgate(const std::string& args) {
  CmdResult r;
  const std::string cmd = VoxgateBinary() + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int rc = pclose(p);
  r.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  return r;
}

std::string Utt(const std::string& speaker_chapter, int n) {
  return DevSetUtterance(speaker_chapter, n);
}

// A tiny random-weight model (tests/data/gen_tiny_models.py): the numbers mean nothing about
// speakers, but every code path from file to JSON is the real one.
const std::string kModel = "--model " + TestDataPath("tiny_sherpa.onnx");

TEST(CliTest, EmbedPrintsJsonEmbedding) {
  CmdResult r = Voxgate("embed " + Utt("1688-142285", 0) + " " + kModel + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  const int dim = j["dim"].get<int>();
  EXPECT_GT(dim, 0);
  ASSERT_EQ(j["embedding"].size(), static_cast<size_t>(dim));
  double norm = 0;
  for (double v : j["embedding"]) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-4);
  EXPECT_GT(j["speech_s"].get<double>(), 1.0);
  EXPECT_NE(j["model"].get<std::string>().find("tiny_sherpa:"), std::string::npos);
}

TEST(CliTest, CompareSameFileScoresOne) {
  CmdResult r =
      Voxgate("compare " + Utt("1688-142285", 0) + " " + Utt("1688-142285", 0) + " " + kModel);
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_NEAR(j["score"].get<double>(), 1.0, 1e-5);
  EXPECT_TRUE(j["same_speaker"].get<bool>());
}

TEST(CliTest, CompareUsesGivenThreshold) {
  CmdResult r = Voxgate("compare " + Utt("1688-142285", 0) + " " + Utt("2033-164914", 0) + " " +
                        kModel + " --threshold 0.999");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_DOUBLE_EQ(j["threshold"].get<double>(), 0.999);
  EXPECT_EQ(j["same_speaker"].get<bool>(), j["score"].get<double>() >= 0.999);
}

TEST(CliTest, EvalReportsTrialCountsOnRealSpeech) {
  CmdResult r = Voxgate("eval " + SpeechPath("resemblyzer-librispeech/librispeech_test-other") +
                        " " + kModel + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  // 10 speakers x 10 utterances: 4950 pairs, 10 * 45 = 450 of them same-speaker.
  EXPECT_EQ(j["files"].get<int>(), 100);
  EXPECT_EQ(j["speakers"].get<int>(), 10);
  EXPECT_EQ(j["target_trials"].get<int>(), 450);
  EXPECT_EQ(j["nontarget_trials"].get<int>(), 4500);
  EXPECT_GE(j["eer"].get<double>(), 0.0);
  EXPECT_LE(j["eer"].get<double>(), 1.0);
}

TEST(CliTest, BadInputExitsNonZeroWithOneLine) {
  for (const std::string& file :
       {TestDataPath("audio/empty.wav"), TestDataPath("audio/random.bin"),
        TestDataPath("audio/text.wav"), std::string("/nonexistent/file.wav")}) {
    CmdResult r = Voxgate("embed " + file + " " + kModel);
    EXPECT_EQ(r.status, 1) << file << ": " << r.out;
    EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 1) << r.out;
    EXPECT_NE(r.out.find("voxgate: "), std::string::npos) << r.out;
  }
}

TEST(CliTest, SilenceIsRejectedAsNoSpeech) {
  CmdResult r = Voxgate("embed " + TestDataPath("cli/silence.wav") + " " + kModel);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("no speech"), std::string::npos) << r.out;
}

TEST(CliTest, MissingModelIsAClearError) {
  CmdResult r = Voxgate("embed " + Utt("1688-142285", 0) + " --model /nonexistent/model.onnx");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("model.onnx"), std::string::npos) << r.out;
}

TEST(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Voxgate("").status, 2);
  EXPECT_EQ(Voxgate("embed").status, 2);
  EXPECT_EQ(Voxgate("eval /tmp --telephone gsm").status, 2);
}

TEST(CliTest, ConfigCheckAcceptsTheShippedConfigAndNamesUnknownKeys) {
  CmdResult ok = Voxgate("config check " + RepoPath("config/voxgate.yaml"));
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find(": OK"), std::string::npos) << ok.out;

  const std::string dir = ::testing::TempDir();
  const std::string typo = dir + "/voxgate-typo.yaml";
  std::ofstream(typo) << "server:\n  prot: 9000\nservice:\n  security_level: high\n"
                         "gatway:\n  port: 1\n";
  CmdResult bad = Voxgate("config check " + typo);
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("'gatway', 'server.prot'"), std::string::npos) << bad.out;
  EXPECT_EQ(std::count(bad.out.begin(), bad.out.end(), '\n'), 1) << bad.out;
  // serve refuses to start on it, with the same message, instead of keeping the default port.
  CmdResult serve = Voxgate("serve --port 0 --config " + typo);
  EXPECT_EQ(serve.status, 1) << serve.out;
  EXPECT_NE(serve.out.find("unknown config keys 'gatway', 'server.prot'"), std::string::npos)
      << serve.out;

  const std::string range = dir + "/voxgate-range.yaml";
  std::ofstream(range) << "service:\n  security_level: paranoid\n";
  CmdResult r = Voxgate("config check " + range);
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("security_level"), std::string::npos) << r.out;
  EXPECT_EQ(Voxgate("config check /nonexistent.yaml").status, 1);
  EXPECT_EQ(Voxgate("config check").status, 2);
}

TEST(CliTest, PushBroadcastsToAnFlvFileInSync) {
  const std::string path = ::testing::TempDir() + "voxgate_cli_push.flv";
  CmdResult r = Voxgate("push --url file:" + path +
                        " --say 'Hello from the command line.' --preset mobile --name Ada");
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["state"], "stopped");
  EXPECT_GT(j["stream_time_s"].get<double>(), 1.0);
  EXPECT_GT(j["frames_sent"].get<int>(), 15);
  EXPECT_LE(std::abs(j["drift_ms"].get<double>()), 1000.0 / 15 + 1e-6);  // within a frame
  FILE* p = popen(("ffprobe -v error -show_entries stream=codec_name,width,height -of csv=p=0 " +
                   path + " 2>&1")
                      .c_str(),
                  "r");
  ASSERT_NE(p, nullptr);
  std::string probe;
  std::array<char, 1024> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) probe.append(buf.data(), n);
  pclose(p);
  EXPECT_NE(probe.find("h264,640,360"), std::string::npos) << probe;
  EXPECT_NE(probe.find("aac"), std::string::npos) << probe;
  std::remove(path.c_str());
}

TEST(CliTest, PushErrorsAreOneLineWithoutTheStreamKey) {
  const std::string key = "SECRETKEY-cli-31";
  CmdResult r = Voxgate("push --url ftp://127.0.0.1/live/" + key + " --say hi");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("scheme"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(key), std::string::npos) << r.out;
  r = Voxgate("push --url rtmp://127.0.0.1:1/live/" + key + " --say hi --attempts 2");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("failed after 2 attempt(s)"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find(key), std::string::npos) << r.out;
  r = Voxgate("push --url rtmp://127.0.0.1/live/k --say hi --preset 4k");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("unknown preset"), std::string::npos) << r.out;
  r = Voxgate("push --url rtmp://127.0.0.1/live/k --say hi --file x.wav");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(Voxgate("push --say hi").status, 2);  // --url is required
}

}  // namespace
}  // namespace voxgate::testing
