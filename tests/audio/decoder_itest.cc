// Decodes every real LibriSpeech test-other FLAC in ../shared/speech and checks it against the
// length its STREAMINFO header declares.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "audio/audio_decoder.h"
#include "test_util.h"

namespace voxgate::audio {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> TestOtherFlacs() {
  std::vector<std::string> files;
  const fs::path root =
      ::voxgate::testing::SpeechPath("resemblyzer-librispeech/librispeech_test-other");
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file() && it->path().extension() == ".flac") {
      files.push_back(it->path().string());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct StreamInfo {
  int sample_rate_hz = 0;
  int channels = 0;
  uint64_t total_samples = 0;
};

// STREAMINFO is the first metadata block, right after "fLaC" and a 4-byte block header.
bool ReadStreamInfo(const std::vector<uint8_t>& b, StreamInfo& info) {
  if (b.size() < 42 || std::string(b.begin(), b.begin() + 4) != "fLaC" || (b[4] & 0x7f) != 0) {
    return false;
  }
  const uint8_t* si = b.data() + 8;
  info.sample_rate_hz = (si[10] << 12) | (si[11] << 4) | (si[12] >> 4);
  info.channels = ((si[12] >> 1) & 0x7) + 1;
  info.total_samples = (static_cast<uint64_t>(si[13] & 0x0f) << 32) |
                       (static_cast<uint64_t>(si[14]) << 24) | (si[15] << 16) | (si[16] << 8) |
                       si[17];
  return true;
}

TEST(AudioDecoderIntegrationTest, EveryTestOtherFlacDecodes) {
  const auto files = TestOtherFlacs();
  ASSERT_GE(files.size(), 100u) << "missing ../shared/speech (set VOXGATE_SPEECH_DIR)";
  DecodeConfig keep_rate;
  keep_rate.target_sample_rate_hz = 0;
  DecodeConfig at_8k;
  at_8k.target_sample_rate_hz = 8000;
  for (const auto& path : files) {
    SCOPED_TRACE(path);
    const std::vector<uint8_t> bytes = ReadBytes(path);
    StreamInfo info;
    ASSERT_TRUE(ReadStreamInfo(bytes, info));

    auto native = DecodeFile(path, keep_rate);
    ASSERT_TRUE(native.ok()) << native.status().ToString();
    EXPECT_EQ(native->sample_rate_hz, info.sample_rate_hz);
    EXPECT_EQ(native->samples.size(), info.total_samples);
    double energy = 0.0;
    float peak = 0.0f;
    for (float v : native->samples) {
      ASSERT_TRUE(std::isfinite(v));
      energy += static_cast<double>(v) * v;
      peak = std::max(peak, std::abs(v));
    }
    EXPECT_LE(peak, 1.0f);
    EXPECT_GT(std::sqrt(energy / native->samples.size()), 1e-3) << "speech, not silence";

    auto default_rate = DecodeMemory(bytes);
    ASSERT_TRUE(default_rate.ok()) << default_rate.status().ToString();
    EXPECT_EQ(default_rate->sample_rate_hz, 16000);
    EXPECT_EQ(default_rate->samples, native->samples) << "16 kHz source: no resampling";

    auto narrow = DecodeMemory(bytes, at_8k);
    ASSERT_TRUE(narrow.ok()) << narrow.status().ToString();
    EXPECT_NEAR(static_cast<double>(narrow->samples.size()), info.total_samples / 2.0, 1.0);
  }
}

}  // namespace
}  // namespace voxgate::audio
