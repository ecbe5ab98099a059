#include "model/model.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/strings.h"
#include "model/linear_model.h"
#include "model/online_learner.h"
#include "model/tree_loaders.h"

namespace eddy {

std::string_view ModelFormatName(ModelFormat format) {
  switch (format) {
    case ModelFormat::kXGBoostJson:
      return "xgboost_json";
    case ModelFormat::kLightGbmText:
      return "lightgbm_text";
    case ModelFormat::kLinearJson:
      return "linear_json";
    case ModelFormat::kOnlineSnapshot:
      return "online_snapshot";
  }
  return "?";
}

Result<ModelFormat> ParseModelFormat(std::string_view name) {
  for (ModelFormat f : {ModelFormat::kXGBoostJson, ModelFormat::kLightGbmText,
                        ModelFormat::kLinearJson, ModelFormat::kOnlineSnapshot}) {
    if (name == ModelFormatName(f)) return f;
  }
  if (name == "xgboost") return ModelFormat::kXGBoostJson;
  if (name == "lightgbm") return ModelFormat::kLightGbmText;
  if (name == "linear") return ModelFormat::kLinearJson;
  if (name == "snapshot") return ModelFormat::kOnlineSnapshot;
  return Status::InvalidArgument(
      StrCat("unknown model format ", Quote(name),
             " (expected xgboost_json, lightgbm_text, linear_json or online_snapshot)"));
}

std::string_view ModelFileName(ModelFormat format) {
  switch (format) {
    case ModelFormat::kXGBoostJson:
      return "model.json";
    case ModelFormat::kLightGbmText:
      return "model.txt";
    case ModelFormat::kLinearJson:
      return "model.linear.json";
    case ModelFormat::kOnlineSnapshot:
      return "model.snapshot";
  }
  return "model";
}

std::string_view ModelTaskName(ModelTask task) {
  switch (task) {
    case ModelTask::kRegression:
      return "regression";
    case ModelTask::kBinaryClassification:
      return "binary_classification";
    case ModelTask::kMulticlassClassification:
      return "multiclass_classification";
  }
  return "?";
}

std::string_view OutputKindName(OutputKind kind) {
  switch (kind) {
    case OutputKind::kValue:
      return "value";
    case OutputKind::kProbability:
      return "probability";
    case OutputKind::kClassIndex:
      return "class_index";
  }
  return "?";
}

Status Model::Predict(std::span<const double> features, std::span<double> out) const {
  return Predict(features, {}, out);
}

Status Model::Predict(std::span<const double> features,
                      std::span<const CategoricalValue> categorical, std::span<double> out) const {
  if (features.size() != num_features()) {
    return Status::InvalidArgument(
        StrCat("the model takes ", num_features(), " features, got ", features.size()));
  }
  if (out.size() < num_outputs()) {
    return Status::InvalidArgument(
        StrCat("the model gives ", num_outputs(), " outputs, room for ", out.size()));
  }
  DoPredict(features.data(), categorical, out.data());
  return Status::OK();
}

Status Model::PredictBatch(std::span<const double> rows, std::span<double> out) const {
  const size_t nf = num_features();
  if (nf == 0 || rows.size() % nf != 0) {
    return Status::InvalidArgument(StrCat(
        "batch of ", rows.size(), " values is not a whole number of rows of ", nf, " features"));
  }
  const size_t num_rows = rows.size() / nf;
  if (out.size() < num_rows * num_outputs()) {
    return Status::InvalidArgument(StrCat("batch of ", num_rows, " rows needs ",
                                          num_rows * num_outputs(), " outputs, room for ",
                                          out.size()));
  }
  if (num_rows > 0) DoPredictBatch(rows.data(), num_rows, out.data());
  return Status::OK();
}

void Model::DoPredictBatch(const double* rows, size_t num_rows, double* out) const {
  const size_t nf = num_features(), no = num_outputs();
  for (size_t r = 0; r < num_rows; ++r) DoPredict(rows + r * nf, {}, out + r * no);
}

Result<ModelFormat> DetectModelFormat(std::string_view bytes) {
  if (StartsWith(bytes, "EDDYOLRN")) return ModelFormat::kOnlineSnapshot;
  std::string_view t = Trim(bytes.substr(0, 4096));
  if (StartsWith(t, "tree\n") || StartsWith(t, "tree\r\n") || t == "tree") {
    return ModelFormat::kLightGbmText;
  }
  if (StartsWith(t, "{")) {
    // Cheap look at the first kilobytes: XGBoost documents start with
    // {"learner": and Eddy's linear format names itself.
    if (t.find("\"eddy.linear\"") != std::string_view::npos) return ModelFormat::kLinearJson;
    if (t.find("\"learner\"") != std::string_view::npos) return ModelFormat::kXGBoostJson;
    // XGBoost 1.x wrote "version" first; look further.
    if (bytes.find("\"learner\"") != std::string_view::npos) return ModelFormat::kXGBoostJson;
    if (bytes.find("\"eddy.linear\"") != std::string_view::npos) return ModelFormat::kLinearJson;
  }
  return Status::InvalidArgument(
      "cannot tell the model format: not an XGBoost JSON model, a LightGBM text model, an "
      "eddy.linear model or an online learner snapshot");
}

Result<std::unique_ptr<Model>> ParseModel(std::string_view bytes, ModelFormat format,
                                          std::string_view source) {
  switch (format) {
    case ModelFormat::kXGBoostJson:
      return ParseXGBoostJson(bytes, source);
    case ModelFormat::kLightGbmText:
      return ParseLightGbmText(bytes, source);
    case ModelFormat::kLinearJson:
      return ParseLinearJson(bytes, source);
    case ModelFormat::kOnlineSnapshot:
      return ParseOnlineSnapshot(bytes, source);
  }
  return Status::InvalidArgument("unknown model format");
}

namespace {
struct FileCloser {
  void operator()(FILE* f) const { std::fclose(f); }
};
}  // namespace

Result<std::string> ReadFileBytes(const std::string& path) {
  std::unique_ptr<FILE, FileCloser> f(std::fopen(path.c_str(), "rb"));
  if (f == nullptr) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(StrCat(path, ": no such file"));
    return Status::IoError(StrCat(path, ": cannot open: ", std::strerror(err)));
  }
  std::string out;
  char buf[1 << 16];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f.get())) > 0) out.append(buf, n);
  if (std::ferror(f.get())) return Status::IoError(StrCat(path, ": read failed"));
  return out;
}

Result<std::unique_ptr<Model>> LoadModelFile(const std::string& path) {
  EDDY_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  auto format = DetectModelFormat(bytes);
  if (!format.ok()) return format.status().WithContext(path);
  return ParseModel(bytes, *format, path);
}

Result<std::unique_ptr<Model>> LoadModelFile(const std::string& path, ModelFormat format) {
  EDDY_ASSIGN_OR_RETURN(std::string bytes, ReadFileBytes(path));
  return ParseModel(bytes, format, path);
}

}  // namespace eddy
