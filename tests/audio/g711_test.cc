#include "audio/g711.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>

namespace voxgate::audio {
namespace {

// Reference points from ITU-T G.711 tables.
TEST(G711Test, KnownCodes) {
  EXPECT_EQ(LinearToUlaw(0), 0xFF);
  EXPECT_EQ(LinearToUlaw(-1), 0x7F);
  EXPECT_EQ(UlawToLinear(0xFF), 0);
  EXPECT_EQ(UlawToLinear(0x80), 32124);
  EXPECT_EQ(UlawToLinear(0x00), -32124);
  EXPECT_EQ(LinearToAlaw(0), 0xD5);
  EXPECT_EQ(AlawToLinear(0xD5), 8);
  EXPECT_EQ(AlawToLinear(0xAA), 32256);
  EXPECT_EQ(AlawToLinear(0x2A), -32256);
}

TEST(G711Test, EveryCodeRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    const uint8_t code = static_cast<uint8_t>(c);
    const int16_t u = UlawToLinear(code);
    // 0x7F and 0xFF both decode to 0 (negative and positive zero).
    if (code != 0x7F) EXPECT_EQ(LinearToUlaw(u), code) << "ulaw " << c;
    EXPECT_EQ(LinearToAlaw(AlawToLinear(code)), code) << "alaw " << c;
  }
}

TEST(G711Test, QuantisationErrorIsSmallRelativeToSignal) {
  // A 1 kHz tone at -10 dBFS through each law: G.711 gives about 38 dB SNR.
  std::vector<float> x(8000);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] = 0.316f * std::sin(2 * std::numbers::pi * 1000.0 * i / 8000.0);
  }
  for (G711Law law : {G711Law::kUlaw, G711Law::kAlaw}) {
    std::vector<float> y = G711Decode(G711Encode(x, law), law);
    double sig = 0, err = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      sig += x[i] * x[i];
      err += (x[i] - y[i]) * (x[i] - y[i]);
    }
    EXPECT_GT(10 * std::log10(sig / err), 33.0);
  }
}

TEST(G711Test, ClampsOutOfRangeInput) {
  std::vector<float> x{2.0f, -2.0f};
  std::vector<float> y = G711Decode(G711Encode(x, G711Law::kUlaw), G711Law::kUlaw);
  EXPECT_NEAR(y[0], 1.0f, 0.03f);
  EXPECT_NEAR(y[1], -1.0f, 0.03f);
}

}  // namespace
}  // namespace voxgate::audio
