#include "api/static_site.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

namespace voxgate::api {
namespace {

std::string Header(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return "";
}

Request Get(std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request req;
  req.set_method("GET");
  for (auto& [k, v] : headers) req.AddHeader(k, v);
  return req;
}

TEST(StaticSiteTest, ServesWithTheBrowserSecurityHeaders) {
  StaticSite site;
  ASSERT_TRUE(site.Add("/index.html", "<!doctype html><p>hi</p>").ok());
  const Response r = StaticSite::Serve(*site.files().at("/index.html"), Get());
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
  EXPECT_EQ(r.body, "<!doctype html><p>hi</p>");
  const std::string csp = Header(r, "Content-Security-Policy");
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos);
  EXPECT_EQ(csp.find("unsafe-eval"), std::string::npos);
  EXPECT_EQ(Header(r, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(Header(r, "Referrer-Policy"), "no-referrer");
  EXPECT_EQ(Header(r, "Cache-Control"), "no-cache");
}

TEST(StaticSiteTest, EtagRevalidationAnswers304WithoutABody) {
  StaticSite site;
  ASSERT_TRUE(site.Add("/a.js", "export const a = 1;\n").ok());
  ASSERT_TRUE(site.Add("/b.js", "export const b = 2;\n").ok());
  const auto& a = *site.files().at("/a.js");
  const auto& b = *site.files().at("/b.js");
  EXPECT_NE(a.etag, b.etag);
  EXPECT_EQ(a.etag.front(), '"');
  const Response fresh = StaticSite::Serve(a, Get({{"If-None-Match", a.etag}}));
  EXPECT_EQ(fresh.status, 304);
  EXPECT_TRUE(fresh.body.empty());
  const Response stale = StaticSite::Serve(a, Get({{"If-None-Match", b.etag}}));
  EXPECT_EQ(stale.status, 200);
  EXPECT_EQ(stale.body, "export const a = 1;\n");
  EXPECT_EQ(StaticSite::Serve(a, Get({{"If-None-Match", "W/\"x\", " + a.etag}})).status, 304);
}

TEST(StaticSiteTest, SendsTheGzipCopyOnlyToClientsThatAcceptIt) {
  StaticSite site;
  ASSERT_TRUE(site.Add("/app.js", "plain", "GZIPPED").ok());
  const auto& f = *site.files().at("/app.js");
  for (const char* accept : {"gzip", "gzip, deflate, br", "br;q=1.0, gzip;q=0.8", "*"}) {
    const Response r = StaticSite::Serve(f, Get({{"Accept-Encoding", accept}}));
    EXPECT_EQ(r.body, "GZIPPED") << accept;
    EXPECT_EQ(Header(r, "Content-Encoding"), "gzip") << accept;
  }
  for (const char* accept : {"", "br", "gzip;q=0", "identity"}) {
    const Response r = StaticSite::Serve(f, Get({{"Accept-Encoding", accept}}));
    EXPECT_EQ(r.body, "plain") << accept;
    EXPECT_EQ(Header(r, "Content-Encoding"), "") << accept;
  }
  EXPECT_EQ(Header(StaticSite::Serve(f, Get()), "Vary"), "Accept-Encoding");
}

TEST(StaticSiteTest, RefusesUnsafeOrRepeatedPaths) {
  StaticSite site;
  EXPECT_FALSE(site.Add("relative.js", "x").ok());
  EXPECT_FALSE(site.Add("/../etc/passwd", "x").ok());
  EXPECT_FALSE(site.Add(std::string("/a\0b", 4), "x").ok());
  EXPECT_FALSE(site.Add("/a\r\nb", "x").ok());
  ASSERT_TRUE(site.Add("/ok.css", "x").ok());
  EXPECT_FALSE(site.Add("/ok.css", "y").ok());
  EXPECT_FALSE(site.Alias("/", "/missing.html").ok());
  ASSERT_TRUE(site.Alias("/", "/ok.css").ok());
  EXPECT_EQ(site.files().at("/").get(), site.files().at("/ok.css").get());
}

TEST(StaticSiteTest, ContentTypesByExtension) {
  EXPECT_EQ(StaticSite::ContentTypeFor("/js/app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(StaticSite::ContentTypeFor("/css/console.css"), "text/css; charset=utf-8");
  EXPECT_EQ(StaticSite::ContentTypeFor("/favicon.svg"), "image/svg+xml");
  EXPECT_EQ(StaticSite::ContentTypeFor("/LICENSE"), "application/octet-stream");
}

TEST(StaticSiteTest, DirectoryLeavesOutDotFilesAndMarkdown) {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "static_site_XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir(tmpl);
  fs::create_directories(dir / "js");
  fs::create_directories(dir / ".git");
  std::ofstream(dir / "index.html") << "<!doctype html>";
  std::ofstream(dir / "js" / "app.js") << "export {};";
  std::ofstream(dir / "README.md") << "# notes";
  std::ofstream(dir / ".env") << "SECRET=1";
  std::ofstream(dir / ".git" / "config") << "[core]";
  StaticSite site;
  ASSERT_TRUE(site.AddDirectory(dir, "/").ok());
  EXPECT_EQ(site.size(), 2u);
  EXPECT_EQ(site.files().count("/index.html"), 1u);
  ASSERT_EQ(site.files().count("/js/app.js"), 1u);
  EXPECT_EQ(site.files().at("/js/app.js")->body, "export {};");
  EXPECT_FALSE(site.AddDirectory(dir / "missing", "/").ok());

  // Live (voxgate serve --console-dir): an edit shows at the next request, with a new ETag.
  StaticSite live;
  ASSERT_TRUE(live.AddDirectory(dir, "/", /*live=*/true).ok());
  const auto& app = *live.files().at("/js/app.js");
  const Response before = StaticSite::Serve(app, Get());
  std::ofstream(dir / "js" / "app.js") << "export const edited = true;";
  const Response after = StaticSite::Serve(app, Get());
  EXPECT_EQ(before.body, "export {};");
  EXPECT_EQ(after.body, "export const edited = true;");
  EXPECT_NE(Header(before, "ETag"), Header(after, "ETag"));
  fs::remove(dir / "js" / "app.js");
  EXPECT_EQ(StaticSite::Serve(app, Get()).status, 404);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace voxgate::api
