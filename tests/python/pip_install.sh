#!/usr/bin/env bash
# The two ways of installing cairn's Python bindings, each used from outside the source tree:
#
#   pip_install.sh SOURCE_DIR BUILD_DIR PYTHON
#
# 1. `cmake --install BUILD_DIR --prefix P` into a temporary prefix: the package lands in P's
#    site directory (CAIRN_PYTHON_INSTALL_DIR) and imports with PYTHONPATH only (its RUNPATH
#    finds P/lib/libcairn.so; no LD_LIBRARY_PATH).
# 2. `pip install --no-build-isolation --no-index` of a copy of bindings/python into a venv
#    made with `PYTHON -m venv --system-site-packages` (numpy and mpi4py from the system),
#    against that prefix (CAIRN_PREFIX=P, found with pkg-config): imports from the venv.
# Each then runs a small checkpoint/restart of a numpy array (checks.py below). Offline.
set -euo pipefail
src=${1:?usage: pip_install.sh SOURCE_DIR BUILD_DIR PYTHON}
build=${2:?}
py=${3:?}
prefix=$(mktemp -d /tmp/cairn-py-prefix-XXXXXX)
work=$(mktemp -d /tmp/cairn-py-pip-XXXXXX)
trap 'rm -rf "$prefix" "$work"' EXIT
unset PYTHONPATH LD_LIBRARY_PATH PKG_CONFIG_PATH
export PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_WARN_SCRIPT_LOCATION=1

fail() { echo "FAIL: $*" >&2; exit 1; }

cat >"$work/checks.py" <<'PY'
import os, sys, tempfile
import numpy as np
import cairn
want = sys.argv[1]
assert os.path.realpath(cairn.__file__).startswith(os.path.realpath(want)), cairn.__file__
with tempfile.TemporaryDirectory() as d:
    with open(os.path.join(d, "c.cfg"), "w") as f:
        f.write("scratch = %s/s\npersistent = %s/p\nmode = sync\n" % (d, d))
    a = np.arange(100, dtype=np.float64)
    with cairn.Client(config=os.path.join(d, "c.cfg")) as c:
        c.protect(0, a)
        assert c.restart_latest("pip") is None
        c.checkpoint("pip", 1)
        a[:] = 0
        assert c.restart_latest("pip") == 1
    assert (a == np.arange(100)).all()
    try:
        cairn.Client(config=os.path.join(d, "missing.cfg"))
        raise SystemExit("no error for a missing configuration file")
    except cairn.Error as e:
        assert "missing.cfg" in str(e), str(e)
print("cairn", cairn.__version__, "from", os.path.dirname(cairn.__file__), "HAVE_MPI", cairn.HAVE_MPI)
PY

# 1. CMake install.
cmake --install "$build" --prefix "$prefix" >"$work/install.log" || {
  cat "$work/install.log"
  fail "cmake --install failed"
}
ext=$(find "$prefix" -name '_cairn*.so' | head -n 1)
[ -n "$ext" ] || fail "cmake --install put no cairn extension under $prefix"
site=$(dirname "$(dirname "$ext")")
[ -f "$site/cairn/__init__.py" ] || fail "no cairn/__init__.py beside $ext"
echo "installed by CMake into ${site#"$prefix"/}"
(cd "$work" && PYTHONPATH="$site" "$py" checks.py "$site") || fail "the CMake-installed package does not work"

# 2. pip into a venv, from a copy of the sources (pip builds in the source directory).
cp -r "$src/bindings/python" "$work/src"
rm -rf "$work/src/build" "$work/src"/*.egg-info
"$py" -m venv --system-site-packages "$work/venv"
if ! CAIRN_PREFIX="$prefix" "$work/venv/bin/python" -m pip install --no-build-isolation \
  "$work/src" >"$work/pip.log" 2>&1; then
  cat "$work/pip.log"
  fail "pip install --no-build-isolation failed"
fi
tail -n 1 "$work/pip.log"
(cd "$work" && "$work/venv/bin/python" checks.py "$work/venv") || fail "the pip-installed package does not work"
echo "pip install test OK"
