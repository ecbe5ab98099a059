#include "serve/router.h"

#include <gtest/gtest.h>

namespace eddy {
namespace {

HttpHandler Named(std::string name) {
  return [name](const HttpRequest&) { return HttpResponse::Text(name); };
}

std::string Call(const Router::Match& m) {
  if (m.kind != Router::Match::Kind::kFound) return "<none>";
  return m.route->handler(HttpRequest{}).body;
}

class RouterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Add(HttpMethod::kGet, "/", "root");
    Add(HttpMethod::kGet, "/v2", "server-meta");
    Add(HttpMethod::kGet, "/v2/models/{name}", "model-meta");
    Add(HttpMethod::kGet, "/v2/models/stats", "stats");
    Add(HttpMethod::kPost, "/v2/models/{name}/infer", "infer");
    Add(HttpMethod::kPost, "/v2/models/{name}/versions/{version}/infer", "infer-version");
    Add(HttpMethod::kGet, "/v2/models/{name}/ready", "model-ready");
    Add(HttpMethod::kDelete, "/v2/models/{name}", "delete-model");
    Add(HttpMethod::kGet, "/a/{x}/c", "param-c");
    Add(HttpMethod::kGet, "/a/b/d", "literal-d");
  }
  void Add(HttpMethod m, std::string_view pattern, std::string name) {
    ASSERT_TRUE(router_.Add(m, pattern, {.role = Role::kRead}, Named(std::move(name))).ok())
        << pattern;
  }
  Router::Match Find(HttpMethod m, std::string_view path) { return router_.Find(m, path, params_); }
  Router router_;
  std::vector<PathParam> params_;
};

TEST_F(RouterTest, LiteralsAndParameters) {
  EXPECT_EQ(Call(Find(HttpMethod::kGet, "/")), "root");
  EXPECT_EQ(Call(Find(HttpMethod::kGet, "/v2")), "server-meta");
  Router::Match m = Find(HttpMethod::kPost, "/v2/models/fraud/versions/3/infer");
  EXPECT_EQ(Call(m), "infer-version");
  EXPECT_EQ(m.route->pattern, "/v2/models/{name}/versions/{version}/infer");
  ASSERT_EQ(params_.size(), 2u);
  EXPECT_EQ(params_[0].name, "name");
  EXPECT_EQ(params_[0].value, "fraud");
  EXPECT_EQ(params_[1].name, "version");
  EXPECT_EQ(params_[1].value, "3");
  EXPECT_EQ(Call(Find(HttpMethod::kPost, "/v2/models/fraud/infer")), "infer");
}

TEST_F(RouterTest, ParametersArePercentDecoded) {
  Router::Match m = Find(HttpMethod::kGet, "/v2/models/fraud%20v2%2Fx");
  EXPECT_EQ(Call(m), "model-meta");
  ASSERT_EQ(params_.size(), 1u);
  EXPECT_EQ(params_[0].value, "fraud v2/x");
  HttpRequest req;
  req.params = params_;
  EXPECT_EQ(req.Param("name"), "fraud v2/x");
  EXPECT_EQ(req.Param("other"), "");
  EXPECT_EQ(Find(HttpMethod::kGet, "/v2/models/bad%zz").kind, Router::Match::Kind::kBadPath);
  EXPECT_EQ(Find(HttpMethod::kGet, "/v2/models/bad%2").kind, Router::Match::Kind::kBadPath);
}

TEST_F(RouterTest, LiteralBeatsParameterWithBacktracking) {
  EXPECT_EQ(Call(Find(HttpMethod::kGet, "/v2/models/stats")), "stats");
  EXPECT_TRUE(params_.empty());
  EXPECT_EQ(Call(Find(HttpMethod::kGet, "/v2/models/stats/ready")), "model-ready");
  EXPECT_EQ(Call(Find(HttpMethod::kGet, "/a/b/d")), "literal-d");
  // "b" matches the literal first, which has no "c" below it: back up and
  // take the parameter.
  EXPECT_EQ(Call(Find(HttpMethod::kGet, "/a/b/c")), "param-c");
  ASSERT_EQ(params_.size(), 1u);
  EXPECT_EQ(params_[0].value, "b");
}

TEST_F(RouterTest, NotFound) {
  EXPECT_EQ(Find(HttpMethod::kGet, "/v3").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(Find(HttpMethod::kGet, "/v2/").kind, Router::Match::Kind::kNotFound);
  // A parameter never matches an empty segment.
  EXPECT_EQ(Find(HttpMethod::kGet, "/v2/models/").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(Find(HttpMethod::kGet, "/v2/models//ready").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(Find(HttpMethod::kGet, "/v2/models/x/ready/more").kind, Router::Match::Kind::kNotFound);
  EXPECT_EQ(Find(HttpMethod::kGet, "v2").kind, Router::Match::Kind::kBadPath);
  EXPECT_EQ(Find(HttpMethod::kGet, "").kind, Router::Match::Kind::kBadPath);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "/x";
  EXPECT_EQ(Find(HttpMethod::kGet, deep).kind, Router::Match::Kind::kNotFound);
}

TEST_F(RouterTest, MethodNotAllowedListsTheMethods) {
  Router::Match m = Find(HttpMethod::kPut, "/v2/models/fraud");
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "GET, HEAD, DELETE");
  EXPECT_EQ(m.route->pattern, "/v2/models/{name}");
  m = Find(HttpMethod::kGet, "/v2/models/fraud/infer");
  EXPECT_EQ(m.kind, Router::Match::Kind::kMethodNotAllowed);
  EXPECT_EQ(m.allow, "POST");
}

TEST_F(RouterTest, HeadFallsBackToGet) {
  Router::Match m = Find(HttpMethod::kHead, "/v2/models/x");
  EXPECT_EQ(Call(m), "model-meta");
  EXPECT_EQ(m.route->method, HttpMethod::kGet);
}

TEST(RouterAddTest, RejectsBadPatterns) {
  Router r;
  auto add = [&](std::string_view p) { return r.Add(HttpMethod::kGet, p, {}, Named("x")); };
  EXPECT_EQ(add("no-slash").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(add("/a/{").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(add("/a/{}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(add("/a/{1x}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(add("/a/x{y}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(add("/a/{x}/{x}").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add(HttpMethod::kOther, "/a", {}, Named("x")).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.Add(HttpMethod::kGet, "/a", {}, nullptr).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(add("/a/{x}").ok());
  Status dup = add("/a/{y}");
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_NE(dup.message().find("/a/{x}"), std::string::npos) << dup.message();
  EXPECT_TRUE(r.Add(HttpMethod::kPost, "/a/{y}", {}, Named("x")).ok());
}

TEST(RouterAddTest, DefaultRoleIsAdmin) {
  // A route whose author forgot to choose a role fails closed.
  RouteOptions o;
  ASSERT_TRUE(o.role.has_value());
  EXPECT_EQ(*o.role, Role::kAdmin);
}

}  // namespace
}  // namespace eddy
