#include "scoring/input_mapper.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

namespace eddy {
namespace {

// Variables of a small transaction source: fields, then two features.
std::vector<ExprVariable> Vars() {
  return {{"id", ExprType::kString},     {"amount", ExprType::kDouble},  {"items", ExprType::kInt},
          {"online", ExprType::kBool},   {"country", ExprType::kString}, {"tx_1h", ExprType::kInt},
          {"mean_7d", ExprType::kDouble}};
}

// Values in Vars() order.
std::vector<ExprValue> Values(double amount, int64_t items, bool online, std::string_view country,
                              int64_t tx_1h, double mean_7d) {
  return {ExprValue::String("e1"),   ExprValue::Double(amount),  ExprValue::Int(items),
          ExprValue::Bool(online),   ExprValue::String(country), ExprValue::Int(tx_1h),
          ExprValue::Double(mean_7d)};
}

ModelSpec Spec() {
  ModelSpec m;
  m.name = "m";
  m.source = "tx";
  m.where = "p.yaml:3:5";
  return m;
}

InputMapper Create(const ModelSpec& spec) {
  auto m = InputMapper::Create(spec, Vars());
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? std::move(m).value() : InputMapper();
}

std::string CreateError(const ModelSpec& spec) {
  auto m = InputMapper::Create(spec, Vars());
  EXPECT_FALSE(m.ok());
  return m.ok() ? "" : m.status().message();
}

double Input(const InputMapper& m, const std::vector<double>& out, std::string_view name) {
  int i = m.Find(name);
  EXPECT_GE(i, 0) << name;
  return i < 0 ? NAN : out[static_cast<size_t>(i)];
}

TEST(InputMapperTest, NumericAndBoolFieldsAndFeaturesAreInputsByName) {
  InputMapper m = Create(Spec());
  // Strings are not inputs unless encoded.
  EXPECT_EQ(m.names(), (std::vector<std::string>{"amount", "items", "online", "tx_1h", "mean_7d"}));
  EXPECT_EQ(m.Find("country"), -1);
  EXPECT_EQ(m.Find("id"), -1);
  EXPECT_EQ(m.FindVariable("country"), 4);
  EXPECT_EQ(m.FindVariable("nope"), -1);

  std::vector<double> out;
  std::vector<bool> missing;
  m.Map(Values(12.5, 3, true, "FR", 7, 10.25), out, missing);
  EXPECT_EQ(out, (std::vector<double>{12.5, 3, 1, 7, 10.25}));
  EXPECT_EQ(missing, std::vector<bool>(5, false));
  m.Map(Values(0, 0, false, "FR", 0, 0), out, missing);
  EXPECT_EQ(Input(m, out, "online"), 0.0);
}

TEST(InputMapperTest, ExpressionsComeFirstAndShadowFieldsOfTheSameName) {
  ModelSpec spec = Spec();
  spec.inputs = {{"ratio", "amount / mean_7d"}, {"amount", "amount * 100"}};
  InputMapper m = Create(spec);
  EXPECT_EQ(m.names(),
            (std::vector<std::string>{"ratio", "amount", "items", "online", "tx_1h", "mean_7d"}));
  std::vector<double> out;
  std::vector<bool> missing;
  m.Map(Values(12.5, 3, true, "FR", 7, 10), out, missing);
  EXPECT_EQ(Input(m, out, "ratio"), 1.25);
  EXPECT_EQ(Input(m, out, "amount"), 1250);  // the expression, not the field
}

TEST(InputMapperTest, EncodeTurnsListedValuesIntoTheirIndex) {
  ModelSpec spec = Spec();
  spec.encode = {{"country", {"US", "FR", "DE"}}, {"items", {"1", "2", "3"}}};
  spec.inputs = {{"region", "if(country == \"US\", \"na\", \"eu\")"}};
  spec.encode.push_back({"region", {"eu", "na"}});
  InputMapper m = Create(spec);
  ASSERT_GE(m.Find("country"), 0);
  std::vector<double> out;
  std::vector<bool> missing;
  m.Map(Values(1, 3, true, "DE", 0, 0), out, missing);
  EXPECT_EQ(Input(m, out, "country"), 2);
  EXPECT_EQ(Input(m, out, "items"), 2);  // the value 3 is the third entry
  EXPECT_EQ(Input(m, out, "region"), 0);
  m.Map(Values(1, 9, true, "US", 0, 0), out, missing);
  EXPECT_EQ(Input(m, out, "country"), 0);
  EXPECT_EQ(Input(m, out, "region"), 1);
  // Unlisted values are missing.
  EXPECT_TRUE(std::isnan(Input(m, out, "items")));
  EXPECT_TRUE(missing[static_cast<size_t>(m.Find("items"))]);
  m.Map(Values(1, 1, true, "JP", 0, 0), out, missing);
  EXPECT_TRUE(std::isnan(Input(m, out, "country")));
  EXPECT_TRUE(missing[static_cast<size_t>(m.Find("country"))]);
}

TEST(InputMapperTest, NullInputsAreMissingAndTakeTheirDefault) {
  ModelSpec spec = Spec();
  spec.defaults = {{"mean_7d", -1.5}, {"ratio", 0.0}};
  spec.inputs = {{"ratio", "amount / mean_7d"}};
  InputMapper m = Create(spec);
  std::vector<ExprValue> values = Values(10, 1, true, "FR", 2, 4);
  values[6] = ExprValue::Null();  // mean_7d
  values[5] = ExprValue::Null();  // tx_1h
  std::vector<double> out;
  std::vector<bool> missing;
  m.Map(values, out, missing);
  // With a default: the default, still flagged missing (missing: skip uses
  // the flag).
  EXPECT_EQ(Input(m, out, "mean_7d"), -1.5);
  EXPECT_TRUE(missing[static_cast<size_t>(m.Find("mean_7d"))]);
  // An expression over a null is null, and takes its own default.
  EXPECT_EQ(Input(m, out, "ratio"), 0.0);
  EXPECT_TRUE(missing[static_cast<size_t>(m.Find("ratio"))]);
  // Without a default: NaN (the model's own missing-value handling).
  EXPECT_TRUE(std::isnan(Input(m, out, "tx_1h")));
  EXPECT_TRUE(missing[static_cast<size_t>(m.Find("tx_1h"))]);
  EXPECT_FALSE(missing[static_cast<size_t>(m.Find("amount"))]);
  EXPECT_EQ(Input(m, out, "amount"), 10);
}

TEST(InputMapperTest, ExprToInput) {
  std::vector<std::string> values = {"a", "1.5", "7"};
  EXPECT_EQ(ExprToInput(ExprValue::Bool(true), nullptr), 1.0);
  EXPECT_EQ(ExprToInput(ExprValue::Int(-3), nullptr), -3.0);
  EXPECT_TRUE(std::isnan(ExprToInput(ExprValue::String("a"), nullptr)));
  EXPECT_TRUE(std::isnan(ExprToInput(ExprValue::Null(), &values)));
  EXPECT_EQ(ExprToInput(ExprValue::String("a"), &values), 0.0);
  EXPECT_EQ(ExprToInput(ExprValue::Double(1.5), &values), 1.0);
  EXPECT_EQ(ExprToInput(ExprValue::Int(7), &values), 2.0);
  EXPECT_TRUE(std::isnan(ExprToInput(ExprValue::Int(8), &values)));
}

TEST(InputMapperTest, ErrorsNameTheModelAndWhatIsWrong) {
  ModelSpec spec = Spec();
  spec.inputs = {{"bad", "amount +"}};
  std::string e = CreateError(spec);
  EXPECT_NE(e.find("p.yaml:3:5: model 'm': input 'bad'"), std::string::npos) << e;

  spec = Spec();
  spec.inputs = {{"c", "country"}};
  e = CreateError(spec);
  EXPECT_NE(e.find("input 'c' is a string; list its values under `encode`"), std::string::npos)
      << e;

  spec = Spec();
  spec.encode = {{"contry", {"FR"}}};
  e = CreateError(spec);
  EXPECT_NE(e.find("`encode` names 'contry', which is not a field, feature or input"),
            std::string::npos)
      << e;

  spec = Spec();
  spec.defaults = {{"amount_x", 1}};
  e = CreateError(spec);
  EXPECT_NE(e.find("`defaults` names 'amount_x'"), std::string::npos) << e;
}

}  // namespace
}  // namespace eddy
