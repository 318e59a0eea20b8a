#include "api/openapi.h"

#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "api/response.h"

namespace voxgate::api {
namespace {

using json = nlohmann::json;

struct RouteDef {
  Method method;
  const char* pattern;
  Access access;
  bool rate_limited = true;
};

// The routes the server registers (handlers are dummies here).
const std::vector<RouteDef>& KnownRoutes() {
  static const auto* routes = new std::vector<RouteDef>{
      {Method::kPost, "/api/v1/voiceprint/register", Access::kClient},
      {Method::kPost, "/api/v1/voiceprint/verify", Access::kClient},
      {Method::kPost, "/api/v1/voiceprint/identify", Access::kClient},
      {Method::kGet, "/api/v1/voiceprint/{user_id}", Access::kClient},
      {Method::kDelete, "/api/v1/voiceprint/{user_id}", Access::kAdmin},
      {Method::kPut, "/api/v1/voiceprint/{user_id}/status", Access::kAdmin},
      {Method::kGet, "/api/v1/voiceprints", Access::kAdmin},
      {Method::kGet, "/api/v1/stats", Access::kClient},
      {Method::kGet, "/api/v1/storage/stats", Access::kClient},
      {Method::kGet, "/api/v1/cluster/status", Access::kClient},
      {Method::kGet, "/api/v1/cluster/nodes", Access::kClient},
      {Method::kGet, "/api/v1/audit", Access::kAdmin},
      {Method::kGet, "/health", Access::kPublic, false},
      {Method::kGet, "/ready", Access::kPublic, false},
      {Method::kGet, "/metrics", Access::kPublic, false},
      {Method::kGet, "/api/v1/openapi.json", Access::kPublic},
      {Method::kGet, "/api/v1/docs", Access::kPublic},
  };
  return *routes;
}

constexpr const char* kUnknownPattern = "/api/v1/experimental/{thing}/frob";

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const RouteDef& r : KnownRoutes()) {
      RouteOptions options;
      options.rate_limited = r.rate_limited;
      ASSERT_TRUE(
          router_
              .Add(
                  r.method, r.pattern, r.access, [](const Request&, const Responder&) {}, options)
              .ok())
          << r.pattern;
    }
    ASSERT_TRUE(router_
                    .Add(Method::kPost, kUnknownPattern, Access::kAdmin,
                         [](const Request&, const Responder&) {})
                    .ok());
    doc_ = OpenApiDocument(router_, "1.2.3-test");
  }

  static std::string MethodKey(Method m) {
    std::string s(MethodName(m));
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }

  const json& Op(Method m, const std::string& pattern) const {
    return doc_.at("paths").at(pattern).at(MethodKey(m));
  }

  // Calls `visit` with every operation of the document.
  void ForEachOperation(
      const std::function<void(const std::string&, const std::string&, const json&)>& visit) {
    for (const auto& [path, item] : doc_.at("paths").items()) {
      for (const auto& [method, op] : item.items()) visit(path, method, op);
    }
  }

  Router router_;
  json doc_;
};

TEST_F(OpenApiTest, IsAnOpenApi31Document) {
  EXPECT_EQ(doc_.at("openapi"), "3.1.0");
  EXPECT_EQ(doc_.at("info").at("version"), "1.2.3-test");
  EXPECT_FALSE(doc_.at("info").at("title").get<std::string>().empty());
  EXPECT_TRUE(doc_.at("paths").is_object());
  EXPECT_TRUE(doc_.at("components").at("schemas").is_object());
}

TEST_F(OpenApiTest, EveryRouteAppearsWithItsMethodAndNothingElse) {
  std::set<std::pair<std::string, std::string>> expected;
  for (const auto& route : router_.routes()) {
    expected.emplace(route->pattern, MethodKey(route->method));
    ASSERT_TRUE(doc_.at("paths").contains(route->pattern)) << route->pattern;
    EXPECT_TRUE(doc_.at("paths").at(route->pattern).contains(MethodKey(route->method)))
        << MethodName(route->method) << " " << route->pattern;
  }
  std::set<std::pair<std::string, std::string>> documented;
  ForEachOperation([&](const std::string& path, const std::string& method, const json&) {
    documented.emplace(path, method);
  });
  EXPECT_EQ(documented, expected);
}

TEST_F(OpenApiTest, PathParametersMatchTheTemplate) {
  ForEachOperation([](const std::string& path, const std::string& method, const json& op) {
    std::vector<std::string> in_template;
    const std::regex param_re("\\{([^}/]+)\\}");
    for (std::sregex_iterator it(path.begin(), path.end(), param_re), end; it != end; ++it) {
      in_template.push_back((*it)[1]);
    }
    std::vector<std::string> declared;
    for (const json& p : op.value("parameters", json::array())) {
      if (p.at("in") == "path") {
        declared.push_back(p.at("name"));
        EXPECT_EQ(p.at("required"), true) << method << " " << path;
      }
    }
    EXPECT_EQ(declared, in_template) << method << " " << path;
  });
}

TEST_F(OpenApiTest, OperationsHaveIdsSummariesTagsAndResponses) {
  std::set<std::string> ids;
  std::set<std::string> tag_names;
  for (const json& t : doc_.at("tags")) tag_names.insert(t.at("name"));
  ForEachOperation([&](const std::string& path, const std::string& method, const json& op) {
    const std::string where = method + " " + path;
    const std::string id = op.at("operationId");
    EXPECT_FALSE(id.empty()) << where;
    EXPECT_TRUE(ids.insert(id).second) << "duplicate operationId " << id;
    EXPECT_FALSE(op.at("summary").get<std::string>().empty()) << where;
    ASSERT_FALSE(op.at("tags").empty()) << where;
    EXPECT_TRUE(tag_names.count(op.at("tags")[0])) << where;
    bool has_success = false;
    for (const auto& [code, response] : op.at("responses").items()) {
      if (code[0] == '2') has_success = true;
      EXPECT_FALSE(response.at("description").get<std::string>().empty()) << where << " " << code;
    }
    EXPECT_TRUE(has_success) << where;
  });
}

TEST_F(OpenApiTest, KnownRoutesGetHandWrittenEntries) {
  for (const RouteDef& r : KnownRoutes()) {
    const json& op = Op(r.method, r.pattern);
    EXPECT_NE(op.at("tags")[0], "other") << r.pattern;
  }

  const json& reg = Op(Method::kPost, "/api/v1/voiceprint/register");
  EXPECT_EQ(reg.at("operationId"), "registerVoiceprint");
  const json& content = reg.at("requestBody").at("content");
  EXPECT_TRUE(content.contains("multipart/form-data"));
  EXPECT_TRUE(content.contains("application/json"));
  for (const char* code : {"200", "201", "400", "401", "409", "413", "415", "422", "429", "503"}) {
    EXPECT_TRUE(reg.at("responses").contains(code)) << code;
  }
  EXPECT_FALSE(reg.at("responses").contains("403"));  // a client route
  const json& form = doc_.at("components").at("schemas").at("RegisterForm").at("properties");
  for (const char* field : {"audio", "audio[]", "name", "user_id", "metadata"}) {
    EXPECT_TRUE(form.contains(field)) << field;
  }
  const json& reg_json = doc_.at("components").at("schemas").at("RegisterJson");
  EXPECT_TRUE(reg_json.at("properties").at("audio").contains("oneOf"));
  EXPECT_TRUE(reg_json.at("properties").at("metadata").at("type") == "object");

  const json& verify = Op(Method::kPost, "/api/v1/voiceprint/verify");
  EXPECT_TRUE(verify.at("requestBody").at("content").contains("multipart/form-data"));
  EXPECT_TRUE(verify.at("requestBody").at("content").contains("application/json"));
  EXPECT_TRUE(verify.at("responses").contains("404"));
  const json& verify_resp = doc_.at("components").at("schemas").at("VerifyResponse");
  for (const char* field :
       {"verified", "user_id", "confidence", "threshold", "all_scores", "inconclusive", "reason"}) {
    EXPECT_TRUE(verify_resp.at("properties").contains(field)) << field;
  }

  const json& identify = doc_.at("components").at("schemas").at("IdentifyForm").at("properties");
  EXPECT_EQ(identify.at("top_k").at("default"), 5);
  EXPECT_EQ(identify.at("top_k").at("maximum"), 100);

  std::set<std::string> get_query;
  for (const json& p : Op(Method::kGet, "/api/v1/voiceprint/{user_id}").at("parameters")) {
    if (p.at("in") == "query") get_query.insert(p.at("name"));
  }
  EXPECT_EQ(get_query, std::set<std::string>{"include_embedding"});

  std::set<std::string> list_query;
  for (const json& p : Op(Method::kGet, "/api/v1/voiceprints").at("parameters")) {
    list_query.insert(p.at("name"));
    if (p.at("name") == "limit") {
      EXPECT_EQ(p.at("schema").at("default"), 100);
      EXPECT_EQ(p.at("schema").at("maximum"), 1000);
    }
  }
  EXPECT_EQ(list_query, (std::set<std::string>{"q", "status", "limit", "offset"}));
  EXPECT_TRUE(Op(Method::kGet, "/api/v1/voiceprints").at("responses").contains("403"));

  std::set<std::string> audit_query;
  for (const json& p : Op(Method::kGet, "/api/v1/audit").at("parameters")) {
    audit_query.insert(p.at("name"));
  }
  EXPECT_EQ(audit_query,
            (std::set<std::string>{"user_id", "action", "since", "until", "limit", "before_id"}));

  EXPECT_TRUE(
      Op(Method::kGet, "/metrics").at("responses").at("200").at("content").contains("text/plain"));
  EXPECT_TRUE(Op(Method::kGet, "/api/v1/docs")
                  .at("responses")
                  .at("200")
                  .at("content")
                  .contains("text/html"));
}

TEST_F(OpenApiTest, UnknownRouteGetsAGenericEntry) {
  ASSERT_TRUE(doc_.at("paths").contains(kUnknownPattern));
  const json& op = Op(Method::kPost, kUnknownPattern);
  EXPECT_EQ(op.at("tags"), json::array({"other"}));
  EXPECT_FALSE(op.at("operationId").get<std::string>().empty());
  EXPECT_NE(op.at("summary").get<std::string>().find(kUnknownPattern), std::string::npos);
  ASSERT_EQ(op.at("parameters").size(), 1u);
  EXPECT_EQ(op.at("parameters")[0].at("name"), "thing");
  EXPECT_EQ(op.at("parameters")[0].at("in"), "path");
  EXPECT_FALSE(op.at("security").empty());
  for (const char* code : {"200", "400", "401", "403", "429"}) {
    EXPECT_TRUE(op.at("responses").contains(code)) << code;
  }
  EXPECT_EQ(op.at("x-voxgate-access"), "admin");
  bool listed = false;
  for (const json& t : doc_.at("tags")) listed = listed || t.at("name") == "other";
  EXPECT_TRUE(listed);
}

TEST_F(OpenApiTest, SecurityFollowsTheRouteAccess) {
  const json& schemes = doc_.at("components").at("securitySchemes");
  EXPECT_EQ(schemes.at("bearerAuth").at("type"), "http");
  EXPECT_EQ(schemes.at("bearerAuth").at("scheme"), "bearer");
  EXPECT_EQ(schemes.at("apiKeyAuth").at("type"), "apiKey");
  EXPECT_EQ(schemes.at("apiKeyAuth").at("in"), "header");
  EXPECT_EQ(schemes.at("apiKeyAuth").at("name"), "X-API-Key");

  for (const auto& route : router_.routes()) {
    const json& op = Op(route->method, route->pattern);
    const json& security = op.at("security");
    ASSERT_TRUE(security.is_array()) << route->pattern;
    if (route->access == Access::kPublic) {
      EXPECT_TRUE(security.empty()) << route->pattern;
      EXPECT_FALSE(op.at("responses").contains("401")) << route->pattern;
    } else {
      EXPECT_FALSE(security.empty()) << route->pattern;
      for (const json& requirement : security) {
        for (const auto& [name, scopes] : requirement.items()) {
          EXPECT_TRUE(schemes.contains(name)) << name;
        }
      }
      EXPECT_TRUE(op.at("responses").contains("401")) << route->pattern;
      EXPECT_EQ(op.at("responses").contains("403"),
                route->access == Access::kAdmin ||
                    route->pattern == std::string("/api/v1/voiceprint/{user_id}"))
          << route->pattern;
    }
    EXPECT_EQ(op.at("responses").contains("429"), route->options.rate_limited) << route->pattern;
  }
}

TEST_F(OpenApiTest, ErrorResponsesUseTheErrorSchema) {
  const json& error = doc_.at("components").at("schemas").at("Error");
  for (const char* field : {"success", "error", "error_code", "request_id"}) {
    EXPECT_TRUE(error.at("properties").contains(field)) << field;
  }
  EXPECT_EQ(error.at("properties").at("success").at("const"), false);

  int errors_seen = 0;
  ForEachOperation([&](const std::string& path, const std::string& method, const json& op) {
    for (const auto& [code, response] : op.at("responses").items()) {
      if (code[0] != '4' && code[0] != '5') continue;
      // /ready answers 503 with its readiness report, not an error.
      if (path == "/ready" && code == "503") {
        EXPECT_EQ(response.at("content").at("application/json").at("schema").at("$ref"),
                  "#/components/schemas/Readiness");
        continue;
      }
      ++errors_seen;
      EXPECT_EQ(response.at("content").at("application/json").at("schema").at("$ref"),
                "#/components/schemas/Error")
          << method << " " << path << " " << code;
      if (code == "429" || code == "503") {
        EXPECT_TRUE(response.at("headers").contains("Retry-After")) << method << " " << path;
      }
    }
  });
  EXPECT_GT(errors_seen, 50);
}

// Every "$ref" in `node`, with its JSON pointer.
void CollectRefs(const json& node, const std::string& where,
                 std::vector<std::pair<std::string, std::string>>* refs) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string()) {
        refs->emplace_back(where, value.get<std::string>());
      } else {
        std::string child = where;
        child += "/";
        child += key;
        CollectRefs(value, child, refs);
      }
    }
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i) {
      CollectRefs(node[i], where + "/" + std::to_string(i), refs);
    }
  }
}

TEST_F(OpenApiTest, EveryRefResolvesWithinComponents) {
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc_, "", &refs);
  ASSERT_GT(refs.size(), 20u);
  for (const auto& [where, ref] : refs) {
    ASSERT_EQ(ref.rfind("#/components/", 0), 0u) << where << ": " << ref;
    const json::json_pointer pointer(ref.substr(1));
    EXPECT_TRUE(doc_.contains(pointer)) << where << ": " << ref;
  }
}

TEST_F(OpenApiTest, RoundTripsThroughJsonText) {
  const std::string text = DumpJson(doc_);
  ASSERT_TRUE(json::accept(text));
  EXPECT_EQ(json::parse(text), doc_);
  // Deterministic: the same router gives the same document.
  EXPECT_EQ(OpenApiDocument(router_, "1.2.3-test"), doc_);
}

TEST(OpenApiEmptyRouterTest, DescribesNoPathsButStillValid) {
  Router router;
  json doc = OpenApiDocument(router, "");
  EXPECT_EQ(doc.at("openapi"), "3.1.0");
  EXPECT_TRUE(doc.at("paths").is_object());
  EXPECT_TRUE(doc.at("paths").empty());
}

TEST(OpenApiDocsPageTest, IsSelfContainedAndLoadsTheDocument) {
  const std::string html = DocsPageHtml();
  ASSERT_FALSE(html.empty());
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("/api/v1/openapi.json"), std::string::npos);
  EXPECT_NE(html.find("</html>"), std::string::npos);
  // Nothing from other origins: the machine may have no internet.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("@import"), std::string::npos);
  // Every src/href/url() points into this origin ("/..." or "#...").
  const std::regex link_re(R"re((?:src|href)\s*=\s*["']([^"']*)["']|url\(\s*["']?([^)"']*))re",
                           std::regex::icase);
  for (std::sregex_iterator it(html.begin(), html.end(), link_re), end; it != end; ++it) {
    const std::string target = (*it)[1].matched ? (*it)[1].str() : (*it)[2].str();
    ASSERT_FALSE(target.empty()) << it->str();
    EXPECT_TRUE((target[0] == '/' && target.rfind("//", 0) != 0) || target[0] == '#')
        << "external reference: " << target;
  }
  // Scripts are inline.
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_NE(html.find("<script>"), std::string::npos);
}

}  // namespace
}  // namespace voxgate::api
