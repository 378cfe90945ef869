#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Run tests/stress/stress under uswap: one named case, one seed.

  stress.py --uswap build/uswap --program build/tests/stress/stress \\
      --case churn_fork --track uffd --on-fork managed --seed 1

A case (CASES below) is the stress program's arguments, the footprint and
the limit (5-10% of the footprint); --track, --on-fork and --ctl-storm
choose the mode. With --ctl-storm a thread of the driver sends 120 `uswap
ctl PID` commands while the program runs: `set limit=...` between a third of
the limit and the limit, `reclaim ...`, and watermark and swappiness changes.
The fork_ctl case brings its own storm: three senders of `uswap ctl PID
show`, back to back, whatever the flags.
--native runs the program without uswap (the checker's own sanity).

The run fails on: a non-zero status, a "MISMATCH" line (wrong bytes,
including a page read back as zeros, in the parent or a forked child), a
"HANG" report (the program's watchdog: no progress for --watchdog s, every
thread's state, wchan and system call), no "stress: ok" summary line, or
the driver's own timeout (the whole process group is killed). The verdict
is one of ok, mismatch, hang, timeout, error.

Exit codes: 0 pass, 1 fail, 77 skip (no userfaultfd).
"""

import argparse
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

# name: stress arguments, footprint (--mb, MiB), limit (MiB), and how many
# seeds one test runs (seed, seed+1, ...; the soak runs each seed once)
CASES = {
    # every phase, 8 threads, a fork every 10 ms whose children verify
    "churn_fork": dict(args=["--threads", "8", "--seconds", "2", "--fork-ms", "10",
                             "--heap-slots", "128", "--heap-max", "4096"], mb=24, limit=2),
    # the fork deadlock: 32 threads rewriting random cold pages (and small
    # blocks in and out of jemalloc), a fork every 20 ms (60 forks here; at
    # --scale 17 the soak makes 1,000)
    "rw_fork32": dict(args=["--threads", "32", "--phases", "rw,malloc", "--heap-slots", "200",
                            "--heap-max", "512", "--fork-ms", "20", "--forks", "60",
                            "--seconds", "60"], mb=24, limit=2),
    # fresh mmaps (their first page read back), mremap and madvise, forks
    "mmap_fork": dict(args=["--threads", "4", "--phases", "mmap,madvise", "--map-pages", "64",
                            "--seconds", "2", "--fork-ms", "5", "--child-pages", "0"],
                      mb=4, limit=1),
    # mmap churn and the big region, no fork (with --ctl-storm)
    "mmap_churn": dict(args=["--threads", "4", "--phases", "rw,mmap,madvise", "--map-pages", "64",
                             "--seconds", "4"], mb=16, limit=2),
    # the run ends in a signal handler calling _exit on a worker that is
    # in the middle of mmap/munmap/madvise (the other one still at it); the
    # race is narrow (about 1 run in 6-12 hung on the unfixed tree), so 20
    # seeds, 0.6 s each; the limit is not small here: paging is not the point
    "signal_exit": dict(args=["--threads", "2", "--phases", "mmap,madvise", "--map-pages", "2",
                              "--seconds", "0.5", "--no-final-verify", "--signal-exit", "_exit"],
                        mb=4, limit=3, repeat=20),

    # forks while `uswap ctl` connections come and go as fast as three
    # senders can make them: the parent's monitor (not parked for a fork)
    # closes a connection while the descriptor table is copied, and the
    # child must not take that number for its userfaultfd and then close
    # it as the parent's connection (its faults then hung: 5 runs of 10
    # failed on the unfixed tree, 4 hangs and a child with mismatches)
    "fork_ctl": dict(args=["--threads", "4", "--seconds", "4", "--fork-ms", "3",
                           "--heap-slots", "64", "--heap-max", "4096"], mb=24, limit=2,
                     storm="dense", repeat=4),
}

VERDICTS = ("ok", "mismatch", "hang", "timeout", "error")


def find_pid(sid, name, deadline):
    """The program's pid: the oldest process of the run's session whose
    name is the program's (the CLI may exec it or run it as a child; forked
    children come later)."""
    while time.monotonic() < deadline:
        r = subprocess.run(["pgrep", "-o", "-s", str(sid), "-x", name[:15]],
                           capture_output=True, text=True)
        if r.returncode == 0 and r.stdout.strip():
            return int(r.stdout.split()[0])
        time.sleep(0.05)
    return None


class Storm(threading.Thread):
    """120 `uswap ctl PID ...` commands while the program runs."""

    def __init__(self, uswap, sid, name, limit_mib, seed, env, count=120, dense=False):
        super().__init__(daemon=True)
        # dense: `show` back to back, no pause (one of several senders)
        self.dense = dense
        self.env = env  # the program's (its control socket may live under TMPDIR)
        self.uswap, self.sid, self.name = uswap, sid, name
        self.limit, self.count = limit_mib, count
        self.rng = random.Random(seed)
        self.sent = self.failed = 0
        self.errors = []
        self.answered = False  # a command has been answered
        self.halt = threading.Event()

    def command(self):
        if self.dense:
            return ["show"]
        k = self.rng.randrange(5)
        # a live limit cannot exceed the one the run started with
        lo, hi = max(1, self.limit // 3), self.limit
        if k <= 1:
            return ["set", f"limit={self.rng.randint(lo, hi)}M"]
        if k == 2:
            return ["reclaim", f"{self.rng.randint(1, hi)}M"]
        if k == 3:
            low = self.rng.choice([0.01, 0.02, 0.05, 0.1])
            high = low + self.rng.choice([0.01, 0.02, 0.05, 0.1])
            return ["set", f"wmark_min={self.rng.choice([0, low / 2])}",
                    f"wmark_low={low}", f"wmark_high={high:.2f}"]
        return ["set", f"swappiness={self.rng.choice([0, 60, 100, 200])}"]

    def run(self):
        pid = find_pid(self.sid, self.name, time.monotonic() + 30)
        if pid is None:
            self.errors.append((0, "ctl storm: the program's pid was not found (pgrep)"))
            return
        for _ in range(self.count):
            if self.halt.wait(0 if self.dense else self.rng.uniform(0.005, 0.03)):
                return
            words = self.command()
            try:
                r = subprocess.run([self.uswap, "ctl", str(pid)] + words,
                                   capture_output=True, text=True, timeout=30, env=self.env)
            except subprocess.TimeoutExpired:
                self.errors.append((time.monotonic(), f"ctl {' '.join(words)}: no answer in 30 s"))
                continue
            self.sent += 1
            if r.returncode != 0:
                if not os.path.exists(f"/proc/{pid}"):
                    return  # the program ended first
                if not self.answered and "no uswap runtime" in r.stderr:
                    # found between exec and the runtime's start: not yet
                    time.sleep(0.01)
                    continue
                self.failed += 1
                self.errors.append((time.monotonic(), f"ctl {' '.join(words)}: exit "
                                    f"{r.returncode}: {r.stderr.strip()}"))
            else:
                self.answered = True


def run_one(uswap, program, case, *, seed=1, track="uffd", on_fork="managed",
            ctl_storm=False, native=False, extra=(), scale=1.0, timeout=None,
            workdir=None, quiet=False, compress="lz4"):
    """One run; returns (verdict, detail, seconds). compress: uswap's
    --compress; with the pool on, the program writes pages that compress
    (--compressible), so evictions go through the pool; with it off, pages
    that do not, all to the swap file."""
    c = CASES[case]
    args, mb, limit = list(c["args"]), c["mb"], c["limit"]
    if scale != 1.0:
        for opt in ("--seconds", "--forks"):
            if opt in args:
                i = args.index(opt) + 1
                args[i] = f"{max(0.5, float(args[i]) * scale):g}" if opt == "--seconds" \
                    else str(max(1, int(float(args[i]) * scale)))
    watchdog = 20
    cmd = [program, "--mb", str(mb), "--seed", str(seed), "--watchdog", str(watchdog)]
    cmd += args + list(extra)
    if compress != "off":
        cmd.append("--compressible")
    if not native:
        cmd = [uswap, "--limit", f"{limit}M", "--track", track, "--on-fork", on_fork,
               "--compress", compress, "--"] + cmd
    if timeout is None:
        secs = float(args[args.index("--seconds") + 1]) if "--seconds" in args else 10
        timeout = secs + 3 * watchdog + 60
    tag = f"{case} seed={seed} track={track} on-fork={on_fork} compress={compress}" + \
        (" ctl-storm" if ctl_storm else "") + (" native" if native else "")
    wd = workdir or ut.Workdir("stress")
    out_path, err_path = wd.join("stdout"), wd.join("stderr")
    env = dict(os.environ, TMPDIR=wd.path)
    if not quiet:
        ut.log(f"[{tag}] $ {' '.join(cmd)}")
    t0 = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                             env=env, start_new_session=True)
        storms = []
        if c.get("storm") == "dense" and not native:
            storms = [Storm(uswap, p.pid, os.path.basename(program), limit, seed + i, env,
                            count=100000, dense=True) for i in range(3)]
        elif ctl_storm and not native:
            storms = [Storm(uswap, p.pid, os.path.basename(program), limit, seed, env)]
        for storm in storms:
            storm.start()
        try:
            rc = p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            rc = None
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        t_end = time.monotonic()
        for storm in storms:
            storm.halt.set()
        for storm in storms:
            storm.join(60)
        try:
            os.killpg(p.pid, signal.SIGKILL)  # leftover children
        except ProcessLookupError:
            pass
    elapsed = time.monotonic() - t0
    stdout = open(out_path, errors="replace").read()
    stderr = open(err_path, errors="replace").read()
    lines = (stdout + stderr).splitlines()
    bad = [ln for ln in lines if "MISMATCH" in ln]
    hang = [ln for ln in lines if ln.startswith("stress: ")
            and ("HANG" in ln or ln.startswith("stress:   ") or "threads of" in ln)]
    summary = [ln for ln in lines if re.match(r"stress: (ok|FAILED) ", ln)]
    if rc is None:
        verdict = "timeout"
        detail = f"no end in {timeout:.0f} s (killed; the watchdog did not fire either)"
    elif hang or rc == 3:
        verdict, detail = "hang", (hang[0] if hang else f"exit {rc}")
    elif bad or rc == 2:
        verdict, detail = "mismatch", (bad[0] if bad else f"exit {rc}")
    elif rc != 0 or not summary or not summary[-1].startswith("stress: ok"):
        verdict = "error"
        tail = [ln for ln in stderr.splitlines() if ln.strip()][-3:]
        detail = f"{ut.status_text(rc)}, no ok summary; " + " | ".join(tail)
    else:
        verdict, detail = "ok", summary[-1]
    if storms and verdict == "ok":
        # a command that met the program on its way out is not an error
        errors = [m for storm in storms for t, m in storm.errors if t < t_end - 3]
        sent = sum(storm.sent for storm in storms)
        if errors:
            verdict, detail = "error", "; ".join(errors[:3])
        elif sent < 20:
            verdict, detail = "error", f"the ctl storm sent only {sent} commands"
        else:
            detail += f" ctl_sent={sent}"
    if not quiet:
        shown = [ln for ln in stderr.splitlines() if ln.strip()]
        if verdict != "ok":
            for ln in shown[:80]:
                ut.log(f"[{tag}] stderr: {ln}")
        ut.log(f"[{tag}] {verdict} in {elapsed:.1f}s: {detail}")
    if workdir is None:
        wd.__exit__(None, None, None)
    return verdict, detail, elapsed


def have_uffd():
    return os.path.exists("/proc/sys/vm/unprivileged_userfaultfd") or os.path.exists(
        "/dev/userfaultfd")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("--case", required=True, choices=sorted(CASES) + ["selftest"])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--track", choices=["uffd", "mprotect"], default="uffd")
    ap.add_argument("--on-fork", choices=["managed", "unmanaged"], default="managed")
    ap.add_argument("--ctl-storm", action="store_true")
    ap.add_argument("--compress", choices=["lz4", "zstd", "off"], default="lz4")
    ap.add_argument("--native", action="store_true")
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply the case's --seconds and --forks")
    ap.add_argument("extra", nargs="*", help="more stress arguments (after --)")
    a = ap.parse_args()

    def body():
        if a.case == "selftest":
            # the checker and the watchdog themselves, natively: a planted
            # zero page must be a mismatch, a stopped worker a hang report
            for extra, want in ((["--inject-zero"], "mismatch"),
                                (["--inject-hang", "--watchdog", "2"], "hang"),
                                ([], "ok")):
                v, d, _ = run_one(a.uswap, a.program, "churn_fork", seed=a.seed,
                                  native=True, extra=["--seconds", "1"] + extra)
                ut.check(v == want, f"self-test {extra}: verdict {v}, not {want}: {d}")
            return
        for seed in range(a.seed, a.seed + CASES[a.case].get("repeat", 1)):
            v, d, _ = run_one(a.uswap, a.program, a.case, seed=seed, track=a.track,
                              on_fork=a.on_fork, ctl_storm=a.ctl_storm, native=a.native,
                              extra=a.extra, scale=a.scale, compress=a.compress)
            ut.check(v == "ok", f"{a.case} seed {seed}: {v}: {d}")

    ut.main_wrapper(body)


if __name__ == "__main__":
    main()
