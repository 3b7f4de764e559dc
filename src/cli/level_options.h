// The options that send a transparent job's images through cairn's levels (tree/levels.h):
// --config FILE [--name NAME] instead of --ckpt-dir. The images go to <scratch>/<NAME>; the
// node's backend flushes each checkpoint to <persistent>/<NAME>. One parser for launch,
// checkpoint and restart.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "config/config.h"

namespace cairn::cli {

// `specs` followed by --config and --name (for the commands' option lists).
std::vector<OptionSpec> WithLevelOptions(std::vector<OptionSpec> specs);

// False (nothing parsed) without --config. Else loads the configuration (the library's INI
// keys and CAIRN_* overrides), which must name `scratch`, and sets *dir to
// <scratch>/<NAME> (NAME: --name, else `default_name`; a valid checkpoint name) and *config;
// with --node N (a job on several nodes) to <scratch>/<NAME>.node<N>, whose persistent copy
// is then <persistent>/<NAME>.node<N>. A problem (also --ckpt-dir given too, or no name) sets
// *err.
bool ParseLevelDir(const Args& args, const std::string& default_name, std::string* dir,
                   Config* config, std::string* err);

}  // namespace cairn::cli
