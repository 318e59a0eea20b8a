#include "common/base64.h"

#include <gtest/gtest.h>

#include <string>

namespace voxgate {
namespace {

std::string Decode(std::string_view text, bool* ok) {
  std::string out;
  *ok = DecodeBase64Into(text, out);
  return out;
}

TEST(Base64Test, DecodesBothAlphabetsWithAndWithoutPadding) {
  bool ok = false;
  EXPECT_EQ(Decode("aGVsbG8=", &ok), "hello");
  EXPECT_TRUE(ok);
  EXPECT_EQ(Decode("aGVsbG8", &ok), "hello");
  EXPECT_TRUE(ok);
  EXPECT_EQ(Decode("-_8=", &ok), std::string("\xfb\xff", 2));
  EXPECT_TRUE(ok);
  EXPECT_EQ(Decode("+/8=", &ok), std::string("\xfb\xff", 2));
  EXPECT_TRUE(ok);
  EXPECT_EQ(Decode("aGVs\nbG8=\r\n", &ok), "hello");  // line-wrapped
  EXPECT_TRUE(ok);
  EXPECT_EQ(Decode("", &ok), "");
  EXPECT_TRUE(ok);
}

TEST(Base64Test, RejectsMalformedInput) {
  bool ok = true;
  Decode("aGV*bG8=", &ok);
  EXPECT_FALSE(ok);
  Decode("aGVsbG8=x", &ok);  // data after padding
  EXPECT_FALSE(ok);
  Decode("a", &ok);  // no encoder produces one symbol
  EXPECT_FALSE(ok);
}

}  // namespace
}  // namespace voxgate
