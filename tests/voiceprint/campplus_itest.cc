// The production model path: CAM++, the network production users load from 3D-Speaker, built in
// PyTorch by train/campplus.py and exported exactly as 3D-Speaker / sherpa-onnx export it (input
// "x" [N, T, 80], output "embedding", their metadata keys), with random weights
// (tests/data/gen_campplus.sh). On the same real speech file, Voxgate's embedding must equal
// PyTorch's within 1e-4 (its own decoder and fbank against torchaudio's), and sherpa-onnx's with
// the fbank sherpa-onnx computes (see EmbeddingEqualsSherpaOnnx for where those two part).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "audio/audio_decoder.h"
#include "dsp/fbank.h"
#include "test_util.h"
#include "voiceprint/embedder.h"
#include "voiceprint/embedding_model.h"

namespace voxgate::voiceprint {
namespace {

namespace fs = std::filesystem;

constexpr float kTolerance = 1e-4f;

std::vector<float> ReadF32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << path << " (tests/data/gen_campplus.sh)";
  std::vector<float> v;
  float x;
  while (in.read(reinterpret_cast<char*>(&x), sizeof x)) v.push_back(x);
  return v;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

std::vector<float> Unit(std::vector<float> v) {
  double n = 0.0;
  for (float x : v) n += static_cast<double>(x) * x;
  const float s = n > 0.0 ? static_cast<float>(1.0 / std::sqrt(n)) : 0.0f;
  for (float& x : v) x *= s;
  return v;
}

class CamPlusPlusTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EmbeddingModelConfig config;
    config.model_path = testing::TestDataPath("campplus_random.onnx");
    auto model = EmbeddingModel::Create(config);
    ASSERT_TRUE(model.ok()) << model.status().ToString();
    model_ = *model;
    auto clip =
        audio::DecodeFile(testing::SpeechPath("sr-data/test/3d-speaker/speaker1_a_cn_16k.wav"));
    ASSERT_TRUE(clip.ok()) << clip.status().ToString();
    clip_ = std::move(*clip);
  }

  std::vector<float> Embed(const dsp::FbankConfig& fbank_config) {
    auto fbank = dsp::Fbank::Create(fbank_config);
    EXPECT_TRUE(fbank.ok()) << fbank.status().ToString();
    if (!fbank.ok()) return {};
    auto e = model_->Run((*fbank)->Compute(clip_.samples));
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? *e : std::vector<float>{};
  }

  std::shared_ptr<EmbeddingModel> model_;
  audio::AudioClip clip_;
};

TEST_F(CamPlusPlusTest, ReadsTheExportAs3DSpeakerShipsIt) {
  const ModelInfo& info = model_->info();
  EXPECT_EQ(info.framework, "3d-speaker");
  EXPECT_EQ(info.embedding_dim, 192);
  EXPECT_EQ(info.feature_dim, 80);
  EXPECT_EQ(info.sample_rate_hz, 16000);
  EXPECT_TRUE(info.normalize_samples);
  EXPECT_TRUE(info.global_mean_normalize);
  EXPECT_FALSE(info.has_threshold);  // 3D-Speaker exports carry none: calibrate one
  EXPECT_EQ(info.id.substr(0, 16), "campplus_random:");
}

TEST_F(CamPlusPlusTest, EmbeddingEqualsPyTorch) {
  const std::vector<float> expected =
      ReadF32(testing::TestDataPath("campplus_random.expected.f32"));
  ASSERT_EQ(expected.size(), 192u);
  const std::vector<float> got = Embed(model_->FbankConfigForModel());
  ASSERT_EQ(got.size(), expected.size());
  EXPECT_LT(MaxAbsDiff(Unit(got), Unit(expected)), kTolerance);
  // The random network does depend on its input: another speaker's file gives another vector.
  auto other =
      audio::DecodeFile(testing::SpeechPath("sr-data/test/3d-speaker/speaker2_a_cn_16k.wav"));
  ASSERT_TRUE(other.ok());
  clip_ = std::move(*other);
  EXPECT_GT(MaxAbsDiff(Unit(Embed(model_->FbankConfigForModel())), Unit(expected)),
            100 * kTolerance);
}

// sherpa-onnx computes every speaker model's fbank with mel bins up to Nyquist - 400 Hz and
// without snip_edges; with that fbank Voxgate's inference must give sherpa-onnx's embedding.
// Measured on sherpa-onnx 1.13.8 (its own ONNX Runtime 1.28.2): when the network's last 100-frame
// context segment is whole (199 or 200 fbank frames per 100 segment frames after the stride-2
// TDNN) the two agree to cosine >= 0.99999; when it is partial they part (cosine 0.95-0.98 on
// these files) while Voxgate still equals PyTorch (EmbeddingEqualsPyTorch runs a 3.7-s file whose
// last segment is partial). So the lengths here keep the segments whole.
TEST_F(CamPlusPlusTest, EmbeddingEqualsSherpaOnnx) {
  const fs::path modules = testing::RepoPath("third_party/sherpa-onnx/node_modules");
  VOXGATE_REQUIRE_PEER(fs::exists(modules / "sherpa-onnx-node" / "package.json") &&
                           !testing::RunCommand("command -v node").empty(),
                       "sherpa-onnx-node (node)");
  auto speech = audio::DecodeFile(testing::DevSetUtterance("1688-142285", 0));
  ASSERT_TRUE(speech.ok()) << speech.status().ToString();
  dsp::FbankConfig same = model_->FbankConfigForModel();
  same.high_freq_hz = -400.0f;
  same.snip_edges = false;
  const std::string tag = std::to_string(getpid());
  std::vector<fs::path> raws;
  std::vector<std::vector<float>> ours;
  std::string files;
  for (int frames : {199, 399, 599}) {
    clip_.samples.assign(speech->samples.begin(), speech->samples.begin() + frames * 160);
    ours.push_back(Unit(Embed(same)));
    raws.push_back(fs::temp_directory_path() /
                   ("campplus_itest_" + tag + "_" + std::to_string(frames) + ".f32"));
    std::ofstream out(raws.back(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(clip_.samples.data()),
              static_cast<std::streamsize>(clip_.samples.size() * sizeof(float)));
    files += " '" + raws.back().string() + "'";
  }
  const std::string out =
      testing::RunCommand("SHERPA_NODE_MODULES='" + modules.string() + "' node '" +
                          testing::RepoPath("bench/peer/sherpa_embed.js") + "' '" +
                          testing::TestDataPath("campplus_random.onnx") + "' 1 0" + files);
  for (const auto& raw : raws) fs::remove(raw);
  const auto answer = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(answer.is_discarded()) << "sherpa-onnx printed: " << out;
  ASSERT_EQ(answer.at("embeddings").size(), ours.size());
  for (size_t i = 0; i < ours.size(); ++i) {
    SCOPED_TRACE(i);
    const std::vector<float> sherpa = Unit(answer.at("embeddings").at(i).get<std::vector<float>>());
    ASSERT_EQ(ours[i].size(), sherpa.size());
    double cosine = 0.0;
    for (size_t k = 0; k < sherpa.size(); ++k)
      cosine += static_cast<double>(ours[i][k]) * sherpa[k];
    EXPECT_GT(cosine, 0.9999);
    EXPECT_LT(MaxAbsDiff(ours[i], sherpa), 2e-3f);
  }
}

TEST_F(CamPlusPlusTest, ServesThroughTheEmbedder) {
  // The serving path (VAD trimming, fbank, model) takes the 3D-Speaker export as it is.
  EmbedderConfig config;
  config.model.model_path = testing::TestDataPath("campplus_random.onnx");
  auto embedder = Embedder::Create(config);
  ASSERT_TRUE(embedder.ok()) << embedder.status().ToString();
  auto e = (*embedder)->Embed(clip_);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->vector.size(), 192u);
  EXPECT_EQ(e->model_id, model_->info().id);
}

}  // namespace
}  // namespace voxgate::voiceprint
