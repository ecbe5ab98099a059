#include "scoring/scoring_engine.h"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>

#include "base/coding.h"
#include "base/json_writer.h"
#include "base/strings.h"
#include "features/expr_binding.h"

namespace eddy {

struct ScoringEngine::ModelRun {
  ModelSpec spec;
  size_t source = 0;
  InputMapper mapper;
  std::optional<Expression> filter;
  // Static models.
  std::unique_ptr<ModelSlot> slot;
  std::optional<ModelRegistry> registry;  // models from a registry
  // Online learners, and the frozen export that serving requests use.
  std::unique_ptr<OnlineLearner> learner;
  std::unique_ptr<ModelSlot> frozen;
  std::atomic<std::shared_ptr<const LearnerSnapshot>> snapshot;  // with `frozen`
  uint64_t exported_updates = 0;
  ProcessingTime exported_at;
  std::vector<int> numeric;  // mapper input per numeric feature
  // String inputs hashed by the model (an online learner's `hashed`, or the
  // hashed fields of a static linear model): the variable and the field name.
  std::vector<int> hashed;
  std::vector<std::string> hashed_names;
  bool classifier = true;
  bool multiclass = false;
  ClassifierMetrics cls;
  RegressorMetrics reg;
  ModelRunStats stats;
  // Scratch.
  std::vector<double> inputs, scores, numeric_values;
  std::vector<bool> missing;
  std::vector<std::string> cat_text;
  std::vector<CategoricalValue> cats;
  std::vector<uint32_t> cat_field;  // index into hashed of each entry of cats

  ModelRun(size_t window, double threshold) : cls(window, threshold), reg(window) {}
};

struct ScoringEngine::Logged {
  int64_t time = 0;
  bool labelled = false;
  struct Entry {
    uint32_t model;
    double score;
    std::vector<double> numeric;  // online learners: inputs at prediction time
    // ... and the hashed string values that were not null: (index into the
    // model's hashed fields, value).
    std::vector<std::pair<uint32_t, std::string>> cats;
  };
  std::vector<Entry> entries;
};

namespace {

// A row value as plain text (ids are joined as text).
bool ValueText(const Row& row, int index, std::string& out) {
  out.clear();
  if (index < 0) return false;
  const Value& v = row[static_cast<size_t>(index)];
  switch (v.kind()) {
    case Value::Kind::kNull:
      return false;
    case Value::Kind::kString:
      out.assign(row.GetString(static_cast<size_t>(index)));
      return true;
    case Value::Kind::kInt:
      AppendInt(out, v.int_value());
      return true;
    case Value::Kind::kBool:
      out = v.bool_value() ? "true" : "false";
      return true;
    case Value::Kind::kDouble:
      AppendDouble(out, v.double_value());
      return true;
    case Value::Kind::kTimestamp:
      AppendIso8601(out, v.timestamp_value());
      return true;
  }
  return false;
}

void AppendKey(std::string& out, const Schema& schema, const Row& row) {
  const auto& keys = schema.key_indices();
  if (keys.empty()) {
    out.append("null");
  } else if (keys.size() == 1) {
    AppendValueJson(out, row, static_cast<size_t>(keys[0]));
  } else {
    out.push_back('[');
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i > 0) out.push_back(',');
      AppendValueJson(out, row, static_cast<size_t>(keys[i]));
    }
    out.push_back(']');
  }
}

// An expression value as the text a hashed input hashes; false for null.
bool HashedText(const ExprValue& v, std::string& text) {
  text.clear();
  switch (v.type) {
    case ExprType::kNull:
      return false;
    case ExprType::kString:
      text.assign(v.s);
      return true;
    case ExprType::kBool:
      text = v.b ? "true" : "false";
      return true;
    case ExprType::kInt:
      AppendInt(text, v.i);
      return true;
    case ExprType::kDouble:
      AppendDouble(text, v.d);
      return true;
  }
  return false;
}

// Appends a score as JSON: non-finite scores are null.
void AppendScore(std::string& out, double v) {
  if (std::isfinite(v)) {
    AppendDouble(out, v);
  } else {
    out.append("null");
  }
}

// The earliest event time a source may still accept: watermark -
// allowed_lateness; INT64_MIN before the first watermark, INT64_MAX at the
// end of input.
int64_t StillOpenFrom(Watermark wm, Duration lateness) {
  if (wm.is_end_of_time()) return INT64_MAX;
  if (wm.is_min()) return INT64_MIN;
  return (wm.time() - lateness).micros();
}

}  // namespace

ScoringEngine::~ScoringEngine() = default;

const ModelSpec& ScoringEngine::model_spec(size_t i) const { return models_[i]->spec; }

bool ScoringEngine::has_models(size_t source) const {
  return source < models_of_source_.size() && !models_of_source_[source].empty();
}

const OnlineLearner* ScoringEngine::learner(size_t i) const { return models_[i]->learner.get(); }

Result<std::unique_ptr<ScoringEngine>> ScoringEngine::Create(
    const PipelineSpec& spec, const std::vector<const Schema*>& schemas,
    const std::vector<std::vector<ExprVariable>>& source_vars, Clock& clock) {
  std::unique_ptr<ScoringEngine> e(new ScoringEngine());
  e->schemas_ = schemas;
  e->clock_ = &clock;
  e->models_of_source_.resize(spec.sources.size());
  e->watermarks_.assign(spec.sources.size(), Watermark::Min());
  for (const SourceSpec& s : spec.sources) e->lateness_.push_back(s.watermark.allowed_lateness);
  std::vector<std::string> source_names;
  for (const SourceSpec& s : spec.sources) source_names.push_back(s.name);
  auto source_index = [&](const std::string& name) -> int {
    for (size_t i = 0; i < spec.sources.size(); ++i) {
      if (spec.sources[i].name == name) return static_cast<int>(i);
    }
    return -1;
  };
  const size_t window =
      static_cast<size_t>(spec.feedback.enabled ? spec.feedback.metrics_window : 10000);

  for (const ModelSpec& m : spec.models) {
    auto fail = [&](std::string_view msg) {
      return Status::InvalidArgument(StrCat(m.where, ": model ", Quote(m.name), ": ", msg));
    };
    int s = source_index(m.source);
    if (s < 0) {
      std::string suggestion = SuggestName(m.source, source_names);
      return fail(
          StrCat("unknown source ", Quote(m.source),
                 suggestion.empty() ? "" : StrCat(" (did you mean ", Quote(suggestion), "?)")));
    }
    auto run = std::make_unique<ModelRun>(window, m.threshold);
    run->spec = m;
    run->source = static_cast<size_t>(s);
    EDDY_ASSIGN_OR_RETURN(run->mapper, InputMapper::Create(m, source_vars[static_cast<size_t>(s)]));
    if (!m.filter.empty()) {
      auto f = Expression::Compile(m.filter, run->mapper.variables());
      if (!f.ok()) {
        return Status::InvalidArgument(
            StrCat(m.filter_where, ": model ", Quote(m.name), ".filter: ", f.status().message()));
      }
      if (f->result_type() != ExprType::kBool && f->result_type() != ExprType::kNull) {
        return Status::InvalidArgument(
            StrCat(m.filter_where, ": model ", Quote(m.name), ".filter: must be true or false"));
      }
      run->filter.emplace(std::move(f).value());
    }
    run->stats.name = m.name;
    if (m.online) {
      std::map<std::string, std::string> settings(m.learner_options.begin(),
                                                  m.learner_options.end());
      if (settings.count("link") == 0) {
        settings["link"] = m.online_task == "regression" ? "identity" : "logistic";
      }
      auto options = ParseLearnerOptions(settings, m.numeric, m.hashed);
      if (!options.ok()) return fail(options.status().message());
      for (const std::string& n : m.numeric) {
        int idx = run->mapper.Find(n);
        if (idx < 0) {
          return fail(StrCat("numeric input ", Quote(n),
                             " is not a numeric field, feature or entry of `inputs`"));
        }
        run->numeric.push_back(idx);
      }
      for (const std::string& h : m.hashed) {
        int idx = run->mapper.FindVariable(h);
        if (idx < 0) return fail(StrCat("hashed input ", Quote(h), " is not a field or feature"));
        run->hashed.push_back(idx);
        run->hashed_names.push_back(h);
      }
      EDDY_ASSIGN_OR_RETURN(run->learner, OnlineLearner::Create(std::move(options).value()));
      run->frozen = std::make_unique<ModelSlot>(m.name);
      run->classifier = m.online_task != "regression";
      run->stats.kind = "online";
      run->numeric_values.resize(run->numeric.size());
    } else {
      std::unique_ptr<Model> model;
      ModelVersion version(1);
      if (!m.path.empty()) {
        auto loaded = LoadModelFile(m.path);
        if (!loaded.ok()) return fail(loaded.status().message());
        model = std::move(loaded).value();
      } else {
        // Opening a registry creates it; a pipeline only reads one.
        std::error_code ec;
        if (!std::filesystem::is_directory(m.registry, ec)) {
          return fail(StrCat("registry ", Quote(m.registry, 500), " is not a directory"));
        }
        auto registry = ModelRegistry::Open(m.registry, clock);
        if (!registry.ok()) return fail(registry.status().message());
        if (m.version == "live") {
          auto live = registry->LiveVersion(m.registry_name);
          if (!live.ok()) return fail(live.status().message());
          version = *live;
        } else {
          int64_t v = 0;
          auto [ptr, err] =
              std::from_chars(m.version.data(), m.version.data() + m.version.size(), v);
          if (err != std::errc() || ptr != m.version.data() + m.version.size() || v < 1) {
            return fail(StrCat("version ", Quote(m.version), " is not a version number"));
          }
          version = ModelVersion(v);
        }
        auto loaded = registry->Load(m.registry_name, version);
        if (!loaded.ok()) return fail(loaded.status().message());
        model = std::move(loaded).value();
        run->registry.emplace(std::move(registry).value());
      }
      run->classifier = model->info().task != ModelTask::kRegression;
      run->multiclass = model->info().task == ModelTask::kMulticlassClassification;
      // A linear model that hashes string fields (an exported online learner)
      // reads them as (field, value) pairs, not as numeric inputs.
      std::vector<std::string> provided = run->mapper.names();
      for (const std::string& h : model->info().hashed_fields) {
        int idx = run->mapper.FindVariable(h);
        if (idx < 0) return fail(StrCat("hashed input ", Quote(h), " is not a field or feature"));
        run->hashed.push_back(idx);
        run->hashed_names.push_back(h);
        if (run->mapper.Find(h) < 0) provided.push_back(h);
      }
      run->slot = std::make_unique<ModelSlot>(m.name);
      Status st =
          run->slot->Load(std::shared_ptr<const Model>(std::move(model)), version, provided);
      if (!st.ok()) return fail(st.message());
      for (size_t k = 0; k < run->slot->Current()->input_index.size(); ++k) {
        if (run->slot->Current()->input_index[k] >= run->mapper.names().size()) {
          return fail(StrCat("input ", Quote(run->slot->Current()->model->info().feature_names[k]),
                             " is a string; list its values under `encode`"));
        }
      }
      run->stats.kind = "static";
      run->stats.version = version.value();
    }
    run->stats.classifier = run->classifier;
    e->models_of_source_[static_cast<size_t>(s)].push_back(e->models_.size());
    e->models_.push_back(std::move(run));
  }

  if (spec.feedback.enabled) {
    const FeedbackSpec& f = spec.feedback;
    auto fail = [&](std::string_view msg) {
      return Status::InvalidArgument(StrCat(f.where, ": feedback: ", msg));
    };
    int s = source_index(f.source);
    if (s < 0) return fail(StrCat("unknown source ", Quote(f.source)));
    e->feedback_ = f;
    e->feedback_source_ = s;
    const SourceSpec& src = spec.sources[static_cast<size_t>(s)];
    std::string id = f.id_field.empty() ? src.id_field : f.id_field;
    if (id.empty()) return fail("say which field holds the prediction's event id (`id`)");
    e->id_index_ = schemas[static_cast<size_t>(s)]->Lookup(id);
    if (e->id_index_ < 0)
      return fail(StrCat("unknown field ", Quote(id), " in source ", Quote(src.name)));
    e->label_index_ = schemas[static_cast<size_t>(s)]->Lookup(f.label_field);
    if (e->label_index_ < 0) {
      return fail(
          StrCat("unknown label field ", Quote(f.label_field), " in source ", Quote(src.name)));
    }
    FieldType lt =
        schemas[static_cast<size_t>(s)]->field(static_cast<size_t>(e->label_index_)).type;
    if (lt == FieldType::kString || lt == FieldType::kTimestamp) {
      return fail(StrCat("label field ", Quote(f.label_field), " must be bool, int or double"));
    }
    for (size_t i = 0; i < e->models_of_source_.size(); ++i) {
      if (e->models_of_source_[i].empty()) continue;
      if (static_cast<int>(i) == s)
        return fail("labels and predictions come from different sources");
      if (schemas[i]->id_index() < 0) {
        return fail(StrCat("source ", Quote(spec.sources[i].name),
                           " has models but no `id`: predictions could not be joined with labels"));
      }
      e->prediction_sources_.push_back(i);
    }
    if (e->prediction_sources_.empty()) return fail("no model scores any source");
  }
  return e;
}

int ScoringEngine::FindModel(std::string_view name) const {
  for (size_t i = 0; i < models_.size(); ++i) {
    if (models_[i]->spec.name == name) return static_cast<int>(i);
  }
  return -1;
}

size_t ScoringEngine::model_source(size_t i) const { return models_[i]->source; }

std::shared_ptr<const ServedModel> ScoringEngine::Served(size_t i) const {
  const ModelRun& r = *models_[i];
  return r.learner ? r.frozen->Current() : r.slot->Current();
}

const ModelRegistry* ScoringEngine::registry(size_t i) const {
  return models_[i]->registry ? &*models_[i]->registry : nullptr;
}

Status ScoringEngine::Reload(size_t i, ModelVersion version) {
  ModelRun& r = *models_[i];
  if (!r.registry) {
    return Status::FailedPrecondition(
        StrCat("model ", Quote(r.spec.name), " does not come from a registry"));
  }
  std::vector<std::string> provided = r.mapper.names();
  for (const std::string& h : r.hashed_names) {
    if (r.mapper.Find(h) < 0) provided.push_back(h);
  }
  if (version.value() == 0) {
    EDDY_ASSIGN_OR_RETURN(version, r.registry->LiveVersion(r.spec.registry_name));
  }
  auto model = r.registry->Load(r.spec.registry_name, version);
  if (!model.ok()) {
    return model.status().WithContext(
        StrCat("cannot load model ", Quote(r.spec.registry_name), " version ", version.value()));
  }
  // Validated, warmed and swapped in atomically; on failure the slot keeps
  // serving the old version.
  return r.slot->Load(std::shared_ptr<const Model>(std::move(model).value()), version, provided);
}

std::shared_ptr<const ScoringEngine::LearnerSnapshot> ScoringEngine::PublishedSnapshot(
    size_t i) const {
  return models_[i]->snapshot.load();
}

void ScoringEngine::RefreshOnline(ProcessingTime now, Duration min_interval) {
  for (auto& rp : models_) {
    ModelRun& r = *rp;
    if (!r.learner) continue;
    const uint64_t updates = r.learner->num_updates();
    if (updates == r.exported_updates && r.frozen->Current() != nullptr) continue;
    if (r.frozen->Current() != nullptr && updates < r.exported_updates + 1000 &&
        now - r.exported_at < min_interval) {
      continue;
    }
    std::vector<std::string> provided = r.mapper.names();
    for (const std::string& h : r.hashed_names) {
      if (r.mapper.Find(h) < 0) provided.push_back(h);
    }
    // One snapshot serves as the export's content hash and as the file a
    // caller can register (GET /v1/models/{name}/snapshot).
    auto snap = std::make_shared<LearnerSnapshot>();
    snap->bytes = r.learner->Snapshot();
    snap->updates = updates;
    snap->published_at = now;
    std::shared_ptr<const Model> model = r.learner->ExportModel(snap->bytes);
    Status s =
        r.frozen->Load(std::move(model), ModelVersion(static_cast<int64_t>(updates)), provided);
    if (s.ok()) {
      r.snapshot.store(std::move(snap));
      r.exported_updates = updates;
      r.exported_at = now;
    }
  }
}

Result<ScoringEngine::RequestScore> ScoringEngine::ScoreRequest(
    size_t i, std::span<const ExprValue> values) const {
  const ModelRun& r = *models_[i];
  std::shared_ptr<const ServedModel> served = Served(i);
  if (served == nullptr) {
    return Status::Unavailable(StrCat("model ", Quote(r.spec.name), " is not loaded yet"));
  }
  std::vector<double> inputs;
  std::vector<bool> missing;
  r.mapper.Map(values, inputs, missing);
  std::vector<std::string> texts(r.hashed.size());
  std::vector<CategoricalValue> cats;
  for (size_t k = 0; k < r.hashed.size(); ++k) {
    if (!HashedText(values[static_cast<size_t>(r.hashed[k])], texts[k])) continue;
    cats.push_back({r.hashed_names[k], texts[k]});
  }
  RequestScore out;
  for (uint32_t j : served->input_index) {
    if (j < missing.size() && missing[j]) out.missing.push_back(r.mapper.names()[j]);
  }
  if (r.spec.skip_missing && !out.missing.empty()) {
    return Status::FailedPrecondition(StrCat("model ", Quote(r.spec.name),
                                             " skips requests with "
                                             "missing inputs; missing: ",
                                             StrJoin(out.missing, ", ")));
  }
  out.scores.assign(served->model->num_outputs(), 0.0);
  EDDY_RETURN_IF_ERROR(ScoreServed(*served, inputs, cats, out.scores));
  out.version = served->version.value();
  out.classifier = r.classifier;
  out.multiclass = r.multiclass;
  out.threshold = r.spec.threshold;
  return out;
}

void ScoringEngine::OnEvent(size_t source, const Row& row, EventTime t,
                            const std::vector<FeatureValue>& features, ScoringSink& sink) {
  if (!has_models(source)) return;
  const Schema& schema = *schemas_[source];
  values_.clear();
  for (size_t i = 0; i < schema.num_fields(); ++i) values_.push_back(FieldToExpr(row, i));
  for (const FeatureValue& f : features) values_.push_back(f.ToExpr());
  std::string id;
  const bool has_id = ValueText(row, schema.id_index(), id);
  Logged* logged = nullptr;

  for (size_t mi : models_of_source_[source]) {
    ModelRun& r = *models_[mi];
    if (r.filter && !r.filter->Evaluate(values_).IsTrue()) {
      ++r.stats.filtered;
      continue;
    }
    r.mapper.Map(values_, r.inputs, r.missing);
    // Hashed string inputs: null values are left out.
    r.cat_text.resize(r.hashed.size());
    r.cats.clear();
    r.cat_field.clear();
    for (size_t k = 0; k < r.hashed.size(); ++k) {
      if (!HashedText(values_[static_cast<size_t>(r.hashed[k])], r.cat_text[k])) continue;
      r.cats.push_back({r.hashed_names[k], r.cat_text[k]});
      r.cat_field.push_back(static_cast<uint32_t>(k));
    }
    int64_t version = 0;
    if (r.learner) {
      bool skip = false;
      for (size_t k = 0; k < r.numeric.size(); ++k) {
        size_t idx = static_cast<size_t>(r.numeric[k]);
        skip |= r.spec.skip_missing && r.missing[idx];
        r.numeric_values[k] = r.inputs[idx];
      }
      if (skip) {
        ++r.stats.skipped_missing;
        continue;
      }
      r.scores.assign(1, r.learner->Predict(r.numeric_values, r.cats));
      version = static_cast<int64_t>(r.learner->num_updates());
    } else {
      std::shared_ptr<const ServedModel> served = r.slot->Current();
      if (r.spec.skip_missing) {
        bool skip = false;
        for (uint32_t j : served->input_index) skip |= r.missing[j];
        if (skip) {
          ++r.stats.skipped_missing;
          continue;
        }
      }
      r.scores.assign(served->model->num_outputs(), 0.0);
      if (!ScoreServed(*served, r.inputs, r.cats, r.scores).ok()) {
        ++r.stats.errors;
        continue;
      }
      version = served->version.value();
      r.stats.version = version;
    }
    ++r.stats.scored;
    sink.OnScore(mi, r.scores[0]);

    // The prediction row.
    line_.clear();
    line_.append("{\"model\":");
    AppendJsonString(line_, r.spec.name);
    if (r.learner) {
      StrAppend(line_, ",\"updates\":", version);
    } else {
      StrAppend(line_, ",\"version\":", version);
    }
    if (has_id) {
      line_.append(",\"id\":");
      AppendValueJson(line_, row, static_cast<size_t>(schema.id_index()));
    }
    line_.append(",\"key\":");
    AppendKey(line_, schema, row);
    line_.append(",\"event_time\":\"");
    AppendIso8601(line_, t);
    line_.push_back('"');
    if (r.multiclass) {
      size_t best = 0;
      line_.append(",\"scores\":[");
      for (size_t k = 0; k < r.scores.size(); ++k) {
        if (k > 0) line_.push_back(',');
        AppendScore(line_, r.scores[k]);
        if (r.scores[k] > r.scores[best]) best = k;
      }
      StrAppend(line_, "],\"class\":", best);
    } else {
      line_.append(",\"score\":");
      AppendScore(line_, r.scores[0]);
      if (r.classifier) {
        bool decision = r.scores[0] >= r.spec.threshold;
        if (decision) ++r.stats.positives;
        line_.append(decision ? ",\"decision\":true" : ",\"decision\":false");
      }
    }
    line_.push_back('}');
    sink.OnPredictionRow(mi, line_);

    if (feedback_source_ >= 0 && has_id) {
      if (logged == nullptr) {
        auto [it, inserted] = log_.try_emplace(id);
        logged = &it->second;
        if (inserted) {
          logged->time = t.micros();
          expiry_.emplace(t.micros(), id);
          ++fb_.logged;
        }
      }
      // An id seen again (a repeated event) keeps its first prediction: one
      // label must train and count once.
      bool repeated = false;
      for (const Logged::Entry& e : logged->entries) repeated |= e.model == mi;
      if (repeated) {
        ++fb_.repeated_ids;
        continue;
      }
      Logged::Entry entry{static_cast<uint32_t>(mi), r.scores[0], {}, {}};
      if (r.learner) {
        entry.numeric = r.numeric_values;
        for (size_t k = 0; k < r.cats.size(); ++k) {
          entry.cats.emplace_back(r.cat_field[k], std::string(r.cats[k].value));
        }
      }
      logged->entries.push_back(std::move(entry));
    }
  }
}

void ScoringEngine::OnLabel(const Row& row, EventTime t, ScoringSink& sink) {
  if (feedback_source_ < 0) return;
  ++fb_.labels;
  PendingLabel l{t.micros(), label_seq_++, "", 0};
  const Value& lv = row[static_cast<size_t>(label_index_)];
  bool has_id = ValueText(row, id_index_, l.id);
  if (!has_id || lv.is_null()) {
    ++fb_.missing;
    l.label = lv.is_null() ? std::numeric_limits<double>::quiet_NaN() : lv.AsDouble();
    Unmatched(l, has_id ? "missing_label" : "missing_id", std::nullopt, sink);
    return;
  }
  l.label = lv.AsDouble();
  pending_.push(std::move(l));
  ++fb_.pending;
  OnWatermark(static_cast<size_t>(feedback_source_),
              watermarks_[static_cast<size_t>(feedback_source_)], sink);
}

int64_t ScoringEngine::ReleaseBound() const {
  int64_t bound = INT64_MAX;
  for (size_t s : prediction_sources_) {
    bound = std::min(bound, StillOpenFrom(watermarks_[s], lateness_[s]));
  }
  return bound;
}

void ScoringEngine::OnWatermark(size_t source, Watermark wm, ScoringSink& sink) {
  if (wm > watermarks_[source]) watermarks_[source] = wm;
  if (feedback_source_ < 0) return;
  // A label is released once no prediction source can accept an event at or
  // before its time any more.
  const int64_t bound = ReleaseBound();
  while (!pending_.empty() && (pending_.top().time < bound || bound == INT64_MAX)) {
    PendingLabel l = pending_.top();
    pending_.pop();
    --fb_.pending;
    Join(l, sink);
  }
  Expire();
}

void ScoringEngine::Join(const PendingLabel& label, ScoringSink& sink) {
  auto it = log_.find(label.id);
  if (it == log_.end()) {
    // A dropped prediction is more than `horizon` before any label released
    // from now on (see Expire).
    auto d = dropped_.find(label.id);
    if (d == dropped_.end()) {
      Unmatched(label, "no_prediction", std::nullopt, sink);
    } else {
      Unmatched(label, d->second.labelled ? "duplicate" : "after_horizon", d->second.time, sink);
    }
    return;
  }
  Logged& logged = it->second;
  if (logged.labelled) {
    Unmatched(label, "duplicate", logged.time, sink);
    return;
  }
  if (label.time - logged.time > feedback_.horizon.micros()) {
    Unmatched(label, "after_horizon", logged.time, sink);
    return;
  }
  logged.labelled = true;
  ++fb_.matched;
  for (const Logged::Entry& e : logged.entries) {
    ModelRun& r = *models_[e.model];
    ++r.stats.labelled;
    if (r.classifier && !r.multiclass) {
      r.cls.Add(e.score, label.label >= 0.5);
    } else if (!r.classifier) {
      r.reg.Add(e.score, label.label);
    }
    if (r.learner) {
      std::vector<CategoricalValue> cats;
      for (const auto& [k, value] : e.cats) {
        if (k < r.hashed_names.size()) cats.push_back({r.hashed_names[k], value});
      }
      if (r.learner->Learn(e.numeric, cats, label.label).ok()) {
        ++r.stats.updates;
      } else {
        ++r.stats.errors;
      }
    }
  }
}

void ScoringEngine::Unmatched(const PendingLabel& label, std::string_view reason,
                              std::optional<int64_t> prediction_time, ScoringSink& sink) {
  if (reason == "no_prediction") ++fb_.no_prediction;
  if (reason == "after_horizon") ++fb_.after_horizon;
  if (reason == "duplicate") ++fb_.duplicates;
  line_.clear();
  JsonWriter w(line_);
  w.BeginObject();
  w.Key("id");
  if (reason == "missing_id") {
    w.Null();
  } else {
    w.String(label.id);
  }
  w.Key("label").Double(label.label);  // NaN (a missing label) is written as null
  std::string time;
  AppendIso8601(time, EventTime::FromMicros(label.time));
  w.Key("label_time").String(time);
  w.Key("reason").String(reason);
  if (prediction_time) {
    time.clear();
    AppendIso8601(time, EventTime::FromMicros(*prediction_time));
    w.Key("prediction_time").String(time);
  }
  w.EndObject();
  sink.OnUnmatchedLabel(line_);
}

void ScoringEngine::Expire() {
  // A prediction can still be joined by a pending label, or by a label that
  // may still arrive (not older than the label source's watermark minus its
  // lateness), within the horizon. Every label released from now on has a
  // time >= bound.
  const size_t fs = static_cast<size_t>(feedback_source_);
  int64_t bound = StillOpenFrom(watermarks_[fs], lateness_[fs]);
  if (!pending_.empty()) bound = std::min(bound, pending_.top().time);
  if (bound == INT64_MAX) {
    // Labels ended: nothing can join any more.
    log_.clear();
    dropped_.clear();
    while (!expiry_.empty()) expiry_.pop();
    while (!dropped_expiry_.empty()) dropped_expiry_.pop();
    return;
  }
  if (bound == INT64_MIN) return;
  const int64_t oldest = (EventTime::FromMicros(bound) - feedback_.horizon).micros();
  while (!expiry_.empty() && expiry_.top().first < oldest) {
    auto [time, id] = expiry_.top();
    expiry_.pop();
    auto it = log_.find(id);
    if (it == log_.end()) continue;
    dropped_[id] = Dropped{it->second.time, it->second.labelled};
    dropped_expiry_.emplace(time, std::move(id));
    log_.erase(it);
  }
  // Ids are remembered for one more horizon.
  const int64_t forget = (EventTime::FromMicros(oldest) - feedback_.horizon).micros();
  while (!dropped_expiry_.empty() && dropped_expiry_.top().first < forget) {
    const auto& [time, id] = dropped_expiry_.top();
    auto it = dropped_.find(id);
    if (it != dropped_.end() && it->second.time == time) dropped_.erase(it);
    dropped_expiry_.pop();
  }
}

std::vector<ModelRunStats> ScoringEngine::model_stats() const {
  std::vector<ModelRunStats> out;
  for (const auto& r : models_) {
    ModelRunStats s = r->stats;
    if (r->learner) s.updates = r->learner->num_updates();
    if (r->classifier && !r->multiclass) {
      s.window = r->cls.Window();
      s.since_start = r->cls.SinceStart();
    } else if (!r->classifier) {
      s.regression_window = r->reg.Window();
      s.regression_since_start = r->reg.SinceStart();
    }
    out.push_back(std::move(s));
  }
  return out;
}

FeedbackStats ScoringEngine::feedback_stats() const {
  FeedbackStats s = fb_;
  s.logged = log_.size();
  return s;
}

void ScoringEngine::SaveState(std::string& out) const {
  PutVarint64(out, kStateVersion);
  PutVarint64(out, models_.size());
  for (const auto& r : models_) {
    const ModelRunStats& s = r->stats;
    PutString(out, r->spec.name);
    for (uint64_t v :
         {s.scored, s.positives, s.skipped_missing, s.filtered, s.errors, s.labelled}) {
      PutVarint64(out, v);
    }
    PutString(out, r->learner ? r->learner->Snapshot() : std::string());
    std::string metrics;
    r->cls.Save(metrics);
    r->reg.Save(metrics);
    PutString(out, metrics);
  }
  for (const Watermark& w : watermarks_) PutSigned(out, w.time().micros());
  for (uint64_t v : {fb_.labels, fb_.matched, fb_.no_prediction, fb_.after_horizon, fb_.duplicates,
                     fb_.missing, fb_.repeated_ids}) {
    PutVarint64(out, v);
  }
  PutVarint64(out, label_seq_);
  // Logged predictions, in a stable order.
  std::vector<const std::pair<const std::string, Logged>*> entries;
  for (const auto& kv : log_) entries.push_back(&kv);
  std::sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
  PutVarint64(out, entries.size());
  for (const auto* kv : entries) {
    PutString(out, kv->first);
    PutSigned(out, kv->second.time);
    out.push_back(kv->second.labelled ? 1 : 0);
    PutVarint64(out, kv->second.entries.size());
    for (const Logged::Entry& e : kv->second.entries) {
      PutVarint64(out, e.model);
      PutDouble(out, e.score);
      PutVarint64(out, e.numeric.size());
      for (double x : e.numeric) PutDouble(out, x);
      PutVarint64(out, e.cats.size());
      for (const auto& [k, c] : e.cats) {
        PutVarint64(out, k);
        PutString(out, c);
      }
    }
  }
  std::vector<const std::pair<const std::string, Dropped>*> dropped;
  for (const auto& kv : dropped_) dropped.push_back(&kv);
  std::sort(dropped.begin(), dropped.end(), [](auto* a, auto* b) { return a->first < b->first; });
  PutVarint64(out, dropped.size());
  for (const auto* kv : dropped) {
    PutString(out, kv->first);
    PutSigned(out, kv->second.time);
    out.push_back(kv->second.labelled ? 1 : 0);
  }
  auto pending = pending_;
  PutVarint64(out, pending.size());
  while (!pending.empty()) {
    const PendingLabel& l = pending.top();
    PutSigned(out, l.time);
    PutVarint64(out, l.seq);
    PutString(out, l.id);
    PutDouble(out, l.label);
    pending.pop();
  }
}

Status ScoringEngine::RestoreState(std::string_view bytes) {
  ByteReader in(bytes, "scoring checkpoint");
  uint64_t n;
  if (!in.Varint64(n)) return in.status();
  const uint64_t version = n;
  if (version != 1 && version != kStateVersion) {
    return Status::Unimplemented(StrCat("scoring checkpoint: format version ", n,
                                        " is not supported (this Eddy reads 1 to ", kStateVersion,
                                        ")"));
  }
  if (!in.Varint64(n)) return in.status();
  if (n != models_.size()) {
    return Status::FailedPrecondition("the checkpoint has another set of models; run with --fresh");
  }
  for (auto& r : models_) {
    std::string_view name, snapshot;
    ModelRunStats& s = r->stats;
    if (!in.String(name)) return in.status();
    if (name != r->spec.name) {
      return Status::FailedPrecondition(StrCat("the checkpoint has model ", Quote(name),
                                               " where the "
                                               "pipeline has ",
                                               Quote(r->spec.name), "; run with --fresh"));
    }
    for (uint64_t* v :
         {&s.scored, &s.positives, &s.skipped_missing, &s.filtered, &s.errors, &s.labelled}) {
      if (!in.Varint64(*v)) return in.status();
    }
    if (!in.String(snapshot)) return in.status();
    if (r->learner) {
      EDDY_ASSIGN_OR_RETURN(
          auto learner,
          OnlineLearner::Restore(snapshot, StrCat("checkpoint of model ", r->spec.name)));
      // A learner over other inputs would score NaN and refuse every example.
      if (learner->options().numeric_features != r->learner->options().numeric_features ||
          learner->options().hashed_fields != r->learner->options().hashed_fields) {
        return Status::FailedPrecondition(
            StrCat("the checkpoint's learner for model ", Quote(r->spec.name),
                   " has other inputs than the pipeline; run with --fresh"));
      }
      r->learner = std::move(learner);
    } else if (!snapshot.empty()) {
      return Status::FailedPrecondition(StrCat("the checkpoint has an online learner for model ",
                                               Quote(r->spec.name),
                                               ", which the pipeline does not; run with --fresh"));
    }
    if (version >= 2) {
      std::string_view metrics;
      if (!in.String(metrics)) return in.status();
      const std::string what = StrCat("checkpoint of the metrics of model ", Quote(r->spec.name));
      ByteReader m(metrics, what);  // keeps a view of `what`
      if (!r->cls.Load(m) || !r->reg.Load(m)) return m.status();
      if (!m.at_end()) return Status::Corruption("trailing bytes in a model's metrics checkpoint");
    }
  }
  for (Watermark& w : watermarks_) {
    int64_t t;
    if (!in.Signed(t)) return in.status();
    w = Watermark(EventTime::FromMicros(t));
  }
  for (uint64_t* v : {&fb_.labels, &fb_.matched, &fb_.no_prediction, &fb_.after_horizon,
                      &fb_.duplicates, &fb_.missing, &fb_.repeated_ids}) {
    if (!in.Varint64(*v)) return in.status();
  }
  if (!in.Varint64(label_seq_)) return in.status();
  log_.clear();
  while (!expiry_.empty()) expiry_.pop();
  if (!in.Varint64(n)) return in.status();
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view id;
    Logged l;
    uint8_t labelled;
    uint64_t count;
    if (!in.String(id) || !in.Signed(l.time) || !in.Byte(labelled) || !in.Varint64(count))
      return in.status();
    l.labelled = labelled != 0;
    for (uint64_t k = 0; k < count; ++k) {
      Logged::Entry e;
      uint64_t model, nn, nc;
      if (!in.Varint64(model) || !in.Double(e.score) || !in.Varint64(nn)) return in.status();
      if (model >= models_.size())
        return Status::Corruption("scoring checkpoint names an unknown model");
      e.model = static_cast<uint32_t>(model);
      for (uint64_t j = 0; j < nn; ++j) {
        double x;
        if (!in.Double(x)) return in.status();
        e.numeric.push_back(x);
      }
      if (!in.Varint64(nc)) return in.status();
      for (uint64_t j = 0; j < nc; ++j) {
        uint64_t k;
        std::string_view c;
        if (!in.Varint64(k) || !in.String(c)) return in.status();
        if (k >= models_[e.model]->hashed_names.size()) {
          return Status::Corruption("scoring checkpoint names an unknown hashed input");
        }
        e.cats.emplace_back(static_cast<uint32_t>(k), std::string(c));
      }
      l.entries.push_back(std::move(e));
    }
    expiry_.emplace(l.time, std::string(id));
    log_.emplace(std::string(id), std::move(l));
  }
  dropped_.clear();
  while (!dropped_expiry_.empty()) dropped_expiry_.pop();
  if (!in.Varint64(n)) return in.status();
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view id;
    Dropped d;
    uint8_t labelled;
    if (!in.String(id) || !in.Signed(d.time) || !in.Byte(labelled)) return in.status();
    d.labelled = labelled != 0;
    dropped_expiry_.emplace(d.time, std::string(id));
    dropped_.emplace(std::string(id), d);
  }
  while (!pending_.empty()) pending_.pop();
  if (!in.Varint64(n)) return in.status();
  fb_.pending = n;
  for (uint64_t i = 0; i < n; ++i) {
    PendingLabel l;
    std::string_view id;
    if (!in.Signed(l.time) || !in.Varint64(l.seq) || !in.String(id) || !in.Double(l.label))
      return in.status();
    l.id = std::string(id);
    pending_.push(std::move(l));
  }
  if (!in.at_end()) return Status::Corruption("scoring checkpoint has trailing bytes");
  return Status::OK();
}

}  // namespace eddy
