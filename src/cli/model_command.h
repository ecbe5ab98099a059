// `eddy model`: the model registry from the command line (register, list,
// show, promote, rollback, history), over ModelRegistry (src/model/registry.h).

#ifndef EDDY_CLI_MODEL_COMMAND_H_
#define EDDY_CLI_MODEL_COMMAND_H_

namespace eddy {

// Runs `eddy model ...`. Takes argv as main() gets it, with argv[1] ==
// "model". Output goes to stdout, errors to stderr. Returns the exit status:
// 0 success, 1 the operation failed (no such model or version, a model file
// Eddy cannot serve, an I/O error), 2 bad usage.
int RunModelCommand(int argc, char** argv);

}  // namespace eddy

#endif  // EDDY_CLI_MODEL_COMMAND_H_
