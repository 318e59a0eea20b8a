// Test helper: real speech from the development set as a telephone system carries it (8 kHz,
// µ-law) and as files a test RTP sender or a REST upload takes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "audio/audio_decoder.h"
#include "audio/g711.h"
#include "test_util.h"

namespace voxgate::testing {

/// Utterances [first, last] of a dev-set speaker, concatenated, at `rate_hz`.
inline std::vector<float> Utterances(const std::string& speaker, int first, int last, int rate_hz) {
  audio::DecodeConfig dc;
  dc.target_sample_rate_hz = rate_hz;
  std::vector<float> x;
  for (int n = first; n <= last; ++n) {
    auto clip = audio::DecodeFile(DevSetUtterance(speaker, n), dc);
    EXPECT_TRUE(clip.ok()) << clip.status().ToString();
    if (clip.ok()) x.insert(x.end(), clip->samples.begin(), clip->samples.end());
  }
  return x;
}

/// Telephone audio: utterances [first, last] at 8 kHz, µ-law coded.
inline std::vector<uint8_t> Ulaw8k(const std::string& speaker, int first, int last) {
  return audio::G711Encode(Utterances(speaker, first, last, 8000), audio::G711Law::kUlaw);
}

/// A WAV file: RIFF header with format tag `format` (1 PCM, 7 µ-law) around `data`.
inline std::string WavBytes(int format, int rate_hz, int bits, const std::string& data) {
  auto le = [](uint32_t v, int n) {
    std::string s;
    for (int i = 0; i < n; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
    return s;
  };
  const uint32_t block = static_cast<uint32_t>(bits / 8);
  std::string fmt = le(static_cast<uint32_t>(format), 2) + le(1, 2) +
                    le(static_cast<uint32_t>(rate_hz), 4) +
                    le(static_cast<uint32_t>(rate_hz) * block, 4) + le(block, 2) +
                    le(static_cast<uint32_t>(bits), 2);
  return "RIFF" + le(static_cast<uint32_t>(4 + 8 + fmt.size() + 8 + data.size()), 4) + "WAVE" +
         "fmt " + le(static_cast<uint32_t>(fmt.size()), 4) + fmt + "data" +
         le(static_cast<uint32_t>(data.size()), 4) + data;
}

/// A µ-law WAV file (format tag 7), as a phone system records.
inline std::string UlawWav(const std::vector<uint8_t>& codes) {
  return WavBytes(7, 8000, 8,
                  std::string(reinterpret_cast<const char*>(codes.data()), codes.size()));
}

/// Writes `samples` as a 16-bit PCM WAV file; false on I/O failure.
inline bool WritePcmWav(const std::string& path, const std::vector<float>& samples, int rate_hz) {
  std::string data(samples.size() * 2, '\0');
  for (size_t i = 0; i < samples.size(); ++i) {
    const auto v = static_cast<int16_t>(std::clamp(samples[i], -1.0f, 1.0f) * 32767.0f);
    data[2 * i] = static_cast<char>(v & 0xFF);
    data[2 * i + 1] = static_cast<char>((v >> 8) & 0xFF);
  }
  std::ofstream out(path, std::ios::binary);
  out << WavBytes(1, rate_hz, 16, data);
  return static_cast<bool>(out);
}

}  // namespace voxgate::testing
