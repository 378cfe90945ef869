#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""SIGINT / SIGTERM of a program under uswap leave nothing behind.

  kill_clean.py --uswap build/uswap --program build/tests/compat/signals \
      --signal INT --limit 16M

For each way the program can meet the signal - the default action, a
handler that sets a flag after which main() calls exit(3), a handler that
calls _exit(4) - the program (signals --case hold_*) fills 3x the limit,
says READY and keeps paging. While it runs, its swap file must be open in
the fresh --swap directory given to uswap, with blocks allocated; then the
signal arrives (the program has 3x the limit in use, so it is paging).
Afterwards: the exit status is the one the program chose (or death
by the signal), the swap directory is empty, the process is gone and
nothing is left in its session. Without --uswap the program runs natively
and only the exit status and the process checks apply.
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

MODES = {
    # case name: expected returncode (subprocess convention), stats written
    "hold_default": (None, False),
    "hold_flag_exit": (3, True),
    "hold_handler_exit": (4, True),
}


def swap_fds(pid, swapdir):
    """(fd, target, size) of every open file of pid inside swapdir."""
    out = []
    fddir = f"/proc/{pid}/fd"
    for fd in os.listdir(fddir):
        try:
            target = os.readlink(os.path.join(fddir, fd))
        except OSError:
            continue
        if target.startswith(swapdir + "/"):
            try:
                st = os.stat(os.path.join(fddir, fd))
                size = st.st_blocks * 512
            except OSError:
                size = -1
            out.append((int(fd), target, size))
    return out


def read_ready(proc, timeout):
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        r, _, _ = select.select([proc.stdout], [], [], 0.2)
        if r:
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            for line in buf.decode(errors="replace").splitlines():
                if line.startswith("READY "):
                    return int(line.split()[1])
        if proc.poll() is not None:
            break
    return None


def one(a, mode, sig):
    want_rc, want_stats = MODES[mode]
    if want_rc is None:
        want_rc = -sig
    tag = f"{mode}-SIG{signal.Signals(sig).name[3:]}"
    with ut.Workdir("kill") as wd:
        swapdir = wd.join("swap")
        os.mkdir(swapdir)
        stats = wd.join("stats.json")
        prog = [a.program, "--limit", a.limit, "--case", mode]
        if a.uswap:
            cmd = ut.uswap_cmd(a.uswap, a.limit, prog, stats=stats,
                               extra=["--swap", swapdir])
        else:
            cmd = prog + ["--native"]
        env = dict(os.environ, TMPDIR=wd.path)
        ut.log(f"[{tag}] $ {' '.join(cmd)}")
        err = open(wd.join("stderr"), "wb")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err, env=env, start_new_session=True)
        pgid = proc.pid
        try:
            pid = read_ready(proc, 60)
            ut.check(pid is not None, f"[{tag}] no READY line "
                     f"({ut.status_text(proc.poll())})")
            ut.check(pid == proc.pid, f"[{tag}] the program runs as pid {pid}, "
                     f"not the started pid {proc.pid}")
            time.sleep(0.3)
            if a.uswap:
                fds = swap_fds(pid, swapdir)
                ut.log(f"[{tag}] open in the swap dir: {fds}; dir lists "
                       f"{os.listdir(swapdir)}")
                ut.check(fds, f"[{tag}] no swap file of pid {pid} in {swapdir}")
                ut.check(any(size > 0 for _, _, size in fds),
                         f"[{tag}] the swap file has no blocks allocated")
            t0 = time.monotonic()
            os.kill(pid, sig)
            try:
                rc = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                raise ut.TestFailure(f"[{tag}] still running 30 s after SIG"
                                     f"{signal.Signals(sig).name[3:]}")
            ut.log(f"[{tag}] {ut.status_text(rc)} {time.monotonic() - t0:.2f}s after the signal")
        finally:
            if proc.poll() is None:
                os.killpg(pgid, signal.SIGKILL)
                proc.wait()
            err.close()
            with open(wd.join("stderr"), errors="replace") as f:
                for line in f.read().splitlines()[-15:]:
                    if "pages cold" not in line:
                        ut.log(f"[{tag}] stderr: {line}")
        ut.check(rc == want_rc, f"[{tag}] {ut.status_text(rc)}, expected "
                 f"{ut.status_text(want_rc)}")
        ut.check(not os.path.exists(f"/proc/{pid}"), f"[{tag}] /proc/{pid} still exists")
        try:
            os.killpg(pgid, 0)
            raise ut.TestFailure(f"[{tag}] processes left in the program's session {pgid}")
        except ProcessLookupError:
            pass
        if a.uswap:
            left = os.listdir(swapdir)
            ut.check(not left, f"[{tag}] left behind in the swap dir: {left}")
            if want_stats:
                st, why = ut.load_stats(stats)
                ut.check(st is not None, f"[{tag}] {why}")
                ut.check(st.get("swapout", 0) > 0, f"[{tag}] swapout={st.get('swapout')}: "
                         "nothing was swapped out")
                ut.log(f"[{tag}] stats: {ut.summarize_stats(st)}")
        ut.log(f"[{tag}] ok")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", help="the uswap CLI; without it, run natively")
    ap.add_argument("--program", required=True, help="tests/compat/signals")
    ap.add_argument("--signal", choices=["INT", "TERM"], required=True)
    ap.add_argument("--limit", default="16M")
    ap.add_argument("--mode", action="append", choices=sorted(MODES))
    a = ap.parse_args()
    sig = getattr(signal, "SIG" + a.signal)
    for mode in a.mode or sorted(MODES):
        one(a, mode, sig)


if __name__ == "__main__":
    ut.main_wrapper(main)
