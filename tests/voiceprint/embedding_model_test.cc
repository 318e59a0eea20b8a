// EmbeddingModel on the tiny PyTorch-exported speaker models from tests/data/gen_tiny_models.py.
#include "voiceprint/embedding_model.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

namespace voxgate::voiceprint {
namespace {

using ::testing::HasSubstr;
using ::voxgate::testing::TestDataPath;

constexpr int kFrames = 157;  // tiny_features.f32 is [157 x 80]

std::vector<float> ReadF32(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "missing fixture " << path << " (run tests/data/make_fixtures.sh)";
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  in >> s;
  return s;
}

dsp::Features TinyFeatures() {
  dsp::Features f;
  f.data = ReadF32(TestDataPath("tiny_features.f32"));
  f.dim = 80;
  f.num_frames = static_cast<int>(f.data.size() / 80);
  EXPECT_EQ(f.num_frames, kFrames);
  return f;
}

EmbeddingModelConfig ConfigFor(const std::string& name) {
  EmbeddingModelConfig c;
  c.model_path = TestDataPath(name + ".onnx");
  return c;
}

std::shared_ptr<EmbeddingModel> Load(const EmbeddingModelConfig& config) {
  auto model = EmbeddingModel::Create(config);
  EXPECT_TRUE(model.ok()) << model.status().ToString();
  return model.ok() ? *model : nullptr;
}

float MaxAbsDiff(const std::vector<float>& a, const std::vector<float>& b) {
  EXPECT_EQ(a.size(), b.size());
  float m = 0.0f;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

TEST(EmbeddingModelConfigTest, ValidateAndPrint) {
  EmbeddingModelConfig c;
  EXPECT_EQ(c.Validate().code(), StatusCode::kInvalidArgument);  // no model path
  c.model_path = "m.onnx";
  EXPECT_TRUE(c.Validate().ok());
  EXPECT_THAT(c.ToString(), HasSubstr("m.onnx"));
  c.feature_normalize_type = "cmvn";
  EXPECT_FALSE(c.Validate().ok());
  c.feature_normalize_type = "none";
  c.normalize_samples = "yes";
  EXPECT_FALSE(c.Validate().ok());
  c.normalize_samples = "false";
  c.num_threads = 0;
  EXPECT_FALSE(c.Validate().ok());
  c.num_threads = 2;
  c.sample_rate_hz = -1;
  EXPECT_FALSE(c.Validate().ok());
  c.sample_rate_hz = 8000;
  EXPECT_TRUE(c.Validate().ok());
}

TEST(EmbeddingModelTest, SherpaMetadataIsRead) {
  auto model = Load(ConfigFor("tiny_sherpa"));
  ASSERT_TRUE(model);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.framework, "3d-speaker");
  EXPECT_EQ(info.sample_rate_hz, 16000);
  EXPECT_EQ(info.embedding_dim, 32);
  EXPECT_EQ(info.feature_dim, 80);
  EXPECT_TRUE(info.normalize_samples);
  EXPECT_TRUE(info.global_mean_normalize);
  EXPECT_TRUE(info.has_threshold);
  EXPECT_FLOAT_EQ(info.threshold, 0.42f);
  EXPECT_EQ(info.metadata.at("language"), "English");
  EXPECT_EQ(info.metadata.at("comment"), "tiny random test model, not trained");
  EXPECT_EQ(info.metadata.at("output_dim"), "32");
  EXPECT_EQ(info.metadata.size(), 9u);
  EXPECT_EQ(std::filesystem::path(info.path),
            std::filesystem::path(TestDataPath("tiny_sherpa.onnx")));

  const dsp::FbankConfig fbank = model->FbankConfigForModel();
  EXPECT_EQ(fbank.sample_rate_hz, 16000);
  EXPECT_EQ(fbank.num_mel_bins, 80);
  EXPECT_FALSE(fbank.scale_to_int16);
  EXPECT_TRUE(fbank.mean_normalize);
}

TEST(EmbeddingModelTest, NoMetadataUsesDefaultsAndTheOutputShape) {
  auto model = Load(ConfigFor("tiny_nometa"));
  ASSERT_TRUE(model);
  const ModelInfo& info = model->info();
  EXPECT_TRUE(info.metadata.empty());
  EXPECT_EQ(info.framework, "unknown");
  EXPECT_EQ(info.embedding_dim, 16);  // the output dim is symbolic: learnt from a test run
  EXPECT_EQ(info.sample_rate_hz, 16000);
  EXPECT_TRUE(info.normalize_samples);
  EXPECT_TRUE(info.global_mean_normalize);
  EXPECT_FALSE(info.has_threshold);
}

TEST(EmbeddingModelTest, WeSpeakerMetadataIsRead) {
  auto model = Load(ConfigFor("tiny_wespeaker"));
  ASSERT_TRUE(model);
  const ModelInfo& info = model->info();
  EXPECT_EQ(info.framework, "wespeaker");
  EXPECT_EQ(info.sample_rate_hz, 8000);
  EXPECT_EQ(info.embedding_dim, 24);
  EXPECT_FALSE(info.normalize_samples);
  EXPECT_TRUE(info.global_mean_normalize);  // no feature_normalize_type key: the default
  EXPECT_FALSE(info.has_threshold);
  const dsp::FbankConfig fbank = model->FbankConfigForModel();
  EXPECT_EQ(fbank.sample_rate_hz, 8000);
  EXPECT_TRUE(fbank.scale_to_int16);
  EXPECT_TRUE(fbank.mean_normalize);
}

TEST(EmbeddingModelTest, ConfigOverridesMetadata) {
  EmbeddingModelConfig c = ConfigFor("tiny_wespeaker");
  c.sample_rate_hz = 16000;
  c.normalize_samples = "true";
  c.feature_normalize_type = "none";
  auto model = Load(c);
  ASSERT_TRUE(model);
  EXPECT_EQ(model->info().sample_rate_hz, 16000);
  EXPECT_TRUE(model->info().normalize_samples);
  EXPECT_FALSE(model->info().global_mean_normalize);
  EXPECT_EQ(model->info().metadata.at("sample_rate"), "8000");  // the file's own word is kept
  const dsp::FbankConfig fbank = model->FbankConfigForModel();
  EXPECT_EQ(fbank.sample_rate_hz, 16000);
  EXPECT_FALSE(fbank.scale_to_int16);
  EXPECT_FALSE(fbank.mean_normalize);

  c = ConfigFor("tiny_sherpa");
  c.normalize_samples = "false";
  c.feature_normalize_type = "auto";
  model = Load(c);
  ASSERT_TRUE(model);
  EXPECT_FALSE(model->info().normalize_samples);
  EXPECT_TRUE(model->info().global_mean_normalize);
}

TEST(EmbeddingModelTest, AgreesWithPyTorch) {
  const dsp::Features features = TinyFeatures();
  for (const char* name : {"tiny_sherpa", "tiny_nometa", "tiny_wespeaker"}) {
    SCOPED_TRACE(name);
    auto model = Load(ConfigFor(name));
    ASSERT_TRUE(model);
    auto got = model->Run(features);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    const auto expected = ReadF32(TestDataPath(std::string(name) + ".expected.f32"));
    ASSERT_EQ(got->size(), expected.size());
    EXPECT_EQ(static_cast<int>(got->size()), model->info().embedding_dim);
    EXPECT_LT(MaxAbsDiff(*got, expected), 1e-4f);
  }
}

TEST(EmbeddingModelTest, RunsOnAnyLength) {
  auto model = Load(ConfigFor("tiny_sherpa"));
  ASSERT_TRUE(model);
  for (int frames : {1, 3, 50, 1000}) {
    dsp::Features f;
    f.num_frames = frames;
    f.dim = 80;
    f.data.assign(static_cast<size_t>(frames) * 80, 0.25f);
    auto got = model->Run(f);
    ASSERT_TRUE(got.ok()) << frames << " frames: " << got.status().ToString();
    EXPECT_EQ(got->size(), 32u);
  }
}

TEST(EmbeddingModelTest, IdIsStemAndSha256Prefix) {
  for (const char* name : {"tiny_sherpa", "tiny_nometa", "tiny_wespeaker"}) {
    auto model = Load(ConfigFor(name));
    ASSERT_TRUE(model);
    const std::string sha = ReadText(TestDataPath(std::string(name) + ".sha256"));
    ASSERT_EQ(sha.size(), 64u);
    EXPECT_EQ(model->info().id, std::string(name) + ":" + sha.substr(0, 12));
  }
}

TEST(EmbeddingModelTest, IdIsStableAndFollowsTheContent) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / "voxgate_embedding_model_id";
  fs::create_directories(dir);
  const fs::path copy = dir / "tiny_sherpa.onnx";
  fs::copy_file(TestDataPath("tiny_sherpa.onnx"), copy, fs::copy_options::overwrite_existing);

  auto original = Load(ConfigFor("tiny_sherpa"));
  auto again = Load(ConfigFor("tiny_sherpa"));
  EmbeddingModelConfig c;
  c.model_path = copy.string();
  auto copied = Load(c);
  ASSERT_TRUE(original && again && copied);
  EXPECT_EQ(original->info().id, again->info().id);
  EXPECT_EQ(original->info().id, copied->info().id);  // same name and bytes, elsewhere

  // Same stem, different bytes (another model's file): a different id.
  fs::copy_file(TestDataPath("tiny_wespeaker.onnx"), copy, fs::copy_options::overwrite_existing);
  auto changed = Load(c);
  ASSERT_TRUE(changed);
  EXPECT_NE(changed->info().id, original->info().id);
  EXPECT_EQ(changed->info().id.substr(0, 12), "tiny_sherpa:");
  fs::remove_all(dir);
}

TEST(EmbeddingModelTest, Deterministic) {
  auto model = Load(ConfigFor("tiny_sherpa"));
  ASSERT_TRUE(model);
  const dsp::Features features = TinyFeatures();
  auto a = model->Run(features);
  auto b = model->Run(features);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*a, *b);
}

TEST(EmbeddingModelTest, ConcurrentRunsMatchSingleThread) {
  EmbeddingModelConfig c = ConfigFor("tiny_sherpa");
  auto model = Load(c);
  ASSERT_TRUE(model);
  const dsp::Features features = TinyFeatures();
  dsp::Features shorter = features;  // a second input so threads do not all run the same shape
  shorter.num_frames = 60;
  shorter.data.resize(60 * 80);
  auto expected_long = model->Run(features);
  auto expected_short = model->Run(shorter);
  ASSERT_TRUE(expected_long.ok() && expected_short.ok());

  constexpr int kThreads = 8;
  constexpr int kRuns = 25;
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRuns; ++i) {
        const bool use_long = (i + t) % 2 == 0;
        auto got = model->Run(use_long ? features : shorter);
        if (!got.ok() || *got != (use_long ? *expected_long : *expected_short)) ++mismatches[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(EmbeddingModelTest, MissingFileIsNotFound) {
  auto model = EmbeddingModel::Create(ConfigFor("no_such_model"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(model.status().message(), HasSubstr("no_such_model.onnx"));
}

TEST(EmbeddingModelTest, CorruptFileIsDataLoss) {
  auto model = EmbeddingModel::Create(ConfigFor("tiny_corrupt"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kDataLoss) << model.status().ToString();
  EXPECT_THAT(model.status().message(), HasSubstr("tiny_corrupt.onnx"));
}

TEST(EmbeddingModelTest, WrongInputRankIsUnsupported) {
  auto model = EmbeddingModel::Create(ConfigFor("tiny_rank2"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnsupported) << model.status().ToString();
  EXPECT_THAT(model.status().message(), HasSubstr("[1, T, feature_dim]"));
}

TEST(EmbeddingModelTest, MalformedMetadataIsRejected) {
  auto model = EmbeddingModel::Create(ConfigFor("tiny_badmeta"));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument) << model.status().ToString();
  EXPECT_THAT(model.status().message(), HasSubstr("sample_rate"));
}

TEST(EmbeddingModelTest, NonModelFileIsRejected) {
  // The Silero VAD is valid ONNX but not a speaker model (three inputs).
  EmbeddingModelConfig c;
  c.model_path = "weights/silero_vad.onnx";  // relative: resolves against the repository
  auto model = EmbeddingModel::Create(c);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kUnsupported) << model.status().ToString();
}

TEST(EmbeddingModelTest, BadFeaturesAreRejected) {
  auto model = Load(ConfigFor("tiny_sherpa"));
  ASSERT_TRUE(model);
  dsp::Features wrong_dim;
  wrong_dim.num_frames = 10;
  wrong_dim.dim = 40;
  wrong_dim.data.assign(400, 0.0f);
  auto r = model->Run(wrong_dim);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("expects 80"));

  dsp::Features empty;
  empty.dim = 80;
  r = model->Run(empty);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnusable);
  EXPECT_THAT(r.status().message(), HasSubstr("no feature frames"));

  dsp::Features short_data;
  short_data.num_frames = 10;
  short_data.dim = 80;
  short_data.data.assign(700, 0.0f);
  r = model->Run(short_data);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  dsp::Features nan = short_data;
  nan.data.assign(800, 0.0f);
  nan.data[123] = std::nanf("");
  r = model->Run(nan);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace voxgate::voiceprint
