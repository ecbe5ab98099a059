#include "model/linear_model.h"

#include <cmath>

#include "base/json_writer.h"
#include "base/strings.h"
#include "model/json_dom.h"

namespace eddy {
namespace {

using model_internal::JsonValue;

constexpr std::string_view kFormatName = "eddy.linear";
constexpr int kFormatVersion = 1;

class LinearModel final : public Model {
 public:
  LinearModel(ModelInfo info, LinearWeights w)
      : Model(std::move(info)),
        w_(std::move(w)),
        hasher_(w_.hash_bits > 0 ? w_.hash_bits : 1, w_.hash_seed, w_.signed_hash) {}

 protected:
  void DoPredict(const double* features, std::span<const CategoricalValue> categorical,
                 double* out) const override {
    out[0] = ApplyLink(
        w_.link, LinearMargin(w_, w_.hash_bits > 0 ? &hasher_ : nullptr, features, categorical));
  }

 private:
  LinearWeights w_;
  FeatureHasher hasher_;
};

Status Field(std::string_view path, std::string_view what) {
  return Status::InvalidArgument(StrCat(path, ": ", what));
}

Result<double> NumberMember(const JsonValue& obj, std::string_view path, std::string_view key,
                            bool required, double default_value) {
  const JsonValue* v = obj.Find(key);
  if (v == nullptr) {
    if (required) return Field(StrCat(path, ".", key), "missing");
    return default_value;
  }
  if (!v->is_number()) {
    return Field(StrCat(path, ".", key), StrCat("expected a number, found ", v->type_name()));
  }
  return v->number();
}

Result<std::vector<std::string>> StringList(const JsonValue& obj, std::string_view path,
                                            std::string_view key) {
  std::vector<std::string> out;
  const JsonValue* v = obj.Find(key);
  if (v == nullptr) return out;
  if (!v->is_array() || (v->is_number_array() && v->size() > 0)) {
    return Field(StrCat(path, ".", key), "expected an array of strings");
  }
  for (size_t i = 0; i < v->items().size(); ++i) {
    if (!v->items()[i].is_string()) {
      return Field(StrCat(path, ".", key, "[", i, "]"), "expected a string");
    }
    out.push_back(v->items()[i].str());
  }
  return out;
}

Result<LinearWeights> FromJson(std::string_view json) {
  EDDY_ASSIGN_OR_RETURN(JsonValue root, model_internal::ParseJson(json));
  if (!root.is_object()) return Field("document", "expected an object");
  const JsonValue* format = root.Find("format");
  if (format == nullptr || !format->is_string() || format->str() != kFormatName) {
    return Field("format", StrCat("expected \"", kFormatName, "\""));
  }
  EDDY_ASSIGN_OR_RETURN(double version, NumberMember(root, "document", "version", true, 0));
  if (version != kFormatVersion) {
    return Status::Unimplemented(StrCat(
        "version: ", version, " is not supported (this build reads version ", kFormatVersion, ")"));
  }
  LinearWeights w;
  const JsonValue* link = root.Find("link");
  if (link == nullptr || !link->is_string()) return Field("link", "expected a string");
  if (link->str() == "identity") {
    w.link = Link::kIdentity;
  } else if (link->str() == "logistic") {
    w.link = Link::kLogistic;
  } else {
    return Field("link", StrCat(Quote(link->str()), " is not \"identity\" or \"logistic\""));
  }
  EDDY_ASSIGN_OR_RETURN(w.bias, NumberMember(root, "document", "bias", false, 0.0));

  const JsonValue* features = root.Find("features");
  if (features == nullptr || !features->is_array() ||
      (features->is_number_array() && features->size() > 0)) {
    return Field("features", "expected an array of objects");
  }
  for (size_t i = 0; i < features->items().size(); ++i) {
    const JsonValue& f = features->items()[i];
    const std::string path = StrCat("features[", i, "]");
    if (!f.is_object()) return Field(path, "expected an object");
    const JsonValue* name = f.Find("name");
    if (name == nullptr || !name->is_string() || name->str().empty()) {
      return Field(StrCat(path, ".name"), "expected a non-empty string");
    }
    w.feature_names.push_back(name->str());
    EDDY_ASSIGN_OR_RETURN(double weight, NumberMember(f, path, "weight", true, 0));
    EDDY_ASSIGN_OR_RETURN(double mean, NumberMember(f, path, "mean", false, 0.0));
    EDDY_ASSIGN_OR_RETURN(double scale, NumberMember(f, path, "scale", false, 1.0));
    w.weights.push_back(weight);
    w.means.push_back(mean);
    w.scales.push_back(scale);
  }

  if (const JsonValue* h = root.Find("hashing"); h != nullptr) {
    if (!h->is_object()) return Field("hashing", "expected an object");
    EDDY_ASSIGN_OR_RETURN(w.hashed_fields, StringList(*h, "hashing", "fields"));
    EDDY_ASSIGN_OR_RETURN(double bits, NumberMember(*h, "hashing", "bits", true, 0));
    if (!(bits >= 1 && bits <= 24) || bits != std::floor(bits)) {
      return Field("hashing.bits", "expected an integer in [1, 24]");
    }
    w.hash_bits = static_cast<int>(bits);
    EDDY_ASSIGN_OR_RETURN(double seed, NumberMember(*h, "hashing", "seed", false, 0.0));
    if (!(seed >= 0 && seed <= 4294967295.0) || seed != std::floor(seed)) {
      return Field("hashing.seed", "expected an integer in [0, 2^32)");
    }
    w.hash_seed = static_cast<uint32_t>(seed);
    if (const JsonValue* s = h->Find("signed"); s != nullptr) {
      if (!s->is_bool()) return Field("hashing.signed", "expected true or false");
      w.signed_hash = s->bool_value();
    }
    w.hashed_weights.assign(size_t{1} << w.hash_bits, 0.0);
    const JsonValue* hw = h->Find("weights");
    if (hw != nullptr) {
      if (!hw->is_array() || (hw->is_number_array() && hw->size() > 0)) {
        return Field("hashing.weights", "expected an array of [index, weight] pairs");
      }
      for (size_t i = 0; i < hw->items().size(); ++i) {
        const JsonValue& pair = hw->items()[i];
        const std::string path = StrCat("hashing.weights[", i, "]");
        if (!pair.is_number_array() || pair.size() != 2) {
          return Field(path, "expected [index, weight]");
        }
        const double index = pair.numbers()[0];
        if (!(index >= 0 && index < static_cast<double>(w.hashed_weights.size())) ||
            index != std::floor(index)) {
          return Field(path, StrCat("index ", index, " is not in [0, 2^bits)"));
        }
        w.hashed_weights[static_cast<size_t>(index)] = pair.numbers()[1];
      }
    }
  }
  EDDY_RETURN_IF_ERROR(ValidateLinearWeights(w));
  return w;
}

}  // namespace

std::string_view LinkName(Link link) { return link == Link::kLogistic ? "logistic" : "identity"; }

Status ValidateLinearWeights(const LinearWeights& w) {
  const size_t n = w.feature_names.size();
  if (w.weights.size() != n || w.means.size() != n || w.scales.size() != n) {
    return Status::InvalidArgument("features: weights, means and scales must have one entry each");
  }
  if (!std::isfinite(w.bias)) return Status::InvalidArgument("bias: not finite");
  for (size_t i = 0; i < n; ++i) {
    if (!std::isfinite(w.weights[i]) || !std::isfinite(w.means[i])) {
      return Status::InvalidArgument(StrCat("features[", i, "] (", Quote(w.feature_names[i]),
                                            "): weight and mean must be finite"));
    }
    if (!(w.scales[i] > 0) || !std::isfinite(w.scales[i])) {
      return Status::InvalidArgument(StrCat("features[", i, "] (", Quote(w.feature_names[i]),
                                            "): scale must be finite and > 0"));
    }
  }
  if (w.hash_bits != 0) {
    if (w.hash_bits < 1 || w.hash_bits > 24) {
      return Status::InvalidArgument("hashing.bits: expected an integer in [1, 24]");
    }
    if (w.hashed_weights.size() != (size_t{1} << w.hash_bits)) {
      return Status::InvalidArgument("hashing.weights: must have 2^bits entries");
    }
    for (size_t i = 0; i < w.hashed_weights.size(); ++i) {
      if (!std::isfinite(w.hashed_weights[i])) {
        return Status::InvalidArgument(StrCat("hashing.weights: weight ", i, " is not finite"));
      }
    }
  } else if (!w.hashed_weights.empty()) {
    return Status::InvalidArgument("hashing.weights given without hashing.bits");
  }
  return Status::OK();
}

double LinearMargin(const LinearWeights& w, const FeatureHasher* hasher, const double* numeric,
                    std::span<const CategoricalValue> categorical) {
  double m = w.bias;
  const size_t n = w.weights.size();
  for (size_t i = 0; i < n; ++i) {
    const double x = numeric[i];
    if (!std::isnan(x)) m += w.weights[i] * ((x - w.means[i]) / w.scales[i]);
  }
  if (hasher != nullptr) {
    for (const CategoricalValue& c : categorical) {
      const FeatureHasher::Slot s = hasher->Hash(c.field, c.value);
      m += s.sign * w.hashed_weights[s.index];
    }
  }
  return m;
}

double ApplyLink(Link link, double margin) {
  return link == Link::kLogistic ? 1.0 / (1.0 + std::exp(-margin)) : margin;
}

std::string LinearWeightsToJson(const LinearWeights& w) {
  std::string out;
  JsonWriter j(out);
  j.BeginObject();
  j.Key("format").String(kFormatName);
  j.Key("version").Int(kFormatVersion);
  j.Key("link").String(LinkName(w.link));
  j.Key("bias").Double(w.bias);
  j.Key("features").BeginArray();
  for (size_t i = 0; i < w.feature_names.size(); ++i) {
    j.BeginObject();
    j.Key("name").String(w.feature_names[i]);
    j.Key("weight").Double(w.weights[i]);
    j.Key("mean").Double(w.means[i]);
    j.Key("scale").Double(w.scales[i]);
    j.EndObject();
  }
  j.EndArray();
  if (w.hash_bits > 0) {
    j.Key("hashing").BeginObject();
    j.Key("fields").BeginArray();
    for (const std::string& f : w.hashed_fields) j.String(f);
    j.EndArray();
    j.Key("bits").Int(w.hash_bits);
    j.Key("seed").Uint(w.hash_seed);
    j.Key("signed").Bool(w.signed_hash);
    j.Key("weights").BeginArray();
    for (size_t i = 0; i < w.hashed_weights.size(); ++i) {
      // Zero weights are the default; -0.0 is written to keep the bits.
      const double v = w.hashed_weights[i];
      if (v == 0 && !std::signbit(v)) continue;
      j.BeginArray().Uint(i).Double(v).EndArray();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndObject();
  out.push_back('\n');
  return out;
}

Result<LinearWeights> LinearWeightsFromJson(std::string_view json, std::string_view source) {
  try {
    auto r = FromJson(json);
    if (!r.ok()) return r.status().WithContext(StrCat(source, " (eddy.linear)"));
    return r;
  } catch (const std::bad_alloc&) {
    return Status::ResourceExhausted(StrCat(source, ": out of memory loading the model"));
  }
}

std::unique_ptr<Model> MakeLinearModel(LinearWeights w, ModelFormat format,
                                       std::string content_hash) {
  ModelInfo info;
  info.format = format;
  info.task = w.link == Link::kLogistic ? ModelTask::kBinaryClassification : ModelTask::kRegression;
  info.output = w.link == Link::kLogistic ? OutputKind::kProbability : OutputKind::kValue;
  info.objective = std::string(LinkName(w.link));
  info.feature_names = w.feature_names;
  info.categorical.assign(w.feature_names.size(), false);
  info.hashed_fields = w.hashed_fields;
  info.num_outputs = 1;
  info.content_hash = std::move(content_hash);
  return std::make_unique<LinearModel>(std::move(info), std::move(w));
}

Result<std::unique_ptr<Model>> ParseLinearJson(std::string_view bytes, std::string_view source) {
  EDDY_ASSIGN_OR_RETURN(LinearWeights w, LinearWeightsFromJson(bytes, source));
  return MakeLinearModel(std::move(w), ModelFormat::kLinearJson, ContentHash(bytes));
}

}  // namespace eddy
