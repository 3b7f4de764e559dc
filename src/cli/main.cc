// cairn: command-line tool for cairn (and VeloC) checkpoints.
//
// Dispatch: `cairn <command> [options] [args]` looks the command up in kCommands (one
// cmd_<name>.cc per command) and runs it; `cairn --help`, `cairn help [command]` and
// `cairn --version` are handled here.
#include <algorithm>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"

#ifndef CAIRN_VERSION
#define CAIRN_VERSION "unknown"
#endif

namespace cairn::cli {
namespace {

// The subcommands, in the order `cairn --help` lists them.
const Command* const kCommands[] = {
    &LsCommand(),      &InspectCommand(),     &VerifyCommand(),     &StatusCommand(),
    &BackendCommand(), &LaunchCommand(),      &CheckpointCommand(), &RestartCommand(),
    &JobCommand(),     &CoordinatorCommand(), &NodeAgentCommand(),
};

const Command* FindCommand(std::string_view name) {
  for (const Command* c : kCommands) {
    if (name == c->name) return c;
  }
  return nullptr;
}

void PrintMainHelp(std::ostream& os) {
  os << "Usage: cairn <command> [options] [arguments]\n"
        "       cairn --help | --version\n"
        "\n"
        "Inspect and check cairn (VeloC-compatible) checkpoints.\n"
        "\n"
        "Commands:\n";
  size_t width = 0;
  for (const Command* c : kCommands) width = std::max(width, std::string_view(c->name).size());
  for (const Command* c : kCommands) {
    os << "  " << c->name << std::string(width - std::string_view(c->name).size() + 2, ' ')
       << c->summary << "\n";
  }
  os << "\n"
        "Run 'cairn <command> --help' for the options of a command.\n"
        "Every command accepts --json: the result is then one JSON document on stdout.\n"
        "Results go to stdout; errors and warnings go to stderr.\n"
        "\n"
        "Exit status:\n"
        "  0  success\n"
        "  1  corrupt data or a failed check\n"
        "  2  usage error (unknown command or option, missing argument)\n"
        "  3  not found, or an I/O error\n";
}

void PrintCommandHelp(std::ostream& os, const Command& c) {
  os << "Usage: cairn " << c.name << " " << c.synopsis << "\n\n"
     << c.summary << ".\n\n"
     << c.description << "\n"
     << OptionsHelp(c.options);
}

void PrintUsageHint(std::ostream& os, const Command& c) {
  os << "Usage: cairn " << c.name << " " << c.synopsis << "\n"
     << "Run 'cairn " << c.name << " --help' for details.\n";
}

int RunCommand(const Command& c, const std::vector<std::string>& argv, Context& ctx) {
  auto args = ParseArgs(c.options, argv);
  if (!args.ok()) {
    PrintError(ctx, c.name, args.status().message());
    PrintUsageHint(ctx.err, c);
    return kExitUsage;
  }
  if (args.value().help()) {
    PrintCommandHelp(ctx.out, c);
    return kExitOk;
  }
  return c.run(args.value(), ctx);
}

int Main(int argc, char** argv) {
  Context ctx{std::cout, std::cerr, Env::Default()};
  std::vector<std::string> rest(argv + (argc > 0 ? 1 : 0), argv + argc);
  if (rest.empty()) {
    PrintMainHelp(ctx.err);
    return kExitUsage;
  }
  const std::string first = rest.front();
  rest.erase(rest.begin());
  if (first == "-h" || first == "--help") {
    PrintMainHelp(ctx.out);
    return kExitOk;
  }
  if (first == "--version" || first == "-V") {
    ctx.out << "cairn " << CAIRN_VERSION << "\n";
    return kExitOk;
  }
  if (first == "help") {
    if (rest.empty()) {
      PrintMainHelp(ctx.out);
      return kExitOk;
    }
    const Command* c = FindCommand(rest.front());
    if (c == nullptr) {
      ctx.err << "cairn: unknown command '" << rest.front() << "'\n"
              << "Run 'cairn --help' for the list of commands.\n";
      return kExitUsage;
    }
    PrintCommandHelp(ctx.out, *c);
    return kExitOk;
  }
  const Command* c = FindCommand(first);
  if (c == nullptr) {
    if (!first.empty() && first[0] == '-') {
      ctx.err << "cairn: unknown option '" << first << "'\n";
    } else {
      ctx.err << "cairn: unknown command '" << first << "'\n";
    }
    ctx.err << "Run 'cairn --help' for the list of commands.\n";
    return kExitUsage;
  }
  return RunCommand(*c, rest, ctx);
}

}  // namespace
}  // namespace cairn::cli

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(true);
  int rc = cairn::cli::Main(argc, argv);
  std::cout.flush();
  if (!std::cout) {
    std::cerr << "cairn: error writing to standard output\n";
    return cairn::cli::kExitNotFound;
  }
  return rc;
}
