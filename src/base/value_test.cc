#include "base/value.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

namespace eddy {
namespace {

TEST(FieldTypeTest, Names) {
  EXPECT_EQ(FieldTypeName(FieldType::kString), "string");
  EXPECT_EQ(FieldTypeName(FieldType::kInt), "int");
  EXPECT_EQ(FieldTypeName(FieldType::kDouble), "double");
  EXPECT_EQ(FieldTypeName(FieldType::kBool), "bool");
  EXPECT_EQ(FieldTypeName(FieldType::kTimestamp), "timestamp");
}

TEST(ValueTest, DefaultIsNull) {
  Value v;
  EXPECT_TRUE(v.is_null());
  EXPECT_EQ(v.kind(), Value::Kind::kNull);
  EXPECT_TRUE(Value::Null().is_null());
}

TEST(ValueTest, HoldsEachKind) {
  EXPECT_EQ(Value::Bool(true).kind(), Value::Kind::kBool);
  EXPECT_TRUE(Value::Bool(true).bool_value());
  EXPECT_FALSE(Value::Bool(false).bool_value());

  EXPECT_EQ(Value::Int(-5).kind(), Value::Kind::kInt);
  EXPECT_EQ(Value::Int(std::numeric_limits<int64_t>::min()).int_value(),
            std::numeric_limits<int64_t>::min());

  EXPECT_EQ(Value::Double(2.5).kind(), Value::Kind::kDouble);
  EXPECT_EQ(Value::Double(2.5).double_value(), 2.5);

  Value t = Value::Timestamp(EventTime::FromMicros(1714564800123456));
  EXPECT_EQ(t.kind(), Value::Kind::kTimestamp);
  EXPECT_EQ(t.timestamp_value(), EventTime::FromMicros(1714564800123456));
  EXPECT_FALSE(t.is_null());
}

TEST(ValueTest, AsDoubleOfNumericKinds) {
  EXPECT_EQ(Value::Bool(true).AsDouble(), 1.0);
  EXPECT_EQ(Value::Bool(false).AsDouble(), 0.0);
  EXPECT_EQ(Value::Int(-7).AsDouble(), -7.0);
  EXPECT_EQ(Value::Double(0.25).AsDouble(), 0.25);
}

TEST(ValueTest, TimestampAsDoubleIsEpochSeconds) {
  EXPECT_EQ(Value::Timestamp(EventTime::FromMicros(1714564800500000)).AsDouble(), 1714564800.5);
  EXPECT_EQ(Value::Timestamp(EventTime::FromMicros(-1500000)).AsDouble(), -1.5);
}

TEST(RowTest, ResetFillsWithNulls) {
  Row row(3);
  ASSERT_EQ(row.size(), 3u);
  for (size_t i = 0; i < row.size(); ++i) EXPECT_TRUE(row[i].is_null());
  row.Set(1, Value::Int(4));
  row.Reset(2);
  ASSERT_EQ(row.size(), 2u);
  EXPECT_TRUE(row[1].is_null());
}

TEST(RowTest, StringsAreStoredInTheRow) {
  Row row(3);
  row.SetString(0, "alpha");
  row.Set(1, Value::Double(1.5));
  row.SetString(2, "");
  EXPECT_EQ(row[0].kind(), Value::Kind::kString);
  EXPECT_EQ(row.GetString(0), "alpha");
  EXPECT_EQ(row[1].double_value(), 1.5);
  EXPECT_EQ(row.GetString(2), "");
}

TEST(RowTest, StringsSurviveMovesAndLaterAppends) {
  Row row(2);
  row.SetString(0, "first");
  for (int i = 0; i < 100; ++i) row.SetString(1, std::string(100, 'x'));  // grows storage
  Row moved = std::move(row);
  EXPECT_EQ(moved.GetString(0), "first");
  EXPECT_EQ(moved.GetString(1), std::string(100, 'x'));
}

TEST(RowTest, ResetForgetsStrings) {
  Row row(1);
  row.SetString(0, "old value");
  row.Reset(1);
  EXPECT_TRUE(row[0].is_null());
  row.SetString(0, "new");
  EXPECT_EQ(row.GetString(0), "new");
  EXPECT_EQ(row[0].string_offset(), 0u);
}

TEST(RowTest, MutableValueWritesThrough) {
  Row row(1);
  row.mutable_value(0) = Value::Bool(true);
  EXPECT_TRUE(row[0].bool_value());
}

}  // namespace
}  // namespace eddy
