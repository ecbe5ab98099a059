// The engine's run loop. One thread polls each source in turn, pushes every
// record through its SourcePipeline and writes outcomes to the outputs. See
// src/README.md for the whole data path.

#include "eddy/engine.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>

#include "base/check.h"
#include "base/clock.h"
#include "base/coding.h"
#include "base/logging.h"
#include "base/strings.h"
#include "config/pipeline.h"
#include "engine/checkpoint.h"
#include "engine/line_writer.h"
#include "engine/progress.h"
#include "engine/record_json.h"
#include "engine/serving_api.h"
#include "engine/source_pipeline.h"
#include "features/expr_binding.h"
#include "features/feature_engine.h"
#include "ingest/source.h"
#include "monitor/metrics.h"
#include "scoring/scoring_engine.h"
#include "store/history.h"
#include "store/online_store.h"
#include "store/stored_vector.h"

namespace eddy {
namespace {

constexpr size_t kPollBatch = 1024;
constexpr Duration kIdleWait = Duration::Millis(50);
constexpr Duration kSnapshotInterval = Duration::Millis(200);
// Checkpoint sections for the online store: a marker that online/ holds a
// RocksDB copy, or the in-memory store's vectors.
constexpr std::string_view kOnlineCopySection = "online/copy";
constexpr std::string_view kOnlineMemorySection = "online/memory";
// What the feature state was computed for (FeatureEngine::state_plan()).
constexpr std::string_view kFeaturePlanSection = "features/plan";

// A checkpoint's feature state fits only the groups it was computed for:
// restored into a changed definition (another window, another field type)
// it would give wrong values or misread its own bytes.
std::vector<std::string_view> Lines(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return out;
}

Status CheckFeaturePlan(std::string_view saved, std::string_view now) {
  if (saved == now) return Status::OK();
  std::vector<std::string_view> a = Lines(saved);
  std::vector<std::string_view> b = Lines(now);
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  std::string detail;
  if (i < a.size() && i < b.size()) {
    detail = StrCat("checkpoint: ", a[i], "; pipeline now: ", b[i]);
  } else if (i < a.size()) {
    detail = StrCat("the checkpoint has ", a[i]);
  } else {
    detail = StrCat("the pipeline now has ", b[i]);
  }
  return Status::FailedPrecondition(
      StrCat("the feature groups changed since the checkpoint (", detail,
             "); their state cannot be carried over: run with --fresh, or restore the "
             "old definition"));
}

std::string_view FormatName(SourceFormat f) { return f == SourceFormat::kCsv ? "csv" : "jsonl"; }

std::string DisplayPath(const std::string& p) {
  if (p == "-") return "stdout";
  if (p == "stderr") return p;
  std::error_code ec;
  auto rel = std::filesystem::relative(p, std::filesystem::current_path(), ec);
  if (ec || rel.empty() || rel.string().rfind("../../", 0) == 0) return p;
  return rel.string();
}

// Applies replay overrides to a loaded spec.
Status ApplyReplay(PipelineSpec& spec, const EngineOptions& options) {
  if (options.replay_input.empty()) return Status::OK();
  SourceSpec* target = nullptr;
  if (options.replay_source.empty()) {
    if (spec.sources.size() != 1) {
      return Status::InvalidArgument(StrCat("the pipeline has ", spec.sources.size(),
                                            " sources; say which one --input feeds with --source"));
    }
    target = &spec.sources[0];
  } else {
    for (SourceSpec& s : spec.sources) {
      if (s.name == options.replay_source) target = &s;
    }
    if (target == nullptr) {
      return Status::NotFound(StrCat("no source named ", Quote(options.replay_source)));
    }
  }
  target->path = options.replay_input == "-"
                     ? "-"
                     : std::filesystem::absolute(options.replay_input).lexically_normal().string();
  target->frame_as_file = true;
  if (options.replay_state_dir.empty()) {
    spec.state.enabled = false;
  } else {
    if (!spec.state.enabled) {
      // No `state:` section: keep what one with its defaults would (a
      // RocksDB store and the history), as --state promises.
      spec.state = StateSpec{};
      spec.state.online_store = "rocksdb";
      spec.state.history = true;
    }
    spec.state.enabled = true;
    spec.state.dir =
        std::filesystem::absolute(options.replay_state_dir).lexically_normal().string();
  }
  if (!options.replay_output.empty()) {
    OutputSpec out;
    out.path = options.replay_output == "-"
                   ? "-"
                   : std::filesystem::absolute(options.replay_output).lexically_normal().string();
    out.format = options.replay_format.empty() ? "jsonl" : options.replay_format;
    // With per-event feature groups on the source, replay writes their rows;
    // otherwise the validated, event-timed records.
    bool has_features = false;
    for (const FeatureGroupSpec& g : spec.features) {
      if (g.source == target->name && !g.table && g.window.kind == WindowKind::kAsOf) {
        has_features = true;
      }
    }
    if (has_features) {
      spec.outputs.features = out;
    } else {
      if (out.format != "jsonl") {
        return Status::InvalidArgument(
            "--format csv applies to feature rows; this source has no "
            "per-event feature groups");
      }
      spec.outputs.accepted = out;
    }
  }
  return Status::OK();
}

Status CheckOutputs(const PipelineSpec& spec) {
  std::map<std::string, std::string> used;
  auto check = [&](const OutputSpec& o, const std::string& what) -> Status {
    if (!o.enabled() || o.path == "-" || o.path == "stderr") return Status::OK();
    auto [it, inserted] = used.emplace(o.path, what);
    if (!inserted) {
      return Status::InvalidArgument(StrCat("outputs.", it->second, " and outputs.", what,
                                            " both write to ", Quote(o.path, 500)));
    }
    for (const SourceSpec& s : spec.sources) {
      if (s.path == o.path || o.path.rfind(s.path + "/", 0) == 0) {
        return Status::InvalidArgument(StrCat("outputs.", what,
                                              " would overwrite the input of source ",
                                              Quote(s.name), ": ", Quote(o.path, 500)));
      }
    }
    return Status::OK();
  };
  EDDY_RETURN_IF_ERROR(check(spec.outputs.accepted, "accepted"));
  EDDY_RETURN_IF_ERROR(check(spec.outputs.features, "features"));
  for (const FeatureGroupSpec& g : spec.features) {
    OutputSpec o;
    o.path = g.output;
    EDDY_RETURN_IF_ERROR(check(o, StrCat("(feature group ", g.name, ")")));
  }
  for (const ModelSpec& m : spec.models) {
    EDDY_RETURN_IF_ERROR(check(m.output, StrCat("(model ", m.name, ")")));
  }
  EDDY_RETURN_IF_ERROR(check(spec.feedback.unmatched, "(feedback.unmatched)"));
  EDDY_RETURN_IF_ERROR(check(spec.outputs.late, "late"));
  EDDY_RETURN_IF_ERROR(check(spec.outputs.dead_letter, "dead_letter"));
  return Status::OK();
}

}  // namespace

// An output file and its format.
struct Output {
  std::unique_ptr<LineWriter> writer;
  bool csv = false;
  std::string name;       // its name in checkpoints
  bool restored = false;  // reopened at a checkpoint's length
};

class Engine::Impl final : public RecordHandler, public WindowSink, public ScoringSink {
 public:
  Impl(PipelineSpec spec, const EngineOptions& options)
      : spec_(std::move(spec)),
        options_(options),
        clock_(options.clock != nullptr ? *options.clock : Clock::System()) {}

  Status Plan() {
    if (!options_.replay_input.empty()) {
      for (size_t i = 0; i < spec_.sources.size(); ++i) {
        if (spec_.sources[i].path == ReplayPath()) replay_source_ = static_cast<int>(i);
      }
    }
    EDDY_RETURN_IF_ERROR(CheckOutputs(spec_));
    for (const SourceSpec& s : spec_.sources) {
      EDDY_ASSIGN_OR_RETURN(auto pipeline, SourcePipeline::Create(s));
      SourceRun run;
      run.pipeline = std::move(pipeline);
      run.index = sources_.size();
      sources_.push_back(std::move(run));
    }
    std::vector<const Schema*> schemas;
    for (const SourceRun& r : sources_) schemas.push_back(&r.pipeline->schema());
    EDDY_ASSIGN_OR_RETURN(features_, FeatureEngine::Create(spec_, schemas));
    std::vector<std::vector<ExprVariable>> source_vars;
    for (size_t i = 0; i < spec_.sources.size(); ++i) {
      std::vector<ExprVariable> vars = FieldVariables(spec_.sources[i]);
      for (ExprVariable& v : features_->feature_variables(i)) vars.push_back(std::move(v));
      source_vars.push_back(std::move(vars));
    }
    EDDY_ASSIGN_OR_RETURN(scoring_, ScoringEngine::Create(spec_, schemas, source_vars, clock_));
    // Sources feeding tables are polled first in every round, so that with
    // recorded inputs the table rows are known before the events that join
    // them (each round reads one batch per source).
    std::stable_sort(sources_.begin(), sources_.end(), [&](const SourceRun& a, const SourceRun& b) {
      return FeedsTable(a.index) && !FeedsTable(b.index);
    });
    feature_values_.resize(sources_.size());
    return Status::OK();
  }

  std::string Describe() const {
    std::string out = StrCat("pipeline ", Quote(spec_.name), " (", spec_.file, ") is valid\n");
    for (const SourceRun& r : sources_) {
      const SourceSpec& s = r.pipeline->spec();
      StrAppend(out, "  source ", s.name, ": ", FormatName(s.format), " from ",
                s.path == "-" ? "stdin" : DisplayPath(s.path), ", ", s.fields.size(),
                " fields, event time ", s.event_time_field);
      if (!s.key_fields.empty()) StrAppend(out, ", key ", StrJoin(s.key_fields, "+"));
      if (!s.id_field.empty()) StrAppend(out, ", id ", s.id_field);
      StrAppend(out, "\n    watermark: max_out_of_orderness ",
                FormatDuration(s.watermark.max_out_of_orderness), ", allowed_lateness ",
                FormatDuration(s.watermark.allowed_lateness), ", idle_timeout ",
                s.watermark.idle_timeout == Duration::Zero()
                    ? "off"
                    : FormatDuration(s.watermark.idle_timeout));
      if (!s.filter.empty()) StrAppend(out, "\n    filter: ", s.filter);
      out += "\n";
    }
    for (const FeatureGroupSpec& g : spec_.features) {
      StrAppend(out, "  feature group ", g.name, " on ", g.source, ": ");
      if (g.table) {
        StrAppend(out, "table of ", StrJoin(g.table_fields, ", "));
      } else if (g.window.kind == WindowKind::kAsOf) {
        StrAppend(out, g.aggregations.size(), " per-event aggregation(s)");
        if (!g.joins.empty()) StrAppend(out, ", ", g.joins.size(), " join(s)");
        if (!g.derived.empty()) StrAppend(out, ", ", g.derived.size(), " derived");
      } else {
        StrAppend(out, WindowKindName(g.window.kind), " windows, ", g.aggregations.size(),
                  " aggregation(s)");
        if (!g.output.empty()) StrAppend(out, " -> ", DisplayPath(g.output));
      }
      out += "\n";
    }
    for (const ModelSpec& m : spec_.models) {
      StrAppend(out, "  model ", m.name, " scores ", m.source, ": ",
                m.online         ? StrCat("online ", m.online_task, " learner")
                : m.path.empty() ? StrCat("registry ", DisplayPath(m.registry), " ",
                                          m.registry_name, "@", m.version)
                                 : DisplayPath(m.path));
      if (!m.filter.empty()) StrAppend(out, ", filter ", m.filter);
      out += "\n";
    }
    if (spec_.feedback.enabled) {
      StrAppend(out, "  feedback from ", spec_.feedback.source, ": label ",
                spec_.feedback.label_field, ", horizon ", FormatDuration(spec_.feedback.horizon),
                "\n");
    }
    StrAppend(out, "  outputs: ");
    bool first = true;
    for (const auto& [what, where] : OutputList()) {
      StrAppend(out, first ? "" : "; ", what, " -> ", where);
      first = false;
    }
    out += "\n";
    return out;
  }

  Status OpenIO() {
    ProcessingTime now = clock_.Now();
    for (SourceRun& r : sources_) {
      r.source = MakeFileSource(r.pipeline->spec());
      EDDY_RETURN_IF_ERROR(r.source->Open());
      r.pipeline->Attach(r.source->num_partitions(), now);
    }
    EDDY_RETURN_IF_ERROR(LoadCheckpoint());
    EDDY_RETURN_IF_ERROR(OpenOutput(spec_.outputs.accepted, "accepted", accepted_));
    EDDY_RETURN_IF_ERROR(OpenOutput(spec_.outputs.late, "late", late_));
    EDDY_RETURN_IF_ERROR(OpenOutput(spec_.outputs.dead_letter, "dead_letter", dead_));
    EDDY_RETURN_IF_ERROR(OpenOutput(spec_.outputs.features, "features", features_out_));
    if (features_out_.writer && features_out_.csv && !features_out_.restored) {
      // One header; CSV feature rows need a single source with features.
      size_t with_features = 0;
      for (const SourceRun& r : sources_) {
        if (!features_->has_event_features(r.index)) continue;
        if (with_features++ == 0) {
          line_.clear();
          AppendFeatureRowCsvHeader(line_, *r.pipeline, features_->feature_names(r.index));
          features_out_.writer->WriteLine(line_);
        }
      }
      if (with_features > 1) {
        return Status::InvalidArgument(
            "outputs.features: CSV needs one row shape, but several sources have per-event "
            "features; use jsonl");
      }
    }
    EDDY_RETURN_IF_ERROR(OpenState());
    model_out_.resize(scoring_->num_models());
    for (size_t i = 0; i < model_out_.size(); ++i) {
      const ModelSpec& m = scoring_->model_spec(i);
      EDDY_RETURN_IF_ERROR(OpenOutput(m.output, StrCat("model ", m.name), model_out_[i]));
    }
    EDDY_RETURN_IF_ERROR(
        OpenOutput(spec_.feedback.unmatched, "feedback.unmatched", unmatched_out_));
    window_out_.resize(features_->window_groups().size());
    for (size_t i = 0; i < window_out_.size(); ++i) {
      const FeatureGroupSpec& g = features_->window_spec(i);
      OutputSpec o;
      o.path = g.output;
      o.format = g.output_format;
      EDDY_RETURN_IF_ERROR(OpenOutput(o, StrCat("feature group ", g.name), window_out_[i]));
      if (window_out_[i].writer && window_out_[i].csv && !window_out_[i].restored) {
        line_.clear();
        AppendWindowRowCsvHeader(line_, features_->window_groups()[i]->feature_names());
        window_out_[i].writer->WriteLine(line_);
      }
    }
    UpdateSnapshot(now);
    return Status::OK();
  }

  // Finds the newest usable checkpoint (with --fresh: discards all state) and
  // restores everything but the outputs, store and history, which open
  // later at the checkpoint's positions.
  Status LoadCheckpoint() {
    const StateSpec& st = spec_.state;
    if (!st.enabled) return Status::OK();
    checkpoints_ = std::make_unique<CheckpointStore>(st.dir + "/checkpoints", st.checkpoints_kept);
    std::error_code ec;
    if (options_.fresh) {
      for (const char* sub : {"/checkpoints", "/history", "/online"}) {
        std::filesystem::remove_all(st.dir + sub, ec);
      }
    }
    // A checkpoint that says it copied the online store must have the copy.
    auto check = [](const CheckpointStore::Loaded& l) -> Status {
      if (l.state.Find(kOnlineCopySection) == nullptr) return Status::OK();
      std::error_code e;
      if (!std::filesystem::exists(l.dir + "/online/CURRENT", e)) {
        return Status::Corruption("its copy of the online store (online/) is missing");
      }
      return Status::OK();
    };
    EDDY_ASSIGN_OR_RETURN(auto loaded, checkpoints_->LoadLatest(check));
    if (!loaded) {
      // No checkpoint: derived state left by a run that never checkpointed
      // cannot be trusted; start over.
      for (const char* sub : {"/history", "/online"}) std::filesystem::remove_all(st.dir + sub, ec);
      return Status::OK();
    }
    for (const std::string& s : loaded->skipped) {
      std::fprintf(stderr, "eddy: skipping checkpoint %s; using the previous one\n", s.c_str());
    }
    if (!loaded->skipped.empty()) {
      std::fprintf(stderr, "eddy: resuming from checkpoint ckpt-%010llu of %s\n",
                   static_cast<unsigned long long>(loaded->seq), loaded->created_at.c_str());
    }
    const CheckpointState& state = loaded->state;
    ProcessingTime now = clock_.Now();
    for (SourceRun& r : sources_) {
      const std::string& name = r.pipeline->spec().name;
      const std::string* pos = state.Find(StrCat("source/", name, "/positions"));
      const std::string* pipe = state.Find(StrCat("source/", name, "/pipeline"));
      if (pos == nullptr || pipe == nullptr) {
        return Status::FailedPrecondition(
            StrCat("the checkpoint has no state for source ", Quote(name), "; run with --fresh"));
      }
      EDDY_RETURN_IF_ERROR(r.source->RestoreState(*pos));
      EDDY_RETURN_IF_ERROR(r.pipeline->RestoreState(*pipe, now));
      r.done = r.source->AtEnd();
    }
    if (const std::string* plan = state.Find(kFeaturePlanSection)) {
      EDDY_RETURN_IF_ERROR(CheckFeaturePlan(*plan, features_->state_plan()));
    }
    if (const std::string* f = state.Find("features"))
      EDDY_RETURN_IF_ERROR(features_->RestoreState(*f));
    if (const std::string* sc = state.Find("scoring"))
      EDDY_RETURN_IF_ERROR(scoring_->RestoreState(*sc));
    if (const std::string* e = state.Find("engine")) {
      ByteReader in(*e, "engine checkpoint");
      uint64_t n;
      if (!in.Varint64(window_rows_) || !in.Varint64(window_updates_) || !in.Varint64(n)) {
        return in.status();
      }
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view name;
        uint64_t length;
        if (!in.String(name) || !in.Varint64(length)) return in.status();
        restored_lengths_[std::string(name)] = length;
      }
    }
    checkpoint_seq_ = loaded->seq + 1;
    restored_from_ = loaded->seq;
    loaded_ = std::move(loaded);
    return Status::OK();
  }

  // Writes a checkpoint of everything at this point between batches.
  Status TakeCheckpoint(ProcessingTime now) {
    if (checkpoints_ == nullptr) return Status::OK();
    const ProcessingTime started = clock_.Now();
    CheckpointState state;
    std::string engine;
    PutVarint64(engine, window_rows_);
    PutVarint64(engine, window_updates_);
    std::vector<const Output*> outputs = {&accepted_, &late_, &dead_, &features_out_,
                                          &unmatched_out_};
    for (const Output& o : window_out_) outputs.push_back(&o);
    for (const Output& o : model_out_) outputs.push_back(&o);
    std::vector<std::pair<std::string, uint64_t>> lengths;
    for (const Output* o : outputs) {
      if (!o->writer) continue;
      // On disk before the checkpoint that records their length: a restore
      // after a machine crash then finds at least that much.
      EDDY_RETURN_IF_ERROR(o->writer->Sync());
      lengths.emplace_back(o->name, o->writer->size());
    }
    PutVarint64(engine, lengths.size());
    for (const auto& [name, length] : lengths) {
      PutString(engine, name);
      PutVarint64(engine, length);
    }
    state.Put("engine", std::move(engine));
    for (const SourceRun& r : sources_) {
      std::string pos, pipe;
      r.source->SaveState(pos);
      r.pipeline->SaveState(pipe);
      state.Put(StrCat("source/", r.pipeline->spec().name, "/positions"), std::move(pos));
      state.Put(StrCat("source/", r.pipeline->spec().name, "/pipeline"), std::move(pipe));
    }
    std::string features, scoring;
    features_->SaveState(features);
    scoring_->SaveState(scoring);
    state.Put("features", std::move(features));
    state.Put(std::string(kFeaturePlanSection), features_->state_plan());
    state.Put("scoring", std::move(scoring));
    if (history_) {
      EDDY_RETURN_IF_ERROR(history_->Flush(/*sync=*/true));
      HistoryPosition p = history_->position();
      std::string pos;
      PutVarint64(pos, p.segment);
      PutVarint64(pos, p.offset);
      state.Put("history", std::move(pos));
    }
    EDDY_RETURN_IF_ERROR(store_->Flush());
    const bool copy_store = spec_.state.online_store == "rocksdb";
    if (copy_store) {
      state.Put(std::string(kOnlineCopySection), "rocksdb");
    } else {
      // The in-memory store has no files: its vectors go into state.bin.
      std::string memory;
      EDDY_RETURN_IF_ERROR(SaveMemoryStore(memory));
      state.Put(std::string(kOnlineMemorySection), std::move(memory));
    }
    EDDY_RETURN_IF_ERROR(
        checkpoints_->Write(checkpoint_seq_, now, state, [&](const std::string& dir) {
          return copy_store ? store_->Checkpoint(dir + "/online") : Status::OK();
        }));
    ++checkpoints_written_;
    last_checkpoint_ms_ = (clock_.Now() - started).millis();
    ++checkpoint_seq_;
    return Status::OK();
  }

  // The online store and the history, when the pipeline has durable state;
  // an in-memory online store otherwise.
  Status OpenState() {
    const StateSpec& st = spec_.state;
    if (st.enabled) {
      std::error_code ec;
      std::filesystem::create_directories(st.dir, ec);
      if (ec)
        return Status::IoError(
            StrCat("state.dir: cannot create ", Quote(st.dir, 500), ": ", ec.message()));
    }
    if (loaded_) {
      // The online store comes back only into the kind of store that saved
      // it: after a switch, every key would read as missing until its next
      // event, while the feature state says otherwise.
      const bool had_copy = loaded_->state.Find(kOnlineCopySection) != nullptr;
      const bool had_memory = loaded_->state.Find(kOnlineMemorySection) != nullptr;
      const bool rocks = st.online_store == "rocksdb";
      if ((rocks && had_memory) || (!rocks && had_copy)) {
        return Status::FailedPrecondition(
            StrCat("state.online_store is ", Quote(st.online_store), " but the checkpoint in ",
                   Quote(st.dir), " was taken with ", Quote(had_copy ? "rocksdb" : "memory"),
                   ": its online store cannot be carried over; run with --fresh (and "
                   "`eddy replay --state` to rebuild it), or switch back"));
      }
    }
    if (loaded_ && st.online_store == "rocksdb") {
      const std::string copy = loaded_->dir + "/online";
      std::error_code ec;
      if (std::filesystem::exists(copy, ec)) {
        EDDY_RETURN_IF_ERROR(RestoreRocksDbStore(copy, st.dir + "/online")
                                 .WithContext("restoring the online store from the checkpoint"));
      }
    }
    if (loaded_ && st.history) {
      const std::string* pos = loaded_->state.Find("history");
      if (pos != nullptr) {
        ByteReader in(*pos, "history position");
        uint64_t segment, offset;
        if (!in.Varint64(segment) || !in.Varint64(offset)) return in.status();
        EDDY_RETURN_IF_ERROR(HistoryWriter::TruncateTo(
            st.dir + "/history", HistoryPosition{static_cast<uint32_t>(segment), offset}));
      }
    }
    if (!st.enabled || st.online_store == "memory") {
      store_ = OpenMemoryStore();
    } else {
      RocksDbStoreOptions o;
      o.cache_entries = static_cast<size_t>(st.cache_entries);
      auto store = OpenRocksDbStore(st.dir + "/online", o);
      if (!store.ok()) return store.status().WithContext("state.online_store");
      store_ = std::move(store).value();
    }
    if (loaded_ && st.online_store == "memory") {
      if (const std::string* m = loaded_->state.Find(kOnlineMemorySection)) {
        EDDY_RETURN_IF_ERROR(
            RestoreMemoryStore(*m).WithContext("restoring the online store from the checkpoint"));
      }
    }
    if (st.enabled && st.history) {
      std::vector<HistoryGroup> groups;
      for (size_t g = 0; g < features_->asof_groups().size(); ++g) {
        groups.push_back({features_->asof_groups()[g]->name(), features_->group_feature_names(g)});
      }
      auto h = HistoryWriter::Open(st.dir + "/history", groups);
      if (!h.ok()) return h.status().WithContext("state.history");
      history_ = std::move(h).value();
    }
    return Status::OK();
  }

  // The in-memory online store in a checkpoint: per per-event group, its
  // name, the number of keys, then (key, encoded vector) in key order.
  Status SaveMemoryStore(std::string& out) const {
    PutVarint64(out, features_->asof_groups().size());
    for (const auto& g : features_->asof_groups()) {
      std::string entries;
      uint64_t n = 0;
      std::string encoded;
      EDDY_RETURN_IF_ERROR(
          store_->Scan(g->name(), [&](std::string_view key, const StoredVector& v) -> Status {
            encoded.clear();
            EncodeStoredVector(v, encoded);
            PutString(entries, key);
            PutString(entries, encoded);
            ++n;
            return Status::OK();
          }));
      PutString(out, g->name());
      PutVarint64(out, n);
      out += entries;
    }
    return Status::OK();
  }

  Status RestoreMemoryStore(std::string_view bytes) {
    ByteReader in(bytes, kOnlineMemorySection);
    uint64_t groups;
    if (!in.Varint64(groups)) return in.status();
    for (uint64_t g = 0; g < groups; ++g) {
      std::string_view group;
      uint64_t n;
      if (!in.String(group) || !in.Varint64(n)) return in.status();
      for (uint64_t i = 0; i < n; ++i) {
        std::string_view key, encoded;
        if (!in.String(key) || !in.String(encoded)) return in.status();
        EDDY_ASSIGN_OR_RETURN(StoredVector v, DecodeStoredVector(encoded));
        EDDY_RETURN_IF_ERROR(store_->Put(group, key, v));
      }
    }
    return store_->Flush();
  }

  // Writes the per-event groups' vectors of the event just computed to the
  // online store and the history.
  void StoreFeatures(size_t s, EventTime t) {
    if (features_->last_slices().empty()) return;
    const std::vector<FeatureValue>& values = feature_values_[s];
    stored_.event_time = t;
    stored_.computed_at =
        spec_.state.availability_event_time ? ProcessingTime::FromMicros(t.micros()) : batch_now_;
    for (const FeatureEngine::GroupSlice& slice : features_->last_slices()) {
      stored_.values.assign(values.begin() + static_cast<ptrdiff_t>(slice.offset),
                            values.begin() + static_cast<ptrdiff_t>(slice.offset + slice.count));
      const std::string& group = features_->asof_groups()[slice.group]->name();
      Status ps = store_->Put(group, slice.key, stored_);
      if (!ps.ok() && state_error_.ok()) state_error_ = ps.WithContext("online store");
      if (history_) {
        Status hs = history_->Append(static_cast<uint32_t>(slice.group), slice.key, stored_);
        if (!hs.ok() && state_error_.ok()) state_error_ = hs.WithContext("history");
      }
    }
  }

  Status OpenOutput(const OutputSpec& spec, std::string_view what, Output& out) {
    if (!spec.enabled()) return Status::OK();
    out.name = std::string(what);
    auto length = restored_lengths_.find(out.name);
    out.restored = length != restored_lengths_.end();
    auto w =
        out.restored ? LineWriter::OpenAt(spec.path, length->second) : LineWriter::Open(spec.path);
    if (!w.ok()) return w.status().WithContext(StrCat("outputs.", what));
    out.writer = std::move(w).value();
    out.csv = spec.format == "csv";
    if (out.csv && (&out == &accepted_ || &out == &late_ || &out == &dead_)) {
      return Status::InvalidArgument(
          StrCat("outputs.", what, ": only feature rows can be written as CSV"));
    }
    return Status::OK();
  }

  Status Run() {
    const ProcessingTime start = clock_.Now();
    start_ = start;
    ProgressReporter progress(
        options_.progress,
        Duration::Micros(static_cast<int64_t>(options_.progress_interval_seconds * 1e6)), start);
    bool idle_round = false;
    ProcessingTime last_snapshot = start;
    ProcessingTime last_checkpoint = start;
    Status result;
    while (true) {
      if (stop_.load(std::memory_order_relaxed)) {
        stopped_ = true;
        break;
      }
      if (reopen_logs_.exchange(false, std::memory_order_relaxed) && api_) {
        // A failed reopen keeps the old file: nothing is lost, and the
        // operator sees why.
        Status s = api_->ReopenLogs();
        if (s.ok()) {
          EDDY_LOG(Info) << "reopened the audit log";
        } else {
          EDDY_LOG(Error) << "reopening the audit log failed (still writing to the old file): "
                          << s.message();
        }
      }
      bool any_data = false, all_done = true;
      ProcessingTime now = clock_.Now();
      // Sources are read in event-time step: each round polls the source
      // whose watermark is furthest behind (sources feeding tables first on
      // ties), and stops at the first that has data. So with recorded inputs
      // labels, tables and events interleave by event time, identically in
      // every run, instead of by file size. A replay from a pipe waits for
      // the pipe rather than read ahead in another source (batch.waiting),
      // as a file would have had the batch at once.
      std::vector<SourceRun*> order;
      for (SourceRun& r : sources_) order.push_back(&r);
      std::stable_sort(order.begin(), order.end(), [](const SourceRun* a, const SourceRun* b) {
        return a->pipeline->watermark() < b->pipeline->watermark();
      });
      for (SourceRun* rp : order) {
        SourceRun& r = *rp;
        if (any_data) break;
        if (r.done) continue;
        all_done = false;
        result = r.source->Poll(kPollBatch, idle_round ? kIdleWait : Duration::Zero(), r.batch);
        if (!result.ok()) break;
        now = clock_.Now();
        batch_now_ = now;
        for (const RawRecord& rec : r.batch.records) r.pipeline->Process(rec, now, *this);
        r.pipeline->counters().bytes += r.batch.bytes_read;
        for (Partition p : r.batch.ended) r.pipeline->EndPartition(p, *this);
        any_data |= !r.batch.records.empty() || !r.batch.ended.empty();
        if (r.source->AtEnd()) r.done = true;
        if (!any_data && r.batch.waiting) break;
      }
      if (!result.ok() || all_done) break;
      result = OutputStatus();
      if (result.ok()) result = state_error_;
      if (!result.ok()) break;
      scoring_->RefreshOnline(now);
      // Idleness is checked every round: a busy source must not keep another
      // source's silent partitions from going idle.
      for (SourceRun& r : sources_) {
        if (!r.done) r.pipeline->Tick(now, *this);
      }
      idle_round = !any_data;
      if (checkpoints_ && spec_.state.checkpoint_interval > Duration::Zero() &&
          now - last_checkpoint >= spec_.state.checkpoint_interval) {
        result = TakeCheckpoint(now);
        if (!result.ok()) break;
        last_checkpoint = now;
      }
      if (now - last_snapshot >= kSnapshotInterval) {
        UpdateSnapshot(now);
        last_snapshot = now;
        progress.MaybeReport(now, SnapshotCopy());
      }
    }
    // Stop serving first: no new requests, in-flight ones finish.
    if (api_) api_->Stop(Duration::Seconds(10));
    // A clean end (inputs ended or a stop request) leaves a checkpoint, so
    // the next run resumes after everything this one did.
    if (result.ok()) result = TakeCheckpoint(clock_.Now());
    for (LineWriter* w : Writers()) {
      Status s = w->Close();
      if (result.ok()) result = s;
    }
    if (history_) {
      Status s = history_->Flush(/*sync=*/true);
      if (result.ok()) result = s;
    }
    if (store_) {
      Status s = store_->Flush();
      if (result.ok()) result = s;
    }
    UpdateSnapshot(clock_.Now());
    progress.Finish();
    return result;
  }

  void RequestStop() { stop_.store(true, std::memory_order_relaxed); }
  void RequestReopenLogs() { reopen_logs_.store(true, std::memory_order_relaxed); }

  RunSummary SnapshotCopy() const {
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    return snapshot_;
  }

  // ---- RecordHandler ----
  void OnAccepted(const SourcePipeline& source, const RawRecord& rec, const Row& row,
                  EventTime t) override {
    const size_t s = IndexOf(source);
    const bool to_output = replay_source_ < 0 || static_cast<size_t>(replay_source_) == s;
    if (accepted_.writer != nullptr && to_output) {
      line_.clear();
      AppendAcceptedJson(line_, source, rec, row, t);
      accepted_.writer->WriteLine(line_);
    }
    std::vector<FeatureValue>& values = feature_values_[s];
    // One event in 16 is timed, stage by stage (timing every event would cost
    // more than some stages).
    const bool timed = (++accepted_seq_ & 15) == 0;
    std::chrono::steady_clock::time_point t0, t1;
    if (timed) t0 = std::chrono::steady_clock::now();
    features_->OnEvent(s, t, row, values, *this);
    StoreFeatures(s, t);
    if (timed) {
      t1 = std::chrono::steady_clock::now();
      if (features_->has_event_features(s)) {
        feature_latency_.Observe(std::chrono::duration<double>(t1 - t0).count());
      }
    }
    if (scoring_->has_models(s)) {
      scoring_->OnEvent(s, row, t, values, *this);
      if (timed) {
        scoring_latency_.Observe(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count());
      }
    }
    if (scoring_->is_feedback_source(s)) scoring_->OnLabel(row, t, *this);
    if (features_out_.writer != nullptr && features_->has_event_features(s) && to_output) {
      line_.clear();
      if (features_out_.csv) {
        AppendFeatureRowCsv(line_, source, row, t, values);
      } else {
        AppendFeatureRowJson(line_, source, row, t, features_->feature_names(s), values);
      }
      features_out_.writer->WriteLine(line_);
    }
  }

  void OnLate(const SourcePipeline& source, const RawRecord& rec, const Row& row, EventTime t,
              const WatermarkTracker::Admission& a) override {
    line_.clear();
    AppendLateJson(line_, source, rec, row, t, a);
    late_.writer->WriteLine(line_);
  }

  void OnWatermark(const SourcePipeline& source, Watermark wm) override {
    const size_t s = IndexOf(source);
    features_->OnWatermark(s, wm, *this);
    scoring_->OnWatermark(s, wm, *this);
  }

  // ---- ScoringSink ----
  void OnPredictionRow(size_t model, std::string_view line) override {
    if (model_out_[model].writer) model_out_[model].writer->WriteLine(line);
  }
  void OnUnmatchedLabel(std::string_view line) override {
    if (unmatched_out_.writer) unmatched_out_.writer->WriteLine(line);
  }
  void OnScore(size_t model, double score) override {
    if (api_) api_->ObserveStreamScore(model, score);
  }

  // Starts the HTTP API (before state is restored: /readyz says 503 until
  // Ready()).
  Status StartServing() {
    if (!spec_.serving.enabled) return Status::OK();
    ServingContext ctx;
    ctx.spec = &spec_;
    for (size_t i = 0; i < spec_.sources.size(); ++i) {
      for (const SourceRun& r : sources_) {
        if (r.index == i) ctx.schemas.push_back(&r.pipeline->schema());
      }
    }
    ctx.features = features_.get();
    ctx.scoring = scoring_.get();
    ctx.store = store_.get();
    ctx.clock = &clock_;
    ctx.summary = [this]() { return SnapshotCopy(); };
    EDDY_ASSIGN_OR_RETURN(api_, ServingApi::Create(std::move(ctx)));
    EDDY_RETURN_IF_ERROR(api_->Start());
    const std::string scheme = spec_.serving.tls_cert.empty() ? "http" : "https";
    std::fprintf(stderr, "eddy: serving on %s://%s:%u (%s)\n", scheme.c_str(),
                 spec_.serving.address.c_str(), api_->port(),
                 spec_.serving.auth ? "tokens required" : "no authentication");
    if (!spec_.serving.port_file.empty()) {
      std::FILE* f = std::fopen(spec_.serving.port_file.c_str(), "w");
      if (f == nullptr) {
        return Status::IoError(
            StrCat("serving.port_file: cannot write ", Quote(spec_.serving.port_file, 500)));
      }
      std::fprintf(f, "%u\n", api_->port());
      std::fclose(f);
    }
    return Status::OK();
  }

  void Ready() {
    if (api_) api_->SetReady();
  }

  // ---- WindowSink ----
  void OnWindowRow(const WindowRow& row) override {
    ++window_rows_;
    if (row.emission > 0) ++window_updates_;
    for (size_t i = 0; i < window_out_.size(); ++i) {
      if (features_->window_groups()[i]->name() != row.group) continue;
      Output& out = window_out_[i];
      if (out.writer == nullptr) return;
      window_line_.clear();
      if (out.csv) {
        AppendWindowRowCsv(window_line_, row);
      } else {
        AppendWindowRowJson(window_line_, row);
      }
      out.writer->WriteLine(window_line_);
      return;
    }
  }

  void OnDeadLetter(const SourcePipeline& source, const RawRecord& rec,
                    const DecodeError& err) override {
    line_.clear();
    const SourceRun* run = FindRun(source);
    std::string location = run != nullptr && run->source != nullptr
                               ? run->source->Location(rec.partition, rec.offset)
                               : "";
    // Inputs under the pipeline file's directory are shown relative to it.
    const std::string prefix = spec_.base_dir + "/";
    if (location.rfind(prefix, 0) == 0) location.erase(0, prefix.size());
    AppendDeadLetterJson(line_, source, rec, err, location);
    dead_.writer->WriteLine(line_);
  }

 private:
  struct SourceRun {
    std::unique_ptr<SourcePipeline> pipeline;
    std::unique_ptr<Source> source;
    PollBatch batch;
    size_t index = 0;
    bool done = false;
  };

  std::string ReplayPath() const {
    return options_.replay_input == "-"
               ? "-"
               : std::filesystem::absolute(options_.replay_input).lexically_normal().string();
  }

  bool FeedsTable(size_t source) const {
    for (const FeatureGroupSpec& g : spec_.features) {
      if (g.table && g.source == spec_.sources[source].name) return true;
    }
    return false;
  }

  size_t IndexOf(const SourcePipeline& p) const {
    for (const SourceRun& r : sources_) {
      if (r.pipeline.get() == &p) return r.index;
    }
    EDDY_CHECK(false) << "unknown source pipeline";
    return 0;
  }

  std::vector<LineWriter*> Writers() const {
    std::vector<LineWriter*> out;
    for (const Output* o : {&accepted_, &late_, &dead_, &features_out_}) {
      if (o->writer) out.push_back(o->writer.get());
    }
    for (const Output& o : window_out_) {
      if (o.writer) out.push_back(o.writer.get());
    }
    for (const Output& o : model_out_) {
      if (o.writer) out.push_back(o.writer.get());
    }
    if (unmatched_out_.writer) out.push_back(unmatched_out_.writer.get());
    return out;
  }

  const SourceRun* FindRun(const SourcePipeline& p) const {
    for (const SourceRun& r : sources_) {
      if (r.pipeline.get() == &p) return &r;
    }
    return nullptr;
  }

  Status OutputStatus() const {
    for (LineWriter* w : Writers()) {
      if (!w->status().ok()) return w->status();
    }
    return Status::OK();
  }

  std::vector<std::pair<std::string, std::string>> OutputList() const {
    std::vector<std::pair<std::string, std::string>> out;
    if (spec_.outputs.accepted.enabled()) {
      out.emplace_back("accepted", DisplayPath(spec_.outputs.accepted.path));
    }
    if (spec_.outputs.features.enabled()) {
      out.emplace_back("features", DisplayPath(spec_.outputs.features.path));
    }
    for (const FeatureGroupSpec& g : spec_.features) {
      if (!g.output.empty()) out.emplace_back(g.name, DisplayPath(g.output));
    }
    for (const ModelSpec& m : spec_.models) {
      if (m.output.enabled())
        out.emplace_back(StrCat("model ", m.name), DisplayPath(m.output.path));
    }
    if (spec_.feedback.unmatched.enabled()) {
      out.emplace_back("unmatched labels", DisplayPath(spec_.feedback.unmatched.path));
    }
    out.emplace_back("late", DisplayPath(spec_.outputs.late.path));
    out.emplace_back("dead-letter", DisplayPath(spec_.outputs.dead_letter.path));
    return out;
  }

  void UpdateSnapshot(ProcessingTime now) {
    RunSummary s;
    s.pipeline = spec_.name;
    s.elapsed_seconds = start_.micros() == 0 ? 0 : (now - start_).seconds();
    s.stopped = stopped_;
    s.outputs = OutputList();
    for (const SourceRun& r : sources_) {
      const SourceCounters& c = r.pipeline->counters();
      SourceSummary src;
      src.name = r.pipeline->spec().name;
      src.records = c.records;
      src.bytes = c.bytes;
      src.accepted = c.accepted;
      src.late = c.late;
      src.dead_letter = c.dead_letter;
      src.filtered = c.filtered;
      src.blank = c.blank;
      if (r.source != nullptr) {
        src.watermark = FormatIso8601(r.pipeline->watermark().time());
        src.watermark_micros = r.pipeline->watermark().time().micros();
        src.partitions = r.pipeline->tracker().num_partitions();
        src.idle_partitions = r.pipeline->tracker().num_idle();
      }
      for (const auto& [code, n] : c.errors) src.errors.emplace_back(std::string(code), n);
      std::sort(src.errors.begin(), src.errors.end(),
                [](const auto& a, const auto& b) { return a.second > b.second; });
      s.sources.push_back(std::move(src));
    }
    if (features_ != nullptr) {
      for (const auto& g : features_->asof_groups()) {
        AsOfGroup::Stats st = g->stats();
        s.groups.push_back({g->name(), "per-event", st.keys, st.entries, st.peak_keys,
                            st.peak_entries, st.out_of_order, st.nulls_skipped});
      }
      for (const auto& g : features_->window_groups()) {
        FeatureGroupSummary gs{g->name(), "windows", 0, g->open_windows(), 0,
                               0,         0,         0, g->updates()};
        gs.rows = g->rows();
        s.groups.push_back(gs);
      }
      s.window_rows = window_rows_;
    }
    if (scoring_ != nullptr) {
      for (const ModelRunStats& m : scoring_->model_stats()) {
        ModelSummary ms;
        ms.name = m.name;
        ms.kind = m.kind;
        ms.version = m.version;
        ms.scored = m.scored;
        ms.positives = m.positives;
        ms.skipped = m.skipped_missing + m.errors;
        ms.labelled = m.labelled;
        ms.updates = m.updates;
        ms.classifier = m.classifier;
        ms.auc = m.window.auc;
        ms.log_loss = m.window.log_loss;
        ms.precision = m.window.precision;
        ms.recall = m.window.recall;
        ms.f1 = m.window.f1;
        ms.false_positive_rate = m.window.false_positive_rate;
        ms.auc_since_start = m.since_start.auc;
        ms.recall_since_start = m.since_start.recall;
        ms.precision_since_start = m.since_start.precision;
        ms.fpr_since_start = m.since_start.false_positive_rate;
        ms.window_count = m.classifier ? m.window.count : m.regression_window.count;
        ms.mae = m.regression_window.mae;
        ms.rmse = m.regression_window.rmse;
        s.models.push_back(ms);
      }
      auto quantiles = [](const Histogram& h, double& p50, double& p99) {
        if (h.count() == 0) return;
        p50 = h.Quantile(0.5) * 1e6;
        p99 = h.Quantile(0.99) * 1e6;
      };
      quantiles(feature_latency_, s.feature_p50_us, s.feature_p99_us);
      quantiles(scoring_latency_, s.scoring_p50_us, s.scoring_p99_us);
      if (api_) api_->PredictLatency(s.predict_requests, s.predict_p50_us, s.predict_p99_us);
      FeedbackStats f = scoring_->feedback_stats();
      s.feedback = {f.labels, f.matched, f.pending, f.no_prediction, f.after_horizon, f.duplicates};
    }
    std::lock_guard<std::mutex> lock(snapshot_mu_);
    snapshot_ = std::move(s);
  }

  PipelineSpec spec_;
  EngineOptions options_;
  Clock& clock_;
  std::vector<SourceRun> sources_;
  Output accepted_, late_, dead_, features_out_;
  std::vector<Output> window_out_;  // per window group
  std::unique_ptr<FeatureEngine> features_;
  std::unique_ptr<ScoringEngine> scoring_;
  std::unique_ptr<ServingApi> api_;
  uint64_t accepted_seq_ = 0;
  Histogram feature_latency_, scoring_latency_;  // seconds, sampled
  std::unique_ptr<OnlineStore> store_;
  std::unique_ptr<HistoryWriter> history_;
  StoredVector stored_;  // scratch
  ProcessingTime batch_now_;
  int replay_source_ = -1;  // eddy replay: the source whose rows go to --output
  std::unique_ptr<CheckpointStore> checkpoints_;
  std::optional<CheckpointStore::Loaded> loaded_;
  std::map<std::string, uint64_t> restored_lengths_;
  uint64_t checkpoint_seq_ = 1;
  uint64_t checkpoints_written_ = 0;
  double last_checkpoint_ms_ = 0;
  std::optional<uint64_t> restored_from_;
  Status state_error_;
  std::vector<Output> model_out_;  // per model
  Output unmatched_out_;
  std::vector<std::vector<FeatureValue>> feature_values_;  // per source, reused
  uint64_t window_rows_ = 0, window_updates_ = 0;
  std::string window_line_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> reopen_logs_{false};
  bool stopped_ = false;
  ProcessingTime start_;
  std::string line_;

  mutable std::mutex snapshot_mu_;
  RunSummary snapshot_;  // GUARDED_BY(snapshot_mu_)
};

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::~Engine() = default;

Result<std::string> Engine::Validate(const std::string& pipeline_path) {
  EDDY_ASSIGN_OR_RETURN(PipelineSpec spec, LoadPipelineFile(pipeline_path));
  Impl impl(std::move(spec), EngineOptions{});
  EDDY_RETURN_IF_ERROR(impl.Plan());
  return impl.Describe();
}

Result<std::unique_ptr<Engine>> Engine::Open(const std::string& pipeline_path,
                                             const EngineOptions& options) {
  EDDY_ASSIGN_OR_RETURN(PipelineSpec spec, LoadPipelineFile(pipeline_path));
  EDDY_RETURN_IF_ERROR(ApplyReplay(spec, options));
  auto impl = std::make_unique<Impl>(std::move(spec), options);
  EDDY_RETURN_IF_ERROR(impl->Plan());
  EDDY_RETURN_IF_ERROR(impl->OpenIO());
  EDDY_RETURN_IF_ERROR(impl->StartServing());
  impl->Ready();
  return std::unique_ptr<Engine>(new Engine(std::move(impl)));
}

Status Engine::Run() { return impl_->Run(); }
void Engine::RequestStop() { impl_->RequestStop(); }
void Engine::RequestReopenLogs() { impl_->RequestReopenLogs(); }
RunSummary Engine::Summary() const { return impl_->SnapshotCopy(); }

std::string Engine::FormatSummary(const RunSummary& s) {
  char secs[32];
  std::snprintf(secs, sizeof(secs), "%.2f", s.elapsed_seconds);
  std::string out =
      StrCat("eddy: pipeline ", Quote(s.pipeline), " ",
             s.stopped ? "stopped on request" : "finished (inputs ended)", " after ", secs, "s\n");
  uint64_t total_records = 0, total_bytes = 0;
  // A small table: one row per source.
  std::vector<std::vector<std::string>> rows = {
      {"source", "records", "accepted", "late", "dead-letter", "filtered", "blank", "watermark"}};
  for (const SourceSummary& src : s.sources) {
    total_records += src.records;
    total_bytes += src.bytes;
    rows.push_back({src.name, FormatCount(src.records), FormatCount(src.accepted),
                    FormatCount(src.late), FormatCount(src.dead_letter), FormatCount(src.filtered),
                    FormatCount(src.blank),
                    src.watermark == "+inf" ? "+inf (end of input)" : src.watermark});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const auto& row : rows) {
    out += " ";
    for (size_t i = 0; i < row.size(); ++i) {
      out += "  ";
      if (i == 0 || i == row.size() - 1) {
        out += row[i] + std::string(width[i] - row[i].size(), ' ');
      } else {
        out += std::string(width[i] - row[i].size(), ' ') + row[i];
      }
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    out += "\n";
  }
  if (s.elapsed_seconds > 0) {
    StrAppend(
        out, "  throughput: ", FormatRate(static_cast<double>(total_records) / s.elapsed_seconds),
        " records/s, ", FormatRate(static_cast<double>(total_bytes) / s.elapsed_seconds), "B/s\n");
  }
  for (const SourceSummary& src : s.sources) {
    if (src.errors.empty()) continue;
    StrAppend(out, "  dead-letter reasons (", src.name, "): ");
    for (size_t i = 0; i < src.errors.size(); ++i) {
      StrAppend(out, i > 0 ? ", " : "", src.errors[i].first, " ",
                FormatCount(src.errors[i].second));
    }
    out += "\n";
  }
  for (const FeatureGroupSummary& g : s.groups) {
    if (g.kind == "per-event") {
      StrAppend(out, "  feature group ", g.name, ": peak ", FormatCount(g.peak_keys), " keys, ",
                FormatCount(g.peak_entries), " buffered events");
      if (g.out_of_order > 0) StrAppend(out, ", ", FormatCount(g.out_of_order), " out of order");
      if (g.nulls_skipped > 0)
        StrAppend(out, ", ", FormatCount(g.nulls_skipped), " null inputs skipped");
    } else {
      StrAppend(out, "  feature group ", g.name, ": ", FormatCount(g.rows), " window rows (",
                FormatCount(g.updates), " updates)");
      if (g.entries > 0) StrAppend(out, ", ", FormatCount(g.entries), " windows still open");
    }
    out += "\n";
  }
  if (s.window_rows > 0) {
    StrAppend(out, "  window rows emitted: ", FormatCount(s.window_rows), "\n");
  }
  for (const ModelSummary& m : s.models) {
    StrAppend(out, "  model ", m.name, " (", m.kind,
              m.kind == "static" ? StrCat(" v", m.version)
                                 : StrCat(", ", FormatCount(m.updates), " updates"),
              "): ", FormatCount(m.scored), " scored");
    if (m.classifier) StrAppend(out, ", ", FormatCount(m.positives), " flagged");
    if (m.skipped > 0) StrAppend(out, ", ", FormatCount(m.skipped), " skipped");
    if (m.labelled > 0) {
      char buf[256];
      if (m.classifier) {
        std::snprintf(buf, sizeof(buf),
                      "; last %llu labels: AUC %.3f, precision %.3f, recall %.3f, FPR %.4f",
                      static_cast<unsigned long long>(m.window_count), m.auc, m.precision, m.recall,
                      m.false_positive_rate);
      } else {
        std::snprintf(buf, sizeof(buf), "; last %llu labels: MAE %.4g, RMSE %.4g",
                      static_cast<unsigned long long>(m.window_count), m.mae, m.rmse);
      }
      out += buf;
    }
    out += "\n";
  }
  if (s.feedback.labels > 0) {
    StrAppend(out, "  feedback: ", FormatCount(s.feedback.labels), " labels, ",
              FormatCount(s.feedback.matched), " matched");
    if (s.feedback.no_prediction > 0) {
      StrAppend(out, ", ", FormatCount(s.feedback.no_prediction), " without prediction");
    }
    if (s.feedback.after_horizon > 0) {
      StrAppend(out, ", ", FormatCount(s.feedback.after_horizon), " after the horizon");
    }
    if (s.feedback.duplicates > 0) {
      StrAppend(out, ", ", FormatCount(s.feedback.duplicates), " duplicates");
    }
    if (s.feedback.pending > 0) StrAppend(out, ", ", FormatCount(s.feedback.pending), " pending");
    out += "\n";
  }
  if (s.feature_p50_us > 0 || s.scoring_p50_us > 0 || s.predict_requests > 0) {
    char buf[256];
    out += "  latency per event:";
    if (s.feature_p50_us > 0) {
      std::snprintf(buf, sizeof(buf), " features p50 %.1f us, p99 %.1f us;", s.feature_p50_us,
                    s.feature_p99_us);
      out += buf;
    }
    if (s.scoring_p50_us > 0) {
      std::snprintf(buf, sizeof(buf), " models p50 %.1f us, p99 %.1f us;", s.scoring_p50_us,
                    s.scoring_p99_us);
      out += buf;
    }
    if (out.back() == ';') out.pop_back();
    out += "\n";
    if (s.predict_requests > 0) {
      std::snprintf(buf, sizeof(buf),
                    "  HTTP predict: %s requests, p50 %.0f us, p99 %.0f us inside Eddy\n",
                    FormatCount(s.predict_requests).c_str(), s.predict_p50_us, s.predict_p99_us);
      out += buf;
    }
  }
  out += "  outputs:";
  for (const auto& [what, where] : s.outputs) StrAppend(out, " ", what, " -> ", where, ";");
  if (!s.outputs.empty()) out.pop_back();
  out += "\n";
  return out;
}

}  // namespace eddy
