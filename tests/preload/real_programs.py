#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""real_programs: unmodified programs give byte-identical results under uswap.

Each workload runs natively first; the kernel's peak RSS of that run
(wait4 ru_maxrss) sets the limit: half of it. Then it runs under the uswap
CLI at that limit. Asserted:
  * same exit status, and the native run exits 0;
  * stdout byte-identical (sha256);
  * stats: every contract key present; limit_bytes as asked; pswpout > 0
    (it really paged); resident_peak_bytes <= limit_bytes;
  * the kernel-measured peak RSS under uswap is at most the limit plus
    max(64 MiB, limit/4) (shared libraries, the runtime's own tables), i.e.
    memory was really given back, not just accounted.

Workloads (--program):
  python  /usr/bin/python3 builds a dict of --entries str -> tuple entries,
          does lookups and a sorted-key digest, prints a checksum;
  sort    GNU sort on a generated ~--sort-mb MiB file of random lines, with
          -S large enough that the whole input is sorted in memory.
"""

import argparse
import os
import random
import base64
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uswaptest as ut  # noqa: E402

DICT_SCRIPT = r"""
import hashlib, sys
n = int(sys.argv[1])
def key(i):
    return "k%010d-%d" % ((i * 2654435761) % 4294967296, i)
d = {}
for i in range(n):
    k = key(i)
    d[k] = (i, (i * i) % 1000003)
acc = 0
for k, v in d.items():          # insertion order: deterministic
    acc = (acc * 31 + v[0] + v[1] + len(k)) % (1 << 61)
for i in range(0, n, 3):        # random-ish lookups across the table
    acc ^= d[key((i * 7919) % n)][1]
h = hashlib.sha256()
for k in sorted(d):
    h.update(k.encode())
print(len(d), acc, h.hexdigest())
"""


def make_sort_input(path, mb, seed=20240611):
    """Deterministic random lines of varied length (8..64 chars)."""
    rng = random.Random(seed)
    cuts = [17, 41, 29, 53, 8, 64, 36, 22, 47, 12, 33, 58]
    target = mb * ut.MIB
    written = 0
    with open(path, "wb", buffering=1 << 20) as f:
        while written < target:
            blob = base64.b64encode(rng.randbytes(3 * 1024 * 64))
            lines, pos, c = [], 0, 0
            while pos + 64 <= len(blob):
                n = cuts[c % len(cuts)]
                lines.append(blob[pos:pos + n])
                pos += n
                c += 1
            chunk = b"\n".join(lines) + b"\n"
            f.write(chunk)
            written += len(chunk)
    return written


def workload(args, wd):
    if args.program == "python":
        py = args.python or shutil.which("python3", path="/usr/bin") or sys.executable
        script = wd.join("bigdict.py")
        with open(script, "w") as f:
            f.write(DICT_SCRIPT)
        return [py, "-I", script, str(args.entries)], {"PYTHONHASHSEED": "0"}
    if args.program == "sort":
        sort = shutil.which("sort")
        if not sort:
            raise ut.TestSkip("sort not found")
        src = wd.join("lines.txt")
        n = make_sort_input(src, args.sort_mb)
        ut.log(f"generated {ut.fmt_bytes(n)} of input lines")
        # -S as a size well above the input: GNU sort then keeps it all in
        # one in-memory buffer (no temporary files).
        return [sort, "-S", f"{4 * args.sort_mb}M", "-T", wd.path, src], {"LC_ALL": "C"}
    raise ut.TestFailure(f"unknown program {args.program}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", choices=("python", "sort"), required=True)
    ap.add_argument("--python", default=None, help="interpreter for the dict workload")
    ap.add_argument("--entries", type=int, default=2000000)
    ap.add_argument("--sort-mb", type=int, default=120)
    ap.add_argument("--timeout", type=int, default=400)
    args = ap.parse_args()

    with ut.Workdir(f"real-{args.program}") as wd:
        cmd, env = workload(args, wd)

        native = ut.run(cmd, workdir=wd, tag=f"{args.program}-native", env=env,
                        timeout=args.timeout)
        ut.check(native.returncode == 0,
                 f"native run failed ({ut.status_text(native.returncode)}); "
                 "nothing to compare against")
        native_sha = ut.sha256_file(native.stdout_path)
        native_size = os.path.getsize(native.stdout_path)
        ut.check(native_size > 0, "native run printed nothing")

        limit_kib = native.maxrss_bytes // 1024 // 2
        limit = f"{limit_kib}K"
        limit_bytes = limit_kib * 1024
        ut.log(f"native peak RSS {ut.fmt_bytes(native.maxrss_bytes)} -> limit "
               f"{limit} ({ut.fmt_bytes(limit_bytes)}); native output "
               f"{native_size} bytes sha256 {native_sha[:16]}")

        stats_path = wd.join("stats.json")
        under = ut.run(ut.uswap_cmd(args.uswap, limit, cmd, stats=stats_path),
                       workdir=wd, tag=f"{args.program}-uswap", env=env,
                       timeout=args.timeout, stats_path=stats_path)
        if under.stats is not None:
            ut.log(f"stats: {ut.summarize_stats(under.stats)}")
        ut.log(f"time native {native.elapsed:.1f}s, under uswap "
               f"{under.elapsed:.1f}s; peak RSS native "
               f"{ut.fmt_bytes(native.maxrss_bytes)}, under uswap "
               f"{ut.fmt_bytes(under.maxrss_bytes)}")

        ut.check(under.returncode == native.returncode,
                 f"under uswap: {ut.status_text(under.returncode)}, natively "
                 f"{ut.status_text(native.returncode)}")
        under_sha = ut.sha256_file(under.stdout_path)
        ut.check(under_sha == native_sha,
                 f"output differs: native {native_size} bytes sha256 "
                 f"{native_sha}, under uswap "
                 f"{os.path.getsize(under.stdout_path)} bytes sha256 {under_sha}")
        ut.log("ok: output byte-identical")

        stats = ut.require_stats(under, args.program)
        ut.check(stats["limit_bytes"] == limit_bytes,
                 f"limit_bytes={stats['limit_bytes']}, expected {limit_bytes}")
        ut.check_expr(stats, "swapout>0")
        ut.check_expr(stats, "resident_peak_bytes<=limit_bytes")
        ut.log("ok: swapout>0, resident_peak_bytes<=limit_bytes")

        slack = max(64 * ut.MIB, limit_bytes // 4)
        ut.check(under.maxrss_bytes <= limit_bytes + slack,
                 f"kernel peak RSS under uswap {ut.fmt_bytes(under.maxrss_bytes)} "
                 f"> limit {ut.fmt_bytes(limit_bytes)} + {ut.fmt_bytes(slack)} "
                 f"(native {ut.fmt_bytes(native.maxrss_bytes)})")
        ut.log("ok: kernel peak RSS within limit + slack")


if __name__ == "__main__":
    ut.main_wrapper(main)
