#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run one command under uswap with a watchdog and check how it ended.

  fdtest.py --uswap build/uswap --limit 16M [--nofile N] [--tmpdir]
      [--expect-exit N] [--expect-stdout RE] [--expect-stderr RE]
      [--reject-stderr RE] [--reject-stdout RE] [--timeout S] -- COMMAND...

A hang (the runtime's descriptors closed under it) is a failure after
--timeout seconds, the whole process group killed. With --tmpdir, the
string @TMP@ in COMMAND becomes a fresh temporary directory. --nofile sets
RLIMIT_NOFILE (soft and hard) for uswap and what it runs.
"""

import argparse
import os
import re
import resource
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--limit", required=True)
    ap.add_argument("--nofile", type=int)
    ap.add_argument("--tmpdir", action="store_true")
    ap.add_argument("--expect-exit", type=int, default=0)
    ap.add_argument("--expect-stdout")
    ap.add_argument("--expect-stderr")
    ap.add_argument("--reject-stderr")
    ap.add_argument("--reject-stdout")
    ap.add_argument("--timeout", type=int, default=60)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    cmd = a.cmd[1:] if a.cmd and a.cmd[0] == "--" else a.cmd
    tmp = tempfile.TemporaryDirectory(prefix="uswap-fds-") if a.tmpdir else None
    if tmp:
        cmd = [c.replace("@TMP@", tmp.name) for c in cmd]

    def limits():
        os.setpgrp()
        if a.nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (a.nofile, a.nofile))

    argv = [a.uswap, "--limit", a.limit, "--"] + cmd
    ut.log("$ " + " ".join(argv) + (f"  (RLIMIT_NOFILE {a.nofile})" if a.nofile else ""))
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         preexec_fn=limits, text=True, errors="replace")
    try:
        out, err = p.communicate(timeout=a.timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        ut.log(out + err)
        raise ut.TestFailure(f"hung: no end after {a.timeout} s")
    ut.log(f"exit {p.returncode}\n--- stdout\n{out}--- stderr\n{err}---")
    ut.check(p.returncode == a.expect_exit,
             f"exit status {p.returncode}, expected {a.expect_exit}")
    if a.expect_stdout:
        ut.check(re.search(a.expect_stdout, out), f"stdout does not match {a.expect_stdout!r}")
    if a.expect_stderr:
        ut.check(re.search(a.expect_stderr, err), f"stderr does not match {a.expect_stderr!r}")
    if a.reject_stdout:
        ut.check(not re.search(a.reject_stdout, out), f"stdout matches {a.reject_stdout!r}")
    if a.reject_stderr:
        ut.check(not re.search(a.reject_stderr, err), f"stderr matches {a.reject_stderr!r}")


if __name__ == "__main__":
    ut.main_wrapper(main)
