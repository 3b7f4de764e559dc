// Reaching the node's async backend (`cairn backend`, backend/server.h) of one configuration
// (ipc/identity.h), starting it when nobody answers: one way for the library's async mode
// (client/async_channel.h) and the flushes of transparent images (transparent/levels.h).
//
// Contract: ConnectOrStartBackend connects to paths.socket. When nobody answers and `binary`
// is not empty, it takes the spawn lock (paths.lock: one starter per key), tries again, and
// otherwise writes `config_text` to paths.config atomically (0600), runs `binary backend
// --config <paths.config> --resolved --daemon` and waits up to 20 s for the socket to
// answer. With an empty `binary` it only connects (kUnavailable when nobody answers).
// Returns the connected socket (SOCK_CLOEXEC); the caller speaks HELLO/WELCOME.
#pragma once

#include <string>

#include "common/status.h"
#include "ipc/identity.h"

namespace cairn::ipc {

Result<int> ConnectOrStartBackend(const BackendPaths& paths, const std::string& config_text,
                                  const std::string& binary);

}  // namespace cairn::ipc
