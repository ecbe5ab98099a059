// PipelineSpec: the validated, typed form of a pipeline file.
//
// A pipeline file is YAML. Its options are declared once, in the table in
// options.cc, which yields defaults, parsing, validation and the reference in
// docs/reference/pipeline.md. LoadPipelineFile() checks structure and types
// and reports every problem it finds with file:line:column; checks that need
// more than the file's structure (expressions compiling against the schema)
// are done when the engine plans the pipeline, and report the same location
// through the `where` members below.
//
// Paths in the spec are resolved against the directory of the pipeline file.

#ifndef EDDY_CONFIG_PIPELINE_H_
#define EDDY_CONFIG_PIPELINE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/time.h"
#include "base/value.h"
#include "config/feature_spec.h"
#include "eddy/status.h"

namespace eddy {

// Where something was written in a pipeline file; 1-based line and column.
struct ConfigLocation {
  std::string file;
  int line = 0;
  int column = 0;

  // "file:line:column", or just "file" when the position is unknown.
  std::string ToString() const;
};

enum class SourceFormat { kJsonLines, kCsv };
enum class TimestampFormat { kIso8601, kEpochSeconds, kEpochMillis };
enum class UnknownFieldPolicy { kIgnore, kReject };

struct FieldSpec {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  TimestampFormat timestamp_format = TimestampFormat::kIso8601;  // timestamp fields only
  std::optional<double> min;                                     // int and double fields
  std::optional<double> max;
  std::vector<std::string> allowed;  // string and int fields; empty = anything
  ConfigLocation where;
};

struct WatermarkSpec {
  Duration max_out_of_orderness;
  Duration allowed_lateness;
  // Zero disables idleness detection.
  Duration idle_timeout;
};

struct CsvSpec {
  char delimiter = ',';
  char quote = '"';
};

struct SourceSpec {
  std::string name;
  bool http = false;  // type: http — records arrive over HTTP into the log at `path`
  SourceFormat format = SourceFormat::kJsonLines;
  // A file, a directory (one partition per file, in name order), or "-" for
  // standard input.
  std::string path;
  std::vector<FieldSpec> fields;
  UnknownFieldPolicy unknown_fields = UnknownFieldPolicy::kIgnore;
  std::string event_time_field;
  std::vector<std::string> key_fields;  // empty = no key
  std::string id_field;                 // empty = no id
  WatermarkSpec watermark;
  std::string filter;  // expression; empty = no filter
  ConfigLocation filter_where;
  uint64_t max_record_bytes = 0;
  CsvSpec csv;
  ConfigLocation where;
  // Not from the pipeline file: set by `eddy replay` on the source that
  // --input feeds. A stream (stdin, a pipe) is then read in the batches a
  // file of the same bytes gives, whatever sizes its writes arrive in, so
  // that a replay from a pipe interleaves sources as one from a file does.
  bool frame_as_file = false;

  // Index of the named field, or -1.
  int FieldIndex(std::string_view field) const;
};

// Where one output goes: a file path, "-" (stdout) or "stderr".
struct OutputSpec {
  std::string path;              // empty = not written
  std::string format = "jsonl";  // or "csv"
  bool enabled() const { return !path.empty(); }
};

struct OutputsSpec {
  OutputSpec accepted;
  OutputSpec features;
  OutputSpec late;
  OutputSpec dead_letter;
};

// A model scoring a source's events (the `models:` section).
struct ModelSpec {
  std::string name;
  std::string source;
  std::string path;           // a model file, or
  std::string registry;       // a registry directory with
  std::string registry_name;  //   this model name (default: name)
  std::string version = "live";
  bool online = false;  // or an online learner
  std::string online_task = "binary";
  std::vector<std::string> numeric;
  std::vector<std::string> hashed;
  std::vector<std::pair<std::string, std::string>> learner_options;
  std::vector<std::pair<std::string, std::string>> inputs;  // input -> expression
  std::vector<std::pair<std::string, std::vector<std::string>>> encode;
  bool skip_missing = false;
  std::vector<std::pair<std::string, double>> defaults;
  std::string filter;
  std::string filter_where;
  double threshold = 0.5;
  OutputSpec output;
  std::string where;
};

// Delayed labels (the `feedback:` section).
struct FeedbackSpec {
  bool enabled = false;
  std::string source;
  std::string id_field;
  std::string label_field;
  Duration horizon = Duration::Days(30);
  int64_t metrics_window = 10000;
  OutputSpec unmatched;
  std::string where;
};

// The HTTP API (the `serving:` section).
struct ServingSpec {
  bool enabled = false;
  std::string address = "127.0.0.1";
  int port = 8080;
  std::string port_file;
  int threads = 2;
  bool auth = true;
  std::string tokens;
  std::string tls_cert, tls_key;
  uint64_t max_body_bytes = 4 << 20;
  std::string audit_log;
  bool public_metrics = false;
  std::string where;
};

// Durable state (the `state:` section). `enabled` is false when the section is
// absent: in-memory online store, no history, no checkpoints.
struct StateSpec {
  bool enabled = false;
  std::string dir;
  std::string online_store = "memory";  // rocksdb | memory
  int64_t cache_entries = 1000000;
  bool history = false;
  bool availability_event_time = false;
  Duration checkpoint_interval;  // zero = only at a clean stop
  int checkpoints_kept = 3;
};

struct PipelineSpec {
  int version = 1;
  std::string name;
  std::string file;      // the pipeline file as given
  std::string base_dir;  // its directory; relative paths resolve here
  std::vector<SourceSpec> sources;
  std::vector<FeatureGroupSpec> features;
  std::vector<ModelSpec> models;
  FeedbackSpec feedback;
  ServingSpec serving;
  StateSpec state;
  OutputsSpec outputs;

  const SourceSpec* FindSource(std::string_view name) const;
};

// Reads and validates a pipeline file. On failure the Status message lists
// every problem, one per line, as "file:line:column: message".
Result<PipelineSpec> LoadPipelineFile(const std::string& path);

// The same for YAML text; `file_name` is used in messages and `base_dir` to
// resolve relative paths.
Result<PipelineSpec> ParsePipeline(std::string_view yaml, std::string_view file_name,
                                   std::string_view base_dir);

}  // namespace eddy

#endif  // EDDY_CONFIG_PIPELINE_H_
