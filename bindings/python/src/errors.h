// Raising cairn's Python exceptions from C++.
//
// Contract: every failure a binding reports reaches Python as an instance of a subclass of
// cairn.Error (defined in cairn/_errors.py, chosen by cairn._errors.error_for(status)) built
// as Class(status, message), where message is the library's cairn_last_error() text. These
// functions must be called with the GIL held; they throw pybind11::error_already_set.
#ifndef CAIRN_PYTHON_ERRORS_H
#define CAIRN_PYTHON_ERRORS_H

#include <cairn/cairn.h>
#include <pybind11/pybind11.h>

#include <string>

namespace cairn_py {

// Raises the cairn.Error subclass of `st` with `message`.
[[noreturn]] void Raise(cairn_status_t st, const std::string& message);

// When st != CAIRN_OK: raises with cairn_last_error(c) (c may be NULL: open/close errors).
// The message must be read on the thread that made the failing call: call this right after.
void Check(cairn_status_t st, const cairn_client_t* c);

// Raises InvalidArgument when `s` (a name, group or path) contains a NUL character, which C
// would silently cut at. `what` names the argument in the message.
void CheckNoNul(const std::string& s, const char* what);

}  // namespace cairn_py

#endif  // CAIRN_PYTHON_ERRORS_H
