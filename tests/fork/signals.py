#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""signals: SIGINT/SIGTERM during a run leave no swap file behind.

`uswap --limit 32M --swap X -- fork_pages churn --children 1 --exec-child
fork_pages` runs a process tree that pages continuously: the top program,
a forked child and a posix_spawn()ed copy of the program, each with its
own data. X is an empty directory, or a new file's path inside one.

Once the top process holds a descriptor on a file in that directory (the
swap file is really there) and the tree has paged for a while, the signal
goes out: SIGINT to the whole process group (as a terminal's Ctrl-C does),
SIGTERM to the top process only (as `kill PID` does; the children follow
through PR_SET_PDEATHSIG, as a daemon's workers would). Then:
  - the top process dies of that signal within 15 s (no hang, no swallowed
    signal);
  - every process of the session is gone within 15 s more;
  - the directory is empty (no swap file, named or "uswap-swap-*", left),
    and so is the rest of TMPDIR except the driver's own files.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forktest as ft  # noqa: E402
from forktest import ut  # noqa: E402


def wait_for(cond, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def one_case(a, wd, sig, target, kind):
    name = f"{signal.Signals(sig).name} to {target}, --swap {kind}"
    swapdir = wd.join(f"swap-{signal.Signals(sig).name}-{target}-{kind}")
    os.mkdir(swapdir)
    swap_arg = swapdir if kind == "DIR" else os.path.join(swapdir, "swapfile")
    cmd = [a.uswap, "--limit", "32M", "--swap", swap_arg, "--",
           a.program, "churn", "--mb", "64", "--children", "1", "--exec-child", a.program]
    ut.log(f"--- {name}")
    ut.log(f"$ {' '.join(cmd)}")
    err_path = wd.join(f"{os.path.basename(swapdir)}.stderr")
    env = dict(os.environ, TMPDIR=wd.path)
    with open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=err, stderr=err, env=env,
                             start_new_session=True)
    problems = []
    try:
        def holders():
            return [pid for pid in ft.session_pids(p.pid)
                    if any(link.startswith(swapdir) for link in ft.fd_links(pid).values())]

        top_has = wait_for(lambda: any(link.startswith(swapdir)
                                       for link in ft.fd_links(p.pid).values()), 20)
        if p.poll() is not None:
            problems.append(f"the program ended before the signal: "
                            f"{ut.status_text(p.returncode)}")
            return problems
        if not top_has:
            problems.append(f"the top process never held a file in {swapdir}: "
                            f"{sorted(set(ft.fd_links(p.pid).values()))}")
        wait_for(lambda: len(ft.session_pids(p.pid)) >= 3, 20)
        time.sleep(2.0)  # let the whole tree page for a while
        procs = ft.session_pids(p.pid)
        held = holders()
        ut.log(f"    {len(procs)} processes in the tree, {len(held)} hold a file in the "
               f"swap dir; swap dir listing now: {os.listdir(swapdir)}")
        t0 = time.monotonic()
        if target == "group":
            os.killpg(p.pid, sig)
        else:
            os.kill(p.pid, sig)
        try:
            rc = p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            problems.append("the top process did not die within 15 s of the signal")
            rc = None
        if rc is not None:
            ut.log(f"    top process: {ut.status_text(rc)} after {time.monotonic() - t0:.2f}s")
            if rc != -sig:
                problems.append(f"top process {ut.status_text(rc)}, expected death by "
                                f"{signal.Signals(sig).name}")
        left = wait_for(lambda: not ft.session_pids(p.pid), 15) or ft.session_pids(p.pid)
        if left is not True and left:
            problems.append(f"processes still running 15 s later: {left}")
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        wait_for(lambda: not ft.session_pids(p.pid), 10)
        with open(err_path, errors="replace") as f:
            for line in f.read().splitlines()[-15:]:
                ut.log(f"    stderr: {line}")
    leftover = os.listdir(swapdir)
    if leftover:
        problems.append(f"swap dir not empty afterwards: {leftover}")
    # uswap-UID is the user's control-socket directory (like tmux's): it
    # stays; a killed process's socket file in it is replaced by the next
    # process with that pid. Nothing else of ours may be left.
    ctl_dir = f"uswap-{os.geteuid()}"
    stray = [n for n in os.listdir(wd.path)
             if not n.startswith("swap-") and not n.endswith(".stderr") and n != ctl_dir]
    if os.path.isdir(os.path.join(wd.path, ctl_dir)):
        junk = [n for n in os.listdir(os.path.join(wd.path, ctl_dir))
                if not n.endswith(".sock")]
        if junk:
            problems.append(f"files other than sockets in {ctl_dir}: {junk}")
    if stray:
        problems.append(f"files left in TMPDIR {wd.path}: {stray}")
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True, help="fork_pages binary")
    a = ap.parse_args()
    failures = []
    with ut.Workdir("signals") as wd:
        for sig, target, kind in ((signal.SIGINT, "group", "DIR"),
                                  (signal.SIGTERM, "top", "DIR"),
                                  (signal.SIGTERM, "group", "FILE"),
                                  (signal.SIGINT, "top", "FILE")):
            problems = one_case(a, wd, sig, target, kind)
            name = f"{signal.Signals(sig).name} to {target}, --swap {kind}"
            if problems:
                for pr in problems:
                    ut.log(f"FAIL {name}: {pr}")
                failures += [f"{name}: {pr}" for pr in problems]
            else:
                ut.log(f"ok   {name}")
    ut.check(not failures, f"{len(failures)} problem(s):\n  " + "\n  ".join(failures))


if __name__ == "__main__":
    ut.main_wrapper(main)
