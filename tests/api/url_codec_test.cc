#include "api/url_codec.h"

#include <gtest/gtest.h>

namespace voxgate::api {
namespace {

TEST(UrlCodecTest, PercentDecode) {
  EXPECT_EQ(*PercentDecode("a%20b%2Fc", false), "a b/c");
  EXPECT_EQ(*PercentDecode("a+b", false), "a+b");
  EXPECT_EQ(*PercentDecode("a+b", true), "a b");
  EXPECT_EQ(*PercentDecode("%e4%BD%a0", false), "\xe4\xbd\xa0");
  EXPECT_EQ(*PercentDecode("", false), "");
  EXPECT_FALSE(PercentDecode("%", false).ok());
  EXPECT_FALSE(PercentDecode("%4", false).ok());
  EXPECT_FALSE(PercentDecode("ab%4", false).ok());
  EXPECT_FALSE(PercentDecode("%G1", false).ok());
  EXPECT_FALSE(PercentDecode("a%00b", false).ok());
  EXPECT_EQ(PercentDecode("%zz", true).status().code(), StatusCode::kInvalidArgument);
}

TEST(UrlCodecTest, PercentEncodeRoundTrips) {
  std::string all;
  for (int c = 1; c < 256; ++c) all += static_cast<char>(c);
  std::string encoded = PercentEncode(all);
  EXPECT_EQ(encoded.find_first_of(" /?&=%+#"), encoded.find('%'));  // only escapes use '%'
  EXPECT_EQ(*PercentDecode(encoded, false), all);
  EXPECT_EQ(PercentEncode("a b/c~"), "a%20b%2Fc~");
}

TEST(UrlCodecTest, ParseQuery) {
  auto q = ParseQuery("a=1&b=x%20y&c&&d=&e=p+q&a=2");
  ASSERT_TRUE(q.ok());
  Params expected = {{"a", "1"}, {"b", "x y"}, {"c", ""}, {"d", ""}, {"e", "p q"}, {"a", "2"}};
  EXPECT_EQ(*q, expected);
  EXPECT_EQ(FindParam(*q, "a"), "1");
  EXPECT_EQ(FindParam(*q, "zz"), std::nullopt);
  EXPECT_TRUE(ParseQuery("")->empty());
  EXPECT_FALSE(ParseQuery("a=%").ok());
  EXPECT_FALSE(ParseQuery("%00=1").ok());
  std::string many;
  for (size_t i = 0; i <= kMaxQueryParams; ++i) many += "k=v&";
  EXPECT_FALSE(ParseQuery(many).ok());
}

TEST(UrlCodecTest, SplitTarget) {
  auto t = SplitTarget("/a/b?x=1&y=2#frag");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->path, "/a/b");
  EXPECT_EQ(t->query, "x=1&y=2");
  EXPECT_EQ(SplitTarget("/")->path, "/");
  EXPECT_EQ(SplitTarget("/p?")->query, "");
  EXPECT_FALSE(SplitTarget("").ok());
  EXPECT_FALSE(SplitTarget("*").ok());
  EXPECT_FALSE(SplitTarget("http://host/a").ok());
  EXPECT_FALSE(SplitTarget("/a b").ok());
  EXPECT_FALSE(SplitTarget(std::string("/a\0b", 4)).ok());
  EXPECT_FALSE(SplitTarget("/" + std::string(kMaxTargetBytes, 'a')).ok());
}

TEST(UrlCodecTest, SplitPath) {
  EXPECT_TRUE(SplitPath("/").empty());
  EXPECT_TRUE(SplitPath("").empty());
  EXPECT_EQ(SplitPath("/a/b%2Fc"), (std::vector<std::string_view>{"a", "b%2Fc"}));
  EXPECT_EQ(SplitPath("/a/"), (std::vector<std::string_view>{"a", ""}));
  EXPECT_EQ(SplitPath("//a"), (std::vector<std::string_view>{"", "a"}));
}

}  // namespace
}  // namespace voxgate::api
