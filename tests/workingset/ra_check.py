#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Slot-cluster read-ahead, checked by the counters.

  ra_check.py --uswap build/uswap --program build/tests/workingset/cluster_ra CASE

cluster_same   64 MiB filled in a random page order under 16M, read back twice
               in that order (pages evicted together wanted together, at
               scattered addresses): with read-ahead (default --swap-cluster)
               at least half the pages it reads ahead are touched, and it
               takes at most half the major faults of --swap-cluster 0.
cluster_other  the same pages read in fresh random orders: read-ahead finds no
               hit and stops (at most 5% of the major faults' pages read
               ahead from slot clusters).
The pool is off (--compress off): pages go to the swap file, where
read-ahead reads. Every run's output must equal the native run's.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

LIMIT = "16M"


def run(args, wd, tag, prog_args, extra):
    stats = wd.join(f"{tag}.json")
    cmd = ut.uswap_cmd(args.uswap, LIMIT, [args.program] + prog_args, stats=stats,
                       extra=["--compress", "off"] + extra)
    res = ut.run(cmd, workdir=wd, tag=tag, stats_path=stats, timeout=300)
    ut.check(res.returncode == 0, f"[{tag}] exit status {ut.status_text(res.returncode)}")
    ut.require_stats(res, tag)
    s = res.stats
    ut.log(f"[{tag}] pgmajfault {s['pgmajfault']} pswpin {s['pswpin']} swap_ra {s['swap_ra']} "
           f"swap_ra_hit {s['swap_ra_hit']} swap_ra_cluster {s['swap_ra_cluster']} "
           f"swap_ra_cluster_hit {s['swap_ra_cluster_hit']}")
    return res


def native(args, wd, prog_args):
    res = ut.run([args.program] + prog_args, workdir=wd, tag="native")
    ut.check(res.returncode == 0, f"[native] exit status {ut.status_text(res.returncode)}")
    return res.stdout_bytes()


def case_cluster_same(args, wd):
    prog = ["same", "64", "2", "7"]
    want = native(args, wd, prog)
    on = run(args, wd, "cluster", prog, [])
    off = run(args, wd, "nocluster", prog, ["--swap-cluster", "0"])
    for res in (on, off):
        ut.check(res.stdout_bytes() == want, "output differs from the native run")
    s, o = on.stats, off.stats
    ut.check(o["swap_ra_cluster"] == 0, "--swap-cluster 0 still read slot clusters")
    ut.check(s["swap_ra_cluster"] > 0, "no page was read ahead from a slot cluster")
    ut.check(s["swap_ra_cluster_hit"] * 2 >= s["swap_ra_cluster"],
             f"fewer than half the cluster read-ahead pages were touched: "
             f"{s['swap_ra_cluster_hit']} of {s['swap_ra_cluster']}")
    ut.check(s["pgmajfault"] * 2 <= o["pgmajfault"],
             f"read-ahead did not halve the major faults: {s['pgmajfault']} vs {o['pgmajfault']}")


def case_cluster_other(args, wd):
    prog = ["other", "64", "2", "7"]
    want = native(args, wd, prog)
    res = run(args, wd, "cluster", prog, [])
    ut.check(res.stdout_bytes() == want, "output differs from the native run")
    s = res.stats
    ut.check(s["pgmajfault"] > 10000, f"too few major faults to tell: {s['pgmajfault']}")
    ut.check(s["swap_ra_cluster"] * 20 <= s["pgmajfault"],
             f"random access still read ahead: {s['swap_ra_cluster']} pages for "
             f"{s['pgmajfault']} major faults")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("case", choices=["cluster_same", "cluster_other"])
    args = ap.parse_args()
    with ut.Workdir(args.case) as wd:
        globals()["case_" + args.case](args, wd)


if __name__ == "__main__":
    ut.main_wrapper(main)
