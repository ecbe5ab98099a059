#include "eddy/status.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

namespace eddy {
namespace {

TEST(StatusTest, DefaultIsOk) {
  Status s;
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOk);
  EXPECT_EQ(s.message(), "");
  EXPECT_EQ(s, Status::OK());
}

TEST(StatusTest, FactoriesSetCodeAndMessage) {
  struct Case {
    Status status;
    StatusCode code;
    std::string_view name;
  };
  const Case cases[] = {
      {Status::InvalidArgument("m"), StatusCode::kInvalidArgument, "invalid_argument"},
      {Status::NotFound("m"), StatusCode::kNotFound, "not_found"},
      {Status::AlreadyExists("m"), StatusCode::kAlreadyExists, "already_exists"},
      {Status::FailedPrecondition("m"), StatusCode::kFailedPrecondition, "failed_precondition"},
      {Status::OutOfRange("m"), StatusCode::kOutOfRange, "out_of_range"},
      {Status::IoError("m"), StatusCode::kIoError, "io_error"},
      {Status::Corruption("m"), StatusCode::kCorruption, "corruption"},
      {Status::Unimplemented("m"), StatusCode::kUnimplemented, "unimplemented"},
      {Status::Unavailable("m"), StatusCode::kUnavailable, "unavailable"},
      {Status::ResourceExhausted("m"), StatusCode::kResourceExhausted, "resource_exhausted"},
      {Status::PermissionDenied("m"), StatusCode::kPermissionDenied, "permission_denied"},
      {Status::Unauthenticated("m"), StatusCode::kUnauthenticated, "unauthenticated"},
      {Status::Cancelled("m"), StatusCode::kCancelled, "cancelled"},
      {Status::Internal("m"), StatusCode::kInternal, "internal"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_FALSE(c.status.ok());
    EXPECT_EQ(c.status.code(), c.code);
    EXPECT_EQ(c.status.message(), "m");
    EXPECT_EQ(StatusCodeName(c.code), c.name);
    EXPECT_EQ(c.status.ToString(), std::string(c.name) + ": m");
  }
}

TEST(StatusTest, OkCodeNameIsOk) { EXPECT_EQ(StatusCodeName(StatusCode::kOk), "ok"); }

TEST(StatusTest, OkToStringIsOk) { EXPECT_EQ(Status::OK().ToString(), "ok"); }

TEST(StatusTest, OkCodeDropsMessage) {
  Status s(StatusCode::kOk, "ignored");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, WithContextPrefixesMessageAndKeepsCode) {
  Status s = Status::NotFound("no such file").WithContext("pipeline.yaml");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "pipeline.yaml: no such file");
  EXPECT_EQ(s.WithContext("load").message(), "load: pipeline.yaml: no such file");
}

TEST(StatusTest, WithContextOnOkStaysOk) {
  Status s = Status::OK().WithContext("context");
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(s.message(), "");
}

TEST(StatusTest, EqualityComparesCodeAndMessage) {
  EXPECT_EQ(Status::InvalidArgument("a"), Status::InvalidArgument("a"));
  EXPECT_NE(Status::InvalidArgument("a"), Status::InvalidArgument("b"));
  EXPECT_NE(Status::InvalidArgument("a"), Status::NotFound("a"));
}

TEST(ResultTest, HoldsValue) {
  Result<int> r = 42;
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.status().ok());
  EXPECT_EQ(r.value(), 42);
  EXPECT_EQ(*r, 42);
}

TEST(ResultTest, HoldsError) {
  Result<int> r = Status::NotFound("missing");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status(), Status::NotFound("missing"));
}

TEST(ResultTest, OkStatusWithoutValueBecomesInternalError) {
  Result<int> r = Status::OK();
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
}

TEST(ResultTest, ConvertsFromConstructibleValue) {
  Result<std::string> r = "text";  // const char* -> std::string
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "text");
  EXPECT_EQ(r->size(), 4u);
}

TEST(ResultTest, MovesOutMoveOnlyValue) {
  Result<std::unique_ptr<int>> r = std::make_unique<int>(7);
  ASSERT_TRUE(r.ok());
  std::unique_ptr<int> p = std::move(r).value();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, 7);
}

TEST(ResultTest, ValueIsMutable) {
  Result<std::string> r = std::string("a");
  r.value() += "b";
  *r += "c";
  EXPECT_EQ(*r, "abc");
}

Result<int> ParsePositive(int v) {
  if (v <= 0) return Status::OutOfRange("not positive");
  return v;
}

Result<int> DoubledPositive(int v, int* reached_end) {
  EDDY_ASSIGN_OR_RETURN(int x, ParsePositive(v));
  *reached_end = 1;
  return x * 2;
}

TEST(StatusMacrosTest, AssignOrReturnAssignsOnSuccess) {
  int reached_end = 0;
  Result<int> r = DoubledPositive(21, &reached_end);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, 42);
  EXPECT_EQ(reached_end, 1);
}

TEST(StatusMacrosTest, AssignOrReturnReturnsTheError) {
  int reached_end = 0;
  Result<int> r = DoubledPositive(-1, &reached_end);
  EXPECT_EQ(r.status(), Status::OutOfRange("not positive"));
  EXPECT_EQ(reached_end, 0);
}

Status SumTwo(int a, int b, int& sum) {
  // Two uses in one function must not clash.
  EDDY_ASSIGN_OR_RETURN(int x, ParsePositive(a));
  EDDY_ASSIGN_OR_RETURN(int y, ParsePositive(b));
  sum = x + y;
  return Status::OK();
}

TEST(StatusMacrosTest, AssignOrReturnCanBeUsedTwiceInOneScope) {
  int sum = 0;
  EXPECT_TRUE(SumTwo(1, 2, sum).ok());
  EXPECT_EQ(sum, 3);
  EXPECT_EQ(SumTwo(1, 0, sum).code(), StatusCode::kOutOfRange);
}

Status CheckAll(Status first, Status second, int& steps) {
  steps = 0;
  EDDY_RETURN_IF_ERROR(first);
  ++steps;
  EDDY_RETURN_IF_ERROR(second);
  ++steps;
  return Status::OK();
}

TEST(StatusMacrosTest, ReturnIfErrorContinuesOnOk) {
  int steps = -1;
  EXPECT_TRUE(CheckAll(Status::OK(), Status::OK(), steps).ok());
  EXPECT_EQ(steps, 2);
}

TEST(StatusMacrosTest, ReturnIfErrorStopsAtFirstError) {
  int steps = -1;
  Status s = CheckAll(Status::OK(), Status::Unavailable("broker down"), steps);
  EXPECT_EQ(s, Status::Unavailable("broker down"));
  EXPECT_EQ(steps, 1);

  s = CheckAll(Status::Cancelled("stop"), Status::Unavailable("x"), steps);
  EXPECT_EQ(s, Status::Cancelled("stop"));
  EXPECT_EQ(steps, 0);
}

}  // namespace
}  // namespace eddy
