#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""--compress-pool auto, checked by the counters.

  pool_check.py --uswap build/uswap --program build/tests/workingset/cluster_ra CASE

auto_text    24 MiB of text that compresses ~30x, read in address order 6 times
             under 16M (every page refaults at the same distance, which the
             pool covers): the pool keeps a share (zswap_pool_max_bytes > 0),
             serves the refaults (zswpin >= 90% of them) and nothing is read
             from the swap file.
auto_random  the same with random bytes, which the pool refuses: auto steps
             the share down to 0 (zswap_auto_shrink >= 4, zswap_pool_max_bytes
             0 at exit), so later evictions skip the compression.
             With a fixed share (--compress-pool 0.125) the share stays.
Every run's output must equal the native run's.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

LIMIT = "16M"
KEYS = ("pgmajfault", "zswpin", "pswpin", "zswpout", "zswap_reject_compress_poor",
        "zswap_pool_max_bytes", "zswap_auto_grow", "zswap_auto_shrink")


def run(args, wd, tag, prog_args, extra):
    stats = wd.join(f"{tag}.json")
    cmd = ut.uswap_cmd(args.uswap, LIMIT, [args.program] + prog_args, stats=stats, extra=extra)
    res = ut.run(cmd, workdir=wd, tag=tag, stats_path=stats, timeout=300)
    ut.check(res.returncode == 0, f"[{tag}] exit status {ut.status_text(res.returncode)}")
    ut.require_stats(res, tag)
    ut.log(f"[{tag}] " + " ".join(f"{k} {res.stats[k]}" for k in KEYS))
    return res


def native(args, wd, prog_args):
    res = ut.run([args.program] + prog_args, workdir=wd, tag="native")
    ut.check(res.returncode == 0, f"[native] exit status {ut.status_text(res.returncode)}")
    return res.stdout_bytes()


def case_auto_text(args, wd):
    prog = ["cycle-text", "24", "6", "1"]
    want = native(args, wd, prog)
    res = run(args, wd, "auto", prog, ["--compress-pool", "auto"])
    ut.check(res.stdout_bytes() == want, "output differs from the native run")
    s = res.stats
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
    ap.add_argument("case", choices=["auto_text", "auto_random"])
    args = ap.parse_args()
    with ut.Workdir(args.case) as wd:
        globals()["case_" + args.case](args, wd)


if __name__ == "__main__":
    ut.main_wrapper(main)
