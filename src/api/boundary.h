// Helpers for the edge of libcairn's public APIs (src/api/*.cc; not installed): nothing
// that happens inside the library may escape as an exception into the application.
#pragma once

#include <exception>
#include <utility>

#include "common/log.h"

namespace cairn::api {

// Logs at error level without ever throwing.
template <class... A>
void LogErrorNoThrow(const A&... a) noexcept {
  try {
    log::Error(a...);
  } catch (...) {
  }
}

// Returns f(); if f throws, logs the exception (naming the API function `fn`) and returns
// `on_exception`.
template <class R, class F>
R Guard(const char* fn, R on_exception, F&& f) noexcept {
  try {
    return std::forward<F>(f)();
  } catch (const std::exception& e) {
    LogErrorNoThrow(fn, ": unexpected exception: ", e.what());
  } catch (...) {
    LogErrorNoThrow(fn, ": unexpected exception");
  }
  return on_exception;
}

}  // namespace cairn::api
