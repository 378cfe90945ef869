#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Soak: the stress cases of stress.py over many seeds and every mode.

  tests/stress/soak.py --build-dir build --minutes 10 --seeds 20

Runs each mode of the matrix below for seed 1, then each for seed 2, ...,
one run at a time, until --seeds seeds are done or --minutes have passed
(a run in progress is finished), then prints a table: runs, ok, mismatch,
hang, timeout, error per mode, and the first failure of each. --scale
lengthens every run (--seconds and --forks of the case; at --scale 17
rw_fork32 makes its 1,000 forks). --only RE keeps the modes whose name
matches. Exit 0 if every run was ok, else 1.
"""

import argparse
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stress  # noqa: E402

# (case, track, on-fork, ctl storm, compress): with the pool on (lz4) the
# program's pages compress and go through the pool; off, they go to the file.
MATRIX = [
    ("churn_fork", "uffd", "managed", False, "lz4"),
    ("churn_fork", "uffd", "unmanaged", False, "lz4"),
    ("churn_fork", "mprotect", "managed", False, "lz4"),
    ("churn_fork", "mprotect", "unmanaged", False, "lz4"),
    ("churn_fork", "uffd", "managed", True, "lz4"),
    ("churn_fork", "uffd", "managed", False, "off"),
    ("churn_fork", "mprotect", "unmanaged", False, "off"),
    ("fork_ctl", "uffd", "managed", False, "lz4"),
    ("rw_fork32", "uffd", "managed", False, "lz4"),
    ("rw_fork32", "mprotect", "managed", False, "lz4"),
    ("rw_fork32", "uffd", "managed", False, "off"),
    ("mmap_fork", "uffd", "managed", False, "lz4"),
    ("mmap_fork", "uffd", "unmanaged", False, "lz4"),
    ("mmap_fork", "uffd", "managed", True, "lz4"),
    ("mmap_fork", "uffd", "managed", False, "off"),
    ("mmap_churn", "uffd", "managed", True, "lz4"),
    ("mmap_churn", "mprotect", "managed", True, "lz4"),
    ("mmap_churn", "uffd", "managed", True, "off"),
    ("signal_exit", "uffd", "managed", False, "lz4"),
]


def name(m):
    case, track, on_fork, storm, compress = m
    return f"{case}/{track}/{on_fork}" + ("/ctl-storm" if storm else "") + \
        ("/nocompress" if compress == "off" else "")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--uswap", help="default: BUILD/uswap")
    ap.add_argument("--program", help="default: BUILD/tests/stress/stress")
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--only", help="regular expression on the mode names")
    a = ap.parse_args()
    uswap = a.uswap or os.path.join(a.build_dir, "uswap")
    program = a.program or os.path.join(a.build_dir, "tests", "stress", "stress")
    for path in (uswap, program):
        if not os.access(path, os.X_OK):
            sys.exit(f"soak: {path} is not an executable (build first, or --build-dir)")
    modes = [m for m in MATRIX if not a.only or re.search(a.only, name(m))]
    if not modes:
        sys.exit(f"soak: no mode matches {a.only!r}")
    table = {name(m): dict.fromkeys(stress.VERDICTS, 0) for m in modes}
    first_bad = {}
    end = time.monotonic() + a.minutes * 60
    stopped = False
    for seed in range(a.first_seed, a.first_seed + a.seeds):
        for m in modes:
            if time.monotonic() >= end:
                stopped = True
                break
            case, track, on_fork, storm, compress = m
            v, detail, secs = stress.run_one(uswap, program, case, seed=seed, track=track,
                                             on_fork=on_fork, ctl_storm=storm,
                                             scale=a.scale, quiet=True, compress=compress)
            table[name(m)][v] += 1
            if v != "ok":
                first_bad.setdefault(name(m), f"seed {seed}: {detail}")
            print(f"{name(m):42} seed {seed:3}  {v:8} {secs:6.1f}s  {detail[:150]}",
                  flush=True)
        if stopped:
            break
    cols = ("runs",) + stress.VERDICTS
    print()
    print(f"{'mode':42}" + "".join(f"{c:>9}" for c in cols))
    total = dict.fromkeys(cols, 0)
    for n, row in table.items():
        runs = sum(row.values())
        total["runs"] += runs
        for v in stress.VERDICTS:
            total[v] += row[v]
        print(f"{n:42}{runs:9}" + "".join(f"{row[v]:9}" for v in stress.VERDICTS))
    print(f"{'total':42}" + "".join(f"{total[c]:9}" for c in cols))
    for n, d in first_bad.items():
        print(f"first failure of {n}: {d[:300]}")
    if stopped:
        print(f"(stopped at {a.minutes:g} minutes)")
    sys.exit(0 if total["runs"] and total["ok"] == total["runs"] else 1)


if __name__ == "__main__":
    main()
