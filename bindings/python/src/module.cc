// The extension module cairn._cairn: the low-level binding of libcairn's C API (cairn.h).
//
// Used through the pure-Python package cairn (cairn/__init__.py), which adds defaults,
// context managers and documentation; this module is not a public API of its own. Names
// mirror cairn.h: open_single / open_mpi return a Client; its methods raise cairn.Error
// subclasses (cairn/_errors.py) on failure. HAVE_MPI says whether open_mpi can work.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "client.h"

namespace py = pybind11;
using cairn_py::Client;

PYBIND11_MODULE(_cairn, m) {
  m.doc() = "Low-level binding of libcairn (use the cairn package instead)";
#if CAIRN_HAVE_MPI && CAIRN_PYTHON_MPI4PY
  m.attr("HAVE_MPI") = true;
#else
  m.attr("HAVE_MPI") = false;
#endif
  m.attr("ANY_VERSION") = static_cast<long long>(CAIRN_ANY_VERSION);
  m.def("version", [] { return std::string(cairn_version()); });
  m.def("status_string",
        [](int s) { return std::string(cairn_status_string(static_cast<cairn_status_t>(s))); });
  m.def("_set_finalizing", &cairn_py::SetFinalizing);

  py::class_<Client>(m, "Client")
      .def_property_readonly("rank", &Client::rank)
      .def_property_readonly("size", &Client::size)
      .def_property_readonly("is_mpi", &Client::is_mpi)
      .def_property_readonly("closed", &Client::closed)
      .def("protect", &Client::Protect, py::arg("id"), py::arg("obj"), py::arg("group"))
      .def("unprotect", &Client::Unprotect, py::arg("id"), py::arg("group"))
      .def("clear", &Client::Clear, py::arg("group"))
      .def("clear_all", &Client::ClearAll)
      .def("regions", &Client::Regions)
      .def("checkpoint", &Client::Checkpoint, py::arg("name"), py::arg("version"))
      .def("checkpoint_begin", &Client::CheckpointBegin, py::arg("name"), py::arg("version"))
      .def("checkpoint_mem", &Client::CheckpointMem, py::arg("ids"), py::arg("exclude"))
      .def("checkpoint_end", &Client::CheckpointEnd, py::arg("success"))
      .def("wait", &Client::Wait)
      .def("finished", &Client::Finished)
      .def("cleanup", &Client::Cleanup, py::arg("name"))
      .def("on_commit", &Client::OnCommit, py::arg("fn"))
      .def("need_checkpoint", &Client::NeedCheckpoint)
      .def("should_exit", &Client::ShouldExit)
      .def("restart_latest", &Client::RestartLatest, py::arg("name"), py::arg("max_version"))
      .def("restart_test", &Client::RestartTest, py::arg("name"), py::arg("max_version"))
      .def("restart", &Client::Restart, py::arg("name"), py::arg("version"))
      .def("restart_begin", &Client::RestartBegin, py::arg("name"), py::arg("version"))
      .def("recover_size", &Client::RecoverSize, py::arg("id"))
      .def("recover_mem", &Client::RecoverMem, py::arg("ids"), py::arg("exclude"))
      .def("restart_end", &Client::RestartEnd, py::arg("success"))
      .def("route_file", &Client::RouteFile, py::arg("path"))
      .def("close", &Client::Close, py::arg("drain"));

  m.def("open_single", &Client::OpenSingle, py::arg("rank"), py::arg("config"));
  m.def("open_mpi", &Client::OpenMpi, py::arg("comm"), py::arg("config"));
}
