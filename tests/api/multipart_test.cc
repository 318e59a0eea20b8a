#include "api/multipart.h"

#include <gtest/gtest.h>

namespace voxgate::api {
namespace {

const std::string kBoundary = "----vxBoundary42";

std::string Body(const std::vector<std::string>& parts) {
  std::string body = "preamble is ignored\r\n";
  for (const auto& p : parts) body += "--" + kBoundary + "\r\n" + p + "\r\n";
  return body + "--" + kBoundary + "--\r\n";
}

TEST(MultipartTest, BoundaryFromContentType) {
  EXPECT_EQ(*MultipartBoundary("multipart/form-data; boundary=abc"), "abc");
  EXPECT_EQ(*MultipartBoundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b\""), "a b");
  EXPECT_FALSE(MultipartBoundary("application/json").ok());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data").ok());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=").ok());
  EXPECT_FALSE(MultipartBoundary("multipart/form-data; boundary=" + std::string(71, 'x')).ok());
}

TEST(MultipartTest, FieldsAndFilesWithBinaryData) {
  std::string binary("RIFF\0\0\r\n--x\r\n\xff", 14);
  std::string body =
      Body({"Content-Disposition: form-data; name=\"name\"\r\n\r\nAlice",
            "Content-Disposition: form-data; name=\"audio\"; filename=\"a.wav\"\r\n"
            "Content-Type: audio/wav\r\n\r\n" +
                binary,
            "content-disposition: form-data; name=audio[]; filename=b.flac\r\n\r\n"});
  auto parts = ParseMultipart(body, kBoundary);
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  ASSERT_EQ(parts->size(), 3u);
  EXPECT_EQ((*parts)[0].name, "name");
  EXPECT_EQ((*parts)[0].data, "Alice");
  EXPECT_TRUE((*parts)[0].filename.empty());
  EXPECT_EQ((*parts)[1].filename, "a.wav");
  EXPECT_EQ((*parts)[1].content_type, "audio/wav");
  EXPECT_EQ((*parts)[1].data, binary);
  EXPECT_EQ((*parts)[2].name, "audio[]");
  EXPECT_EQ((*parts)[2].filename, "b.flac");
  EXPECT_TRUE((*parts)[2].data.empty());
}

TEST(MultipartTest, EscapedQuotesInNames) {
  std::string body = Body({"Content-Disposition: form-data; name=\"a\\\"b\"\r\n\r\nv"});
  auto parts = ParseMultipart(body, kBoundary);
  ASSERT_TRUE(parts.ok());
  EXPECT_EQ((*parts)[0].name, "a\"b");
}

TEST(MultipartTest, MalformedBodiesAreErrorsNotCrashes) {
  const std::string ok_part = "Content-Disposition: form-data; name=\"a\"\r\n\r\nv";
  std::string full = Body({ok_part});
  EXPECT_FALSE(ParseMultipart("", kBoundary).ok());
  EXPECT_FALSE(ParseMultipart("no boundary here", kBoundary).ok());
  // Truncated anywhere before the closing delimiter.
  for (size_t n = 0; n + 1 < full.find("--" + kBoundary + "--"); ++n) {
    auto r = ParseMultipart(full.substr(0, n), kBoundary);
    EXPECT_FALSE(r.ok()) << "prefix of " << n << " bytes parsed";
  }
  EXPECT_FALSE(ParseMultipart(Body({"X-Other: 1\r\n\r\nv"}), kBoundary).ok());
  EXPECT_FALSE(
      ParseMultipart(Body({"Content-Disposition: attachment; name=a\r\n\r\nv"}), kBoundary).ok());
  EXPECT_FALSE(ParseMultipart(Body({"Content-Disposition: form-data\r\n\r\nv"}), kBoundary).ok());
  EXPECT_FALSE(
      ParseMultipart(Body({"Content-Disposition: form-data; name=\"a\r\n\r\nv"}), kBoundary).ok());
  EXPECT_FALSE(ParseMultipart(Body({"no colon\r\n\r\nv"}), kBoundary).ok());
}

TEST(MultipartTest, PartAndHeaderLimits) {
  std::vector<std::string> many(10, "Content-Disposition: form-data; name=\"a\"\r\n\r\nv");
  MultipartLimits limits;
  limits.max_parts = 5;
  auto r = ParseMultipart(Body(many), kBoundary, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too many"), std::string::npos);
  limits.max_header_bytes = 16;
  EXPECT_FALSE(ParseMultipart(Body({many[0]}), kBoundary, limits).ok());
}

}  // namespace
}  // namespace voxgate::api
