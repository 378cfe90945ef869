#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Split LRUs, swappiness and refault activation, checked by the counters.

  lists_check.py --uswap build/uswap --program build/tests/workingset/mixed_lists CASE

balance60   a hot anon set and a file 3x the limit read in passes, at the
            default swappiness: file pages are reclaimed, anon ones are not
            (pgsteal_file >= 100 x anon pages swapped out or dropped).
balance200  the same at swappiness 200: anon goes first (more anon pages
            reclaimed than file pages).
balance0    swappiness 0: anon is never reclaimed while file pages exist.
thrash      mixed_lists thrash with --refault-activate on and off: with it
            the program reads at most 2/3 of the file pages it reads
            without it (pgpgin); both counts are printed.
Every run's output must equal the native run's (checksums of what was read).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

LIMIT = "32M"
BALANCE = ["96", "12"]


def run(args, wd, tag, prog_args, extra):
    return ut.run_uswap(args.uswap, LIMIT, [args.program] + prog_args, workdir=wd, tag=tag,
                        extra=extra)


def native(args, wd, prog_args):
    return ut.run_native([args.program] + prog_args, workdir=wd)


def balance(args, wd, swappiness, passes):
    prog = ["balance", wd.path] + BALANCE + [str(passes)]
    want = native(args, wd, prog)
    res = run(args, wd, f"swappiness{swappiness}", prog, ["--swappiness", str(swappiness)])
    ut.check(res.stdout_bytes() == want, "output differs from the native run")
    s = res.stats
    anon = s["pgsteal_anon"] - s["pgsteal_zero"]
    ut.log(f"swappiness {swappiness}: pgsteal_file {s['pgsteal_file']} pgsteal_anon {anon} "
           f"swapout {s['swapout']} pgpgin {s['pgpgin']}")
    ut.check(s["pgpgin"] > 0 and s["file_maps_managed"] >= 1, "the file mapping was not managed")
    return s, anon


def case_balance60(args, wd):
    s, anon = balance(args, wd, 60, 3)
    ut.check(s["pgsteal_file"] > 0, "no file page was reclaimed")
    ut.check(s["pgsteal_file"] >= 100 * max(anon, s["swapout"]),
             "anon pages were reclaimed as much as file pages at swappiness 60")


def case_balance200(args, wd):
    s, anon = balance(args, wd, 200, 1)
    ut.check(anon > s["pgsteal_file"], "at swappiness 200 anon was not reclaimed first")


def case_balance0(args, wd):
    s, anon = balance(args, wd, 0, 2)
    ut.check(s["pgsteal_file"] > 0 and anon == 0 and s["swapout"] == 0,
             "anon pages were reclaimed at swappiness 0 while file pages were there")


def case_thrash(args, wd):
    # 22 MiB sets under 32M: without activation, deactivation of the stale
    # A (inactive below active) lets B settle only after about six passes
    # on this tree and the last; with 20 MiB sets it settled after three,
    # too close to the activated run to tell them apart.
    prog = ["thrash", wd.path, "22", "8"]
    want = native(args, wd, prog)
    reads = {}
    for mode in ("on", "off"):
        res = run(args, wd, f"activate-{mode}", prog, ["--refault-activate", mode])
        ut.check(res.stdout_bytes() == want, "output differs from the native run")
        reads[mode] = res.stats["pgpgin"]
        ut.log(f"refault activation {mode}: pgpgin {res.stats['pgpgin']} pgmajfault "
               f"{res.stats['pgmajfault']} workingset_activate_file "
               f"{res.stats['workingset_activate_file']}")
    ut.check(reads["on"] * 3 <= reads["off"] * 2,
             f"refault activation did not cut the thrashing: {reads['on']} vs {reads['off']} pages read")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("case", choices=["balance60", "balance200", "balance0", "thrash"])
    args = ap.parse_args()
    with ut.Workdir(args.case) as wd:
        globals()["case_" + args.case](args, wd)


if __name__ == "__main__":
    ut.main_wrapper(main)
