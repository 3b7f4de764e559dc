// Logging. Everything cairn says goes to stderr, or to the file named by
// CAIRN_LOG_FILE; never to the application's stdout.
//
// Level from CAIRN_LOG: "error", "warn" (default), "info", "debug", or "off".
// Lines look like "cairn[rank 3] WARN: message". Thread-safe; each line is written
// with a single write(2) so lines from several threads or ranks do not interleave.
#pragma once

#include <sstream>
#include <string>

namespace cairn::log {

enum class Level { kOff = 0, kError = 1, kWarn = 2, kInfo = 3, kDebug = 4 };

// Reads CAIRN_LOG / CAIRN_LOG_FILE once (on first use); Reconfigure() reads them again.
void Reconfigure();
Level CurrentLevel();
bool Enabled(Level l);
// Sets the tag shown after "cairn" (e.g. "rank 3"). Empty: no tag.
void SetTag(const std::string& tag);
void Write(Level l, const std::string& msg);

template <class... A>
void Emit(Level l, const A&... a) {
  if (!Enabled(l)) return;
  std::ostringstream os;
  (os << ... << a);
  Write(l, os.str());
}
template <class... A> void Error(const A&... a) { Emit(Level::kError, a...); }
template <class... A> void Warn(const A&... a) { Emit(Level::kWarn, a...); }
template <class... A> void Info(const A&... a) { Emit(Level::kInfo, a...); }
template <class... A> void Debug(const A&... a) { Emit(Level::kDebug, a...); }

}  // namespace cairn::log
