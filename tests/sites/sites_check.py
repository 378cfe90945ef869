#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Call-site attribution, asserted on a real run of sitesprog.c.

  sites_check.py --uswap build/uswap --program build/tests/sites/sitesprog CASE

attribution  --limit 24M, --sample-bytes 512K: a hot 8 MiB table,
             a 48 MiB cold log in 1 MiB chunks, 100000 strdup'ed names.
             The output equals the native run's. In "sites": the top site
             by evictions is alloc_cold_log (its "function" and its first
             frame "alloc_cold_log+0x.. (sitesprog)", a static function of
             a program not linked -rdynamic: resolved from .symtab); its
             estimated evictions are 0.5x..2x pgsteal_anon (it owns most of
             them); all sites' evictions add up to pgsteal_anon within 25%
             (each cold chunk is sampled with p = 0.86, so the estimate
             moves by ~6% between runs); alloc_hot_table is there with
             fewer evictions; the strdup site has __strdup (libc) as its
             first frame and alloc_small_names as its "function".
off          --sample-bytes 0: no samples and no sites.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402


def run(args, wd, tag, extra=()):
    stats = wd.join(f"{tag}.json")
    cmd = ut.uswap_cmd(args.uswap, "24M", [args.program], stats=stats, extra=extra)
    res = ut.run(cmd, workdir=wd, tag=tag, stats_path=stats, timeout=120)
    ut.check(res.returncode == 0, f"[{tag}] exit status {ut.status_text(res.returncode)}")
    ut.require_stats(res, tag)
    return res


def native(args, wd):
    res = ut.run([args.program], workdir=wd, tag="native", timeout=60)
    ut.check(res.returncode == 0, f"[native] exit status {ut.status_text(res.returncode)}")
    return res.stdout_bytes()


def by_function(sites, name):
    """The first (most evictions) site named name."""
    found = [s for s in sites if s["function"] == name]
    ut.check(found, f"no site with function {name}: {[s['function'] for s in sites]}")
    return found[0]


def case_attribution(args, wd):
    want = native(args, wd)
    res = run(args, wd, "sampled", extra=["--sample-bytes", "512K"])
    ut.check(res.stdout_bytes() == want, f"output differs from the native run: "
             f"{res.stdout_bytes()!r} vs {want!r}")
    st = res.stats
    ut.log(ut.summarize_stats(st))
    ut.check("sites" in st, "no \"sites\" in the stats")
    sites = st["sites"]
    ut.check(sites["sample_bytes"] == 512 * 1024, f"sample_bytes {sites['sample_bytes']}")
    ut.check(sites["samples"] > 0 and sites["sites"], "no samples")
    for s in sites["sites"]:
        ut.log(f"site {s['function']}: samples={s['samples']} alloc_bytes={s['alloc_bytes']} "
               f"faults={s['faults']} majfaults={s['majfaults']} evictions={s['evictions']} "
               f"refaults={s['refaults']} frames={s['frames'][:3]}")
        for k in ("alloc_bytes", "samples", "faults", "majfaults", "evictions", "refaults"):
            ut.check(isinstance(s[k], int) and s[k] >= 0, f"site {k} = {s[k]!r}")
    top = sites["sites"][0]
    steal = st["pgsteal_anon"]
    ut.check(steal > 4096, f"pgsteal_anon {steal}: the run did not page enough")
    ut.check(top["function"] == "alloc_cold_log",
             f"top site by evictions is {top['function']}, not alloc_cold_log")
    ut.check(top["frames"][0].startswith("alloc_cold_log+0x") and
             top["frames"][0].endswith(f"({os.path.basename(args.program)})"),
             f"first frame {top['frames'][0]!r}")
    ut.check(0.5 * steal <= top["evictions"] <= 2 * steal,
             f"alloc_cold_log evictions {top['evictions']} not within 0.5x..2x of "
             f"pgsteal_anon {steal}")
    # The cold log's real size is 48 MiB: its estimate within 25%.
    ut.check(0.75 * (48 << 20) <= top["alloc_bytes"] <= 1.25 * (48 << 20),
             f"alloc_cold_log alloc_bytes {top['alloc_bytes']}, not ~48 MiB")
    total = sum(s["evictions"] for s in sites["sites"])
    ut.check(0.75 * steal <= total <= 1.25 * steal,
             f"all sites' evictions {total} vs pgsteal_anon {steal}: off by more than 25%")
    hot = by_function(sites["sites"], "alloc_hot_table")
    ut.check(hot["evictions"] < top["evictions"],
             f"alloc_hot_table evictions {hot['evictions']} >= alloc_cold_log's {top['evictions']}")
    ut.check(abs(hot["alloc_bytes"] - (8 << 20)) < 4096,
             f"alloc_hot_table alloc_bytes {hot['alloc_bytes']}, not 8 MiB")
    dup = [s for s in sites["sites"] if "strdup" in s["frames"][0] and "(libc.so" in s["frames"][0]]
    ut.check(dup, "no site whose first frame is libc's strdup")
    ut.check(dup[0]["function"] == "alloc_small_names",
             f"the strdup site's function is {dup[0]['function']}, not alloc_small_names")
    ut.log(f"ok: alloc_cold_log {top['evictions']} of {steal} evictions, "
           f"alloc_hot_table {hot['evictions']}, all sites {total}")


def case_off(args, wd):
    res = run(args, wd, "off", extra=["--sample-bytes", "0"])
    sites = res.stats.get("sites")
    ut.check(sites is None or (not sites["samples"] and not sites["sites"]),
             f"sampling off, yet sites: {sites}")
    ut.log("ok: no sites with --sample-bytes 0")


CASES = ["attribution", "off"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("case", choices=CASES)
    args = ap.parse_args()
    with ut.Workdir("sites-" + args.case) as wd:
        globals()["case_" + args.case](args, wd)


if __name__ == "__main__":
    ut.main_wrapper(main)
