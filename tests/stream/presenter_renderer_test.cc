#include "stream/presenter_renderer.h"

#include <gtest/gtest.h>

#include <vector>

namespace voxgate::stream {
namespace {

// Pixels of the mouth colour (dark red) and of the caption colour (yellow) in a BGRA picture.
struct Counts {
  int mouth = 0;
  int caption = 0;
};
Counts Count(const std::vector<uint8_t>& bgra) {
  Counts c;
  for (size_t i = 0; i + 3 < bgra.size(); i += 4) {
    const int b = bgra[i], g = bgra[i + 1], r = bgra[i + 2];
    if (r > 90 && r < 140 && g < 40 && b < 40) ++c.mouth;
    if (r > 240 && g > 215 && g < 250 && b > 80 && b < 150) ++c.caption;
  }
  return c;
}

TEST(PresenterRendererTest, MouthAndCaptionFollowTheState) {
  auto r = PresenterRenderer::Create(640, 360);
  ASSERT_TRUE(r.ok());
  std::vector<uint8_t> closed(640 * 360 * 4), open(640 * 360 * 4);
  PresenterState st;
  st.name = "Ada";
  st.mouth_open = 0.0f;
  (*r)->Render(st, closed.data(), 640 * 4);
  st.mouth_open = 1.0f;
  st.caption = "hello";
  st.level = 0.8f;
  (*r)->Render(st, open.data(), 640 * 4);
  const Counts c = Count(closed), o = Count(open);
  EXPECT_GT(c.mouth, 20);
  EXPECT_GT(o.mouth, 4 * c.mouth) << c.mouth << " vs " << o.mouth;
  EXPECT_EQ(c.caption, 0);
  EXPECT_GT(o.caption, 100);

  EXPECT_FALSE(PresenterRenderer::Create(641, 360).ok());
  EXPECT_FALSE(PresenterRenderer::Create(0, 0).ok());
}

}  // namespace
}  // namespace voxgate::stream
