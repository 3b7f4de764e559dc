// `cairn inspect` on a transparent-checkpoint process image (the "CAIRNIMG" magic).
#pragma once

#include <string>

#include "cli/command.h"

namespace cairn::cli {

bool LooksLikeImage(Env* env, const std::string& path);
// Prints the image's header, regions (with bytes saved), threads and files; --json as one
// document. Returns an exit code (1 for a damaged image, 3 when unreadable).
int InspectImage(const std::string& path, bool json, Context& ctx);

}  // namespace cairn::cli
