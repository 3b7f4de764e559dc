// Logging. Everything cairn says goes to stderr, or to the file named by
// CAIRN_LOG_FILE; never to the application's stdout.
//
// Level from CAIRN_LOG: "error", "warn" (default), "info", "debug", or "off".
// Lines look like "cairn[rank 3] WARN: message". Thread-safe; each line is written
// with a single write(2) so lines from several threads or ranks do not interleave.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <type_traits>

namespace cairn::log {

enum class Level { kOff = 0, kError = 1, kWarn = 2, kInfo = 3, kDebug = 4 };

// Reads CAIRN_LOG / CAIRN_LOG_FILE once (on first use); Reconfigure() reads them again.
void Reconfigure();
Level CurrentLevel();
bool Enabled(Level l);
// Sets the tag shown after "cairn" (e.g. "rank 3"). Empty: no tag.
void SetTag(const std::string& tag);
void Write(Level l, const std::string& msg);

namespace detail {
// Appends a value as an ostream would print it (numbers in decimal, floating point as %g,
// bool as 1/0, pointers in hex), without a stream: C++ streams share the global locale's
// reference count, which the checkpoint thread must not touch (uncounted_thread.h).
template <class T>
void Append(std::string* out, const T& v) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    out->append(std::string_view(v));
  } else if constexpr (std::is_same_v<T, char>) {
    out->push_back(v);
  } else if constexpr (std::is_enum_v<T>) {
    Append(out, static_cast<std::underlying_type_t<T>>(v));
  } else if constexpr (std::is_integral_v<T>) {  // bool too: 1 or 0
    out->append(std::to_string(v));
  } else if constexpr (std::is_floating_point_v<T>) {
    char b[32];
    std::snprintf(b, sizeof b, "%g", static_cast<double>(v));
    out->append(b);
  } else if constexpr (std::is_pointer_v<T>) {
    char b[32];
    std::snprintf(b, sizeof b, "%p", static_cast<const void*>(v));
    out->append(b);
  } else {
    static_assert(std::is_void_v<T>, "log: a type without a printed form");
  }
}
}  // namespace detail

template <class... A>
void Emit(Level l, const A&... a) {
  if (!Enabled(l)) return;
  std::string msg;
  (detail::Append(&msg, a), ...);
  Write(l, msg);
}
template <class... A>
void Error(const A&... a) {
  Emit(Level::kError, a...);
}
template <class... A>
void Warn(const A&... a) {
  Emit(Level::kWarn, a...);
}
template <class... A>
void Info(const A&... a) {
  Emit(Level::kInfo, a...);
}
template <class... A>
void Debug(const A&... a) {
  Emit(Level::kDebug, a...);
}

}  // namespace cairn::log
