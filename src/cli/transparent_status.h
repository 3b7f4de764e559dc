// `cairn status --ckpt-dir DIR`: the transparent-checkpointing side of `cairn status`.
//
// Lists the processes launched (or restarted) with DIR — each control socket in DIR/.cairn
// is asked for STATUS (transparent/preload/control.h); a socket nobody answers is reported as
// stale (the process died) — and the committed images in DIR (*.cimg: program, pid, version,
// size, time), newest first, marking the one `cairn restart --ckpt-dir DIR` would use.
// Images are not verified here (`cairn inspect IMAGE` does). Exit status 0, or kExitNotFound
// when DIR does not exist.
#pragma once

#include <string>

#include "cli/command.h"

namespace cairn::cli {

int RunTransparentStatus(const std::string& dir, bool json, Context& ctx);

}  // namespace cairn::cli
