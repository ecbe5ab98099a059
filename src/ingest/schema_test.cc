// Schema: compilation of a source's fields and the value rules every decoded
// record passes (required, min/max, allowed), identical for JSON and CSV.

#include "ingest/schema.h"

#include <gtest/gtest.h>

namespace eddy {
namespace {

FieldSpec F(std::string name, FieldType type) {
  FieldSpec f;
  f.name = std::move(name);
  f.type = type;
  return f;
}

SourceSpec BaseSpec() {
  SourceSpec s;
  s.name = "tx";
  s.fields = {F("id", FieldType::kString),     F("user", FieldType::kString),
              F("amount", FieldType::kDouble), F("n", FieldType::kInt),
              F("ts", FieldType::kTimestamp),  F("channel", FieldType::kString)};
  s.event_time_field = "ts";
  return s;
}

Row GoodRow() {
  Row r(6);
  r.SetString(0, "a");
  r.SetString(1, "u1");
  r.Set(2, Value::Double(10));
  r.Set(3, Value::Int(1));
  r.Set(4, Value::Timestamp(EventTime::FromMicros(0)));
  r.SetString(5, "web");
  return r;
}

TEST(SchemaTest, LookupByNameWithHint) {
  auto s = Schema::Create(BaseSpec());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->num_fields(), 6u);
  EXPECT_EQ(s->Lookup("id"), 0);
  EXPECT_EQ(s->Lookup("channel"), 5);
  EXPECT_EQ(s->Lookup("amount", 2), 2);
  EXPECT_EQ(s->Lookup("amount", 5), 2) << "a wrong hint still finds the field";
  EXPECT_EQ(s->Lookup("amount", 99), 2);
  EXPECT_EQ(s->Lookup("amount", -1), 2);
  EXPECT_EQ(s->Lookup("nope"), -1);
  EXPECT_EQ(s->Lookup(""), -1);
  EXPECT_EQ(s->Lookup("Amount"), -1) << "names are case sensitive";
}

TEST(SchemaTest, EventTimeAndKeyFieldsAreImplicitlyRequired) {
  SourceSpec spec = BaseSpec();
  spec.key_fields = {"user", "channel"};
  spec.id_field = "id";
  auto s = Schema::Create(spec);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->event_time_index(), 4);
  EXPECT_EQ(s->id_index(), 0);
  EXPECT_EQ(s->key_indices(), (std::vector<int>{1, 5}));

  DecodeError err;
  Row r = GoodRow();
  EXPECT_TRUE(s->Check(r, err));

  r = GoodRow();
  r.Set(4, Value::Null());
  EXPECT_FALSE(s->Check(r, err));
  EXPECT_EQ(err.code, "missing_required");
  EXPECT_EQ(err.field, "ts");
  EXPECT_NE(err.message.find("event_time"), std::string::npos) << err.message;

  r = GoodRow();
  r.Set(5, Value::Null());
  EXPECT_FALSE(s->Check(r, err));
  EXPECT_EQ(err.code, "missing_required");
  EXPECT_EQ(err.field, "channel");
  EXPECT_NE(err.message.find("'channel'"), std::string::npos) << err.message;

  // The id is not implicitly required.
  r = GoodRow();
  r.Set(0, Value::Null());
  EXPECT_TRUE(s->Check(r, err));
}

TEST(SchemaTest, RequiredAndOptionalNulls) {
  SourceSpec spec = BaseSpec();
  spec.fields[0].required = true;
  auto s = Schema::Create(spec);
  ASSERT_TRUE(s.ok());
  DecodeError err;
  Row r = GoodRow();
  r.Set(2, Value::Null());  // optional amount: fine
  r.Set(3, Value::Null());
  EXPECT_TRUE(s->Check(r, err));
  r.Set(0, Value::Null());
  EXPECT_FALSE(s->Check(r, err));
  EXPECT_EQ(err.field, "id");
}

TEST(SchemaTest, MinMaxOnDoubleAndInt) {
  SourceSpec spec = BaseSpec();
  spec.fields[2].min = 0;
  spec.fields[2].max = 10000;
  spec.fields[3].min = -5;
  auto s = Schema::Create(spec);
  ASSERT_TRUE(s.ok());
  DecodeError err;
  Row r = GoodRow();
  r.Set(2, Value::Double(0));  // bounds are inclusive
  EXPECT_TRUE(s->Check(r, err));
  r.Set(2, Value::Double(10000));
  EXPECT_TRUE(s->Check(r, err));
  r.Set(2, Value::Double(10000.001));
  EXPECT_FALSE(s->Check(r, err));
  EXPECT_EQ(err.code, "out_of_range");
  EXPECT_EQ(err.field, "amount");
  EXPECT_NE(err.message.find("[0, 10000]"), std::string::npos) << err.message;
  r.Set(2, Value::Double(-0.5));
  EXPECT_FALSE(s->Check(r, err));

  r = GoodRow();
  r.Set(3, Value::Int(-5));
  EXPECT_TRUE(s->Check(r, err));
  r.Set(3, Value::Int(-6));
  EXPECT_FALSE(s->Check(r, err));
  EXPECT_EQ(err.code, "out_of_range");
  EXPECT_EQ(err.field, "n");
  EXPECT_NE(err.message.find("-6"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find(">= -5"), std::string::npos) << err.message;
  // A null value is not range-checked.
  r.Set(3, Value::Null());
  EXPECT_TRUE(s->Check(r, err));
}

TEST(SchemaTest, AllowedStringsAndInts) {
  SourceSpec spec = BaseSpec();
  spec.fields[5].allowed = {"web", "app"};
  spec.fields[3].allowed = {"1", "2", "-3"};
  auto s = Schema::Create(spec);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  DecodeError err;
  Row r = GoodRow();
  EXPECT_TRUE(s->Check(r, err));
  r.SetString(5, "tv");
  EXPECT_FALSE(s->Check(r, err));
  EXPECT_EQ(err.code, "not_allowed");
  EXPECT_EQ(err.field, "channel");
  EXPECT_NE(err.message.find("'tv'"), std::string::npos) << err.message;
  EXPECT_NE(err.message.find("web, app"), std::string::npos) << err.message;

  r = GoodRow();
  r.Set(3, Value::Int(-3));
  EXPECT_TRUE(s->Check(r, err));
  r.Set(3, Value::Int(3));
  EXPECT_FALSE(s->Check(r, err));
  EXPECT_EQ(err.code, "not_allowed");
  EXPECT_EQ(err.field, "n");
  // Null is not checked against the allowed values.
  r.Set(3, Value::Null());
  r.Set(5, Value::Null());
  EXPECT_TRUE(s->Check(r, err));
}

TEST(SchemaTest, AllowedIsCaseSensitive) {
  SourceSpec spec = BaseSpec();
  spec.fields[5].allowed = {"web"};
  auto s = Schema::Create(spec);
  ASSERT_TRUE(s.ok());
  DecodeError err;
  Row r = GoodRow();
  r.SetString(5, "WEB");
  EXPECT_FALSE(s->Check(r, err));
}

TEST(SchemaTest, CreateErrors) {
  SourceSpec spec = BaseSpec();
  spec.event_time_field = "when";
  auto s = Schema::Create(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'when'"), std::string::npos);

  spec = BaseSpec();
  spec.key_fields = {"nobody"};
  s = Schema::Create(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("'nobody'"), std::string::npos);

  spec = BaseSpec();
  spec.fields[3].allowed = {"1", "x"};
  s = Schema::Create(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("not an int"), std::string::npos);
}

TEST(SchemaTest, UnknownFieldPolicyIsCarried) {
  SourceSpec spec = BaseSpec();
  EXPECT_EQ(Schema::Create(spec)->unknown_fields(), UnknownFieldPolicy::kIgnore);
  spec.unknown_fields = UnknownFieldPolicy::kReject;
  EXPECT_EQ(Schema::Create(spec)->unknown_fields(), UnknownFieldPolicy::kReject);
}

TEST(SchemaTest, AppendValueJson) {
  Row r(6);
  r.SetString(0, "a\"b\n");
  r.Set(1, Value::Bool(true));
  r.Set(2, Value::Double(10.5));
  r.Set(3, Value::Int(-7));
  r.Set(4, Value::Timestamp(EventTime::FromMicros(1714564800250000LL)));
  std::string out;
  for (size_t i = 0; i < 6; ++i) {
    if (i > 0) out += ",";
    AppendValueJson(out, r, i);
  }
  EXPECT_EQ(out, R"("a\"b\n",true,10.5,-7,"2024-05-01T12:00:00.250Z",null)");
}

}  // namespace
}  // namespace eddy
