"""Unit tests of cairn's Python bindings in independent mode (no MPI run time needed).

    PYTHONPATH=<build>/python CAIRN_TEST_BACKEND=<build>/cairn python3 -m unittest -v test_cairn

Covers: numpy arrays of several dtypes, shapes and orders, bytearray, memoryview, array.array
protected and restored in place without copies (same object, same data pointer); read-only,
non-contiguous and non-buffer objects refused; buffers held while protected and released
after; errors as cairn.Error subclasses carrying the library's message; the checkpoint and
restart context managers, groups, routed files, on_commit, need_checkpoint / should_exit
(job control file), asynchronous mode, and that `import cairn` does not need mpi4py.
Every test uses its own temporary scratch and persistent directories.
"""

import array
import gc
import os
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import weakref

import numpy as np

import cairn


def data_pointer(a):
    return a.__array_interface__["data"][0]


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="cairn-py-")
        self.dir = self.tmp.name
        self.cfg = self.write_cfg()

    def tearDown(self):
        self.tmp.cleanup()

    def write_cfg(self, extra=(), name="cairn.cfg", mode="sync"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write("scratch = %s/scratch\npersistent = %s/persistent\nmode = %s\n"
                    % (self.dir, self.dir, mode))
            for line in extra:
                f.write(line + "\n")
        return path

    def client(self, **kw):
        kw.setdefault("config", self.cfg)
        return cairn.Client(**kw)


class Buffers(Base):
    def test_numpy_dtypes_and_shapes_round_trip_in_place(self):
        rng = np.random.default_rng(7)
        arrays = []
        for dt in (np.int8, np.uint16, np.int32, np.int64, np.float32, np.float64,
                   np.complex128, np.bool_):
            for shape in ((1,), (13,), (4, 5), (2, 3, 4)):
                a = (rng.random(shape) * 100).astype(dt)
                arrays.append(a)
        arrays.append(np.asfortranarray(rng.random((6, 7))))  # Fortran order is contiguous
        arrays.append(np.zeros((0,), dtype=np.float64))  # zero bytes
        arrays.append(np.arange(40, dtype=np.float64).reshape(8, 5)[2:5])  # contiguous view
        saved = [a.copy() for a in arrays]
        ids = [id(a) for a in arrays]
        ptrs = [data_pointer(a) for a in arrays]
        with self.client() as c:
            for i, a in enumerate(arrays):
                c.protect(i, a)
            c.checkpoint("arrays", 1)
            for a in arrays:
                a[...] = 0 if a.dtype != np.bool_ else ~a
            self.assertEqual(c.restart_latest("arrays"), 1)
            for a, s, i, p in zip(arrays, saved, ids, ptrs):
                np.testing.assert_array_equal(a, s)
                self.assertEqual(id(a), i)
                self.assertEqual(data_pointer(a), p)

    def test_bytearray_memoryview_array_array(self):
        ba = bytearray(b"0123456789abcdef")
        backing = bytearray(b"ABCDEFGHIJKLMNOP")
        mv = memoryview(backing)[4:12]  # a window into backing: restored there
        arr = array.array("d", [1.5, -2.25, 3.125])
        npmv = memoryview(np.arange(6, dtype=np.int32))  # memoryview of a numpy array
        with self.client() as c:
            c.protect(0, ba)
            c.protect(1, mv)
            c.protect(2, arr)
            c.protect(3, npmv)
            c.checkpoint("misc", 3)
            ba[:] = b"x" * 16
            backing[:] = b"y" * 16
            arr[0] = 0.0
            npmv[2] = 99
            self.assertEqual(c.restart_latest("misc"), 3)
        self.assertEqual(ba, bytearray(b"0123456789abcdef"))
        self.assertEqual(backing, bytearray(b"yyyyEFGHIJKLyyyy"))
        self.assertEqual(arr.tolist(), [1.5, -2.25, 3.125])
        self.assertEqual(npmv.tolist(), [0, 1, 2, 3, 4, 5])

    def test_no_copy_on_protect_and_in_place_restore(self):
        a = np.zeros(1000, dtype=np.float64)
        alias = a.view()  # another view of the same memory
        with self.client() as c:
            c.protect(0, a)
            a[:] = 7.0  # written after protect: a copy at protect time would miss this
            c.checkpoint("nocopy", 1)
            a[:] = -1.0
            c.restart("nocopy", 1)
            self.assertTrue((alias == 7.0).all(), "the restart did not write into a's memory")
            with c.restarting("nocopy", 1) as r:
                self.assertEqual(r.size(0), a.nbytes)

    def test_protect_keeps_the_buffer_and_releases_it(self):
        ba = bytearray(64)
        with self.client() as c:
            c.protect(0, ba)
            with self.assertRaises(BufferError):  # exported: it cannot move while protected
                ba.extend(b"x")
            c.unprotect(0)
            ba.extend(b"x")  # released by unprotect
            c.protect(0, ba)
            other = bytearray(8)
            c.protect(0, other)  # replacing id 0 releases ba
            ba.extend(b"y")
            c.protect(1, ba)
            c.clear()
            ba.extend(b"z")
            c.protect(2, ba, group="g")
            self.assertEqual(c.regions(), [("g", 2)])  # clear() emptied the default group
        ba.extend(b"w")  # released by close
        self.assertEqual(len(ba), 68)

    def test_protected_object_stays_alive(self):
        with self.client() as c:
            a = np.arange(10.0)
            ref = weakref.ref(a)
            c.protect(0, a)
            del a
            gc.collect()
            self.assertIsNotNone(ref(), "a protected array was freed")
            c.checkpoint("alive", 1)
            self.assertEqual(c.restart_latest("alive"), 1)
            c.unprotect(0)
            gc.collect()
            self.assertIsNone(ref(), "unprotect did not release the array")

    def test_read_only_refused(self):
        ro = np.arange(5.0)
        ro.flags.writeable = False
        with self.client() as c:
            for obj in (b"bytes", ro, memoryview(b"abc"), memoryview(bytearray(3)).toreadonly()):
                with self.assertRaises(cairn.InvalidArgument) as cm:
                    c.protect(0, obj)
                self.assertIn("read-only", str(cm.exception))
                self.assertEqual(cm.exception.status, 1)
            self.assertEqual(c.regions(), [])

    def test_non_contiguous_refused(self):
        a = np.zeros((6, 8))
        with self.client() as c:
            for obj in (a[:, ::2], a[::2], a[::-1], memoryview(bytearray(10))[::2]):
                with self.assertRaises(cairn.InvalidArgument) as cm:
                    c.protect(0, obj)
                self.assertIn("not contiguous", str(cm.exception))
            c.protect(0, a.T)  # Fortran-contiguous: one block of memory, accepted
            self.assertEqual(c.regions(), [(None, 0)])

    def test_non_buffers_refused(self):
        with self.client() as c:
            for obj in (5, [1, 2, 3], "text", None):
                with self.assertRaises(TypeError):
                    c.protect(0, obj)


class Errors(Base):
    def test_bad_name_has_the_message(self):
        with self.client() as c:
            c.protect(0, bytearray(4))
            with self.assertRaises(cairn.InvalidArgument) as cm:
                c.checkpoint("bad name!", 1)
            e = cm.exception
            self.assertIsInstance(e, cairn.Error)
            self.assertIsInstance(e, ValueError)
            self.assertEqual(e.status, 1)
            self.assertIn("bad name!", e.message)
            self.assertIn("[invalid argument]", str(e))
            with self.assertRaises(cairn.InvalidArgument) as cm:
                c.checkpoint("nul\0name", 1)
            self.assertIn("NUL", str(cm.exception))
            with self.assertRaises(TypeError):
                c.checkpoint(b"bytes", 1)

    def test_missing_versions(self):
        with self.client() as c:
            c.protect(0, bytearray(4))
            self.assertIsNone(c.restart_latest("nothing"))
            self.assertIsNone(c.restart_test("nothing"))
            c.checkpoint("some", 5)
            with self.assertRaises(cairn.NotFound) as cm:
                c.restart("some", 4)
            self.assertIsInstance(cm.exception, LookupError)
            self.assertEqual(cm.exception.status, 2)
            self.assertIn("version 4", str(cm.exception))
            self.assertEqual(c.restart_test("some"), 5)
            self.assertIsNone(c.restart_latest("some", max_version=4))
            with self.assertRaises(cairn.NotFound):
                c.unprotect(42)

    def test_out_of_order_and_closed(self):
        c = self.client()
        with self.assertRaises(cairn.OrderError) as cm:
            c.route_file("out.dat")  # outside a checkpoint or restart
        self.assertTrue(cm.exception.message)
        c.close()
        c.close()  # harmless
        with self.assertRaises(cairn.OrderError) as cm:
            c.checkpoint("x", 1)
        self.assertIn("closed", str(cm.exception))
        with self.assertRaises(cairn.OrderError):
            c.protect(0, bytearray(1))

    def test_bad_config(self):
        missing = os.path.join(self.dir, "no-such.cfg")
        with self.assertRaises(cairn.Error) as cm:
            cairn.Client(config=missing)
        self.assertIn("no-such.cfg", str(cm.exception))
        bad = self.write_cfg(["mode = sideways"], name="bad.cfg")
        with self.assertRaises(cairn.InvalidArgument) as cm:
            cairn.Client(config=bad)
        self.assertIn("sideways", str(cm.exception))
        with self.assertRaises(ValueError):
            cairn.Client(rank=-1, config=self.cfg)

    def test_restore_into_a_smaller_buffer_fails_cleanly(self):
        with self.client() as c:
            c.protect(0, np.arange(8.0))
            c.checkpoint("sz", 1)
            small = np.zeros(4)
            c.protect(0, small)
            with self.assertRaises(cairn.Error) as cm:
                c.restart("sz", 1)
            self.assertTrue(cm.exception.message)


class ContextManagers(Base):
    def test_with_closes(self):
        with self.client() as c:
            self.assertFalse(c.closed)
            self.assertEqual((c.rank, c.size, c.is_mpi), (0, 1, False))
        self.assertTrue(c.closed)
        with self.assertRaises(RuntimeError):
            with self.client() as c2:
                c2.protect(0, bytearray(2))
                raise RuntimeError("boom")
        self.assertTrue(c2.closed)

    def test_checkpointing_block(self):
        a = np.arange(4.0)
        b = np.arange(4.0) * 10
        with self.client() as c:
            c.protect(0, a)
            c.protect(1, b)
            with c.checkpointing("blk", 1) as ck:
                path = ck.route_file("result.txt")
                with open(path, "w") as f:
                    f.write("v1")
            with c.checkpointing("blk", 2) as ck:
                ck.save(ids=[1])  # only b
            with self.assertRaises(KeyError):
                with c.checkpointing("blk", 3):
                    raise KeyError("abandoned")
            self.assertEqual(c.restart_test("blk"), 2)  # 3 was discarded
            a[:] = 0
            b[:] = 0
            with c.restarting("blk", 1) as r:
                with open(r.route_file("result.txt")) as f:
                    self.assertEqual(f.read(), "v1")
                r.recover(ids=[0])
            np.testing.assert_array_equal(a, np.arange(4.0))
            np.testing.assert_array_equal(b, 0)
            with c.restarting("blk", 2) as r:
                with self.assertRaises(cairn.NotFound):
                    r.size(0)
                r.recover(ids=[0], exclude=True)
            np.testing.assert_array_equal(b, np.arange(4.0) * 10)

    def test_groups(self):
        g = np.full(3, 5.0)
        d = np.full(3, 1.0)
        with self.client() as c:
            c.protect(0, d)
            c.protect(0, g, group="grp")
            c.checkpoint("grp", 1)  # uses group "grp" only
            c.checkpoint("other", 1)  # the default group
            g[:] = 0
            d[:] = 0
            c.restart("grp", 1)
            np.testing.assert_array_equal(g, 5.0)
            np.testing.assert_array_equal(d, 0.0)
            c.restart("other", 1)
            np.testing.assert_array_equal(d, 1.0)
            c.clear("grp")
            self.assertEqual(c.regions(), [(None, 0)])


class Policy(Base):
    def test_on_commit(self):
        seen = []
        raised = []
        old_hook = sys.unraisablehook
        sys.unraisablehook = lambda u: raised.append(u.exc_value)
        try:
            with self.client() as c:
                c.protect(0, bytearray(8))
                cb = c.on_commit(lambda n, v: seen.append((n, v)))
                self.assertTrue(callable(cb))  # returned: usable as a decorator

                @c.on_commit
                def fails(name, version):
                    raise ValueError("observer failure %d" % version)

                c.checkpoint("obs", 1)
                c.checkpoint("obs", 2)
                with self.assertRaises(TypeError):
                    c.on_commit(42)
        finally:
            sys.unraisablehook = old_hook
        self.assertEqual(seen, [("obs", 1), ("obs", 2)])
        self.assertEqual([str(e) for e in raised], ["observer failure 1", "observer failure 2"])

    def test_need_checkpoint_and_should_exit(self):
        control = os.path.join(self.dir, "job.control")
        os.environ["CAIRN_JOB_CONTROL"] = control
        try:
            with self.client() as c:
                c.protect(0, bytearray(16))
                self.assertFalse(c.need_checkpoint())
                self.assertFalse(c.should_exit())
                c.checkpoint("job", 1)
                self.assertFalse(c.should_exit())
                with open(control + ".tmp", "w") as f:
                    f.write("checkpoint %d\n" % int(time.time()))
                os.rename(control + ".tmp", control)
                self.assertTrue(c.need_checkpoint())
                c.checkpoint("job", 2)
                self.assertTrue(c.should_exit())
            with open(control + ".ack") as f:
                self.assertEqual(f.read().split(), ["exit", "job", "2"])
        finally:
            del os.environ["CAIRN_JOB_CONTROL"]

    def test_checkpoint_interval(self):
        cfg = self.write_cfg(["checkpoint_interval = 1"], name="interval.cfg")
        with cairn.Client(config=cfg) as c:
            self.assertFalse(c.need_checkpoint())
            time.sleep(1.1)
            self.assertTrue(c.need_checkpoint())


class Modes(Base):
    def test_async_mode(self):
        cfg = self.write_cfg(name="async.cfg", mode="async")
        a = np.arange(1000, dtype=np.int64)
        with cairn.Client(config=cfg) as c:
            c.protect(0, a)
            c.checkpoint("asy", 1)
            c.wait()
            self.assertTrue(c.finished())
            a[:] = 0
            self.assertEqual(c.restart_latest("asy"), 1)
        np.testing.assert_array_equal(a, np.arange(1000))

    def test_environment_configuration_and_rank(self):
        env = {"CAIRN_SCRATCH": os.path.join(self.dir, "es"),
               "CAIRN_PERSISTENT": os.path.join(self.dir, "ep"), "CAIRN_MODE": "sync"}
        os.environ.update(env)
        try:
            with cairn.Client(rank=3) as c:
                self.assertEqual(c.rank, 3)
                c.protect(0, bytearray(b"env"))
                c.checkpoint("envcfg", 1)
            self.assertTrue(os.path.isfile(os.path.join(self.dir, "es", "envcfg", "v1", "r3.ckpt")))
        finally:
            for k in env:
                del os.environ[k]

    def test_threads_share_a_client(self):
        arrays = [np.full(100000, float(i)) for i in range(4)]
        errors = []
        with self.client() as c:
            for i, a in enumerate(arrays):
                c.protect(i, a)

            def work(k):
                try:
                    for v in range(3):
                        c.checkpoint("t%d" % k, v + 1)
                except Exception as e:  # reported below
                    errors.append(e)

            threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(errors, [])
            for k in range(3):
                self.assertEqual(c.restart_test("t%d" % k), 3)

    def test_import_does_not_need_mpi4py(self):
        code = ("import sys, cairn; assert 'mpi4py' not in sys.modules, 'mpi4py imported'; "
                "print(cairn.__version__, cairn.HAVE_MPI)")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout.split()[0], cairn.library_version())


if __name__ == "__main__":
    unittest.main()
