#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""exit_status: the program's exit status and death by signal pass through.

INTERFACE.md: the CLI exec()s the command (same pid), so its status is the
program's own. --part status:
  exit codes      sh -c 'exit N' for N in 0 1 3 255 -> N;
  same pid        sh -c 'echo $$' prints the pid the driver spawned;
  SIGTERM         sh -c 'kill -TERM $$' -> WIFSIGNALED, SIGTERM;
  SIGTERM via sh  an outer shell sees $? = 143 (128+15);
  SIGTERM/SIGKILL while paging
                  page_integrity mid-run (threads blocked on swap-in)
                  dies of the signal within 15 s, no hang;
  out of memory   a swap file too small for the footprint: "uswap: out of
                  memory" on stderr and death by SIGKILL (137 in a shell).
--part stats: the stats file is written "at program exit" (INTERFACE.md),
  with the right limit_bytes and every contract key:
  exit()          /bin/false (exit status 1), bash -c 'exit 3', and a C
                  program returning from main;
  _exit()         dash's `exit` builtin ends the shell with _exit(2), as
                  many programs (and every forked child) do; the stats must
                  not depend on atexit handlers running.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uswaptest as ut  # noqa: E402


class Cases:
    def __init__(self, args, wd):
        self.a = args
        self.wd = wd
        self.failures = []
        self.nr_runs = 0

    def record(self, name, problem):
        if problem:
            self.failures.append(f"{name}: {problem}")
            ut.log(f"FAIL {name}: {problem}")
        else:
            ut.log(f"ok   {name}")

    def popen(self, cmd, **kw):
        env = dict(os.environ, TMPDIR=self.wd.path)
        return subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def wait(self, p, timeout):
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return None, out, err
        return p.returncode, out, err

    def exit_codes(self):
        for n in (0, 1, 3, 255):
            p = self.popen(ut.uswap_cmd(self.a.uswap, "64M", ["sh", "-c", f"exit {n}"]))
            rc, _, err = self.wait(p, 30)
            self.record(f"sh -c 'exit {n}'",
                        None if rc == n else
                        f"{ut.status_text(rc)}, expected exit {n}; stderr={err[-300:]!r}")

    def stats_written(self, name, cmd, want_rc):
        self.nr_runs += 1
        stats_path = self.wd.join(f"stats-{self.nr_runs}.json")
        p = self.popen(ut.uswap_cmd(self.a.uswap, "64M", cmd, stats=stats_path))
        rc, _, err = self.wait(p, 60)
        problem = None
        if rc != want_rc:
            problem = f"{ut.status_text(rc)}, expected exit {want_rc}; stderr={err[-300:]!r}"
        else:
            res = ut.Result()
            res.stats, res.stats_error = ut.load_stats(stats_path)
            try:
                stats = ut.require_stats(res, name)
                ut.check(stats["limit_bytes"] == 64 * ut.MIB,
                         f"limit_bytes={stats['limit_bytes']}, expected {64 * ut.MIB}")
            except ut.TestFailure as e:
                problem = str(e)
        self.record(name, problem)

    def stats_at_exit(self):
        self.stats_written("stats after exit(): /bin/false", ["/bin/false"], 1)
        if shutil.which("bash"):
            self.stats_written("stats after exit(): bash -c 'exit 3'",
                               ["bash", "-c", "exit 3"], 3)
        self.stats_written("stats after return from main (C program)",
                           [self.a.program, "--mb", "8", "--threads", "2",
                            "--ops", "100"], 0)
        self.stats_written("stats after _exit(): sh (dash) -c 'exit 3'",
                           ["sh", "-c", "exit 3"], 3)

    def same_pid(self):
        p = self.popen(ut.uswap_cmd(self.a.uswap, "64M", ["sh", "-c", "echo $$"]))
        rc, out, err = self.wait(p, 30)
        shown = out.decode(errors="replace").strip()
        problem = None
        if rc != 0:
            problem = f"{ut.status_text(rc)}; stderr={err[-300:]!r}"
        elif shown != str(p.pid):
            problem = f"program pid {shown!r} != spawned pid {p.pid} (CLI did not exec)"
        self.record("same pid (exec)", problem)

    def sigterm(self):
        p = self.popen(ut.uswap_cmd(self.a.uswap, "64M", ["sh", "-c", "kill -TERM $$"]))
        rc, _, err = self.wait(p, 30)
        self.record("SIGTERM -> WIFSIGNALED(SIGTERM)",
                    None if rc == -signal.SIGTERM
                    else f"{ut.status_text(rc)}; stderr={err[-300:]!r}")

        script = '"$0" --limit 64M -- sh -c \'kill -TERM $$\'; echo "status=$?"'
        p = self.popen(["sh", "-c", script, self.a.uswap])
        rc, out, err = self.wait(p, 30)
        got = out.decode(errors="replace").strip()
        self.record("SIGTERM seen by a shell as 143",
                    None if rc == 0 and got == "status=143"
                    else f"outer shell printed {got!r} ({ut.status_text(rc)}); "
                         f"stderr={err[-300:]!r}")

    def signal_while_paging(self, sig):
        name = f"{signal.Signals(sig).name} while paging"
        stats_path = self.wd.join("stats-sig.json")
        p = self.popen(ut.uswap_cmd(self.a.uswap, "32M",
                                    [self.a.program, "--mb", "320", "--ops", "400000"],
                                    stats=stats_path))
        time.sleep(2.5)
        if p.poll() is not None:
            _, err = p.communicate()
            self.record(name, f"program ended before the signal: "
                        f"{ut.status_text(p.returncode)}; stderr={err[-300:]!r}")
            return
        t0 = time.monotonic()
        p.send_signal(sig)
        rc, _, err = self.wait(p, 15)
        dt = time.monotonic() - t0
        if rc is None:
            self.record(name, "did not die within 15 s of the signal (hang?)")
        elif rc != -sig:
            self.record(name, f"{ut.status_text(rc)} after {dt:.1f}s; "
                        f"stderr={err[-300:]!r}")
        else:
            ut.log(f"     died {dt:.2f}s after the signal")
            self.record(name, None)

    def out_of_memory(self):
        name = "out of memory (swap too small)"
        p = self.popen(ut.uswap_cmd(self.a.uswap, "16M",
                                    [self.a.program, "--mb", "128", "--threads", "1",
                                     "--ops", "1000"],
                                    extra=["--swap-size", "8M"]))
        rc, _, err = self.wait(p, 60)
        text = err.decode(errors="replace")
        problems = []
        if rc != -signal.SIGKILL:
            problems.append(f"{ut.status_text(rc)}, expected death by SIGKILL")
        if "uswap: out of memory" not in text:
            problems.append("no 'uswap: out of memory' line on stderr")
        self.record(name, "; ".join(problems) + f"; stderr={text[-400:]!r}"
                    if problems else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True, help="page_integrity binary")
    ap.add_argument("--part", choices=("status", "stats"), required=True)
    args = ap.parse_args()
    with ut.Workdir("exit-status") as wd:
        c = Cases(args, wd)
        if args.part == "status":
            c.exit_codes()
            c.same_pid()
            c.sigterm()
            c.signal_while_paging(signal.SIGTERM)
            c.signal_while_paging(signal.SIGKILL)
            c.out_of_memory()
        else:
            c.stats_at_exit()
    ut.check(not c.failures, f"{len(c.failures)} sub-case(s) failed:\n  "
             + "\n  ".join(c.failures))


if __name__ == "__main__":
    ut.main_wrapper(main)
