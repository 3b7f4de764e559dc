// See level_options.h.
#include "cli/level_options.h"

#include "common/names.h"
#include "env/env.h"

namespace cairn::cli {

std::vector<OptionSpec> WithLevelOptions(std::vector<OptionSpec> specs) {
  specs.insert(specs.end(),
               {{"config", "FILE",
                 "images through cairn's levels: to <scratch>/NAME, flushed to "
                 "<persistent>/NAME by the node's backend (instead of --ckpt-dir)"},
                {"name", "NAME", "with --config: the job's name (launch: default the program's)"}});
  return specs;
}

bool ParseLevelDir(const Args& args, const std::string& default_name, std::string* dir,
                   Config* config, std::string* err) {
  if (!args.Has("config")) {
    if (args.Has("name")) *err = "--name needs --config FILE";
    return false;
  }
  if (args.Has("ckpt-dir")) {
    *err =
        "--config and --ckpt-dir exclude each other (with --config the images go to "
        "<scratch>/NAME)";
    return true;
  }
  auto cfg = LoadConfig(args.Get("config").value_or(""));
  if (!cfg.ok()) {
    *err = cfg.status().message();
    return true;
  }
  const std::string name = args.Get("name").value_or(default_name);
  if (name.empty()) {
    *err = "--config needs --name NAME (the name the job was launched with)";
    return true;
  }
  if (Status st = ValidateName(name); !st.ok()) {
    *err = "--name: " + st.message();
    return true;
  }
  *config = cfg.value();
  *dir = JoinPath(config->scratch, name);
  // One node of a job on several nodes (--node N): its own directory, so that the nodes'
  // checkpoints stay apart on persistent (and on a scratch that several nodes share).
  if (const std::optional<long> n = WholeNumber(args.Get("node").value_or(""), 0, 9999999)) {
    *dir += ".node" + std::to_string(*n);
  }
  return true;
}

}  // namespace cairn::cli
