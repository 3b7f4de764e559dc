#!/usr/bin/python3
"""Python multiprocessing under cairn (issue 11, requirement 7): a Pool of 3 workers with the
start method named by this file's name (tree_python_fork, tree_python_spawn), or a
concurrent.futures ProcessPoolExecutor (tree_python_futures). Prints one line at the end."""
import concurrent.futures as cf
import hashlib
import multiprocessing as mp
import os
import sys
import time


def work(i):
    h = hashlib.sha256()
    for k in range(25):
        h.update(f"{i}:{k}".encode())
        time.sleep(0.01)
    return h.hexdigest()[:16]


def main():
    os.chdir(sys.argv[1])
    mode = os.path.basename(sys.argv[0]).rsplit("_", 1)[-1]
    if mode == "futures":
        with cf.ProcessPoolExecutor(max_workers=3, mp_context=mp.get_context("fork")) as ex:
            res = list(ex.map(work, range(30)))
    else:
        with mp.get_context(mode).Pool(3) as pool:
            res = pool.map(work, range(30), chunksize=1)
    print(mode, len(res), hashlib.sha256("".join(res).encode()).hexdigest()[:16])


if __name__ == "__main__":
    main()
