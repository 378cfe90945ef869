#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Swap-in policy: slot-cluster read-ahead and the pool's auto share, checked
by the counters.

  swapin_check.py --uswap build/uswap --program build/tests/workingset/cluster_ra CASE

cluster_same   64 MiB filled in a random page order under 16M, read back twice
               in that order (pages evicted together wanted together, at
               scattered addresses): with read-ahead (default --swap-cluster)
               at least half the pages it reads ahead are touched, and it
               takes at most half the major faults of --swap-cluster 0.
cluster_other  the same pages read in fresh random orders: read-ahead finds no
               hit and stops (at most 5% of the major faults' pages read
               ahead from slot clusters).
The read-ahead cases run with the pool off (--compress off): pages go to the
swap file, where read-ahead reads.
auto_text    24 MiB of text that compresses ~30x, read in address order 6 times
             under 16M (every page refaults at the same distance, which the
             pool covers): the pool keeps a share (zswap_pool_max_bytes > 0),
             serves the refaults (zswpin >= 90% of them).
auto_random  the same with random bytes, which the pool refuses: auto steps
             the share down to 0 (zswap_auto_shrink >= 4, zswap_pool_max_bytes
             0 at exit), so later evictions skip the compression.
             With a fixed share (--compress-pool 0.125) the share stays.
sweeps       64 MiB of random bytes filled in address order under 16M, then
             read from the last page to the first, twice (--compress off):
             eviction works in runs (pages armed at least 8 to a UFFDIO_MOVE,
             written at least 8 to a request, on average), and the falling
             stream is read ahead (at least 3 in 4 swap-ins are read-ahead
             pages, not major faults, and at most 1 in 2 traps as it is
             used: the stream's pages come unarmed; before the stream was
             found through cluster hits, every one did).
Every run's output must equal the native run's.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

LIMIT = "16M"
KEYS = ("pgmajfault", "pswpin", "zswpin", "zswpout", "swap_ra", "swap_ra_hit", "swap_ra_cluster",
        "swap_ra_cluster_hit", "zswap_reject_compress_poor", "zswap_pool_max_bytes",
        "zswap_auto_grow", "zswap_auto_shrink", "pgdeactivate", "pgdeactivate_moves", "pswpout",
        "pswpout_writes", "tracking_faults")


def run(args, wd, tag, prog_args, extra):
    res = ut.run_uswap(args.uswap, LIMIT, [args.program] + prog_args, workdir=wd, tag=tag,
                       extra=extra)
    ut.log(f"[{tag}] " + " ".join(f"{k} {res.stats[k]}" for k in KEYS))
    return res


def native(args, wd, prog_args):
    return ut.run_native([args.program] + prog_args, workdir=wd)


def run_matching(args, wd, tag, prog, extra):
    """One run under uswap whose output must equal the native run's: its counters."""
    want = native(args, wd, prog)
    res = run(args, wd, tag, prog, extra)
    ut.check(res.stdout_bytes() == want, "output differs from the native run")
    return res.stats


def case_cluster_same(args, wd):
    prog = ["same", "64", "2", "7"]
    want = native(args, wd, prog)
    on = run(args, wd, "cluster", prog, ["--compress", "off"])
    off = run(args, wd, "nocluster", prog, ["--compress", "off", "--swap-cluster", "0"])
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
    s = run_matching(args, wd, "cluster", ["other", "64", "2", "7"], ["--compress", "off"])
    ut.check(s["pgmajfault"] > 10000, f"too few major faults to tell: {s['pgmajfault']}")
    ut.check(s["swap_ra_cluster"] * 20 <= s["pgmajfault"],
             f"random access still read ahead: {s['swap_ra_cluster']} pages for "
             f"{s['pgmajfault']} major faults")


def case_sweeps(args, wd):
    s = run_matching(args, wd, "sweeps", ["cycle-down", "64", "2", "1"], ["--compress", "off"])
    ut.check(s["pswpout"] > 10000 and s["pswpin"] > 10000,
             f"too little paging to tell: {s['pswpout']} out, {s['pswpin']} in")
    # (part, k, whole): part may be at most 1/k of whole.
    for part, k, whole, what in (
            ("pgdeactivate_moves", 8, "pgdeactivate", "pages were not armed in runs"),
            ("pswpout_writes", 8, "pswpout", "swap writes were not merged"),
            ("pgmajfault", 4, "pswpin", "the falling stream was not read ahead"),
            ("tracking_faults", 2, "pswpin",
             "read-ahead pages trapped as they were used: the stream was not found")):
        ut.check(s[part] * k <= s[whole],
                 f"{what}: {part} {s[part]} for {whole} {s[whole]} (at most 1/{k} wanted)")


def case_auto_text(args, wd):
    s = run_matching(args, wd, "auto", ["cycle-text", "24", "6", "1"], ["--compress-pool", "auto"])
    refaults = s["zswpin"] + s["pswpin"]
    ut.check(refaults > 20000, f"too few refaults to tell: {refaults}")
    ut.check(s["zswap_pool_max_bytes"] > 0, "auto gave the pool no share for pages it serves")
    ut.check(s["zswpin"] * 10 >= refaults * 9,
             f"the pool served only {s['zswpin']} of {refaults} refaults")


def case_auto_random(args, wd):
    prog = ["cycle-random", "24", "6", "1"]
    want = native(args, wd, prog)
    res = run(args, wd, "auto", prog, ["--compress-pool", "auto"])
    fixed = run(args, wd, "fixed", prog, ["--compress-pool", "0.125"])
    for r in (res, fixed):
        ut.check(r.stdout_bytes() == want, "output differs from the native run")
    s, f = res.stats, fixed.stats
    ut.check(s["zswap_auto_shrink"] >= 4 and s["zswap_pool_max_bytes"] == 0,
             f"auto kept a share for pages that do not compress: "
             f"{s['zswap_pool_max_bytes']} bytes after {s['zswap_auto_shrink']} steps down")
    ut.check(f["zswap_pool_max_bytes"] == 2 * 1024 * 1024 and f["zswap_auto_shrink"] == 0,
             "a fixed share moved")
    ut.check(s["zswap_reject_compress_poor"] < f["zswap_reject_compress_poor"],
             "at a share of 0 the pool still tried to compress every page")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("case", choices=["cluster_same", "cluster_other", "sweeps", "auto_text",
                                        "auto_random"])
    args = ap.parse_args()
    with ut.Workdir(args.case) as wd:
        globals()["case_" + args.case](args, wd)


if __name__ == "__main__":
    ut.main_wrapper(main)
