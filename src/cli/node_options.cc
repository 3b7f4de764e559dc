// See node_options.h.
#include "cli/node_options.h"

#include "cli/command.h"

namespace cairn::cli {

std::vector<OptionSpec> WithNodeOptions(std::vector<OptionSpec> specs) {
  specs.insert(
      specs.end(),
      {{"job-dir", "DIR",
        "with --node: the job directory every node sees (coordinator, job manifests)"},
       {"node", "N", "this is node N (0..M-1) of a job on M nodes, each with its own --ckpt-dir"},
       {"nodes", "M", "with --node: the number of nodes of the job"},
       {"node-address", "HOST",
        "with --node: this node's address for the others (default: the first non-loopback one)"}});
  return specs;
}

bool ParseNodePlacement(const Args& args, const std::string& node_dir, job::NodePlacement* p,
                        std::string* err) {
  if (!args.Has("node")) {
    for (const char* o : {"job-dir", "nodes", "node-address"}) {
      if (args.Has(o)) *err = std::string("--") + o + " needs --node N";
    }
    return false;
  }
  const std::optional<long> node = WholeNumber(args.Get("node").value_or(""), 0, 9999999);
  const std::optional<long> nodes = WholeNumber(args.Get("nodes").value_or(""), 1, 9999999);
  if (!node || !nodes || *node >= *nodes) {
    *err = "--node N needs --nodes M with 0 <= N < M, got --node '" +
           args.Get("node").value_or("") + "' --nodes '" + args.Get("nodes").value_or("") + "'";
    return true;
  }
  const std::string job_dir = args.Get("job-dir").value_or("");
  if (job_dir.empty()) {
    *err = "--node needs --job-dir DIR (a directory every node sees)";
    return true;
  }
  p->node = static_cast<int>(*node);
  p->nodes = static_cast<int>(*nodes);
  p->job_dir = AbsolutePath(job_dir);
  p->node_dir = AbsolutePath(node_dir);
  p->address = args.Get("node-address").value_or("");
  if (p->job_dir == p->node_dir) {
    *err = "--job-dir must not be the node's --ckpt-dir";
  }
  return true;
}

}  // namespace cairn::cli
