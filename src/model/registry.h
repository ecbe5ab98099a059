// ModelRegistry: versions of named models on disk, with lineage, and which
// version of each model is live.
//
// Layout (docs/reference/models.md, "Registry layout"):
//
//   <root>/<name>/<version>/model.<ext>      the model file, byte for byte
//   <root>/<name>/<version>/metadata.json    type, features, lineage, hash
//   <root>/<name>/live                       "<version>\n": the live version
//   <root>/<name>/history.jsonl              one line per promote/rollback
//   <root>/<name>/.lock                      flock()ed by writers
//
// Versions are numbered 1, 2, ... per model and never change once written:
// a version is assembled in a temporary directory and renamed into place,
// its files are made read-only, and loading checks the model file against
// the content hash in metadata.json. The live pointer is replaced with
// write-temp + fsync + rename, so a reader sees the old or the new version,
// never a torn file. Writers (Register, Promote, Rollback) of one model hold
// an exclusive flock on its .lock file, so concurrent processes are safe.
//
// Threading: a ModelRegistry holds no mutable state; any method may be
// called from any thread.

#ifndef EDDY_MODEL_REGISTRY_H_
#define EDDY_MODEL_REGISTRY_H_

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/clock.h"
#include "base/time.h"
#include "eddy/status.h"
#include "model/model.h"

namespace eddy {

// Where a version came from.
struct Lineage {
  std::string source;  // free text: training script, notebook, "online:fraud@3"
  // Event-time range of the training data, when known.
  std::optional<EventTime> data_from;
  std::optional<EventTime> data_to;
  std::vector<std::pair<std::string, std::string>> parameters;
  std::vector<std::pair<std::string, double>> metrics;
  ModelVersion parent;  // the version this one continues from; 0 = none
};

struct VersionMetadata {
  std::string name;
  ModelVersion version;
  ModelFormat format = ModelFormat::kLinearJson;
  std::string model_file;  // file name within the version directory
  ModelTask task = ModelTask::kRegression;
  OutputKind output = OutputKind::kValue;
  std::string objective;
  size_t num_outputs = 1;
  std::vector<std::string> feature_names;
  std::vector<std::string> categorical_features;
  std::vector<std::string> hashed_fields;
  std::string content_hash;
  ProcessingTime created_at;
  Lineage lineage;
};

// One entry of a model's promotion history.
struct LiveChange {
  ProcessingTime at;
  std::string action;  // "promote" or "rollback"
  ModelVersion version;
  ModelVersion previous;  // 0 when nothing was live
};

class ModelRegistry {
 public:
  // Opens (creating if needed) a registry rooted at `root`. `clock` stamps
  // created_at and history entries and must outlive the registry.
  static Result<ModelRegistry> Open(std::string root, Clock& clock = Clock::System());

  const std::string& root() const { return root_; }

  // Model names: 1-128 characters from [A-Za-z0-9_.-], not starting with '.'.
  static Status ValidateName(std::string_view name);

  // Parses the model (rejecting files Eddy cannot serve), then stores it as
  // the next version with its metadata. Does not change the live version.
  Result<VersionMetadata> Register(std::string_view name, std::string_view model_bytes,
                                   ModelFormat format, const Lineage& lineage);
  // Reads the file; the format is detected when not given.
  Result<VersionMetadata> RegisterFile(std::string_view name, const std::string& path,
                                       std::optional<ModelFormat> format, const Lineage& lineage);

  Result<std::vector<std::string>> ListModels() const;
  // Oldest first.
  Result<std::vector<VersionMetadata>> ListVersions(std::string_view name) const;
  Result<VersionMetadata> Show(std::string_view name, ModelVersion version) const;
  // kNotFound when no version has been promoted.
  Result<ModelVersion> LiveVersion(std::string_view name) const;
  Result<std::vector<LiveChange>> History(std::string_view name) const;

  // Makes `version` live.
  Status Promote(std::string_view name, ModelVersion version);
  // Makes an earlier version live: `to` when given (it must be older than
  // the live one), else the version that was live before the current one.
  // Returns the version now live.
  Result<ModelVersion> Rollback(std::string_view name, std::optional<ModelVersion> to = {});

  // Loads a version's model, checking its content hash.
  Result<std::unique_ptr<Model>> Load(std::string_view name, ModelVersion version) const;

  std::string ModelDir(std::string_view name) const;
  std::string VersionDir(std::string_view name, ModelVersion version) const;

 private:
  ModelRegistry(std::string root, Clock& clock) : root_(std::move(root)), clock_(&clock) {}
  Status SetLive(std::string_view name, ModelVersion version, std::string_view action);

  std::string root_;
  Clock* clock_;
};

// metadata.json text and back (exposed for tests and tools).
std::string VersionMetadataToJson(const VersionMetadata& m);
Result<VersionMetadata> VersionMetadataFromJson(std::string_view json, std::string_view source);

}  // namespace eddy

#endif  // EDDY_MODEL_REGISTRY_H_
