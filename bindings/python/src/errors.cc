// Raising cairn's Python exceptions from C++ (see errors.h).
#include "errors.h"

namespace py = pybind11;

namespace cairn_py {

void Raise(cairn_status_t st, const std::string& message) {
  // cairn._errors is imported by cairn/__init__.py before cairn._cairn, so this is a lookup.
  py::object make = py::module_::import("cairn._errors").attr("error_for");
  py::object exc = make(static_cast<int>(st))(static_cast<int>(st), message);
  PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(exc.ptr())), exc.ptr());
  throw py::error_already_set();
}

void Check(cairn_status_t st, const cairn_client_t* c) {
  if (st == CAIRN_OK) return;
  std::string message = cairn_last_error(c);
  if (message.empty()) message = cairn_status_string(st);
  Raise(st, message);
}

void CheckNoNul(const std::string& s, const char* what) {
  if (s.find('\0') != std::string::npos) {
    Raise(CAIRN_E_INVALID, std::string(what) + " contains a NUL character");
  }
}

}  // namespace cairn_py
