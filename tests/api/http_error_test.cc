#include "api/http_error.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "api/access_log.h"
#include "api/http_server_config.h"
#include "api/request.h"
#include "api/responder.h"

namespace voxgate::api {
namespace {

TEST(HttpErrorTest, MapsEveryStatusCode) {
  EXPECT_EQ(HttpStatusForCode(StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kTooLarge), 413);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kUnsupported), 415);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kUnusable), 422);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kDataLoss), 500);
  EXPECT_EQ(HttpStatusForCode(StatusCode::kInternal), 500);
}

TEST(HttpErrorTest, ErrorBodyShape) {
  Response r = ErrorResponse(NotFoundError("no user \"bob\""), "rid-1");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.content_type, "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j, (nlohmann::json{{"success", false},
                               {"error", "no user \"bob\""},
                               {"error_code", "not_found"},
                               {"request_id", "rid-1"}}));
}

TEST(HttpErrorTest, HeadersForAuthAndRetry) {
  Response r = ErrorResponse(Status(StatusCode::kUnauthenticated, "no key"), "r");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(FindParam(r.headers, "WWW-Authenticate"), "Bearer realm=\"voxgate\"");
  r = ErrorResponse(Status(StatusCode::kResourceExhausted, "slow down"), "r", 3);
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(FindParam(r.headers, "Retry-After"), "3");
}

TEST(HttpErrorTest, InternalErrorsHideDetails) {
  Response r = ErrorResponse(InternalError("open /var/secret/path failed"), "rid-9");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(r.body.find("/var/secret"), std::string::npos);
  EXPECT_NE(r.body.find("rid-9"), std::string::npos);
}

TEST(HttpErrorTest, InvalidUtf8NeverThrows) {
  Response r = ErrorResponse(InvalidArgumentError("bad \xff\xfe name"), "r");
  EXPECT_EQ(r.status, 400);
  EXPECT_FALSE(nlohmann::json::parse(r.body, nullptr, false).is_discarded());
}

TEST(ResponderTest, FirstSendWinsAndDropSends500) {
  std::vector<Response> sent;
  Request req;
  req.set_request_id("abc");
  {
    Responder r = Responder::Create(req, [&](Response resp) { sent.push_back(resp); });
    Responder copy = r;
    EXPECT_TRUE(copy.SendJson(201, {{"success", true}}));
    EXPECT_FALSE(r.SendJson(200, {}));
    EXPECT_TRUE(r.sent());
    EXPECT_EQ(r.request().request_id(), "abc");
  }
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].status, 201);
  {
    Responder dropped = Responder::Create(req, [&](Response resp) { sent.push_back(resp); });
  }
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].status, 500);
}

TEST(RequestTest, HeaderLookupIsCaseInsensitive) {
  Request req;
  req.AddHeader("Content-Type", "audio/wav");
  EXPECT_EQ(req.Header("content-type"), "audio/wav");
  EXPECT_EQ(req.Header("X-Missing"), std::nullopt);
  EXPECT_TRUE(IsValidRequestId("abc-123_x.y:z"));
  EXPECT_FALSE(IsValidRequestId("a b"));
  EXPECT_FALSE(IsValidRequestId(std::string(129, 'a')));
  EXPECT_TRUE(IsValidRequestId(GenerateRequestId()));
  EXPECT_NE(GenerateRequestId(), GenerateRequestId());
}

TEST(HttpServerConfigTest, LoadsFromYamlAndEnvironment) {
  auto node = ConfigNode::Parse(
      "server:\n  port: 9000\n  max_body_bytes: 1024\n  body_timeout_s: 2.5\n"
      "  rate_limit:\n    burst: 7\n");
  ASSERT_TRUE(node.ok());
  ConfigNode root = *node;
  root.SetEnvForTesting(std::make_shared<ConfigNode::EnvLookup>(ConfigNode::EnvLookup{
      {"VOXGATE_SERVER_IO_THREADS", "4"}, {"VOXGATE_SERVER_RATE_LIMIT_RATE_PER_S", "3.5"}}));
  HttpServerConfig c;
  ASSERT_TRUE(c.Load(root.Child("server")).ok());
  EXPECT_EQ(c.port, 9000);
  EXPECT_EQ(c.max_body_bytes, 1024);
  EXPECT_DOUBLE_EQ(c.body_timeout_s, 2.5);
  EXPECT_EQ(c.io_threads, 4);
  EXPECT_DOUBLE_EQ(c.rate_limit.burst, 7);
  EXPECT_DOUBLE_EQ(c.rate_limit.rate_per_s, 3.5);
  EXPECT_EQ(c.host, "0.0.0.0");  // default kept
  EXPECT_TRUE(c.Validate().ok());
}

TEST(HttpServerConfigTest, ValidationNamesTheKey) {
  HttpServerConfig c;
  c.tls_cert_file = "cert.pem";
  Status s = c.Validate();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tls_key_file"), std::string::npos);
  c = HttpServerConfig();
  c.port = 70000;
  EXPECT_NE(c.Validate().message().find("server.port"), std::string::npos);
  c = HttpServerConfig();
  c.rate_limit.rate_per_s = -1;
  EXPECT_NE(c.Validate().message().find("rate_limit.rate_per_s"), std::string::npos);
  auto bad = ConfigNode::Parse("server:\n  port: eighty\n");
  ASSERT_TRUE(bad.ok());
  Status load = HttpServerConfig().Load(bad->Child("server"));
  EXPECT_FALSE(load.ok());
  EXPECT_NE(load.message().find("server.port"), std::string::npos) << load.message();
}

TEST(AccessLogTest, WritesOneJsonLineWithoutSecrets) {
  std::ostringstream out;
  auto logger = std::make_shared<spdlog::logger>(
      "access-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  logger->set_pattern("%v");
  AccessLog log(logger);
  AccessLogEntry e;
  e.request_id = "rid";
  e.method = "GET";
  e.route = "/api/v1/voiceprint/{user_id}";
  e.status = 404;
  e.duration_ms = 1.23456;
  e.remote = "127.0.0.1";
  e.key_id = "AbCd1234";
  log.Write(e);
  std::string line = out.str();
  ASSERT_FALSE(line.empty());
  EXPECT_EQ(line.back(), '\n');
  auto j = nlohmann::json::parse(line);
  EXPECT_EQ(j["request_id"], "rid");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["route"], "/api/v1/voiceprint/{user_id}");
  EXPECT_EQ(j["status"], 404);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 1.235);
  EXPECT_EQ(j["key_id"], "AbCd1234");
  EXPECT_TRUE(j.contains("ts"));
}

}  // namespace
}  // namespace voxgate::api
