// Running the rest of a command as a daemon (`cairn coordinator --daemon`,
// `cairn node-agent --daemon`): one way for every daemon of the CLI.
//
// Contract: RunAsDaemon forks. The child leaves the session (setsid), gets /dev/null as stdin
// and stdout and `log_path` (appended, 0600) as stderr, sets CAIRN_LOG=info unless set, and
// calls start(); what start() returns goes to the parent through a pipe. On success the child
// then runs serve() and RunAsDaemon returns serve()'s exit code in the child. The parent
// prints "cairn NAME (pid P) <start's text>" on success and returns kExitOk, or prints the
// child's error (or that it died, pointing at log_path) and returns its exit code; it waits
// at most 30 s for the child's word.
#pragma once

#include <functional>
#include <string>

#include "cli/command.h"
#include "common/status.h"

namespace cairn::cli {

int RunAsDaemon(Context& ctx, const char* name, const std::string& log_path,
                const std::function<Result<std::string>()>& start,
                const std::function<int()>& serve);

}  // namespace cairn::cli
