#include "serve/http_types.h"

#include <gtest/gtest.h>

namespace eddy {
namespace {

TEST(HttpTypesTest, ErrorBody) {
  HttpResponse r = HttpResponse::Error(413, kErrPayloadTooLarge, "body \"x\" too big");
  EXPECT_EQ(r.status, 413);
  EXPECT_EQ(r.content_type, "");  // application/json
  EXPECT_EQ(r.body,
            "{\"error\":{\"code\":\"payload_too_large\",\"message\":\"body \\\"x\\\" too big\"}}");
  // Invalid UTF-8 in a message still gives valid JSON.
  std::string bad = ErrorJson("bad_request", "path \xff\xfe");
  EXPECT_EQ(bad.find('\xff'), std::string::npos) << bad;
}

TEST(HttpTypesTest, StatusMapping) {
  struct Case {
    Status s;
    int http;
    std::string_view code;
  };
  for (const Case& c : std::vector<Case>{
           {Status::InvalidArgument("x"), 400, kErrInvalidArgument},
           {Status::OutOfRange("x"), 400, kErrInvalidArgument},
           {Status::Unauthenticated("x"), 401, kErrUnauthenticated},
           {Status::PermissionDenied("x"), 403, kErrForbidden},
           {Status::NotFound("x"), 404, kErrNotFound},
           {Status::AlreadyExists("x"), 409, kErrConflict},
           {Status::FailedPrecondition("x"), 409, kErrConflict},
           {Status::ResourceExhausted("x"), 429, kErrTooManyRequests},
           {Status::Unimplemented("x"), 501, kErrUnimplemented},
           {Status::Unavailable("x"), 503, kErrUnavailable},
           {Status::IoError("x"), 500, kErrInternal},
           {Status::Internal("x"), 500, kErrInternal},
       }) {
    HttpResponse r = HttpResponse::FromStatus(c.s);
    EXPECT_EQ(r.status, c.http) << c.s.ToString();
    EXPECT_EQ(r.body, ErrorJson(c.code, "x"));
  }
  HttpResponse r = HttpResponse::FromStatus(Status::Unauthenticated("no token"));
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0].first, "WWW-Authenticate");
}

TEST(HttpTypesTest, QueryParameters) {
  HttpRequest req;
  req.query = "a=1&b=hello+world&c=%2Fx%20y&flag&a=2&bad=%zz&e=";
  EXPECT_EQ(req.QueryParam("a"), "1");
  EXPECT_EQ(req.QueryParam("b"), "hello world");
  EXPECT_EQ(req.QueryParam("c"), "/x y");
  EXPECT_EQ(req.QueryParam("flag"), "");
  EXPECT_EQ(req.QueryParam("e"), "");
  EXPECT_FALSE(req.QueryParam("bad").has_value());
  EXPECT_FALSE(req.QueryParam("missing").has_value());
  req.query = "";
  EXPECT_FALSE(req.QueryParam("a").has_value());
}

TEST(HttpTypesTest, HeadersAreCaseInsensitive) {
  std::vector<HttpHeaderField> h = {{"Content-Type", "application/json"}, {"X-Id", "7"}};
  HttpRequest req;
  req.headers = h;
  EXPECT_EQ(req.Header("content-type"), "application/json");
  EXPECT_EQ(req.Header("X-ID"), "7");
  EXPECT_EQ(req.Header("missing"), "");
  EXPECT_EQ(req.principal, &Principal::Anonymous());
}

TEST(HttpTypesTest, PercentDecode) {
  EXPECT_EQ(PercentDecode("a%41%6a+", false), "aAj+");
  EXPECT_EQ(PercentDecode("a+b", true), "a b");
  EXPECT_FALSE(PercentDecode("%", false).has_value());
  EXPECT_FALSE(PercentDecode("%4", false).has_value());
  EXPECT_FALSE(PercentDecode("%4g", false).has_value());
  EXPECT_EQ(PercentDecode("%00", false), std::string(1, '\0'));
}

TEST(HttpTypesTest, Methods) {
  EXPECT_EQ(ParseHttpMethod("GET"), HttpMethod::kGet);
  EXPECT_EQ(ParseHttpMethod("DELETE"), HttpMethod::kDelete);
  EXPECT_EQ(ParseHttpMethod("get"), HttpMethod::kOther);
  EXPECT_EQ(ParseHttpMethod("BREW"), HttpMethod::kOther);
  EXPECT_EQ(HttpMethodName(HttpMethod::kPatch), "PATCH");
}

}  // namespace
}  // namespace eddy
