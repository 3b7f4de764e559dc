// The options that make a `cairn launch` or `cairn restart` one node of a job spread over
// several nodes (job/node_launch.h, tree/node_agent.h): --job-dir DIR --node N --nodes M
// [--node-address HOST]. One parser for both commands.
#pragma once

#include <string>
#include <vector>

#include "cli/args.h"
#include "job/node_launch.h"

namespace cairn::cli {

// `specs` followed by the node options (for the commands' option lists).
std::vector<OptionSpec> WithNodeOptions(std::vector<OptionSpec> specs);

// False (and nothing parsed) without --node. Else fills *p (node_dir: `node_dir` made
// absolute; job_dir absolute) and returns true; a bad or missing value sets *err.
bool ParseNodePlacement(const Args& args, const std::string& node_dir, job::NodePlacement* p,
                        std::string* err);

}  // namespace cairn::cli
