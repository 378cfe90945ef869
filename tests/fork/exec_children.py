#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""exec_children: programs exec'd by a managed program.

--part managed
  baseline   exec_probe started directly (LD_PRELOAD + USWAP_* only, no CLI):
             managed, and how many runtime-like descriptors (swap file,
             userfaultfd, io_uring, eventfd) a runtime of its own holds;
             natively it must hold none; started by the CLI no more than
             the baseline (the CLI's own probes of userfaultfd and the swap
             location must not leak into the program).
  spawned    `uswap --stats S -- exec_probe parent` pages its own memory,
             then starts the probe by fork+execv, posix_spawn and system():
             each probe must find libuswap.so in its /proc/self/maps, share
             no descriptor with its parent (kcmp), hold none on the
             parent's swap inode, and no more runtime-like descriptors of
             any kind than the baseline. Each probe pages 64 MiB under the
             32 MiB limit, and their counters must reach the top process's
             stats: "children": processes >= 3 and pswpout more than two
             probes' worth.
  exec       the top program execv()s the probe in place: same checks
             (minus kcmp: its starter is gone), and the stats file is still
             written by the (now exec'd) top process.
--part no-children / no-children-env
  The same with `--no-children` (CLI) or USWAP_NO_CHILDREN=1 (LD_PRELOAD
  route): the top program is managed (libuswap mapped, pages, stats with
  pswpout > 0) but every started program is not: no libuswap in its maps,
  no LD_PRELOAD entry naming it, no runtime-like descriptor at all, and
  "children": processes == 0.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forktest as ft  # noqa: E402
from forktest import ut  # noqa: E402

LIMIT = "32M"
PROBE_MB = 64
PAGES_PER_PROBE = (PROBE_MB - 32) * ut.MIB // 4096  # at least this many written out


class Cases:
    def __init__(self, a, wd):
        self.a = a
        self.wd = wd
        self.failures = []
        self.n = 0

    def fail(self, msg):
        ut.log(f"FAIL {msg}")
        self.failures.append(msg)

    def run(self, tag, cmd, env=None, stats=False):
        self.n += 1
        stats_path = self.wd.join(f"stats-{self.n}.json") if stats else None
        res = ut.run(cmd, workdir=self.wd, tag=tag, env=env, timeout=120,
                     stats_path=stats_path)
        res.out = res.stdout_bytes().decode(errors="replace")
        for line in res.out.splitlines():
            ut.log(f"[{tag}] stdout: {line}")
        if res.stats is not None:
            ut.log(f"[{tag}] stats: {ut.summarize_stats(res.stats)}")
            ut.log(f"[{tag}] stats children: {res.stats.get('children')}")
        res.stats_path = stats_path
        res.probes = ft.parse_probes(res.out)
        if res.returncode != 0:
            self.fail(f"[{tag}] {ut.status_text(res.returncode)}, expected exit 0")
        return res

    def cli(self, args, extra=()):
        return [self.a.uswap, "--limit", LIMIT] + list(extra) + ["--"] + list(args)

    def env_only(self, stats_path=None, extra=None):
        env = ut.preload_env(self.a.preload, LIMIT, stats=stats_path)
        env.update(extra or {})
        return env

    def probe_args(self, tag, expect):
        return [self.a.probe, "probe", "--tag", tag, "--expect-managed", str(expect),
                "--mb", str(PROBE_MB)]

    def parent_args(self, how, expect_child, mb):
        return [self.a.probe, "parent", "--probe", self.a.probe, "--how", how,
                "--mb", str(mb), "--probe-mb", str(PROBE_MB), "--self-managed", "1",
                "--expect-child-managed", str(expect_child)]

    def check_probe(self, tag, res, want_tags, managed, baseline=None):
        for t in want_tags:
            p = res.probes.get(t)
            if not p:
                self.fail(f"[{tag}] no report from the probe started by {t}")
                continue
            if p["managed"] != managed:
                self.fail(f"[{tag}] probe started by {t}: managed={p['managed']}, "
                          f"expected {managed}")
            if p["leaks"]:
                self.fail(f"[{tag}] probe started by {t}: {p['leaks']} leaked descriptors "
                          f"(see its LEAK lines)")
            if not managed and p["ld"]:
                self.fail(f"[{tag}] probe started by {t}: LD_PRELOAD still names libuswap")
            for k in ft.FD_KINDS:
                for field in (k, k + "0"):
                    limit = baseline[field] if baseline else 0
                    if p[field] > limit:
                        self.fail(f"[{tag}] probe started by {t} holds {p[field]} {k} "
                                  f"descriptor(s) ({'at start' if field.endswith('0') else 'at end'})"
                                  f", a runtime of its own holds {limit}: inherited")

    def baseline(self):
        res = self.run("native-probe", self.probe_args("native", 0))
        self.check_probe("native-probe", res, ["native"], 0)

        res = self.run("baseline", self.probe_args("baseline", 1), env=self.env_only())
        base = res.probes.get("baseline")
        ut.check(base, "the directly started probe printed no report")
        self.check_probe("baseline", res, ["baseline"], 1, baseline=base)
        ut.log("baseline: a runtime of its own holds " + ", ".join(
            f"{k}={base[k]} (at start {base[k + '0']})" for k in ft.FD_KINDS))
        if not base["uffd"]:
            self.fail("the directly started (managed) probe holds no userfaultfd: "
                      "cannot tell its own descriptors from leaked ones")

        res = self.run("cli-probe", self.cli(self.probe_args("cli", 1)))
        self.check_probe("cli-probe", res, ["cli"], 1, baseline=base)
        return base

    def check_children(self, tag, res, min_processes, min_pswpout):
        if res.stats is None:
            self.fail(f"[{tag}] {res.stats_error}")
            return
        try:
            ut.require_stats(res, tag)
            ch = ft.require_children(res.stats, tag)
        except ut.TestFailure as e:
            self.fail(str(e))
            return
        if min_processes == 0:
            if ch.get("processes", 0) != 0:
                self.fail(f"[{tag}] children.processes={ch['processes']}, but no started "
                          f"program was managed")
            return
        if ch["processes"] < min_processes:
            self.fail(f"[{tag}] children.processes={ch['processes']}, expected at least "
                      f"{min_processes} (one per probe)")
        if ch.get("swapout", 0) < min_pswpout:
            self.fail(f"[{tag}] children.swapout={ch.get('swapout')}, expected at least "
                      f"{min_pswpout}: the probes' own swap-outs did not all arrive")

    def managed(self):
        base = self.baseline()
        hows = ["fork-exec", "posix-spawn", "system"]
        res = self.run("spawned", self.cli(self.parent_args(",".join(hows), 1, 16),
                                           extra=["--stats", self.wd.join("s-spawned.json")]))
        res.stats, res.stats_error = ut.load_stats(self.wd.join("s-spawned.json"))
        ut.log(f"[spawned] stats children: {res.stats and res.stats.get('children')}")
        self.check_probe("spawned", res, hows, 1, baseline=base)
        self.check_children("spawned", res, len(hows), 2 * PAGES_PER_PROBE + 1)

        s = self.wd.join("s-exec.json")
        res = self.run("exec", self.cli(self.parent_args("exec", 1, 16), extra=["--stats", s]))
        res.stats, res.stats_error = ut.load_stats(s)
        self.check_probe("exec", res, ["exec"], 1, baseline=base)
        if res.stats is None:
            self.fail(f"[exec] {res.stats_error} (the exec'd program is the top process)")
        elif res.stats.get("swapout", 0) <= 0:
            self.fail(f"[exec] stats swapout={res.stats.get('swapout')}: the exec'd top "
                      f"program paged {PROBE_MB} MiB under {LIMIT} yet its counters are missing")

    def no_children(self, via_env):
        hows = ["fork-exec", "posix-spawn", "system"]
        name = "no-children-env" if via_env else "no-children"
        for part, how in (("spawned", ",".join(hows)), ("exec", "exec")):
            tag = f"{name}-{part}"
            s = self.wd.join(f"s-{tag}.json")
            args = self.parent_args(how, 0, 64)
            if via_env:
                res = self.run(tag, args, env=self.env_only(s, {"USWAP_NO_CHILDREN": "1"}))
            else:
                res = self.run(tag, self.cli(args, extra=["--no-children", "--stats", s]))
            self.check_probe(tag, res, how.split(","), 0)
            if part == "exec":
                continue  # the top process itself became the unmanaged probe
            res.stats, res.stats_error = ut.load_stats(s)
            if res.stats is None:
                self.fail(f"[{tag}] {res.stats_error}: the top program must stay managed")
                continue
            if res.stats.get("swapout", 0) <= 0:
                self.fail(f"[{tag}] top stats swapout={res.stats.get('swapout')}: the top "
                          f"program (64 MiB under {LIMIT}) did not page")
            self.check_children(tag, res, 0, 0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--probe", required=True, help="exec_probe binary")
    ap.add_argument("--part", choices=("managed", "no-children", "no-children-env"),
                    required=True)
    a = ap.parse_args()
    with ut.Workdir("exec-children") as wd:
        c = Cases(a, wd)
        if a.part == "managed":
            c.managed()
        else:
            c.no_children(a.part == "no-children-env")
        ut.check(not c.failures, f"{len(c.failures)} check(s) failed:\n  "
                 + "\n  ".join(c.failures))


if __name__ == "__main__":
    ut.main_wrapper(main)
