#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""privileges: a program that changes who it is, or fences itself in.

--part setxid   tests/preload/setxid (as root): setresuid, capset, setresgid,
                setgroups, capset-drop from a managed program with evicted
                memory, then every thread's credentials agree, the memory
                reads back, a forked child (managed, or unmanaged with a
                clear line) reads it back. Same stdout as native, exit 0.
                Before: glibc's setxid broadcast aborted (SIGABRT).
--part setpriv  setpriv --reuid=65534 --regid=65534 --clear-groups id (and a
                shell hashing 10 MiB): same stdout as native, exit 0.
--part seccomp-uring, seccomp-ioctl
                tests/preload/seccomp_prog: a filter (TSYNC) makes
                io_uring_enter or ioctl fail with EPERM, then the program
                touches evicted memory: it must end within 30 s, by SIGKILL,
                with a line naming seccomp. Before: a hang.
--part seccomp-uffd
                a filter that kills on userfaultfd, then fork: the child runs
                unmanaged with a line naming seccomp, its memory intact, and
                exits 0. Before: the child died of SIGSYS.
Exit 0 pass, 1 fail, 77 skip (not root, no setpriv).
"""

import argparse
import os
import shutil
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uswaptest as ut  # noqa: E402

LIMIT = "16M"


def same_as_native(a, wd, cmd, tag, timeout=60):
    nat = ut.run(cmd, workdir=wd, tag=f"{tag}-native", timeout=timeout)
    ut.check(nat.returncode == 0, f"[{tag}] native run failed: {ut.status_text(nat.returncode)}")
    res = ut.run(ut.uswap_cmd(a.uswap, LIMIT, cmd), workdir=wd, tag=tag, timeout=timeout)
    ut.check(res.returncode == 0, f"[{tag}] under uswap: {ut.status_text(res.returncode)}")
    ut.check(res.stdout_bytes() == nat.stdout_bytes(),
             f"[{tag}] stdout differs from native:\n{res.stdout_bytes().decode()}\n--- native:\n"
             f"{nat.stdout_bytes().decode()}")
    return res


def part_setxid(a, wd):
    same_as_native(a, wd, [a.setxid, "--mb", "48"], "setxid")


def part_setpriv(a, wd):
    setpriv = shutil.which("setpriv")
    if not setpriv:
        raise ut.TestSkip("no setpriv")
    drop = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    same_as_native(a, wd, drop + ["id"], "setpriv-id")
    same_as_native(a, wd, drop + ["sh", "-c", "id -u; head -c 10485760 /dev/zero | sha256sum"],
                   "setpriv-sh")


def part_seccomp_end(a, wd, what):
    res = ut.run(ut.uswap_cmd(a.uswap, LIMIT, [a.seccomp, what]), workdir=wd, tag=what,
                 timeout=30)
    ut.check(res.returncode == -signal.SIGKILL,
             f"[{what}] expected the end by SIGKILL, got {ut.status_text(res.returncode)}")
    ut.check("seccomp" in res.stderr and "refused" in res.stderr,
             f"[{what}] no line naming the seccomp refusal on stderr")


def part_seccomp_uffd(a, wd):
    what = "uffd-fork"
    res = ut.run(ut.uswap_cmd(a.uswap, LIMIT, [a.seccomp, what]), workdir=wd, tag=what,
                 timeout=60)
    ut.check(res.returncode == 0, f"[{what}] {ut.status_text(res.returncode)}")
    ut.check("runs unmanaged" in res.stderr and "seccomp" in res.stderr,
             f"[{what}] no line saying the child runs unmanaged because of seccomp")
    ut.check(b"child: 0 bad words" in res.stdout_bytes(), f"[{what}] child output missing")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--uswap", required=True)
    p.add_argument("--setxid")
    p.add_argument("--seccomp")
    p.add_argument("--part", required=True)
    a = p.parse_args()
    if os.geteuid() != 0:
        raise ut.TestSkip("needs root")
    with ut.Workdir("privileges") as wd:
        if a.part == "setxid":
            part_setxid(a, wd)
        elif a.part == "setpriv":
            part_setpriv(a, wd)
        elif a.part in ("seccomp-uring", "seccomp-ioctl"):
            part_seccomp_end(a, wd, a.part.split("-")[1])
        elif a.part == "seccomp-uffd":
            part_seccomp_uffd(a, wd)
        else:
            raise ut.TestFailure(f"unknown part {a.part}")


if __name__ == "__main__":
    ut.main_wrapper(main)
