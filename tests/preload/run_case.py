#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run one program under uswap and check its exit status and stats.

  run_case.py --uswap build/uswap --limit 32M \
      --assert 'swapout>0' --assert 'resident_peak_bytes<=limit_bytes' \
      -- build/tests/preload/page_integrity --mb 320

With --env-only the CLI is not used: the program runs with
LD_PRELOAD=<--preload> USWAP_LIMIT=<--limit> USWAP_STATS=<tmp>.

Checks, in order: the exit status (--expect-exit, default 0; a program
exiting 77 makes the case a skip), the stats file exists, is a JSON object
and holds every INTERFACE.md key as an integer, limit_bytes equals --limit,
stdout matches --expect-stdout, the "children" object is there (--children),
every --assert holds (keys may be nested: 'children.processes>=1'), and
(with --max-rss-over-limit) the kernel's peak RSS (wait4: the process and
every descendant it waited for) is at most limit + that slack.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uswaptest as ut  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", help="path to the uswap CLI")
    ap.add_argument("--preload", help="path to libuswap.so (for --env-only)")
    ap.add_argument("--env-only", action="store_true",
                    help="run via LD_PRELOAD + USWAP_* instead of the CLI")
    ap.add_argument("--limit", required=True, help="SIZE for --limit/USWAP_LIMIT")
    ap.add_argument("--uswap-arg", action="append", default=[],
                    help="extra CLI argument (repeat; use --uswap-arg=--track)")
    ap.add_argument("--env", action="append", default=[],
                    help="extra NAME=VALUE for the program's environment")
    ap.add_argument("--expect-exit", type=int, default=0)
    ap.add_argument("--assert", dest="asserts", action="append", default=[],
                    help="stats condition, e.g. 'swapout>0'")
    ap.add_argument("--children", action="store_true",
                    help='require the stats "children" object (descendants)')
    ap.add_argument("--expect-stdout", default=None,
                    help="REGEX the program's stdout must match")
    ap.add_argument("--max-rss-over-limit", default=None,
                    help="SIZE: peak RSS may exceed the limit by at most this")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--tag", default=None)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.cmd and a.cmd[0] == "--":
        a.cmd = a.cmd[1:]
    if not a.cmd:
        ap.error("missing command after --")
    if a.env_only and not a.preload:
        ap.error("--env-only needs --preload")
    if not a.env_only and not a.uswap:
        ap.error("--uswap is required without --env-only")
    for expr in a.asserts:  # reject typos before running anything
        if not ut.is_valid_expr(expr):
            ap.error(f"bad --assert {expr!r}")
    return a


def main():
    a = parse_args()
    tag = a.tag or os.path.basename(a.cmd[0])
    limit_bytes = ut.parse_size(a.limit)

    with ut.Workdir(tag) as wd:
        stats_path = wd.join("stats.json")
        extra_env = dict(kv.split("=", 1) for kv in a.env)
        if a.env_only:
            env = ut.preload_env(a.preload, a.limit, stats=stats_path)
            env.update(extra_env)
            cmd = a.cmd
        else:
            env = extra_env
            cmd = ut.uswap_cmd(a.uswap, a.limit, a.cmd, stats=stats_path,
                               extra=a.uswap_arg)
        res = ut.run(cmd, workdir=wd, tag=tag, env=env, timeout=a.timeout,
                     stats_path=stats_path)
        out = res.stdout_bytes().decode(errors="replace")
        if out:
            for line in out.splitlines()[-20:]:
                ut.log(f"[{tag}] stdout: {line}")
        if res.stats is not None:
            ut.log(f"[{tag}] stats: {ut.summarize_stats(res.stats)}")
            if "children" in res.stats:
                ut.log(f"[{tag}] stats children: {res.stats['children']}")

        if res.returncode == ut.EXIT_SKIP and a.expect_exit != ut.EXIT_SKIP:
            raise ut.TestSkip(f"{tag} skipped itself")
        ut.check(res.returncode == a.expect_exit,
                 f"[{tag}] {ut.status_text(res.returncode)}, expected exit "
                 f"{a.expect_exit}")

        stats = ut.require_stats(res, tag)
        ut.check(stats["limit_bytes"] == limit_bytes,
                 f"[{tag}] limit_bytes={stats['limit_bytes']}, "
                 f"expected {limit_bytes} ({a.limit})")
        if a.expect_stdout:
            ut.check(re.search(a.expect_stdout, out, re.M),
                     f"[{tag}] stdout does not match {a.expect_stdout!r}")
        if a.children:
            ut.require_children(stats, tag)
        ut.check_exprs(stats, a.asserts, tag)  # reports every one that fails

        if a.max_rss_over_limit:
            slack = ut.parse_size(a.max_rss_over_limit)
            ut.check(res.maxrss_bytes <= limit_bytes + slack,
                     f"[{tag}] kernel peak RSS {ut.fmt_bytes(res.maxrss_bytes)} "
                     f"exceeds limit {ut.fmt_bytes(limit_bytes)} + slack "
                     f"{ut.fmt_bytes(slack)}")
            ut.log(f"[{tag}] ok: peak RSS {ut.fmt_bytes(res.maxrss_bytes)} <= "
                   f"limit + {ut.fmt_bytes(slack)}")
        ut.log(f"[{tag}] elapsed {res.elapsed:.1f}s")


if __name__ == "__main__":
    ut.main_wrapper(main)
