#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bad_input: every configuration error is one 'uswap: ' line and exit 2,
before the program runs.

Each sub-case runs a command that would create a marker file
(sh -c 'touch MARKER'); the marker must not exist afterwards. Asserted per
sub-case: exit status 2 (not a signal), stderr is exactly one
newline-terminated line starting with "uswap: ", stdout is empty, no marker.

  --part cli   the CLI: unparsable/zero/out-of-range sizes and numbers,
               unknown option, uncreatable swap path, missing --limit,
               missing command;
  --part env   the same kind of errors through LD_PRELOAD + USWAP_* only;
  --part uffd  userfaultfd unavailable: run as 'nobody' with
               vm.unprivileged_userfaultfd=0 and /dev/userfaultfd not
               accessible; the line must name the sysctl. Exits 77 when
               this cannot be arranged without changing the system.
"""

import argparse
import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uswaptest as ut  # noqa: E402

NOBODY_UID = 65534
NOBODY_GID = 65534


def cli_cases(uswap, marker):
    touch = ["sh", "-c", f"touch {marker}"]
    u = [uswap]
    return [
        ("limit 12Q (bad suffix)", u + ["--limit", "12Q", "--"] + touch),
        ("limit abc", u + ["--limit", "abc", "--"] + touch),
        ("limit -5M (negative)", u + ["--limit", "-5M", "--"] + touch),
        ("limit empty", u + ["--limit", "", "--"] + touch),
        ("limit 0", u + ["--limit", "0", "--"] + touch),
        ("limit overflows 64 bits", u + ["--limit", "99999999999999999999", "--"] + touch),
        ("limit 20000000000G (overflow with suffix)",
         u + ["--limit", "20000000000G", "--"] + touch),
        ("limit missing", u + ["--"] + touch),
        ("limit without value", u + ["--limit"]),
        ("swappiness 201", u + ["--limit", "64M", "--swappiness", "201", "--"] + touch),
        ("swappiness -1", u + ["--limit", "64M", "--swappiness", "-1", "--"] + touch),
        ("swap-size 12Q", u + ["--limit", "64M", "--swap-size", "12Q", "--"] + touch),
        ("track bogus", u + ["--limit", "64M", "--track", "bogus", "--"] + touch),
        ("new-anon bogus", u + ["--limit", "64M", "--new-anon", "bogus", "--"] + touch),
        ("compress lzma", u + ["--limit", "64M", "--compress", "lzma", "--"] + touch),
        ("compress-pool 0.95", u + ["--limit", "64M", "--compress-pool", "0.95", "--"] + touch),
        ("compress-pool autox", u + ["--limit", "64M", "--compress-pool", "autox", "--"] + touch),
        ("swap-cluster 3", u + ["--limit", "64M", "--swap-cluster", "3", "--"] + touch),
        ("swap-cluster 128", u + ["--limit", "64M", "--swap-cluster", "128", "--"] + touch),
        ("unknown option --bogus", u + ["--limit", "64M", "--bogus", "--"] + touch),
        ("swap path not creatable",
         u + ["--limit", "64M", "--swap", "/nonexistent/dir/swap", "--"] + touch),
        ("missing command", u + ["--limit", "64M"]),
        ("missing command after --", u + ["--limit", "64M", "--"]),
    ]


def env_cases(preload, marker):
    touch = ["sh", "-c", f"touch {marker}"]
    base = {"LD_PRELOAD": preload}
    return [
        ("USWAP_LIMIT=12Q", touch, dict(base, USWAP_LIMIT="12Q")),
        ("USWAP_LIMIT=abc", touch, dict(base, USWAP_LIMIT="abc")),
        ("USWAP_LIMIT=-5M", touch, dict(base, USWAP_LIMIT="-5M")),
        ("USWAP_LIMIT=0", touch, dict(base, USWAP_LIMIT="0")),
        ("USWAP_SWAPPINESS=201", touch,
         dict(base, USWAP_LIMIT="64M", USWAP_SWAPPINESS="201")),
        ("USWAP_TRACK=bogus", touch, dict(base, USWAP_LIMIT="64M", USWAP_TRACK="bogus")),
        ("USWAP_COMPRESS=1", touch, dict(base, USWAP_LIMIT="64M", USWAP_COMPRESS="1")),
        ("USWAP_SWAP=/nonexistent/dir/swap", touch,
         dict(base, USWAP_LIMIT="64M", USWAP_SWAP="/nonexistent/dir/swap")),
    ]


def run_error_case(name, cmd, env, marker, failures, must_contain=None):
    """One sub-case; appends a message to failures instead of raising."""
    if os.path.exists(marker):
        os.unlink(marker)
    full_env = dict(os.environ)
    full_env.pop("LD_PRELOAD", None)
    full_env.update(env or {})
    try:
        p = subprocess.run(cmd, env=full_env, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=30)
    except subprocess.TimeoutExpired:
        failures.append(f"{name}: timed out")
        ut.log(f"FAIL {name}: timed out")
        return
    err = p.stderr.decode(errors="replace")
    problems = []
    if p.returncode != 2:
        problems.append(f"{ut.status_text(p.returncode)}, expected exit 2")
    lines = err.splitlines()
    if len(lines) != 1:
        problems.append(f"stderr has {len(lines)} lines, expected 1")
    elif not err.endswith("\n"):
        problems.append("stderr line not newline-terminated")
    if not lines or not lines[0].startswith("uswap: "):
        problems.append("stderr does not start with 'uswap: '")
    if must_contain and must_contain not in err:
        problems.append(f"message does not mention {must_contain!r}")
    if p.stdout:
        problems.append(f"stdout not empty: {p.stdout[:80]!r}")
    if os.path.exists(marker):
        problems.append("the program ran (marker file created)")
    shown = err if len(err) < 400 else err[:400] + "..."
    if problems:
        failures.append(f"{name}: " + "; ".join(problems) + f" | stderr={shown!r}")
        ut.log(f"FAIL {name}: {'; '.join(problems)}\n     stderr: {shown!r}")
    else:
        ut.log(f"ok   {name}: {lines[0]}")


def part_cli(args, wd, failures):
    marker = wd.join("ran")
    for name, cmd in cli_cases(args.uswap, marker):
        run_error_case(name, cmd, None, marker, failures)


def part_env(args, wd, failures):
    marker = wd.join("ran")
    for name, cmd, env in env_cases(args.preload, marker):
        run_error_case(name, cmd, env, marker, failures)


def as_nobody(cmd):
    return ["setpriv", f"--reuid={NOBODY_UID}", f"--regid={NOBODY_GID}",
            "--clear-groups", "--"] + cmd


def part_uffd(args, wd, failures):
    """Simulate 'userfaultfd unavailable' without changing the system."""
    if os.geteuid() != 0:
        raise ut.TestSkip("needs root to switch to nobody")
    if not shutil.which("setpriv"):
        raise ut.TestSkip("setpriv not installed")
    sysctl = ut_read("/proc/sys/vm/unprivileged_userfaultfd")
    if sysctl != "0":
        raise ut.TestSkip(f"vm.unprivileged_userfaultfd={sysctl}: unprivileged "
                          "users can use userfaultfd here")
    try:
        st = os.stat("/dev/userfaultfd")
        if st.st_uid == NOBODY_UID or st.st_mode & (stat.S_IROTH | stat.S_IWOTH):
            raise ut.TestSkip("/dev/userfaultfd is accessible to nobody")
    except FileNotFoundError:
        pass
    os.chmod(wd.path, 0o777)
    for path in (args.uswap, args.preload):
        probe = subprocess.run(as_nobody(["test", "-r", path]),
                               stdin=subprocess.DEVNULL, capture_output=True)
        if probe.returncode != 0:
            raise ut.TestSkip(f"nobody cannot read {path} (build tree not "
                              "world-accessible)")
    # Prove the simulation: nobody cannot get a kernel-fault-capable
    # userfaultfd. python3 may be unreachable for nobody (pyenv under /root),
    # so probe with the system interpreter when present.
    py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None
    if py:
        probe = subprocess.run(as_nobody([py, "-c", UFFD_PROBE]),
                               stdin=subprocess.DEVNULL, capture_output=True)
        if probe.returncode != 0:
            raise ut.TestSkip("nobody can create a userfaultfd: "
                              + probe.stdout.decode(errors="replace").strip())
        ut.log(f"simulation: as nobody {probe.stdout.decode().strip()}")

    marker = wd.join("ran")
    swap = wd.join("swap")
    cmd = as_nobody([args.uswap, "--limit", "64M", "--swap", swap, "--",
                     "sh", "-c", f"touch {marker}"])
    run_error_case("userfaultfd unavailable (CLI, as nobody)", cmd, None, marker,
                   failures, must_contain="unprivileged_userfaultfd")
    cmd = as_nobody(["env", f"LD_PRELOAD={args.preload}", "USWAP_LIMIT=64M",
                     f"USWAP_SWAP={swap}", "sh", "-c", f"touch {marker}"])
    run_error_case("userfaultfd unavailable (LD_PRELOAD, as nobody)", cmd, None,
                   marker, failures, must_contain="unprivileged_userfaultfd")


# Exit 0 when userfaultfd(0) (kernel faults handled) fails with EPERM.
UFFD_PROBE = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.syscall(323, os.O_CLOEXEC)          # SYS_userfaultfd, x86_64
if fd >= 0:
    print("userfaultfd() succeeded"); sys.exit(1)
e = ctypes.get_errno()
try:
    d = os.open("/dev/userfaultfd", os.O_RDWR)
    print("/dev/userfaultfd opened"); sys.exit(1)
except OSError as ex:
    print(f"userfaultfd() -> {os.strerror(e)}, /dev/userfaultfd -> {ex.strerror}")
sys.exit(0)
"""


def ut_read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--part", choices=("cli", "env", "uffd"), action="append",
                    required=True)
    args = ap.parse_args()
    failures = []
    with ut.Workdir("bad-input") as wd:
        for part in args.part:
            ut.log(f"--- {part}")
            {"cli": part_cli, "env": part_env, "uffd": part_uffd}[part](args, wd, failures)
    ut.check(not failures, f"{len(failures)} sub-case(s) failed:\n  "
             + "\n  ".join(failures))


if __name__ == "__main__":
    ut.main_wrapper(main)
