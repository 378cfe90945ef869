#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""unmanageable: programs uswap cannot manage run unmanaged, with one warning.

--kind asan    tiny built with -fsanitize=address
--kind tsan    tiny built with -fsanitize=thread
--kind static  tiny linked with -static (no dynamic loader, so no preload)
--kind setuid  a copy of the plain tiny, owned by nobody, mode 4755; run as
               root it executes in secure mode (AT_SECURE), where the
               loader ignores LD_PRELOAD

Each program is run natively and under `uswap --limit 16M`, both with the
same arguments, and must:
  - finish (60 s) with the same exit status as natively (never crash or hang);
  - print exactly the same stdout;
  - print on stderr exactly one line starting "uswap: warning: ", which
    names the reason ("sanitizer", "statically linked", "setuid"), no other
    line starting "uswap:", and otherwise what it prints natively;
  - really run unmanaged: the program fills 48 MiB and nothing pages it, so
    its peak RSS is at least 48 MiB under a 16 MiB limit.
A build the toolchain could not make (meson passes "-" as its path) is a
skip; so is --kind setuid when not root or when the setuid bit has no
effect in the temp dir (a nosuid mount).
"""

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forktest as ft  # noqa: E402,F401
from forktest import ut  # noqa: E402

KEYWORD = {"asan": "sanitizer", "tsan": "sanitizer", "static": "statically linked",
           "setuid": "setuid"}
MB = 48
PREFIX = "uswap: warning: "


def setuid_copy(wd, plain):
    if os.geteuid() != 0:
        raise ut.TestSkip("needs root to chown a setuid copy to nobody")
    d = wd.join("suid")
    os.mkdir(d)
    os.chmod(wd.path, 0o755)
    os.chmod(d, 0o755)
    path = os.path.join(d, "tiny_setuid")
    shutil.copy(plain, path)
    os.chown(path, 65534, 65534)
    os.chmod(path, 0o4755)
    return path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--kind", choices=sorted(KEYWORD), required=True)
    ap.add_argument("--program", required=True,
                    help="the tiny build for this kind ('-' if it could not be built)")
    a = ap.parse_args()
    if a.program == "-" or not os.path.exists(a.program):
        raise ut.TestSkip(f"no {a.kind} build of tiny (the toolchain cannot make one)")

    with ut.Workdir(f"unmanageable-{a.kind}") as wd:
        prog = setuid_copy(wd, a.program) if a.kind == "setuid" else a.program
        args = [prog, "--mb", str(MB), "first arg", "second'arg"]
        nat = ut.run(args, workdir=wd, tag="native", timeout=60)
        nat_out = nat.stdout_bytes()
        for line in nat_out.decode(errors="replace").splitlines():
            ut.log(f"[native] stdout: {line}")
        ut.check(nat.returncode == 0,
                 f"natively the {a.kind} build fails: {ut.status_text(nat.returncode)}")
        if a.kind == "setuid" and b"euid 65534, secure mode 1" not in nat_out:
            raise ut.TestSkip("the setuid copy does not run as nobody in secure mode here "
                              "(nosuid mount?)")

        res = ut.run(ut.uswap_cmd(a.uswap, "16M", args, stats=wd.join("stats.json")),
                     workdir=wd, tag="uswap", timeout=60)
        out = res.stdout_bytes()
        problems = []
        if res.returncode != nat.returncode:
            problems.append(f"{ut.status_text(res.returncode)} under uswap, natively "
                            f"{ut.status_text(nat.returncode)}")
        if out != nat_out:
            problems.append(f"stdout differs from native: {out[:400]!r} vs {nat_out[:400]!r}")
        lines = res.stderr.splitlines()
        warnings = [ln for ln in lines if ln.startswith(PREFIX)]
        others = [ln for ln in lines if ln.startswith("uswap") and not ln.startswith(PREFIX)]
        if len(warnings) != 1:
            problems.append(f"{len(warnings)} lines starting {PREFIX!r} on stderr, "
                            f"expected exactly 1: {warnings}")
        elif KEYWORD[a.kind] not in warnings[0].lower():
            problems.append(f"the warning does not say {KEYWORD[a.kind]!r}: {warnings[0]!r}")
        if others:
            problems.append(f"other uswap lines on stderr: {others[:5]}")
        rest = [ln for ln in lines if not ln.startswith(PREFIX)]
        if rest != nat.stderr.splitlines():
            problems.append(f"stderr besides the warning differs from native: {rest[:10]} "
                            f"vs {nat.stderr.splitlines()[:10]}")
        if res.maxrss_bytes < MB * ut.MIB:
            problems.append(f"peak RSS {ut.fmt_bytes(res.maxrss_bytes)} < the {MB} MiB it "
                            f"filled: something paged it, so it was not left unmanaged")
        ut.check(not problems, "; ".join(problems))
        ut.log(f"ok: {a.kind}: unmanaged, one warning: {warnings[0]!r}")


if __name__ == "__main__":
    ut.main_wrapper(main)
