#include "model/model_slot.h"

#include <cmath>
#include <limits>
#include <unordered_map>

#include "base/strings.h"

namespace eddy {
namespace {

Status Warm(const Model& model, std::span<const double> warm_rows) {
  const size_t nf = model.num_features();
  const size_t no = model.num_outputs();
  std::vector<double> out(no);
  auto check = [&](std::span<const double> row, std::string_view what) -> Status {
    EDDY_RETURN_IF_ERROR(model.Predict(row, out));
    for (double v : out) {
      if (std::isnan(v)) {
        return Status::FailedPrecondition(StrCat("warm-up prediction on ", what, " gave NaN"));
      }
    }
    return Status::OK();
  };
  std::vector<double> row(nf, std::numeric_limits<double>::quiet_NaN());
  EDDY_RETURN_IF_ERROR(check(row, "a row of missing values"));
  std::fill(row.begin(), row.end(), 0.0);
  EDDY_RETURN_IF_ERROR(check(row, "a row of zeros"));
  if (nf > 0 && warm_rows.size() % nf != 0) {
    return Status::InvalidArgument(StrCat("warm-up rows: ", warm_rows.size(),
                                          " values is not a whole number of rows of ", nf,
                                          " features"));
  }
  for (size_t r = 0; nf > 0 && r < warm_rows.size() / nf; ++r) {
    EDDY_RETURN_IF_ERROR(check(warm_rows.subspan(r * nf, nf), StrCat("warm-up row ", r)));
  }
  return Status::OK();
}

}  // namespace

Status ModelSlot::Load(std::shared_ptr<const Model> model, ModelVersion version,
                       std::span<const std::string> provided, std::span<const double> warm_rows) {
  std::lock_guard<std::mutex> lock(load_mu_);
  auto fail = [&](Status s) {
    failed_loads_.fetch_add(1);
    return s.WithContext(StrCat("cannot load model ", Quote(name_), " version ", version.value()));
  };
  if (model == nullptr) return fail(Status::InvalidArgument("no model"));

  // 1. Features: every input of the model must be provided.
  std::unordered_map<std::string_view, uint32_t> index;
  for (size_t i = 0; i < provided.size(); ++i) {
    index.emplace(provided[i], static_cast<uint32_t>(i));
  }
  auto served = std::make_shared<ServedModel>();
  served->name = name_;
  served->version = version;
  std::vector<std::string> missing;
  for (const std::string& f : model->info().feature_names) {
    auto it = index.find(f);
    if (it == index.end()) {
      missing.push_back(f);
    } else {
      served->input_index.push_back(it->second);
    }
  }
  for (const std::string& f : model->info().hashed_fields) {
    if (!index.contains(f)) missing.push_back(f);
  }
  if (!missing.empty()) {
    std::string msg = StrCat("the pipeline does not provide ", missing.size(),
                             " of its inputs: ", StrJoin(missing, ", ", true));
    std::vector<std::string> candidates(provided.begin(), provided.end());
    std::string suggestion = SuggestName(missing[0], candidates);
    if (!suggestion.empty()) StrAppend(msg, " (did you mean ", Quote(suggestion), "?)");
    return fail(Status::FailedPrecondition(msg));
  }

  // 2. Warm-up.
  Status warm = Warm(*model, warm_rows);
  if (!warm.ok()) return fail(warm);

  // 3. Publish. Readers holding the old version keep it alive until done.
  served->model = std::move(model);
  current_.store(std::shared_ptr<const ServedModel>(std::move(served)));
  loads_.fetch_add(1);
  return Status::OK();
}

Status ModelSlot::LoadFromRegistry(const ModelRegistry& registry, ModelVersion version,
                                   std::span<const std::string> provided) {
  if (version.value() == 0) {
    auto live = registry.LiveVersion(name_);
    if (!live.ok()) {
      failed_loads_.fetch_add(1);
      return live.status();
    }
    version = *live;
  }
  auto model = registry.Load(name_, version);
  if (!model.ok()) {
    failed_loads_.fetch_add(1);
    return model.status().WithContext(
        StrCat("cannot load model ", Quote(name_), " version ", version.value()));
  }
  return Load(std::shared_ptr<const Model>(std::move(*model)), version, provided);
}

Status ScoreServed(const ServedModel& served, std::span<const double> pipeline_features,
                   std::span<const CategoricalValue> categorical, std::span<double> out) {
  const size_t nf = served.input_index.size();
  double stack_row[64];
  std::vector<double> heap_row;
  double* row = stack_row;
  if (nf > std::size(stack_row)) {
    heap_row.resize(nf);
    row = heap_row.data();
  }
  for (size_t i = 0; i < nf; ++i) {
    const uint32_t j = served.input_index[i];
    if (j >= pipeline_features.size()) {
      return Status::InvalidArgument(StrCat("the pipeline passed ", pipeline_features.size(),
                                            " features; the model reads feature ", j));
    }
    row[i] = pipeline_features[j];
  }
  return served.model->Predict(std::span<const double>(row, nf), categorical, out);
}

}  // namespace eddy
