#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""swap_check: bytes changed in the swap file never come back silently.

swap_flip fills 48 MiB under a 16 MiB limit (so most of it is on the swap
file), prints "filled" and waits; the driver then
  intact   answers at once: every page must read back (exit 0, "intact");
  flipped  finds the swap file among the program's descriptors (the file is
           anonymous: through /proc/PID/fd), flips one byte in every 16th
           slot in use, and answers. The program must end with a non-zero
           status and a line naming the address and the slot ("fails its
           checksum"), never print MISMATCH (wrong data read silently, as the
           unfixed tree did).
Under --swap-encrypt:
  secret   the 32-byte pattern every page begins with is found in the plain
           swap file (so the search works) and never in the encrypted one
           (searched while the program waits, its pages evicted); every page
           reads back intact;
  flipped  as above: "fails its authentication", a non-zero end.
"""

import argparse
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uswaptest as ut  # noqa: E402

PAGE = 4096
SECRET = b"uswap-secret-pattern-7f3a9c1e"


def swap_fd(pid, swapdir):
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith(swapdir + "/"):
            return f"/proc/{pid}/fd/{fd}"
    return None


def count_secret(path):
    with open(path, "rb") as f:
        return f.read().count(SECRET)


def flip(path, every):
    """Flip one byte in every `every`-th non-zero slot; return how many."""
    n = seen = 0
    with open(path, "r+b", buffering=0) as f:
        size = os.fstat(f.fileno()).st_size
        for off in range(0, size, PAGE):
            f.seek(off)
            page = f.read(PAGE)
            if len(page) < PAGE or not any(page[::64]):
                continue
            seen += 1
            if seen % every:
                continue
            f.seek(off + 100)
            f.write(bytes([page[100] ^ 0xFF]))
            n += 1
        os.fsync(f.fileno())
    return n, seen


def run(args, wd, name, do_flip, encrypt):
    swapdir = wd.join(f"swap-{name}")
    os.mkdir(swapdir)
    cmd = ut.uswap_cmd(args.uswap, "16M", [args.program, "--mb", "48"],
                       extra=["--swap", swapdir] + (["--swap-encrypt"] if encrypt else []))
    what = "authentication" if encrypt else "checksum"
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline().strip()
        if line != "filled":
            p.kill()
            _, err = p.communicate(timeout=10)
            return f"program said {line!r} ({ut.status_text(p.wait())}); stderr={err[-300:]!r}"
        path = swap_fd(p.pid, swapdir)
        if not path:
            p.kill()
            p.communicate(timeout=10)
            return "no descriptor of the program points into the swap directory"
        found = count_secret(path)
        ut.log(f"     the secret pattern is in {found} pages of the swap file")
        if encrypt and found:
            p.kill()
            p.communicate(timeout=10)
            return f"--swap-encrypt: the secret pattern is in {found} pages of the swap file"
        if not encrypt and not found:
            p.kill()
            p.communicate(timeout=10)
            return "the secret pattern is not in the plain swap file: the search cannot work"
        if do_flip:
            n, seen = flip(path, 16)
            ut.log(f"     flipped a byte in {n} of {seen} slots in use")
            if not n:
                p.kill()
                p.communicate(timeout=10)
                return "no slot in use to flip"
        out, err = p.communicate("go\n", timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return "timed out (hang?)"
    rc = p.returncode
    if not do_flip:
        if rc != 0 or "intact" not in out:
            return f"{ut.status_text(rc)}; stdout={out[-300:]!r}; stderr={err[-300:]!r}"
        return None
    line = next((ln for ln in err.splitlines() if f"fails its {what}" in ln), "")
    problems = []
    if "MISMATCH" in out:
        problems.append("the program read wrong data: " + out.splitlines()[0])
    if rc == 0:
        problems.append("exit 0 after the swap file was changed")
    if not line:
        problems.append(f"no 'fails its {what}' line")
    elif "slot " not in line or " at 0x" not in line:
        problems.append(f"the line names no address and slot: {line!r}")
    if problems:
        return "; ".join(problems) + f" ({ut.status_text(rc)}); stderr={err[-300:]!r}"
    ut.log(f"     {ut.status_text(rc)}: {line}")
    if rc != -signal.SIGKILL:
        ut.log("     (not SIGKILL, but non-zero)")
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True, help="swap_flip binary")
    args = ap.parse_args()
    failures = []
    with ut.Workdir("swap-check") as wd:
        for name, do_flip, encrypt in (("intact", False, False), ("flipped", True, False),
                                       ("encrypted: secret, intact", False, True),
                                       ("encrypted: flipped", True, True)):
            problem = run(args, wd, name.replace(":", "").replace(" ", "-").replace(",", ""),
                          do_flip, encrypt)
            ut.log(f"{'FAIL' if problem else 'ok  '} {name}" + (f": {problem}" if problem else ""))
            if problem:
                failures.append(f"{name}: {problem}")
    ut.check(not failures, "\n  ".join(failures))


if __name__ == "__main__":
    ut.main_wrapper(main)
