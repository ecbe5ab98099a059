// `eddy dump-online`: the pipeline's online store as JSON lines, one line per
// (feature group, key) in group then key order, so that two stores can be
// compared with `diff` (docs/operations/checkpoints.md).

#ifndef EDDY_CLI_DUMP_COMMAND_H_
#define EDDY_CLI_DUMP_COMMAND_H_

namespace eddy {

// argv[1] is "dump-online". Exit status 0, 1 (error) or 2 (usage).
int RunDumpOnlineCommand(int argc, char** argv);

}  // namespace eddy

#endif  // EDDY_CLI_DUMP_COMMAND_H_
