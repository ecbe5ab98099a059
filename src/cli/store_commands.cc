#include "cli/store_commands.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "base/strings.h"
#include "config/pipeline.h"
#include "store/history.h"
#include "store/training_set.h"

namespace eddy {
namespace {

constexpr std::string_view kTrainingSetHelp =
    R"(usage: eddy training-set PIPELINE --labels LABELS --output FILE [options]

Builds a point-in-time correct training set from the pipeline's offline
history (state.dir/history; run the pipeline with a `state:` section first).
For each label (key, timestamp, label, optional id) each row gets, per feature
group, the newest vector of that key computed from events up to the label's
timestamp, available by then and within the group's ttl; nulls otherwise,
never later values. Details: docs/concepts/training-sets.md.

options:
  --labels FILE         labels: JSON lines, or CSV with a header row (a .csv file)
  --output FILE         where the training set goes (written in full or not at all)
  --format csv|jsonl    output format (default csv)
  --groups g1,g2        feature groups to include, in order (default: all)
  --key-field NAME      the labels' key field (default key)
  --time-field NAME     the labels' timestamp field, ISO-8601 or epoch ms (default timestamp)
  --label-field NAME    the labels' label field (default label)
  --id-field NAME       the labels' optional id field (default id)
  --group-keys G=F,...  groups keyed by another label field than --key-field
                        (e.g. card_velocity=card_id,merchant_activity=merchant_id)

exit status: 0 written, 1 error, 2 bad usage
)";

constexpr std::string_view kExportHelp =
    R"(usage: eddy export PIPELINE --output PATH [--format csv|jsonl|parquet] [--group NAME]

Exports the pipeline's offline history: every feature vector with its group,
key, event time and availability time. CSV and Parquet write one table per
group (a directory of <group>.csv files when several groups are exported);
Parquet needs pyarrow in the Python environment (scripts/python-env.sh).

exit status: 0 written, 1 error, 2 bad usage
)";

void Print(std::FILE* f, std::string_view s) { std::fwrite(s.data(), 1, s.size(), f); }

int Usage(std::string_view msg, std::string_view help) {
  Print(stderr, StrCat("eddy: ", msg, "\n\n", help));
  return 2;
}

// --name value / --name=value options; the first positional is the pipeline.
bool Parse(int argc, char** argv, const std::vector<std::string>& known,
           std::map<std::string, std::string>& options, std::vector<std::string>& positional,
           bool& help, std::string& error) {
  for (int i = 2; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      help = true;
      continue;
    }
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      std::string name = a.substr(2), value;
      size_t eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (i + 1 < argc) {
        value = argv[++i];
      } else {
        error = StrCat("--", name, " needs a value");
        return false;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        error = StrCat("unknown option --", name);
        return false;
      }
      options[name] = value;
      continue;
    }
    positional.push_back(a);
  }
  return true;
}

Result<PipelineSpec> LoadWithHistory(const std::string& path) {
  EDDY_ASSIGN_OR_RETURN(PipelineSpec spec, LoadPipelineFile(path));
  if (!spec.state.enabled || !spec.state.history) {
    return Status::FailedPrecondition(StrCat(path,
                                             ": the pipeline keeps no history; add a `state:` "
                                             "section (history: true) and run it first"));
  }
  return spec;
}

std::vector<std::string> SplitComma(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t c = s.find(',', start);
    if (c == std::string::npos) c = s.size();
    if (c > start) out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
  return out;
}

}  // namespace

int RunTrainingSetCommand(int argc, char** argv) {
  std::map<std::string, std::string> o;
  std::vector<std::string> pos;
  bool help = false;
  std::string error;
  if (!Parse(argc, argv,
             {"labels", "output", "format", "groups", "key-field", "time-field", "label-field",
              "id-field", "group-keys"},
             o, pos, help, error)) {
    return Usage(error, kTrainingSetHelp);
  }
  if (help) {
    Print(stdout, kTrainingSetHelp);
    return 0;
  }
  if (pos.size() != 1) return Usage("training-set takes one pipeline file", kTrainingSetHelp);
  if (o["labels"].empty()) return Usage("training-set needs --labels FILE", kTrainingSetHelp);
  if (o["output"].empty()) return Usage("training-set needs --output FILE", kTrainingSetHelp);
  auto spec = LoadWithHistory(pos[0]);
  if (!spec.ok()) {
    Print(stderr, StrCat("eddy: ", spec.status().message(), "\n"));
    return 1;
  }
  auto reader = HistoryReader::Open(spec->state.dir + "/history");
  if (!reader.ok()) {
    Print(stderr, StrCat("eddy: ", reader.status().message(), "\n"));
    return 1;
  }
  TrainingSetOptions t;
  t.labels_path = o["labels"];
  t.labels_format = EndsWith(t.labels_path, ".csv") ? "csv" : "jsonl";
  if (o.count("key-field")) t.key_field = o["key-field"];
  if (o.count("time-field")) t.time_field = o["time-field"];
  if (o.count("label-field")) t.label_field = o["label-field"];
  if (o.count("id-field")) t.id_field = o["id-field"];
  t.output_path = o["output"];
  if (o.count("format")) t.output_format = o["format"];
  if (t.output_format != "csv" && t.output_format != "jsonl") {
    return Usage("--format must be csv or jsonl", kTrainingSetHelp);
  }
  t.groups = SplitComma(o["groups"]);
  if (t.groups.empty()) {
    for (const HistoryGroup& g : (*reader)->groups()) t.groups.push_back(g.name);
  }
  // Groups keyed by another label field.
  std::map<std::string, std::string> group_keys;
  for (const std::string& pair : SplitComma(o["group-keys"])) {
    size_t eq = pair.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == pair.size()) {
      return Usage(StrCat("--group-keys: expected GROUP=FIELD, got ", Quote(pair)),
                   kTrainingSetHelp);
    }
    group_keys[pair.substr(0, eq)] = pair.substr(eq + 1);
  }
  for (const std::string& g : t.groups) {
    auto it = group_keys.find(g);
    t.group_key_fields.push_back(it == group_keys.end() ? "" : it->second);
    if (it != group_keys.end()) group_keys.erase(it);
  }
  if (!group_keys.empty()) {
    return Usage(StrCat("--group-keys names group ", Quote(group_keys.begin()->first),
                        ", which is not in the training set"),
                 kTrainingSetHelp);
  }
  // The groups' TTLs, from the pipeline file.
  for (const std::string& g : t.groups) {
    Duration ttl = Duration::Infinite();
    for (const FeatureGroupSpec& f : spec->features) {
      if (f.name == g) ttl = f.ttl;
    }
    t.ttls.push_back(ttl);
  }
  auto stats = BuildTrainingSet(**reader, t);
  if (!stats.ok()) {
    Print(stderr, StrCat("eddy: ", stats.status().message(), "\n"));
    return 1;
  }
  Print(stderr, StrCat("eddy: training set ", t.output_path, ": ", stats->rows, " rows from ",
                       stats->labels, " labels; ", stats->feature_hits, " group vectors found, ",
                       stats->feature_misses, " missing (no vector by the label time)\n"));
  if (stats->bad_labels > 0) {
    Print(stderr, StrCat("eddy: ", stats->bad_labels, " label rows skipped, e.g.:\n"));
    for (const std::string& e : stats->bad_label_examples) Print(stderr, StrCat("  ", e, "\n"));
  }
  return 0;
}

int RunExportCommand(int argc, char** argv) {
  std::map<std::string, std::string> o;
  std::vector<std::string> pos;
  bool help = false;
  std::string error;
  if (!Parse(argc, argv, {"output", "format", "group"}, o, pos, help, error)) {
    return Usage(error, kExportHelp);
  }
  if (help) {
    Print(stdout, kExportHelp);
    return 0;
  }
  if (pos.size() != 1) return Usage("export takes one pipeline file", kExportHelp);
  if (o["output"].empty()) return Usage("export needs --output PATH", kExportHelp);
  std::string format = o.count("format") ? o["format"] : "jsonl";
  if (format != "csv" && format != "jsonl" && format != "parquet") {
    return Usage("--format must be csv, jsonl or parquet", kExportHelp);
  }
  auto spec = LoadWithHistory(pos[0]);
  if (!spec.ok()) {
    Print(stderr, StrCat("eddy: ", spec.status().message(), "\n"));
    return 1;
  }
  auto reader = HistoryReader::Open(spec->state.dir + "/history");
  if (!reader.ok()) {
    Print(stderr, StrCat("eddy: ", reader.status().message(), "\n"));
    return 1;
  }
  Status s = ExportHistory(**reader, o["group"], format, o["output"]);
  if (!s.ok()) {
    Print(stderr, StrCat("eddy: ", s.message(), "\n"));
    return 1;
  }
  Print(stderr, StrCat("eddy: exported to ", o["output"], "\n"));
  return 0;
}

}  // namespace eddy
