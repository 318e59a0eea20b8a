#include "stream/picture_png.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace voxgate::stream {
namespace {

// Width and height from a PNG's IHDR chunk (big-endian, right after the 8-byte signature and the
// chunk's length and type).
std::pair<uint32_t, uint32_t> PngSize(const std::string& png) {
  auto be32 = [&](size_t at) {
    return (uint32_t(uint8_t(png[at])) << 24) | (uint32_t(uint8_t(png[at + 1])) << 16) |
           (uint32_t(uint8_t(png[at + 2])) << 8) | uint32_t(uint8_t(png[at + 3]));
  };
  return {be32(16), be32(20)};
}

TEST(PicturePngTest, ScalesDownKeepingTheAspectRatio) {
  const int w = 960, h = 540;
  std::vector<uint8_t> bgra(size_t(w) * h * 4);
  for (size_t i = 0; i < bgra.size(); i += 4) {  // a red-to-blue ramp, opaque
    const int x = int(i / 4) % w;
    bgra[i] = uint8_t(x * 255 / w);
    bgra[i + 2] = uint8_t(255 - x * 255 / w);
    bgra[i + 3] = 255;
  }
  auto png = EncodePng(bgra, w, h, w * 4, 640);
  ASSERT_TRUE(png.ok()) << png.status().ToString();
  ASSERT_GT(png->size(), 24u);
  EXPECT_EQ(png->substr(1, 3), "PNG");
  EXPECT_EQ(PngSize(*png), (std::pair<uint32_t, uint32_t>(640, 360)));
  // Never scaled up.
  auto same = EncodePng(bgra, w, h, w * 4, 4000);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(PngSize(*same), (std::pair<uint32_t, uint32_t>(960, 540)));
}

TEST(PicturePngTest, RefusesPixelsThatDoNotMatchTheSize) {
  std::vector<uint8_t> small(100);
  EXPECT_FALSE(EncodePng(small, 960, 540, 960 * 4, 640).ok());
  EXPECT_FALSE(EncodePng(small, 5, 5, 4, 640).ok());  // stride below width * 4
  EXPECT_FALSE(EncodePng(small, 0, 5, 0, 640).ok());
}

}  // namespace
}  // namespace voxgate::stream
