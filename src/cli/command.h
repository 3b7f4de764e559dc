// The subcommands of the `cairn` tool and what they share.
//
// Each subcommand lives in its own cmd_<name>.cc and exposes one Command; main.cc holds
// the table of them and dispatches. Commands write results for humans (or the --json
// document) to ctx.out and errors/warnings to ctx.err, and return an exit code.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "cli/args.h"
#include "common/status.h"
#include "env/env.h"

namespace cairn::cli {

// Exit codes (documented in `cairn --help`).
inline constexpr int kExitOk = 0;        // success
inline constexpr int kExitFailed = 1;    // corrupt data / a check failed
inline constexpr int kExitUsage = 2;     // bad command line
inline constexpr int kExitNotFound = 3;  // not found / I/O error

struct Context {
  std::ostream& out;
  std::ostream& err;
  Env* env;
};

struct Command {
  const char* name;
  const char* summary;      // one line, for `cairn --help`
  const char* synopsis;     // arguments after the command name, e.g. "[--json] DIR..."
  const char* description;  // paragraphs for `cairn <name> --help`, each line ending in \n
  std::vector<OptionSpec> options;
  int (*run)(const Args& args, Context& ctx);
};

const Command& LsCommand();
const Command& InspectCommand();
const Command& VerifyCommand();
const Command& BackendCommand();
const Command& StatusCommand();
const Command& LaunchCommand();
const Command& CheckpointCommand();
const Command& RestartCommand();
const Command& JobCommand();
const Command& CoordinatorCommand();
const Command& NodeAgentCommand();

// --- helpers shared by the commands -------------------------------------------------

// The exit code for a failed operation: kCorruption and kInvalidArgument (e.g. a newer
// format version) -> kExitFailed; everything else (not found, I/O) -> kExitNotFound.
int ExitCodeFor(const Status& st);
// Prints "cairn <command>: <message>" on ctx.err.
void PrintError(Context& ctx, const char* command, const std::string& message);
// A status message without a leading "'<path>': " or "'<path>' " naming `path` (for
// lines that already start with the path).
std::string WithoutPath(const std::string& message, const std::string& path);
// The directory of the running `cairn` executable ("" if /proc/self/exe is unreadable):
// companions (libcairn_preload.so, cairn-restorer) are looked up beside it or in ../lib.
std::string ExecutableDir();
// The running binary (/proc/self/exe); "" if unknown.
std::string ExecutablePath();
// `p` made absolute against the working directory ("" and "." are the directory itself).
std::string AbsolutePath(const std::string& p);
// 1536 -> "1.5 KiB"; below 1 KiB: "512 B".
std::string HumanSize(uint64_t bytes);
// 16 lowercase hex digits.
std::string Hex16(uint64_t v);
// Nanoseconds since the epoch -> "2024-05-01T12:34:56.789Z" (ISO-8601, UTC).
std::string IsoTimeUtc(uint64_t ns);
// Left-aligned text table with two spaces between columns; columns listed in
// `right_aligned` are right-aligned. The first row is the header.
void PrintTable(std::ostream& os, const std::vector<std::vector<std::string>>& rows,
                const std::vector<size_t>& right_aligned = {});

}  // namespace cairn::cli
