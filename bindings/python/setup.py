"""Builds cairn's Python bindings (the package cairn and its extension cairn._cairn).

    CAIRN_PREFIX=<prefix> pip install --no-build-isolation bindings/python

libcairn is found with pkg-config (module "cairn", which also gives MPI's flags when cairn
was built with MPI); CAIRN_PREFIX=<prefix> puts <prefix>/lib*/pkgconfig first on
PKG_CONFIG_PATH. The extension gets an RPATH to the directory of libcairn.so, so it needs no
LD_LIBRARY_PATH. mpi4py's headers (for cairn.Client(comm=...)) are used when mpi4py is
importable; CAIRN_PYTHON_MPI4PY=0 builds without them. A missing libcairn stops the build
with a message saying what to set.
"""

import os
import shlex
import subprocess
import sys

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _pkg_config_env():
    env = dict(os.environ)
    prefix = os.environ.get("CAIRN_PREFIX")
    if prefix:
        dirs = [os.path.join(prefix, d, "pkgconfig") for d in ("lib", "lib64", "share")]
        dirs = [d for d in dirs if os.path.isdir(d)]
        if not dirs:
            sys.exit("cairn setup.py: CAIRN_PREFIX=%s has no lib/pkgconfig (install cairn "
                     "there first: cmake --install BUILD --prefix %s)" % (prefix, prefix))
        old = env.get("PKG_CONFIG_PATH")
        env["PKG_CONFIG_PATH"] = os.pathsep.join(dirs + ([old] if old else []))
    return env


def pkg_config(*args):
    cmd = ["pkg-config"] + list(args) + ["cairn"]
    try:
        out = subprocess.run(cmd, env=_pkg_config_env(), check=True, capture_output=True, text=True)
    except FileNotFoundError:
        sys.exit("cairn setup.py: pkg-config not found (apt-get install pkg-config)")
    except subprocess.CalledProcessError as e:
        sys.exit("cairn setup.py: `%s` failed: %s\nInstall cairn (cmake --install) and set "
                 "CAIRN_PREFIX=<prefix> or PKG_CONFIG_PATH=<prefix>/lib/pkgconfig."
                 % (" ".join(cmd), e.stderr.strip()))
    return shlex.split(out.stdout)


def flags(option, prefix):
    return [f[len(prefix):] for f in pkg_config(option) if f.startswith(prefix)]


def dirs(option, prefix):
    return [os.path.normpath(d) for d in flags(option, prefix)]


version = pkg_config("--modversion")[0]
include_dirs = dirs("--cflags-only-I", "-I")
defines = [tuple((d.split("=", 1) + ["1"])[:2]) for d in flags("--cflags-only-other", "-D")]
library_dirs = dirs("--libs-only-L", "-L")
libraries = flags("--libs-only-l", "-l")
compile_args = []
if os.environ.get("CAIRN_PYTHON_MPI4PY", "1") != "0":
    try:
        import mpi4py

        compile_args += ["-isystem", mpi4py.get_include()]
        defines.append(("CAIRN_PYTHON_MPI4PY", "1"))
    except ImportError:
        print("cairn setup.py: no mpi4py: cairn.Client(comm=...) not supported", file=sys.stderr)

ext = Pybind11Extension(
    "cairn._cairn",
    sorted(os.path.join("src", f) for f in os.listdir(os.path.join(HERE, "src")) if f.endswith(".cc")),
    include_dirs=include_dirs,
    define_macros=defines,
    library_dirs=library_dirs,
    libraries=libraries,
    runtime_library_dirs=library_dirs,
    extra_compile_args=compile_args,
    cxx_std=17,
)

ParallelCompile("CAIRN_PYTHON_BUILD_JOBS", default=2).install()
setup(version=version, packages=["cairn"], ext_modules=[ext], cmdclass={"build_ext": build_ext})
