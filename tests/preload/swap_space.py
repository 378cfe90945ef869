#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""swap_space: a swap file that cannot hold what the program needs.

Every case runs page_integrity under a 16 MiB limit with the swap file in a
small file system mounted for the test (root only: skipped otherwise), and
unmounts it on every exit path.
  tmpfs full     40 MiB tmpfs, 96 MiB footprint: the growth fails with
                 ENOSPC. The program must die of SIGKILL (137 in a shell, as
                 the OOM killer) within 30 s, with an "out of memory" line
                 naming the cause (not "swap ok").
  disk full      40 MiB ext2 on a loop device (no fallocate: the file is
                 sparse, so the writes themselves fail with ENOSPC): the same
                 end, the line names the write errors, and the scanner backs
                 off (the unfixed tree retried millions of times a second and
                 never ended).
  --swap-size    an 8 MiB cap: the line names the cap.
  60 MiB free    a 60 MiB tmpfs and a 48 MiB footprint: the first 64 MiB
                 growth step fails, smaller steps must be tried; the program
                 completes with every byte intact.
"""

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uswaptest as ut  # noqa: E402

LIMIT = "16M"


def sh(*cmd):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


class Mount:
    """A file system mounted at dir for the duration of a with block."""

    def __init__(self, wd, name, kind, mib):
        self.dir = wd.join(name)
        self.img = wd.join(name + ".img")
        self.kind = kind
        self.mib = mib
        self.mounted = False

    def __enter__(self):
        os.mkdir(self.dir)
        if self.kind == "tmpfs":
            r = sh("mount", "-t", "tmpfs", "-o", f"size={self.mib}M", "tmpfs", self.dir)
        else:
            if not shutil.which("mkfs.ext2"):
                raise ut.TestSkip("no mkfs.ext2")
            with open(self.img, "wb") as f:
                f.truncate(self.mib << 20)
            r = sh("mkfs.ext2", "-q", "-F", self.img)
            if r.returncode == 0:
                r = sh("mount", "-o", "loop", self.img, self.dir)
        if r.returncode != 0:
            raise ut.TestSkip(f"cannot mount a {self.kind}: {r.stdout.strip()}")
        self.mounted = True
        return self

    def __exit__(self, *exc):
        # The killed program's descriptors may take a moment to go.
        for _ in range(50):
            if sh("umount", self.dir).returncode == 0:
                self.mounted = False
                break
            time.sleep(0.1)
        if self.mounted:
            sh("umount", "-l", self.dir)
        if os.path.exists(self.img):
            os.unlink(self.img)


class Cases:
    def __init__(self, args, wd):
        self.a = args
        self.wd = wd
        self.failures = []

    def record(self, name, problem):
        if problem:
            self.failures.append(f"{name}: {problem}")
            ut.log(f"FAIL {name}: {problem}")
        else:
            ut.log(f"ok   {name}")

    def run(self, extra, mb, timeout, ops=20000):
        # The swap file's own limits are under test: no compressed pool in front.
        cmd = ut.uswap_cmd(self.a.uswap, LIMIT,
                           [self.a.program, "--mb", str(mb), "--threads", "2",
                            "--ops", str(ops)], extra=["--compress", "off"] + list(extra))
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=dict(os.environ, TMPDIR=self.wd.path))
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            return None, out.decode(errors="replace"), err.decode(errors="replace"), timeout
        return (p.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
                time.monotonic() - t0)

    def oom(self, name, extra, cause):
        rc, _, err, dt = self.run(extra, 96, 30, ops=1000)
        line = next((ln for ln in err.splitlines() if "uswap: out of memory" in ln), "")
        problems = []
        if rc != -signal.SIGKILL:
            problems.append(f"{ut.status_text(rc)} after {dt:.1f}s, expected SIGKILL "
                            "(the OOM end) within 30 s")
        if not line:
            problems.append("no 'uswap: out of memory' line")
        elif not re.search(cause, line):
            problems.append(f"the line does not name the cause /{cause}/: {line!r}")
        m = re.search(r"\((\d+) write errors\)", line)
        if m and int(m.group(1)) > 100000:
            problems.append(f"{m.group(1)} write errors: no back-off")
        if not problems:
            ut.log(f"     {dt:.1f}s: {line}")
        self.record(name, "; ".join(problems) + f"; stderr={err[-500:]!r}"
                    if problems else None)

    def tmpfs_full(self):
        with Mount(self.wd, "tmpfs40", "tmpfs", 40) as m:
            self.oom("tmpfs full (40 MiB)", ["--swap", m.dir],
                     r"cannot grow past \d+ MiB: No space left on device")

    def disk_full(self):
        with Mount(self.wd, "ext2", "ext2", 40) as m:
            self.oom("disk full (40 MiB ext2, sparse file)", ["--swap", m.dir],
                     r"swap writes fail: No space left on device")

    def swap_size_cap(self):
        self.oom("--swap-size 8M cap", ["--swap-size", "8M"],
                 r"full at its --swap-size cap of 8 MiB")

    def small_steps(self):
        name = "60 MiB free, 48 MiB footprint (smaller growth steps)"
        stats = self.wd.join("stats.json")
        with Mount(self.wd, "tmpfs60", "tmpfs", 60) as m:
            rc, out, err, dt = self.run(["--swap", m.dir, "--stats", stats], 48, 60)
        problems = []
        if rc != 0:
            problems.append(f"{ut.status_text(rc)} after {dt:.1f}s")
        elif "mismatches 0" not in out + err:
            problems.append(f"page_integrity: {(out + err).strip()[-300:]!r}")
        else:
            st, e = ut.load_stats(stats)
            if not st:
                problems.append(f"stats: {e}")
            elif st.get("pswpout", 0) == 0 or st.get("swap_write_errors", 1) != 0:
                problems.append(f"pswpout={st.get('pswpout')} "
                                f"swap_write_errors={st.get('swap_write_errors')}")
            else:
                ut.log(f"     swap file {ut.fmt_bytes(st['swap_file_bytes'])}, "
                       f"peak use {ut.fmt_bytes(st['swap_bytes_peak'])}")
        self.record(name, "; ".join(problems) + f"; stderr={err[-500:]!r}"
                    if problems else None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True, help="page_integrity binary")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise ut.TestSkip("needs root to mount a small file system")
    with ut.Workdir("swap-space") as wd:
        c = Cases(args, wd)
        c.tmpfs_full()
        c.disk_full()
        c.swap_size_cap()
        c.small_steps()
    ut.check(not c.failures, f"{len(c.failures)} sub-case(s) failed:\n  "
             + "\n  ".join(c.failures))


if __name__ == "__main__":
    ut.main_wrapper(main)
