#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The tests/file cases that need a process outside the managed program.

  file_cases.py --uswap build/uswap --limit 16M --case exit --exit-how _exit \\
      --program build/tests/file/shared_persist --assert 'pgpgout>0' -- --mb 64

  exit         `PROG exit --file F --exit-how HOW ARGS` writes through a
               MAP_SHARED mapping and ends without msync or munmap; then
               `PROG verify --file F ARGS` (natively, not under uswap) checks
               that the file holds every write
  kill         `PROG kill --file F ARGS` writes, msyncs, prints "synced" and
               goes on reading its mapping; after --linger seconds its
               process group gets SIGKILL, and `PROG verify --file F ARGS`
               checks that the file holds the synced bytes (--after: the
               program rewrote pages after the msync; those may hold either).
               --signal TERM --no-msync: no msync, "written", and SIGTERM
               (the default action: death by a signal, not exit); the file
               must hold every write. With --self-test, one byte of the
               file is then flipped and verify must fail. A program killed
               by a signal may leave no stats file: --assert is refused
  same-output  `ARGS` (a whole command) natively, then under uswap: both
               exit 0 and print the same stdout, byte for byte

Without --uswap the managed runs are native runs (the checkers' own test).
Stats checks as in tests/preload/run_case.py: every --assert must hold.
Exit codes: 0 pass, 1 fail, 77 skip.
"""

import argparse
import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

SYNCED_TIMEOUT = 120


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", help="the uswap CLI; without it, run natively")
    ap.add_argument("--limit", default="16M")
    ap.add_argument("--uswap-arg", action="append", default=[],
                    help="extra CLI argument (repeat; use --uswap-arg=--track)")
    ap.add_argument("--case", required=True, choices=["exit", "kill", "same-output"])
    ap.add_argument("--program", help="shared_persist (exit, kill)")
    ap.add_argument("--exit-how", default="return", choices=["return", "exit", "_exit"])
    ap.add_argument("--after", action="store_true", help="kill: rewrite after the msync")
    ap.add_argument("--no-msync", action="store_true", help="kill: no msync, no --after")
    ap.add_argument("--signal", default="KILL", choices=["KILL", "TERM"],
                    help="kill: the signal")
    ap.add_argument("--linger", type=float, default=2.0,
                    help="kill: seconds between the line and the signal")
    ap.add_argument("--self-test", action="store_true",
                    help="kill: a flipped byte in the file must fail verify")
    ap.add_argument("--assert", dest="asserts", action="append", default=[],
                    help="stats condition, e.g. 'pgpgout>0'")
    ap.add_argument("--timeout", type=int, default=150)
    ap.add_argument("args", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    if a.args and a.args[0] == "--":
        a.args = a.args[1:]
    if a.case in ("exit", "kill") and not a.program:
        ap.error(f"--case {a.case} needs --program")
    if a.case == "same-output" and not a.args:
        ap.error("--case same-output needs a command after --")
    if a.case == "same-output" and not a.uswap:
        ap.error("--case same-output compares with a uswap run: needs --uswap")
    if a.no_msync and a.after:
        ap.error("--after needs the msync")
    if a.case == "kill" and a.asserts:
        ap.error("--case kill: a SIGKILLed program writes no stats")
    for expr in a.asserts:
        if not ut.is_valid_expr(expr):
            ap.error(f"bad --assert {expr!r}")
    return a


def managed_cmd(a, wd, cmd):
    """cmd under the CLI (with --stats) or, without --uswap, as is."""
    if not a.uswap:
        return cmd, None
    stats = wd.join("stats.json")
    return ut.uswap_cmd(a.uswap, a.limit, cmd, stats=stats, extra=a.uswap_arg), stats


def check_stats(a, res, tag):
    """Exit status 0, then the stats asserts; every failing one is reported."""
    ut.check(res.returncode == 0, f"[{tag}] {ut.status_text(res.returncode)}, expected exit 0")
    if not a.uswap:
        return
    stats = ut.require_stats(res, tag)
    ut.log(f"[{tag}] stats: {ut.summarize_stats(stats)} " + " ".join(
        f"{k}={stats[k]}" for k in ("pgpgin", "pgpgout", "pgscan_file", "pgsteal_file",
                                   "workingset_refault_file") if k in stats))
    ut.check(stats["limit_bytes"] == ut.parse_size(a.limit),
             f"[{tag}] limit_bytes={stats['limit_bytes']}, expected {a.limit}")
    ut.check_exprs(stats, a.asserts, tag)


def verify(a, wd, path, expect_ok=True, tag="verify"):
    """Run `PROG verify` natively on the file the managed run left."""
    cmd = [a.program, "verify", "--file", path] + a.args + (["--after"] if a.after else [])
    res = ut.run(cmd, workdir=wd, tag=tag, timeout=a.timeout)
    if expect_ok:
        ut.check(res.returncode == 0, f"[{tag}] the file does not hold what was "
                 f"written ({ut.status_text(res.returncode)})")
    else:
        ut.check(res.returncode == 1, f"[{tag}] a flipped byte went unnoticed "
                 f"({ut.status_text(res.returncode)})")


def case_exit(a):
    with ut.Workdir("file-exit") as wd:
        path = wd.join("data")
        prog = [a.program, "exit", "--file", path, "--exit-how", a.exit_how] + a.args
        cmd, stats = managed_cmd(a, wd, prog)
        res = ut.run(cmd, workdir=wd, tag="exit", timeout=a.timeout, stats_path=stats)
        check_stats(a, res, "exit")
        verify(a, wd, path)


def wait_ready(proc, timeout):
    """Wait for the "synced" (or, --no-msync, "written") line."""
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                return False
            buf += chunk
            if b"synced\n" in buf or b"written\n" in buf:
                return True
        elif proc.poll() is not None:
            return False
    return False


def case_kill(a):
    with ut.Workdir("file-kill") as wd:
        path = wd.join("data")
        prog = [a.program, "kill", "--file", path] + a.args + (
            ["--after"] if a.after else []) + (["--no-msync"] if a.no_msync else [])
        sig = getattr(signal, "SIG" + a.signal)
        cmd, _ = managed_cmd(a, wd, prog)
        env = dict(os.environ, TMPDIR=wd.path)
        ut.log(f"[kill] $ {' '.join(cmd)}")
        with open(wd.join("kill.stderr"), "wb") as err:
            proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=err, env=env, start_new_session=True)
            try:
                synced = wait_ready(proc, SYNCED_TIMEOUT)
                if synced:
                    time.sleep(a.linger)  # it keeps reading; pages come and go
                    os.killpg(proc.pid, sig)
                    try:
                        proc.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        pass
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                rc = proc.wait()
        with open(wd.join("kill.stderr"), errors="replace") as f:
            for line in f.read().splitlines()[-20:]:
                ut.log(f"[kill] stderr: {line}")
        ut.check(synced, f"[kill] no 'synced' line ({ut.status_text(rc)})")
        ut.check(rc == -sig, f"[kill] {ut.status_text(rc)}, expected SIG{a.signal}")
        ut.log(f"[kill] SIG{a.signal} {a.linger:.1f}s after the line")
        verify(a, wd, path)
        if a.self_test:
            with open(path, "r+b") as f:
                size = os.fstat(f.fileno()).st_size
                f.seek(size // 2 + 123)
                b = f.read(1)
                f.seek(size // 2 + 123)
                f.write(bytes([b[0] ^ 0x10]))
            verify(a, wd, path, expect_ok=False, tag="verify-self-test")
            ut.log("[kill] self-test: the flipped byte was caught")


def case_same_output(a):
    with ut.Workdir("file-same") as wd:
        native = ut.run(a.args, workdir=wd, tag="native", timeout=a.timeout)
        ut.check(native.returncode == 0, f"[native] {ut.status_text(native.returncode)}")
        cmd, stats = managed_cmd(a, wd, a.args)
        res = ut.run(cmd, workdir=wd, tag="uswap", timeout=a.timeout, stats_path=stats)
        out_native, out = native.stdout_bytes(), res.stdout_bytes()
        ut.log(f"[native] stdout: {out_native.decode(errors='replace').strip()}")
        ut.log(f"[uswap] stdout: {out.decode(errors='replace').strip()}")
        ut.check(res.returncode == 0, f"[uswap] {ut.status_text(res.returncode)}")
        ut.check(out == out_native, "[uswap] stdout differs from the native run's")
        check_stats(a, res, "uswap")


def main():
    a = parse_args()
    {"exit": case_exit, "kill": case_kill, "same-output": case_same_output}[a.case](a)


if __name__ == "__main__":
    ut.main_wrapper(main)
