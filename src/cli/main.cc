// The `eddy` command: a thin layer over the Engine API (include/eddy/engine.h).

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "base/strings.h"
#include "base/time.h"
#include "cli/dump_command.h"
#include "cli/model_command.h"
#include "cli/store_commands.h"
#include "config/options.h"
#include "eddy/engine.h"

namespace eddy {
namespace {

constexpr std::string_view kVersion = "0.1.0";

constexpr std::string_view kUsage =
    R"(eddy — a real-time machine-learning engine

usage: eddy <command> [options]

commands:
  validate PIPELINE                  check a pipeline file and print what it does
  run PIPELINE                       run a pipeline until its inputs end or SIGINT/SIGTERM
  replay PIPELINE --input FILE --output FILE
                                     run a recorded input through a pipeline and write
                                     its feature rows (or accepted records)
  training-set PIPELINE --labels L --output F
                                     point-in-time training set from the history
  export PIPELINE --output PATH      export the offline history (csv, jsonl, parquet)
  dump-online PIPELINE               write the online store as sorted JSON lines
  model COMMAND REGISTRY ...         register, list, show, promote, roll back model versions
  reference                          print the pipeline-file reference (Markdown)
  help [COMMAND]                     show help for a command

Run `eddy <command> --help` for a command's options. Docs: docs/README.md.
)";

constexpr std::string_view kValidateHelp =
    R"(usage: eddy validate PIPELINE

Reads the pipeline file, checks every option (unknown keys, types, durations,
fields referenced by event_time/key/id, filter expressions) and prints a short
description of the pipeline. Problems are printed as file:line:column: message.
Inputs are not opened.

exit status: 0 valid, 1 invalid, 2 bad usage
)";

constexpr std::string_view kRunHelp =
    R"(usage: eddy run PIPELINE [--quiet] [--progress-interval DURATION] [--fresh]

Runs the pipeline: reads its sources, validates every record, assigns event
time and watermarks, and writes accepted, late and dead-letter records to the
outputs. Stops when every input has ended (watermarks then advance to the end
of time and everything pending is flushed), or on SIGINT/SIGTERM (outputs are
flushed; a second signal exits at once). SIGUSR1 reopens the serving audit log
(rename it first: log rotation). Progress goes to stderr, and a summary at the
end.

With a `state:` section the run checkpoints all state with the input offsets
(every state.checkpoint_interval, and at the end) and a later `eddy run`
resumes from the newest checkpoint: inputs are re-read from the checkpointed
offsets and outputs are cut back to their checkpointed length, so the result
equals one uninterrupted run.

options:
  --quiet                        no progress lines (the summary is still printed)
  --progress-interval DURATION   time between progress lines (default 1s)
  --fresh                        discard checkpoints, history and online store; start over

exit status: 0 finished or stopped cleanly, 1 error, 2 bad usage
)";

constexpr std::string_view kReplayHelp =
    R"(usage: eddy replay PIPELINE --input FILE --output FILE [--source NAME] [--format jsonl|csv]
                   [--state DIR] [--quiet] [--progress-interval DURATION]

Runs a recorded input through the same code path as `eddy run`, reading FILE in
place of the source's configured path. For every accepted event, in input
order, --output gets one row: when the source has per-event feature groups,
the event's id, key, event time and every feature by name; otherwise the
validated, event-timed record. Emitted window rows, late and dead-letter
records go to the pipeline's configured outputs. FILE and --output may be `-`.
Live runs (`eddy run`) produce the same rows for the same input.

options:
  --input FILE     the recorded input (same format as the source); - reads stdin
  --output FILE    where rows are written
  --source NAME    which source FILE feeds (needed when the pipeline has several)
  --format F       jsonl (default) or csv, for feature rows
  --state DIR      keep the replay's online store, history and checkpoints in
                   DIR (fresh each time); without it the replay keeps none.
                   The pipeline's own state is never touched by a replay.
  --quiet          no progress lines
  --progress-interval D
                   how often progress is printed (default 1s)

exit status: 0 finished, 1 error, 2 bad usage
)";

std::atomic<Engine*> g_engine{nullptr};
// A signal that came while the engine was opening (restoring a checkpoint,
// loading models): the run stops as soon as it starts.
std::atomic<bool> g_stop_early{false};

void OnSignal(int sig) {
  Engine* e = g_engine.load();
  if (e != nullptr) {
    e->RequestStop();
  } else {
    g_stop_early.store(true);
  }
  // A second signal terminates at once.
  std::signal(sig, SIG_DFL);
}

// SIGUSR1: reopen the audit log (after logrotate renamed it).
void OnReopenSignal(int) {
  Engine* e = g_engine.load();
  if (e != nullptr) e->RequestReopenLogs();
}

void Print(std::FILE* f, std::string_view s) { std::fwrite(s.data(), 1, s.size(), f); }

int Usage(std::string_view msg, std::string_view help) {
  Print(stderr, StrCat("eddy: ", msg, "\n\n", help));
  return 2;
}

struct Args {
  std::vector<std::string> positional;
  std::vector<std::pair<std::string, std::string>> options;  // --name value
  bool help = false;
};

// Parses `--flag`, `--name value` and `--name=value`. `flags` lists options
// that take no value.
bool ParseArgs(int argc, char** argv, int start, const std::vector<std::string>& with_value,
               const std::vector<std::string>& flags, Args& out, std::string& error) {
  for (int i = start; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h") {
      out.help = true;
      continue;
    }
    if (a.size() > 2 && a.rfind("--", 0) == 0) {
      std::string name = a.substr(2), value;
      size_t eq = name.find('=');
      bool has_eq = eq != std::string::npos;
      if (has_eq) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      }
      if (std::find(flags.begin(), flags.end(), name) != flags.end()) {
        out.options.emplace_back(name, "");
        continue;
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
      continue;
    }
    out.positional.push_back(a);
  }
  return true;
}

std::string Option(const Args& a, std::string_view name) {
  for (const auto& [k, v] : a.options) {
    if (k == name) return v;
  }
  return "";
}
bool HasOption(const Args& a, std::string_view name) {
  for (const auto& [k, v] : a.options) {
    if (k == name) return true;
  }
  return false;
}

int CmdValidate(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 2, {}, {}, args, error)) return Usage(error, kValidateHelp);
  if (args.help) {
    Print(stdout, kValidateHelp);
    return 0;
  }
  if (args.positional.size() != 1) return Usage("validate takes one pipeline file", kValidateHelp);
  auto r = Engine::Validate(args.positional[0]);
  if (!r.ok()) {
    Print(stderr, StrCat(r.status().message(), "\n"));
    return 1;
  }
  Print(stdout, *r);
  return 0;
}

int RunEngine(const std::string& pipeline, EngineOptions options) {
  std::signal(SIGINT, OnSignal);
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGUSR1, OnReopenSignal);
  auto engine = Engine::Open(pipeline, options);
  if (!engine.ok()) {
    Print(stderr, StrCat("eddy: ", engine.status().message(), "\n"));
    return 1;
  }
  g_engine.store(engine->get());
  if (g_stop_early.load()) (*engine)->RequestStop();
  Status s = (*engine)->Run();
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  std::signal(SIGUSR1, SIG_IGN);
  g_engine.store(nullptr);
  Print(stderr, Engine::FormatSummary((*engine)->Summary()));
  if (!s.ok()) {
    Print(stderr, StrCat("eddy: run failed: ", s.message(), "\n"));
    return 1;
  }
  return 0;
}

bool ParseInterval(const Args& args, EngineOptions& options, std::string& error) {
  if (!HasOption(args, "progress-interval")) return true;
  auto d = ParseDuration(Option(args, "progress-interval"));
  if (!d.ok() || *d == Duration::Zero()) {
    error = StrCat("--progress-interval: ", d.ok() ? "must be positive" : d.status().message());
    return false;
  }
  options.progress_interval_seconds = d->seconds();
  return true;
}

int CmdRun(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 2, {"progress-interval"}, {"quiet", "fresh"}, args, error)) {
    return Usage(error, kRunHelp);
  }
  if (args.help) {
    Print(stdout, kRunHelp);
    return 0;
  }
  if (args.positional.size() != 1) return Usage("run takes one pipeline file", kRunHelp);
  EngineOptions options;
  options.progress = !HasOption(args, "quiet");
  options.fresh = HasOption(args, "fresh");
  if (!ParseInterval(args, options, error)) return Usage(error, kRunHelp);
  return RunEngine(args.positional[0], options);
}

int CmdReplay(int argc, char** argv) {
  Args args;
  std::string error;
  if (!ParseArgs(argc, argv, 2,
                 {"input", "output", "source", "format", "state", "progress-interval"}, {"quiet"},
                 args, error)) {
    return Usage(error, kReplayHelp);
  }
  if (args.help) {
    Print(stdout, kReplayHelp);
    return 0;
  }
  if (args.positional.size() != 1) return Usage("replay takes one pipeline file", kReplayHelp);
  if (Option(args, "input").empty()) return Usage("replay needs --input FILE", kReplayHelp);
  if (Option(args, "output").empty()) return Usage("replay needs --output FILE", kReplayHelp);
  EngineOptions options;
  options.progress = !HasOption(args, "quiet");
  if (!ParseInterval(args, options, error)) return Usage(error, kReplayHelp);
  options.replay_input = Option(args, "input");
  options.replay_output = Option(args, "output");
  options.replay_source = Option(args, "source");
  options.replay_format = Option(args, "format");
  options.replay_state_dir = Option(args, "state");
  options.fresh = true;
  if (!options.replay_format.empty() && options.replay_format != "jsonl" &&
      options.replay_format != "csv") {
    return Usage("--format must be jsonl or csv", kReplayHelp);
  }
  return RunEngine(args.positional[0], options);
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    Print(stderr, kUsage);
    return 2;
  }
  std::string_view cmd = argv[1];
  if (cmd == "--help" || cmd == "-h") {
    Print(stdout, kUsage);
    return 0;
  }
  if (cmd == "--version" || cmd == "version") {
    Print(stdout, StrCat("eddy ", kVersion, "\n"));
    return 0;
  }
  // Commands implemented in their own files take `--help` themselves.
  struct External {
    std::string_view name;
    int (*run)(int, char**);
  };
  static constexpr External kExternal[] = {
      {"training-set", RunTrainingSetCommand},
      {"model", RunModelCommand},
      {"export", RunExportCommand},
      {"dump-online", RunDumpOnlineCommand},
  };
  if (cmd == "help") {
    std::string_view topic = argc > 2 ? argv[2] : "";
    if (topic.empty()) {
      Print(stdout, kUsage);
      return 0;
    }
    if (topic == "validate") {
      Print(stdout, kValidateHelp);
      return 0;
    }
    if (topic == "run") {
      Print(stdout, kRunHelp);
      return 0;
    }
    if (topic == "replay") {
      Print(stdout, kReplayHelp);
      return 0;
    }
    for (const External& e : kExternal) {
      if (topic != e.name) continue;
      std::string t(topic), h = "--help";
      char* args[] = {argv[0], t.data(), h.data(), nullptr};
      return e.run(3, args);
    }
    return Usage(StrCat("no help for unknown command ", Quote(topic)), kUsage);
  }
  if (cmd == "validate") return CmdValidate(argc, argv);
  if (cmd == "run") return CmdRun(argc, argv);
  if (cmd == "replay") return CmdReplay(argc, argv);
  for (const External& e : kExternal) {
    if (cmd == e.name) return e.run(argc, argv);
  }
  if (cmd == "reference") {
    Print(stdout, GeneratePipelineReference());
    return 0;
  }
  return Usage(StrCat("unknown command ", Quote(cmd)), kUsage);
}

}  // namespace
}  // namespace eddy

int main(int argc, char** argv) { return eddy::Main(argc, argv); }
