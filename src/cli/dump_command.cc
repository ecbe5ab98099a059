#include "cli/dump_command.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_writer.h"
#include "base/strings.h"
#include "base/time.h"
#include "base/utf8.h"
#include "config/pipeline.h"
#include "engine/source_pipeline.h"
#include "features/feature_engine.h"
#include "store/online_store.h"

namespace eddy {
namespace {

constexpr std::string_view kDumpHelp =
    R"(usage: eddy dump-online PIPELINE [--group NAME] [--output FILE] [--state DIR]

Writes the pipeline's online store (state.dir/online) as JSON lines, one line
per feature group and key, sorted by group name and then by key (bytewise):

  {"group":"user","key":"u42","event_time":"...","computed_at":"...",
   "values":{"tx_1h":3,"amount_mean_24h":17.5,...}}

event_time is the event time the vector is as of, computed_at when Eddy
computed it (the availability time). Doubles are written in shortest
round-trip form, so two dumps are equal as text exactly when the stores hold
the same values bit for bit. The store must not be in use by a running
pipeline.

options:
  --group NAME    only this per-event feature group
  --output FILE   where to write (default - for standard output); a file
                  appears only when complete
  --state DIR     read the store under DIR instead of the pipeline's state.dir,
                  e.g. the state of `eddy replay --state DIR`

exit status: 0 written, 1 error, 2 bad usage
)";

void Print(std::FILE* f, std::string_view s) { std::fwrite(s.data(), 1, s.size(), f); }

int Usage(std::string_view msg) {
  Print(stderr, StrCat("eddy: ", msg, "\n\n", kDumpHelp));
  return 2;
}

int Fail(const Status& s) {
  Print(stderr, StrCat("eddy: ", s.message(), "\n"));
  return 1;
}

// A per-event group of the pipeline: its name and feature names, in the
// order the stored vectors hold them.
struct GroupNames {
  std::string name;
  std::vector<std::string> features;
};

// Plans the pipeline's features (as `eddy run` does) for the names.
Result<std::vector<GroupNames>> PlanGroups(const PipelineSpec& spec) {
  std::vector<std::unique_ptr<SourcePipeline>> pipelines;
  std::vector<const Schema*> schemas;
  for (const SourceSpec& s : spec.sources) {
    EDDY_ASSIGN_OR_RETURN(auto p, SourcePipeline::Create(s));
    schemas.push_back(&p->schema());
    pipelines.push_back(std::move(p));
  }
  EDDY_ASSIGN_OR_RETURN(auto features, FeatureEngine::Create(spec, schemas));
  std::vector<GroupNames> out;
  for (size_t g = 0; g < features->asof_groups().size(); ++g) {
    out.push_back({features->asof_groups()[g]->name(), features->group_feature_names(g)});
  }
  std::sort(out.begin(), out.end(),
            [](const GroupNames& a, const GroupNames& b) { return a.name < b.name; });
  return out;
}

// Where the lines go: standard output, or a temporary file renamed into
// place by Commit().
class Output {
 public:
  static Result<std::unique_ptr<Output>> Open(const std::string& path) {
    std::unique_ptr<Output> o(new Output());
    o->path_ = path;
    if (path == "-") {
      o->file_ = stdout;
      return o;
    }
    std::error_code ec;
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    o->tmp_ = path + ".tmp";
    o->file_ = std::fopen(o->tmp_.c_str(), "wb");
    if (o->file_ == nullptr) {
      return Status::IoError(
          StrCat("cannot create ", Quote(o->tmp_, 500), ": ", std::strerror(errno)));
    }
    return o;
  }
  ~Output() {
    if (file_ != nullptr && file_ != stdout) {
      std::fclose(file_);
      std::remove(tmp_.c_str());
    }
  }

  std::string& buffer() { return buffer_; }
  Status MaybeWrite() { return buffer_.size() >= (1u << 20) ? Write() : Status::OK(); }

  Status Commit() {
    EDDY_RETURN_IF_ERROR(Write());
    if (std::fflush(file_) != 0) return WriteError();
    if (file_ == stdout) return Status::OK();
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!closed) return WriteError();
    std::error_code ec;
    std::filesystem::rename(tmp_, path_, ec);
    if (ec) {
      std::remove(tmp_.c_str());
      return Status::IoError(StrCat("cannot rename ", Quote(tmp_, 500), " to ", Quote(path_, 500),
                                    ": ", ec.message()));
    }
    return Status::OK();
  }

 private:
  Output() = default;
  Status Write() {
    if (!buffer_.empty() && std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size())
      return WriteError();
    buffer_.clear();
    return Status::OK();
  }
  Status WriteError() const {
    return Status::IoError(StrCat("writing ", path_ == "-" ? "standard output" : Quote(path_, 500),
                                  ": ", std::strerror(errno)));
  }

  std::string path_, tmp_;
  std::FILE* file_ = nullptr;
  std::string buffer_;
};

}  // namespace

int RunDumpOnlineCommand(int argc, char** argv) {
  std::map<std::string, std::string> options;
  std::vector<std::string> positional;
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      Print(stdout, kDumpHelp);
      return 0;
    }
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name.resize(eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        return Usage(StrCat("--", name, " needs a value"));
      }
      if (name != "group" && name != "output" && name != "state") {
        return Usage(StrCat("unknown option --", name));
      }
      options[name] = value;
      continue;
    }
    positional.push_back(a);
  }
  if (positional.size() != 1) return Usage("dump-online takes one pipeline file");
  const std::string output = options.count("output") ? options["output"] : "-";
  if (output.empty()) return Usage("--output needs a file name (or - for standard output)");

  auto spec = LoadPipelineFile(positional[0]);
  if (!spec.ok()) return Fail(spec.status());
  std::string dir;
  if (options.count("state")) {
    if (options["state"].empty()) return Usage("--state needs a directory");
    dir = std::filesystem::absolute(options["state"]).lexically_normal().string();
  } else {
    if (!spec->state.enabled) {
      return Fail(Status::FailedPrecondition(
          StrCat(positional[0],
                 ": the pipeline keeps no state (no `state:` section), so its "
                 "online store lives in memory only; nothing to dump")));
    }
    if (spec->state.online_store != "rocksdb") {
      return Fail(Status::FailedPrecondition(
          StrCat(positional[0], ": state.online_store is ", spec->state.online_store,
                 ": the online store lives in memory only; nothing to dump")));
    }
    dir = spec->state.dir;
  }
  auto groups = PlanGroups(*spec);
  if (!groups.ok()) return Fail(groups.status());
  if (options.count("group")) {
    std::vector<GroupNames> picked;
    for (GroupNames& g : *groups) {
      if (g.name == options["group"]) picked.push_back(std::move(g));
    }
    if (picked.empty()) {
      std::vector<std::string> names;
      for (const GroupNames& g : *groups) names.push_back(g.name);
      return Fail(Status::NotFound(StrCat(
          "no per-event feature group named ", Quote(options["group"]), " (the pipeline has ",
          names.empty() ? std::string("none") : StrJoin(names, ", "), ")")));
    }
    *groups = std::move(picked);
  }

  std::error_code ec;
  if (!std::filesystem::exists(dir + "/online/CURRENT", ec)) {
    return Fail(Status::NotFound(
        StrCat("no online store at ", Quote(dir + "/online", 500),
               ": the pipeline has not run with this state directory yet (or it was run with "
               "online_store: memory)")));
  }
  RocksDbStoreOptions store_options;
  store_options.cache_entries = 0;  // one pass: a cache would only cost
  store_options.create_if_missing = false;
  auto store = OpenRocksDbStore(dir + "/online", store_options);
  if (!store.ok()) return Fail(store.status());

  auto out = Output::Open(output);
  if (!out.ok()) return Fail(out.status());
  uint64_t rows = 0;
  for (const GroupNames& g : *groups) {
    Status s = (*store)->Scan(g.name, [&](std::string_view key, const StoredVector& v) -> Status {
      if (v.values.size() != g.features.size()) {
        return Status::FailedPrecondition(StrCat(
            "the stored vector of feature group ", Quote(g.name), " key ", Quote(key), " has ",
            v.values.size(), " values but the pipeline's group has ", g.features.size(),
            " features: the pipeline changed since the store was "
            "written"));
      }
      std::string& b = (*out)->buffer();
      JsonWriter w(b);
      w.BeginObject().Key("group").String(g.name);
      if (IsValidUtf8(key)) {
        w.Key("key").String(key);
      } else {
        w.Key("key_base64").String(Base64Encode(key));
      }
      w.Key("event_time").String(FormatIso8601(v.event_time));
      w.Key("computed_at").String(FormatIso8601(EventTime::FromMicros(v.computed_at.micros())));
      w.Key("values").BeginObject();
      std::string value;
      for (size_t i = 0; i < v.values.size(); ++i) {
        value.clear();
        v.values[i].AppendJson(value);
        w.Key(g.features[i]).Raw(value);
      }
      w.EndObject().EndObject();
      b.push_back('\n');
      ++rows;
      return (*out)->MaybeWrite();
    });
    if (!s.ok()) return Fail(s);
  }
  if (Status s = (*out)->Commit(); !s.ok()) return Fail(s);
  if (output != "-") {
    Print(stderr,
          StrCat("eddy: ", rows, " vectors from ", dir, "/online written to ", output, "\n"));
  }
  return 0;
}

}  // namespace eddy
