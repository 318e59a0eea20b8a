#include "api/router.h"

#include <gtest/gtest.h>

namespace voxgate::api {
namespace {

Handler Named(std::string name, std::string* called) {
  return [name, called](const Request&, Responder) { *called = name; };
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(router_
                    .Add(Method::kPost, "/api/v1/voiceprint/register", Access::kClient,
                         Named("register", &called_))
                    .ok());
    ASSERT_TRUE(router_
                    .Add(Method::kGet, "/api/v1/voiceprint/{user_id}", Access::kClient,
                         Named("get", &called_))
                    .ok());
    ASSERT_TRUE(router_
                    .Add(Method::kDelete, "/api/v1/voiceprint/{user_id}", Access::kAdmin,
                         Named("delete", &called_))
                    .ok());
    ASSERT_TRUE(router_
                    .Add(Method::kPut, "/api/v1/voiceprint/{user_id}/status", Access::kAdmin,
                         Named("status", &called_))
                    .ok());
    ASSERT_TRUE(
        router_.Add(Method::kGet, "/health", Access::kPublic, Named("health", &called_)).ok());
    ASSERT_TRUE(router_.Add(Method::kGet, "/", Access::kPublic, Named("root", &called_)).ok());
  }

  std::string Call(Method m, std::string_view path) {
    Router::Match match = router_.Find(m, path);
    if (match.kind != Router::Match::Kind::kFound) return "";
    match.route->handler(Request(), Responder::Create(Request(), nullptr));
    return called_;
  }

  Router router_;
  std::string called_;
};

TEST_F(RouterTest, MatchesLiteralsAndParams) {
  EXPECT_EQ(Call(Method::kPost, "/api/v1/voiceprint/register"), "register");
  EXPECT_EQ(Call(Method::kGet, "/api/v1/voiceprint/alice"), "get");
  EXPECT_EQ(Call(Method::kDelete, "/api/v1/voiceprint/alice"), "delete");
  EXPECT_EQ(Call(Method::kPut, "/api/v1/voiceprint/alice/status"), "status");
  EXPECT_EQ(Call(Method::kGet, "/health"), "health");
  EXPECT_EQ(Call(Method::kGet, "/"), "root");
  // A literal route for another method does not hide a parameter route for this one.
  EXPECT_EQ(Call(Method::kGet, "/api/v1/voiceprint/register"), "get");
}

TEST_F(RouterTest, ExtractsAndDecodesParams) {
  Router::Match m = router_.Find(Method::kGet, "/api/v1/voiceprint/al%20ice%E4%BD%A0");
  ASSERT_EQ(m.kind, Router::Match::Kind::kFound);
  EXPECT_EQ(m.route->pattern, "/api/v1/voiceprint/{user_id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "user_id");
  EXPECT_EQ(m.params[0].second, "al ice\xe4\xbd\xa0");
  // Literal segments are compared decoded too.
  EXPECT_EQ(router_.Find(Method::kGet, "/he%61lth").kind, Router::Match::Kind::kFound);
}

TEST_F(RouterTest, UnknownPathIsNotFound) {
  EXPECT_EQ(router_.Find(Method::kGet, "/nope").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "/health/").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "/api/v1/voiceprint/").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(router_.Find(Method::kGet, "/api/v1/voiceprint/a/b/c").kind,
            Router::Match::Kind::kNotFound);
  std::string deep;
  for (int i = 0; i < 100; ++i) deep += "/x";
  EXPECT_EQ(router_.Find(Method::kGet, deep).kind, Router::Match::Kind::kNotFound);
}

TEST_F(RouterTest, KnownPathWithOtherMethodIsMethodNotAllowed) {
  Router::Match m = router_.Find(Method::kPost, "/api/v1/voiceprint/alice");
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "DELETE, GET");
  m = router_.Find(Method::kOther, "/health");
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET");
}

TEST_F(RouterTest, RejectsBadParams) {
  auto kind = [&](std::string_view path) { return router_.Find(Method::kGet, path).kind; };
  EXPECT_EQ(kind("/api/v1/voiceprint/a%2Fb"), Router::Match::Kind::kBadRequest);   // '/'
  EXPECT_EQ(kind("/api/v1/voiceprint/a%00b"), Router::Match::Kind::kBadRequest);   // NUL
  EXPECT_EQ(kind("/api/v1/voiceprint/a%0Ab"), Router::Match::Kind::kBadRequest);   // control
  EXPECT_EQ(kind("/api/v1/voiceprint/%2e%2e"), Router::Match::Kind::kBadRequest);  // ..
  EXPECT_EQ(kind("/api/v1/voiceprint/a%zz"), Router::Match::Kind::kBadRequest);    // bad escape
  EXPECT_EQ(kind("/api/v1/voiceprint/" + std::string(kMaxPathParamBytes + 1, 'a')),
            Router::Match::Kind::kBadRequest);
  EXPECT_EQ(kind("/api/v1/voiceprint/" + std::string(kMaxPathParamBytes, 'a')),
            Router::Match::Kind::kFound);
  Router::Match m = router_.Find(Method::kGet, "/api/v1/voiceprint/a%2Fb");
  EXPECT_EQ(m.error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(m.error.message().find("user_id"), std::string::npos);
}

TEST_F(RouterTest, RejectsBadPatternsAndDuplicates) {
  Handler h = [](const Request&, Responder) {};
  EXPECT_FALSE(router_.Add(Method::kGet, "no-slash", Access::kPublic, h).ok());
  EXPECT_FALSE(router_.Add(Method::kGet, "/a/{", Access::kPublic, h).ok());
  EXPECT_FALSE(router_.Add(Method::kGet, "/a/{}", Access::kPublic, h).ok());
  EXPECT_FALSE(router_.Add(Method::kGet, "/a/x{y}", Access::kPublic, h).ok());
  EXPECT_FALSE(router_.Add(Method::kGet, "/a/{x}/{x}", Access::kPublic, h).ok());
  EXPECT_FALSE(router_.Add(Method::kOther, "/a", Access::kPublic, h).ok());
  EXPECT_FALSE(router_.Add(Method::kGet, "/a", Access::kPublic, nullptr).ok());
  // Same shape as an existing route (parameter names do not matter).
  EXPECT_FALSE(router_.Add(Method::kGet, "/api/v1/voiceprint/{id}", Access::kPublic, h).ok());
  EXPECT_TRUE(router_.Add(Method::kPost, "/api/v1/voiceprint/{id}", Access::kPublic, h).ok());
}

}  // namespace
}  // namespace voxgate::api
