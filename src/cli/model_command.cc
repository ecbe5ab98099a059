// `eddy model`: register, list, show, promote, roll back and show the history
// of model versions in a registry directory (docs/concepts/models-and-feedback.md,
// "The registry from the command line").

#include "cli/model_command.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/json_writer.h"
#include "base/strings.h"
#include "base/time.h"
#include "model/registry.h"

namespace eddy {
namespace {

constexpr std::string_view kModelHelp =
    R"(usage: eddy model <subcommand> REGISTRY ... [--json]

Manages versions of models in a registry directory: each model has versions
1, 2, 3, ... that never change once registered, with their lineage (training
data range, parameters, metrics, parent version), and one live version that
pipelines with `registry:` models serve.

subcommands:
  register REGISTRY NAME FILE   add FILE as the next version of NAME
  list REGISTRY [NAME]          list the models, or the versions of NAME
  show REGISTRY NAME [VERSION]  show a version (default: the live one)
  promote REGISTRY NAME VERSION make VERSION live
  rollback REGISTRY NAME        make an earlier version live again
  history REGISTRY NAME         the promotions and rollbacks of NAME

Every subcommand takes --json for machine-readable output and --help.

exit status: 0 success, 1 the operation failed, 2 bad usage
)";

constexpr std::string_view kRegisterHelp =
    R"(usage: eddy model register REGISTRY NAME FILE [--format F] [--source TEXT]
                           [--param KEY=VALUE]... [--metric KEY=NUMBER]...
                           [--data-from TIME] [--data-to TIME] [--parent VERSION]
                           [--json]

Parses FILE (a model Eddy cannot serve is refused), then stores it as the next
version of model NAME with its metadata: format, task, feature names, content
hash, creation time and lineage. The registry directory is created if needed.
The live version does not change: promote the new version to serve it.

options:
  --format F           xgboost_json, lightgbm_text, linear_json or online_snapshot
                       (default: detected from the file)
  --source TEXT        where the model came from (a training script, a commit)
  --param KEY=VALUE    a training parameter; repeatable
  --metric KEY=NUMBER  an evaluation metric; repeatable
  --data-from TIME     start of the training data's event-time range (ISO-8601)
  --data-to TIME       end of that range
  --parent VERSION     the version this one continues from (an exported
                       online learner, a retrained model)
  --json               print the new version's metadata as JSON

NAME is 1-128 characters of letters, digits, '_', '-' and '.'.

exit status: 0 registered, 1 the file or registry could not be used, 2 bad usage
)";

constexpr std::string_view kListHelp =
    R"(usage: eddy model list REGISTRY [NAME] [--json]

Without NAME: one line per model with its number of versions, the live version
and the newest version. With NAME: one line per version, oldest first, with
its format, task, number of features, creation time and source; the live
version is marked with `*`.

exit status: 0 success, 1 no such registry or model, 2 bad usage
)";

constexpr std::string_view kShowHelp =
    R"(usage: eddy model show REGISTRY NAME [VERSION] [--json]

Shows everything recorded about one version: format, task, output, inputs,
content hash, creation time, lineage (source, training data range,
parameters, metrics, parent version), whether it is live, and the path of its
model file. Without VERSION, the live version (or the newest when none is
live).

exit status: 0 success, 1 no such registry, model or version, 2 bad usage
)";

constexpr std::string_view kPromoteHelp =
    R"(usage: eddy model promote REGISTRY NAME VERSION [--json]

Makes VERSION the live version of NAME (an atomic replace of the `live`
pointer) and records it in the history. Pipelines pick the live version when
they start.

exit status: 0 promoted, 1 no such model or version, 2 bad usage
)";

constexpr std::string_view kRollbackHelp =
    R"(usage: eddy model rollback REGISTRY NAME [--to VERSION] [--json]

Makes an earlier version live again: VERSION with --to (it must be older than
the live version), else the newest older version that has been live before
(else the newest older version). To move forward again, promote.

exit status: 0 rolled back, 1 nothing to roll back to, 2 bad usage
)";

constexpr std::string_view kHistoryHelp =
    R"(usage: eddy model history REGISTRY NAME [--json]

Every promote and rollback of NAME, oldest first: when, what, the version made
live and the version that was live before.

exit status: 0 success, 1 no such registry or model, 2 bad usage
)";

void Print(std::FILE* f, std::string_view s) { std::fwrite(s.data(), 1, s.size(), f); }

// Bad usage: the message, then the subcommand's help. Exit status 2.
int Usage(std::string_view msg, std::string_view help) {
  std::string_view who = help == kRegisterHelp   ? "eddy model register"
                         : help == kListHelp     ? "eddy model list"
                         : help == kShowHelp     ? "eddy model show"
                         : help == kPromoteHelp  ? "eddy model promote"
                         : help == kRollbackHelp ? "eddy model rollback"
                         : help == kHistoryHelp  ? "eddy model history"
                                                 : "eddy model";
  Print(stderr, StrCat(who, ": ", msg, "\n\n", help));
  return 2;
}

int Fail(std::string_view subcommand, const Status& s) {
  Print(stderr, StrCat("eddy model ", subcommand, ": ", s.message(), "\n"));
  return 1;
}

struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;  // in order; repeatable
  bool help = false;
  bool json = false;
};

// Parses `--json`, `--help`, `--name value` and `--name=value` (names in
// `with_value`) and positional arguments; a lone `--` ends the options.
bool ParseArgs(int argc, char** argv, int start, const std::vector<std::string_view>& with_value,
               Args& out, std::string& error) {
  bool options_done = false;
  for (int i = start; i < argc; ++i) {
    std::string a = argv[i];
    if (!options_done && a == "--") {
      options_done = true;
      continue;
    }
    if (options_done || a.size() < 2 || a[0] != '-') {
      out.positional.push_back(a);
      continue;
    }
    if (a == "--help" || a == "-h") {
      out.help = true;
      continue;
    }
    if (a == "--json") {
      out.json = true;
      continue;
    }
    if (a.rfind("--", 0) != 0) {
      error = StrCat("unknown option ", a);
      return false;
    }
    std::string name = a.substr(2), value;
    const size_t eq = name.find('=');
    const bool has_eq = eq != std::string::npos;
    if (has_eq) {
      value = name.substr(eq + 1);
      name.resize(eq);
    }
    if (std::find(with_value.begin(), with_value.end(), name) == with_value.end()) {
      error = StrCat("unknown option --", name);
      return false;
    }
    if (!has_eq) {
      if (i + 1 >= argc) {
        error = StrCat("--", name, " needs a value");
        return false;
      }
      value = argv[++i];
    }
    out.options.emplace_back(name, value);
  }
  return true;
}

std::optional<std::string> Option(const Args& a, std::string_view name) {
  std::optional<std::string> v;
  for (const auto& [k, value] : a.options) {
    if (k == name) v = value;  // the last one wins
  }
  return v;
}

// "3" or "v3".
std::optional<ModelVersion> ParseVersion(std::string_view s) {
  if (!s.empty() && (s[0] == 'v' || s[0] == 'V')) s.remove_prefix(1);
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size() || v < 1) return std::nullopt;
  return ModelVersion(v);
}

std::string Time(ProcessingTime t) { return FormatIso8601(EventTime::FromMicros(t.micros())); }

std::string VersionOrDash(ModelVersion v) {
  return v.value() == 0 ? std::string("-") : StrCat(v.value());
}

// Opens an existing registry: only `register` creates one.
Result<ModelRegistry> OpenExisting(const std::string& root) {
  std::error_code ec;
  if (!std::filesystem::is_directory(root, ec)) {
    return Status::NotFound(
        StrCat("no registry at ", Quote(root, 500), " (`eddy model register` ", "creates one)"));
  }
  return ModelRegistry::Open(root);
}

// The live version, or 0 when none is live.
Result<ModelVersion> LiveOrNone(const ModelRegistry& r, std::string_view name) {
  auto live = r.LiveVersion(name);
  if (live.ok()) return *live;
  if (live.status().code() == StatusCode::kNotFound) return ModelVersion(0);
  return live.status();
}

// metadata.json's object with "live" and "path" added.
void AppendMetadataJson(std::string& out, const ModelRegistry& r, const VersionMetadata& m,
                        bool live) {
  std::string json = VersionMetadataToJson(m);
  while (!json.empty() && json.back() != '}') json.pop_back();
  if (!json.empty()) json.pop_back();
  out += json;
  out += ",\"live\":";
  out += live ? "true" : "false";
  out += ",\"path\":";
  AppendJsonString(out, StrCat(r.VersionDir(m.name, m.version), "/", m.model_file));
  out += '}';
}

// Left-aligned columns; `right` marks right-aligned ones.
std::string Table(const std::vector<std::vector<std::string>>& rows,
                  const std::vector<bool>& right) {
  std::vector<size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      if (i > 0) line += "  ";
      std::string pad(width[i] - row[i].size(), ' ');
      line += i < right.size() && right[i] ? pad + row[i] : row[i] + pad;
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

bool CheckHelp(const Args& args, std::string_view help) {
  if (args.help) Print(stdout, help);
  return args.help;
}

// ---- register ----

int Register(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 3,
                 {"format", "source", "param", "metric", "data-from", "data-to", "parent"}, args,
                 error)) {
    return Usage(error, kRegisterHelp);
  }
  if (CheckHelp(args, kRegisterHelp)) return 0;
  if (args.positional.size() != 3) {
    return Usage("register takes REGISTRY NAME FILE", kRegisterHelp);
  }
  const std::string& root = args.positional[0];
  const std::string& name = args.positional[1];
  const std::string& file = args.positional[2];
  if (Status s = ModelRegistry::ValidateName(name); !s.ok())
    return Usage(s.message(), kRegisterHelp);

  std::optional<ModelFormat> format;
  if (auto f = Option(args, "format")) {
    auto parsed = ParseModelFormat(*f);
    if (!parsed.ok()) return Usage(StrCat("--format: ", parsed.status().message()), kRegisterHelp);
    format = *parsed;
  }
  Lineage lineage;
  lineage.source = Option(args, "source").value_or("");
  for (const auto& [k, v] : args.options) {
    if (k != "param" && k != "metric") continue;
    const size_t eq = v.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Usage(StrCat("--", k, " ", Quote(v), ": expected KEY=VALUE"), kRegisterHelp);
    }
    std::string key = v.substr(0, eq), value = v.substr(eq + 1);
    bool seen = false;
    for (const auto& p : lineage.parameters) seen |= k == "param" && p.first == key;
    for (const auto& p : lineage.metrics) seen |= k == "metric" && p.first == key;
    if (seen) return Usage(StrCat("--", k, " ", Quote(key), " is given twice"), kRegisterHelp);
    if (k == "param") {
      lineage.parameters.emplace_back(key, value);
      continue;
    }
    double number = 0;
    auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), number);
    if (value.empty() || ec != std::errc() || ptr != value.data() + value.size() ||
        !std::isfinite(number)) {
      return Usage(StrCat("--metric ", Quote(key), ": ", Quote(value), " is not a number"),
                   kRegisterHelp);
    }
    lineage.metrics.emplace_back(key, number);
  }
  for (const char* which : {"data-from", "data-to"}) {
    auto text = Option(args, which);
    if (!text) continue;
    auto t = ParseIso8601(*text);
    if (!t.ok()) return Usage(StrCat("--", which, ": ", t.status().message()), kRegisterHelp);
    (std::string_view(which) == "data-from" ? lineage.data_from : lineage.data_to) = *t;
  }
  if (lineage.data_from && lineage.data_to && *lineage.data_from > *lineage.data_to) {
    return Usage("--data-from is after --data-to", kRegisterHelp);
  }
  if (auto p = Option(args, "parent")) {
    auto v = ParseVersion(*p);
    if (!v)
      return Usage(StrCat("--parent: ", Quote(*p), " is not a version number"), kRegisterHelp);
    lineage.parent = *v;
  }

  auto registry = ModelRegistry::Open(root);
  if (!registry.ok()) return Fail("register", registry.status());
  if (lineage.parent.value() != 0) {
    auto parent = registry->Show(name, lineage.parent);
    if (!parent.ok()) {
      return Fail("register", parent.status().WithContext("--parent"));
    }
  }
  auto m = registry->RegisterFile(name, file, format, lineage);
  if (!m.ok()) return Fail("register", m.status());
  // Versions are immutable and numbered, so registering a file twice is
  // allowed; say so, since it is usually a mistake.
  if (auto versions = registry->ListVersions(name); versions.ok()) {
    for (const VersionMetadata& v : *versions) {
      if (v.version != m->version && v.content_hash == m->content_hash) {
        Print(stderr, StrCat("eddy model register: note: version ", m->version.value(),
                             " has the same content as version ", v.version.value(), "\n"));
        break;
      }
    }
  }
  if (args.json) {
    std::string out;
    AppendMetadataJson(out, *registry, *m, false);
    Print(stdout, out + "\n");
  } else {
    Print(stdout,
          StrCat("registered ", m->name, " version ", m->version.value(), " (",
                 ModelFormatName(m->format), ", ", ModelTaskName(m->task), ", ",
                 m->feature_names.size(), " features",
                 m->hashed_fields.empty() ? std::string()
                                          : StrCat(", ", m->hashed_fields.size(), " hashed fields"),
                 ")\n", "  not live yet: eddy model promote ", root, " ", m->name, " ",
                 m->version.value(), "\n"));
  }
  return 0;
}

// ---- list ----

int List(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 3, {}, args, error)) return Usage(error, kListHelp);
  if (CheckHelp(args, kListHelp)) return 0;
  if (args.positional.empty() || args.positional.size() > 2) {
    return Usage("list takes REGISTRY [NAME]", kListHelp);
  }
  auto registry = OpenExisting(args.positional[0]);
  if (!registry.ok()) return Fail("list", registry.status());
  std::string out;

  if (args.positional.size() == 1) {
    auto names = registry->ListModels();
    if (!names.ok()) return Fail("list", names.status());
    std::vector<std::vector<std::string>> rows = {{"model", "versions", "live", "newest"}};
    JsonWriter j(out);
    j.BeginArray();
    for (const std::string& name : *names) {
      auto versions = registry->ListVersions(name);
      if (!versions.ok()) return Fail("list", versions.status());
      auto live = LiveOrNone(*registry, name);
      if (!live.ok()) return Fail("list", live.status());
      ModelVersion newest = versions->empty() ? ModelVersion(0) : versions->back().version;
      rows.push_back({name, StrCat(versions->size()), VersionOrDash(*live), VersionOrDash(newest)});
      j.BeginObject().Key("name").String(name).Key("versions").Uint(versions->size());
      j.Key("live");
      if (live->value() != 0) {
        j.Int(live->value());
      } else {
        j.Null();
      }
      j.Key("newest");
      if (newest.value() != 0) {
        j.Int(newest.value());
      } else {
        j.Null();
      }
      j.EndObject();
    }
    j.EndArray();
    if (args.json) {
      Print(stdout, out + "\n");
    } else if (names->empty()) {
      Print(stdout, StrCat("no models in ", args.positional[0], "\n"));
    } else {
      Print(stdout, Table(rows, {false, true, true, true}));
    }
    return 0;
  }

  const std::string& name = args.positional[1];
  auto versions = registry->ListVersions(name);
  if (!versions.ok()) return Fail("list", versions.status());
  auto live = LiveOrNone(*registry, name);
  if (!live.ok()) return Fail("list", live.status());
  if (args.json) {
    out += '[';
    for (size_t i = 0; i < versions->size(); ++i) {
      if (i > 0) out += ',';
      AppendMetadataJson(out, *registry, (*versions)[i], (*versions)[i].version == *live);
    }
    out += "]\n";
    Print(stdout, out);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"version", "live", "format", "task", "features", "created", "source"}};
  for (const VersionMetadata& m : *versions) {
    rows.push_back({StrCat(m.version.value()), m.version == *live ? "*" : "",
                    std::string(ModelFormatName(m.format)), std::string(ModelTaskName(m.task)),
                    StrCat(m.feature_names.size()), Time(m.created_at),
                    m.lineage.source.empty() ? "-" : m.lineage.source});
  }
  Print(stdout, Table(rows, {true, false, false, false, true}));
  return 0;
}

// ---- show ----

std::string ShowText(const ModelRegistry& r, const VersionMetadata& m, bool live) {
  auto list = [](const std::vector<std::string>& v) {
    return v.empty() ? std::string("-") : StrJoin(v, ", ");
  };
  std::string out = StrCat("model ", m.name, " version ", m.version.value(),
                           live ? " (live)" : " (not live)", "\n");
  std::vector<std::vector<std::string>> rows;
  rows.push_back({"  format:", StrCat(ModelFormatName(m.format), " (", m.model_file, ")")});
  rows.push_back(
      {"  task:", StrCat(ModelTaskName(m.task), ", output ", OutputKindName(m.output),
                         m.num_outputs > 1 ? StrCat(" x ", m.num_outputs) : "",
                         m.objective.empty() ? "" : StrCat(", objective ", m.objective))});
  rows.push_back({"  features:", StrCat(m.feature_names.size(), ": ", list(m.feature_names))});
  if (!m.categorical_features.empty()) {
    rows.push_back({"  categorical:", list(m.categorical_features)});
  }
  if (!m.hashed_fields.empty()) rows.push_back({"  hashed:", list(m.hashed_fields)});
  rows.push_back({"  content hash:", m.content_hash});
  rows.push_back({"  created:", Time(m.created_at)});
  rows.push_back({"  path:", StrCat(r.VersionDir(m.name, m.version), "/", m.model_file)});
  out += Table(rows, {});
  out += "  lineage:\n";
  rows.clear();
  const Lineage& l = m.lineage;
  rows.push_back({"    source:", l.source.empty() ? "-" : l.source});
  rows.push_back({"    data:", l.data_from || l.data_to
                                   ? StrCat(l.data_from ? FormatIso8601(*l.data_from) : "?", " .. ",
                                            l.data_to ? FormatIso8601(*l.data_to) : "?")
                                   : "-"});
  std::vector<std::string> items;
  for (const auto& [k, v] : l.parameters) items.push_back(StrCat(k, "=", v));
  rows.push_back({"    parameters:", list(items)});
  items.clear();
  for (const auto& [k, v] : l.metrics) items.push_back(StrCat(k, "=", v));
  rows.push_back({"    metrics:", list(items)});
  rows.push_back({"    parent:",
                  l.parent.value() == 0 ? std::string("-") : StrCat("version ", l.parent.value())});
  out += Table(rows, {});
  return out;
}

int Show(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 3, {}, args, error)) return Usage(error, kShowHelp);
  if (CheckHelp(args, kShowHelp)) return 0;
  if (args.positional.size() < 2 || args.positional.size() > 3) {
    return Usage("show takes REGISTRY NAME [VERSION]", kShowHelp);
  }
  std::optional<ModelVersion> version;
  if (args.positional.size() == 3) {
    version = ParseVersion(args.positional[2]);
    if (!version) {
      return Usage(StrCat(Quote(args.positional[2]), " is not a version number"), kShowHelp);
    }
  }
  auto registry = OpenExisting(args.positional[0]);
  if (!registry.ok()) return Fail("show", registry.status());
  const std::string& name = args.positional[1];
  auto versions = registry->ListVersions(name);
  if (!versions.ok()) return Fail("show", versions.status());
  auto live = LiveOrNone(*registry, name);
  if (!live.ok()) return Fail("show", live.status());
  if (!version) {
    if (live->value() != 0) {
      version = *live;
    } else if (!versions->empty()) {
      version = versions->back().version;
    } else {
      return Fail("show", Status::NotFound(StrCat("model ", Quote(name), " has no versions")));
    }
  }
  auto m = registry->Show(name, *version);
  if (!m.ok()) return Fail("show", m.status());
  std::string out;
  if (args.json) {
    AppendMetadataJson(out, *registry, *m, m->version == *live);
    out += "\n";
  } else {
    out = ShowText(*registry, *m, m->version == *live);
  }
  Print(stdout, out);
  return 0;
}

// ---- promote, rollback ----

void PrintChange(const Args& args, std::string_view name, std::string_view verb, ModelVersion now,
                 ModelVersion before) {
  std::string out;
  if (args.json) {
    JsonWriter j(out);
    j.BeginObject().Key("name").String(name).Key("live").Int(now.value()).Key("previous");
    if (before.value() != 0) {
      j.Int(before.value());
    } else {
      j.Null();
    }
    j.EndObject();
    out += "\n";
  } else {
    out = StrCat(name, ": ", verb, " version ", now.value(),
                 before.value() == 0 ? std::string(" (nothing was live)")
                                     : StrCat(" (was version ", before.value(), ")"),
                 "\n");
  }
  Print(stdout, out);
}

int Promote(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 3, {}, args, error)) return Usage(error, kPromoteHelp);
  if (CheckHelp(args, kPromoteHelp)) return 0;
  if (args.positional.size() != 3)
    return Usage("promote takes REGISTRY NAME VERSION", kPromoteHelp);
  auto version = ParseVersion(args.positional[2]);
  if (!version) {
    return Usage(StrCat(Quote(args.positional[2]), " is not a version number"), kPromoteHelp);
  }
  auto registry = OpenExisting(args.positional[0]);
  if (!registry.ok()) return Fail("promote", registry.status());
  const std::string& name = args.positional[1];
  auto before = LiveOrNone(*registry, name);
  if (!before.ok()) return Fail("promote", before.status());
  if (Status s = registry->Promote(name, *version); !s.ok()) return Fail("promote", s);
  PrintChange(args, name, "promoted", *version, *before);
  return 0;
}

int Rollback(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 3, {"to"}, args, error)) return Usage(error, kRollbackHelp);
  if (CheckHelp(args, kRollbackHelp)) return 0;
  if (args.positional.size() != 2) return Usage("rollback takes REGISTRY NAME", kRollbackHelp);
  std::optional<ModelVersion> to;
  if (auto t = Option(args, "to")) {
    to = ParseVersion(*t);
    if (!to) return Usage(StrCat("--to: ", Quote(*t), " is not a version number"), kRollbackHelp);
  }
  auto registry = OpenExisting(args.positional[0]);
  if (!registry.ok()) return Fail("rollback", registry.status());
  const std::string& name = args.positional[1];
  auto before = LiveOrNone(*registry, name);
  if (!before.ok()) return Fail("rollback", before.status());
  auto now = registry->Rollback(name, to);
  if (!now.ok()) return Fail("rollback", now.status());
  PrintChange(args, name, "rolled back to", *now, *before);
  return 0;
}

// ---- history ----

int History(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 3, {}, args, error)) return Usage(error, kHistoryHelp);
  if (CheckHelp(args, kHistoryHelp)) return 0;
  if (args.positional.size() != 2) return Usage("history takes REGISTRY NAME", kHistoryHelp);
  auto registry = OpenExisting(args.positional[0]);
  if (!registry.ok()) return Fail("history", registry.status());
  const std::string& name = args.positional[1];
  // A model that does not exist is an error, not an empty history.
  if (auto versions = registry->ListVersions(name); !versions.ok()) {
    return Fail("history", versions.status());
  }
  auto history = registry->History(name);
  if (!history.ok()) return Fail("history", history.status());
  std::string out;
  if (args.json) {
    JsonWriter j(out);
    j.BeginArray();
    for (const LiveChange& c : *history) {
      j.BeginObject().Key("at").String(Time(c.at)).Key("action").String(c.action);
      j.Key("version").Int(c.version.value()).Key("previous");
      if (c.previous.value() != 0) {
        j.Int(c.previous.value());
      } else {
        j.Null();
      }
      j.EndObject();
    }
    j.EndArray();
    out += "\n";
  } else if (history->empty()) {
    out = StrCat("model ", name, " has never been promoted\n");
  } else {
    std::vector<std::vector<std::string>> rows = {{"at", "action", "version", "previous"}};
    for (const LiveChange& c : *history) {
      rows.push_back({Time(c.at), c.action, StrCat(c.version.value()), VersionOrDash(c.previous)});
    }
    out = Table(rows, {false, false, true, true});
  }
  Print(stdout, out);
  return 0;
}

}  // namespace

int RunModelCommand(int argc, char** argv) {
  if (argc < 3) {
    Print(stderr, kModelHelp);
    return 2;
  }
  const std::string_view sub = argv[2];
  if (sub == "--help" || sub == "-h") {
    Print(stdout, kModelHelp);
    return 0;
  }
  if (sub == "help") {
    const std::string_view topic = argc > 3 ? argv[3] : "";
    const std::string_view help = topic == "register"   ? kRegisterHelp
                                  : topic == "list"     ? kListHelp
                                  : topic == "show"     ? kShowHelp
                                  : topic == "promote"  ? kPromoteHelp
                                  : topic == "rollback" ? kRollbackHelp
                                  : topic == "history"  ? kHistoryHelp
                                                        : kModelHelp;
    Print(stdout, help);
    return 0;
  }
  if (sub == "register") return Register(argc, argv);
  if (sub == "list") return List(argc, argv);
  if (sub == "show") return Show(argc, argv);
  if (sub == "promote") return Promote(argc, argv);
  if (sub == "rollback") return Rollback(argc, argv);
  if (sub == "history") return History(argc, argv);
  return Usage(StrCat("unknown subcommand ", Quote(sub)), kModelHelp);
}

}  // namespace eddy
