#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run one tests/fork program under uswap and check status, stats and RSS.

  fork_case.py --uswap build/uswap --limit 32M \
      --assert 'pswpout>0' --assert 'children.processes>=1' \
      --max-rss-over-limit 64M -- build/tests/fork/fork_pages basic

As tests/preload/run_case.py, plus: assertions may name nested keys
(children.processes), --children requires the "children" object,
--env-only runs through LD_PRELOAD + USWAP_* without the CLI, and
--expect-stdout REGEX must match the program's output. The peak RSS
(wait4) covers the program and every descendant it waited for, so
--max-rss-over-limit bounds forked children too.
"""

import argparse
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forktest as ft  # noqa: E402
from forktest import ut  # noqa: E402


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap")
    ap.add_argument("--preload")
    ap.add_argument("--env-only", action="store_true")
    ap.add_argument("--limit", required=True)
    ap.add_argument("--uswap-arg", action="append", default=[])
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--expect-exit", type=int, default=0)
    ap.add_argument("--assert", dest="asserts", action="append", default=[])
    ap.add_argument("--children", action="store_true",
                    help='require the stats "children" object')
    ap.add_argument("--max-rss-over-limit", default=None)
    ap.add_argument("--expect-stdout", default=None)
    ap.add_argument("--timeout", type=int, default=120)
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
    for expr in a.asserts:
        if not ft.is_valid_expr(expr):
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
            cmd = ut.uswap_cmd(a.uswap, a.limit, a.cmd, stats=stats_path, extra=a.uswap_arg)
        res = ut.run(cmd, workdir=wd, tag=tag, env=env, timeout=a.timeout,
                     stats_path=stats_path)
        out = res.stdout_bytes().decode(errors="replace")
        for line in out.splitlines()[-20:]:
            ut.log(f"[{tag}] stdout: {line}")
        if res.stats is not None:
            ut.log(f"[{tag}] stats: {ut.summarize_stats(res.stats)}")
            ut.log(f"[{tag}] stats children: {res.stats.get('children')}")

        if res.returncode == ut.EXIT_SKIP and a.expect_exit != ut.EXIT_SKIP:
            raise ut.TestSkip(f"{tag} skipped itself")
        ut.check(res.returncode == a.expect_exit,
                 f"[{tag}] {ut.status_text(res.returncode)}, expected exit {a.expect_exit}")
        if a.expect_stdout:
            ut.check(re.search(a.expect_stdout, out, re.M),
                     f"[{tag}] stdout does not match {a.expect_stdout!r}")

        stats = ut.require_stats(res, tag)
        ut.check(stats["limit_bytes"] == limit_bytes,
                 f"[{tag}] limit_bytes={stats['limit_bytes']}, expected {limit_bytes}")
        if a.children:
            ft.require_children(stats, tag)
        failed = []
        for expr in a.asserts:
            try:
                ft.check_expr(stats, expr)
                ut.log(f"[{tag}] ok: {expr}")
            except ut.TestFailure as e:
                ut.log(f"[{tag}] FAIL: {e}")
                failed.append(str(e))
        ut.check(not failed, "; ".join(failed))

        if a.max_rss_over_limit:
            slack = ut.parse_size(a.max_rss_over_limit)
            ut.check(res.maxrss_bytes <= limit_bytes + slack,
                     f"[{tag}] peak RSS of the process tree {ut.fmt_bytes(res.maxrss_bytes)} "
                     f"exceeds limit {ut.fmt_bytes(limit_bytes)} + {ut.fmt_bytes(slack)}")
            ut.log(f"[{tag}] ok: peak RSS {ut.fmt_bytes(res.maxrss_bytes)} <= limit + "
                   f"{ut.fmt_bytes(slack)}")
        ut.log(f"[{tag}] elapsed {res.elapsed:.1f}s")


if __name__ == "__main__":
    ut.main_wrapper(main)
