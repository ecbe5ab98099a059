// `eddy training-set` and `eddy export`: commands over a pipeline's offline
// history (docs/concepts/training-sets.md).

#ifndef EDDY_CLI_STORE_COMMANDS_H_
#define EDDY_CLI_STORE_COMMANDS_H_

namespace eddy {

// argv[1] is "training-set" / "export". Exit status 0, 1 (error) or 2 (usage).
int RunTrainingSetCommand(int argc, char** argv);
int RunExportCommand(int argc, char** argv);

}  // namespace eddy

#endif  // EDDY_CLI_STORE_COMMANDS_H_
