#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""uswap ctl: read and change a running program's settings.

  ctl_check.py --uswap build/uswap --program build/tests/ctl/toucher CASE

The program (toucher.c) writes 64 MiB of pages over and over, so its
resident size follows whatever limit it is given while it runs.

live      started with --limit 96M: `ctl PID` shows the limit and the
          resident bytes (pretty and --json); `set limit=32M` brings resident
          down to 32M while the program runs (more swap-outs, the program keeps
          making progress); `set swappiness=150` shows; `set limit=banana` and
          `set limit=16M swappiness=999` fail with exit 2 and change nothing;
          `reclaim 8M` on the paused program reclaims and resident drops; the
          program ends with its pages intact and the stats file holds the
          limit set last.
errors    the client's errors, one line and exit 2: a bad PID, a process that
          is gone, a process without uswap, a bad request (checked before
          connecting); another uid is refused (permission denied, nothing
          changes; needs root to switch uid, else that part is skipped: the
          socket's directory is 0700 and the client says whose process it is).
protocol  raw requests on the socket: garbage, an empty line, a line over
          4096 bytes, too many words, bad keys and sizes each get one
          "error: ..." line; a client that sends nothing or trickles is cut
          off after ~2 s and does not hold up the next one; 100 requests leave
          no descriptor behind.
fork      a forked child (managed) answers on its own socket with its own
          limit: setting it does not touch the parent's; each removes its
          own socket file at exit.
orphan    with --on-fork unmanaged, the child has no runtime (clear error),
          and once the parent has exited its name is free: connecting to it is
          refused, not left hanging by the child.
"""

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

MIB = 1 << 20
START_LIMIT = 96 * MIB


class Prog:
    """The toucher running under uswap."""

    def __init__(self, args, wd, extra=(), mode=None, limit="96M"):
        self.wd = wd
        self.progress = wd.join("progress")
        self.stats = wd.join("stats.json")
        cmd = [args.uswap, "--limit", limit, "--stats", self.stats] + list(extra) + \
            ["--", args.program, "64", "120", self.progress] + ([mode] if mode else [])
        ut.log("$ " + " ".join(cmd))
        self.out = open(wd.join("prog.stdout"), "wb")
        self.err = open(wd.join("prog.stderr"), "wb")
        self.p = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, start_new_session=True)
        self.pid = self.p.pid  # the CLI execs: the program keeps this pid

    def passes(self, child=False):
        try:
            with open(self.progress + (".child" if child else "")) as f:
                n, state = f.read().split()
            return int(n), state
        except (OSError, ValueError):
            return 0, None

    def wait_passes(self, n, child=False, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ut.check(self.p.poll() is None, f"the program exited early: {self.stderr()}")
            if self.passes(child)[0] >= n:
                return
            time.sleep(0.02)
        raise ut.TestFailure(f"the program made no {n} passes in {timeout}s")

    def pause(self):
        os.kill(self.pid, signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while self.passes()[1] != "paused":
            ut.check(time.monotonic() < deadline, "the program did not pause")
            time.sleep(0.01)

    def resume(self):
        os.kill(self.pid, signal.SIGUSR2)

    def stderr(self):
        with open(self.wd.join("prog.stderr"), errors="replace") as f:
            return f.read()

    def finish(self):
        """SIGTERM; the program must exit 0 (its pages intact)."""
        if self.p.poll() is None:
            os.kill(self.pid, signal.SIGTERM)
        try:
            rc = self.p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.pid, signal.SIGKILL)
            self.p.wait()
            raise ut.TestFailure("the program did not end on SIGTERM")
        err = self.stderr()
        if err.strip():
            ut.log("program stderr: " + err.strip().replace("\n", "\n  "))
        ut.check(rc == 0, f"the program ended with {ut.status_text(rc)}")
        return ut.load_stats(self.stats)[0]

    def kill(self):
        if self.p.poll() is None:
            os.killpg(self.pid, signal.SIGKILL)
            self.p.wait()


def ctl(args, *words, user=None, timeout=60):
    cmd = [args.uswap, "ctl"] + [str(w) for w in words]
    kw = {}
    if user is not None:
        kw = {"user": user, "group": user, "extra_groups": []}
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    ut.log(f"$ uswap ctl {' '.join(str(w) for w in words)} -> {r.returncode}"
           + (f" | {r.stderr.strip()}" if r.stderr.strip() else ""))
    return r


def ctl_ok(args, *words):
    r = ctl(args, *words)
    ut.check(r.returncode == 0 and not r.stderr, f"uswap ctl {' '.join(map(str, words))} failed: "
             f"exit {r.returncode}, {r.stderr.strip()!r}")
    return r.stdout


def ctl_err(args, want, *words, user=None):
    """The command fails with exit 2 and one clear line matching want."""
    r = ctl(args, *words, user=user)
    ut.check(r.returncode == 2, f"uswap ctl {' '.join(map(str, words))}: exit {r.returncode}, not 2")
    lines = r.stderr.splitlines()
    ut.check(len(lines) == 1 and lines[0].startswith("uswap: ctl: "),
             f"the error is not one 'uswap: ctl: ' line: {r.stderr!r}")
    ut.check(re.search(want, lines[0]), f"the error {lines[0]!r} does not match {want!r}")
    ut.check(not r.stdout, f"an error printed on stdout: {r.stdout!r}")
    return lines[0]


def show(args, pid):
    return json.loads(ctl_ok(args, "--json", pid))


def swapout(s):
    """Pages evicted to swap, to the compressed pool or to the file."""
    return s["pswpout"] + s.get("zswpout", 0)


def wait_for(what, fn, timeout=30):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        ut.check(time.monotonic() < deadline, f"{what}: not within {timeout}s")
        time.sleep(0.05)


def private_run_dir(wd):
    """XDG_RUNTIME_DIR for the programs and clients of this test: a 0700
    directory of its own, so the sockets are in wd/run/uswap/."""
    d = wd.join("run")
    os.mkdir(d, 0o700)
    os.chmod(d, 0o700)
    os.environ["XDG_RUNTIME_DIR"] = d
    os.environ.pop("TMPDIR", None)
    return d


def sock_path(pid):
    """Where the control socket of pid is (include/uswap/ctl.h)."""
    return os.path.join(os.environ["XDG_RUNTIME_DIR"], "uswap", f"uswap.{pid}.sock")


def connect(pid, timeout=10):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    # Without the file, the abstract name of the runtime before the socket
    # moved: the same tests then measure an older tree (and fail on it).
    try:
        s.connect(sock_path(pid))
    except FileNotFoundError:
        s.connect(b"\0uswap.%d" % pid)
    return s


def raw(pid, data, shut=True, timeout=10):
    """One request on the socket as bytes; the reply as bytes."""
    s = connect(pid, timeout)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
    except BrokenPipeError:
        pass
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except ConnectionResetError:
            break
        if not b:
            break
        out += b
    s.close()
    return out


# ---- cases ------------------------------------------------------------------

def case_live(args, wd):
    prog = Prog(args, wd)
    try:
        prog.wait_passes(2)
        pretty = ctl_ok(args, prog.pid)
        names = dict(line.split(None, 1) for line in pretty.splitlines())
        ut.check(names.get("limit_bytes", "").startswith(f"{START_LIMIT} (96.0 MiB)"),
                 f"ctl show: limit_bytes line is {names.get('limit_bytes')!r}")
        ut.check(re.fullmatch(r"\d+ \(\d+\.\d MiB\)", names.get("resident_bytes", "")),
                 f"ctl show: resident_bytes line is {names.get('resident_bytes')!r}")
        s = show(args, prog.pid)
        ut.log(f"at 96M: resident {ut.fmt_bytes(s['resident_bytes'])}, swapout {swapout(s)}")
        ut.check(s["limit_bytes"] == START_LIMIT, f"limit_bytes {s['limit_bytes']}, not 96M")
        ut.check(60 * MIB <= s["resident_bytes"] <= START_LIMIT,
                 f"resident {s['resident_bytes']} is not the program's 64 MiB")
        for k in ("swappiness", "pswpout", "pgsteal_anon", "pgmajfault"):
            ut.check(k in s, f"ctl show has no {k}")
        before = s

        # The limit changes while the program runs.
        ut.check(ctl_ok(args, prog.pid, "set", "limit=32M") == "", "set printed something")
        t0 = time.monotonic()
        s = wait_for("resident <= 32M after set limit=32M",
                     lambda: (lambda x: x if x["resident_bytes"] <= 32 * MIB else None)(show(args, prog.pid)))
        ut.log(f"limit 32M: resident {ut.fmt_bytes(s['resident_bytes'])} after "
               f"{time.monotonic() - t0:.2f}s, swapout {swapout(before)} -> {swapout(s)}")
        ut.check(s["limit_bytes"] == 32 * MIB, f"limit_bytes {s['limit_bytes']} after set limit=32M")
        ut.check(swapout(s) > swapout(before), "no page was swapped out after the limit dropped")
        n = prog.passes()[0]
        prog.wait_passes(n + 2, timeout=60)
        s = show(args, prog.pid)
        ut.check(s["resident_bytes"] <= 32 * MIB and s["pgmajfault"] > before["pgmajfault"],
                 f"under 32M the program ran without major faults or above the limit: {s['resident_bytes']}")

        ctl_ok(args, prog.pid, "set", "swappiness=150")
        s = show(args, prog.pid)
        ut.check(s["swappiness"] == 150, f"swappiness {s['swappiness']} after set swappiness=150")

        # Bad values: exit 2, a clear error, nothing changed.
        ctl_err(args, r"invalid limit 'banana'", prog.pid, "set", "limit=banana")
        ctl_err(args, r"swappiness '999'", prog.pid, "set", "limit=16M", "swappiness=999")
        ctl_err(args, r"swappiness '999'", prog.pid, "set", "swappiness=999", "limit=16M")
        ctl_err(args, r"watermarks must satisfy", prog.pid, "set", "wmark_low=0.3", "wmark_high=0.1")
        s = show(args, prog.pid)
        ut.check(s["limit_bytes"] == 32 * MIB and s["swappiness"] == 150,
                 f"a refused set changed something: limit {s['limit_bytes']}, swappiness {s['swappiness']}")
        ut.check(s["wmark_low"] == 0.02 and s["wmark_high"] == 0.04,
                 f"a refused set changed the watermarks: {s['wmark_low']}, {s['wmark_high']}")

        # The other settings.
        ctl_ok(args, prog.pid, "set", "batch=64", "refault_activate=off", "file_cache=drop",
               "wmark_low=0.05", "wmark_high=0.1")
        s = show(args, prog.pid)
        got = (s["batch"], s["refault_activate"], s["file_cache"], s["wmark_low"], s["wmark_high"])
        ut.check(got == (64, "off", "drop", 0.05, 0.1), f"set of the other settings shows {got}")
        ctl_ok(args, prog.pid, "set", "batch=32", "refault_activate=on", "file_cache=keep",
               "wmark_low=0.02", "wmark_high=0.04")

        # Reclaim from the idle program: what it reclaims leaves resident.
        prog.pause()
        time.sleep(0.3)
        s0 = show(args, prog.pid)
        out = ctl_ok(args, prog.pid, "reclaim", "8M")
        m = re.fullmatch(r"reclaimed (\d+) bytes \(\d+\.\d MiB\)\n", out)
        ut.check(m, f"reclaim printed {out!r}")
        got = int(m.group(1))
        s1 = show(args, prog.pid)
        drop = s0["resident_bytes"] - s1["resident_bytes"]
        ut.log(f"reclaim 8M: reclaimed {ut.fmt_bytes(got)}, resident {ut.fmt_bytes(s0['resident_bytes'])}"
               f" -> {ut.fmt_bytes(s1['resident_bytes'])}, pgsteal_anon +{s1['pgsteal_anon'] - s0['pgsteal_anon']}")
        ut.check(0 < got <= 8 * MIB, f"reclaim 8M reclaimed {got} bytes")
        ut.check(drop >= got // 2 and drop > 0, f"resident dropped {drop} bytes after reclaiming {got}")
        out = json.loads(ctl_ok(args, "--json", prog.pid, "reclaim", "4K"))
        ut.check(0 <= out["reclaimed_bytes"] <= 4096, f"reclaim 4K --json printed {out}")
        prog.resume()

        # Back to 96M: the program finishes intact; the stats file has the
        # limit in force at exit.
        ctl_ok(args, prog.pid, "set", "limit=96M")
        n = prog.passes()[0]
        prog.wait_passes(n + 2, timeout=60)
        stats = prog.finish()
        ut.check(stats is not None, "no stats file")
        ut.check(stats["limit_bytes"] == START_LIMIT and swapout(stats) > 0,
                 f"stats: limit_bytes {stats['limit_bytes']}, swapout {swapout(stats)}")
    finally:
        prog.kill()


def free_pid():
    """A pid no process has (a child that was just reaped)."""
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def case_errors(args, wd):
    # Checked before connecting to anything.
    for bad in ("abc", "-5", "0", "12x", "99999999999"):
        ctl_err(args, rf"invalid PID '{re.escape(bad)}'", bad)
    pid = free_pid()
    ctl_err(args, rf"no process {pid}$", pid)
    r = ctl(args)
    ut.check(r.returncode == 2 and "usage: uswap ctl" in r.stderr, f"ctl without PID: {r}")
    r = ctl(args, "--help")
    ut.check(r.returncode == 0 and "usage: uswap ctl" in r.stdout and "refault_activate" in r.stdout,
             f"ctl --help: {r}")

    # A process without the runtime.
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        ctl_err(args, rf"no uswap runtime in process {sleeper.pid} \(is it running under uswap\?\)",
                sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()

    prog = Prog(args, wd)
    try:
        prog.wait_passes(1)
        pid = prog.pid
        ctl_err(args, r"unknown setting 'foo' \(settable: limit, swappiness, wmark_min, wmark_low, "
                r"wmark_high, batch, refault_activate, file_cache\)", pid, "set", "foo=1")
        ctl_err(args, r"expected KEY=VALUE, got 'limit'", pid, "set", "limit")
        ctl_err(args, r"expected KEY=VALUE, got 'limit='", pid, "set", "limit=")
        ctl_err(args, r"expected KEY=VALUE, got '=5'", pid, "set", "=5")
        ctl_err(args, r"set needs KEY=VALUE", pid, "set")
        ctl_err(args, r"invalid size '8X'", pid, "reclaim", "8X")
        ctl_err(args, r"reclaim needs one SIZE", pid, "reclaim")
        ctl_err(args, r"show takes no arguments", pid, "show", "all")
        ctl_err(args, r"unknown command 'frob'", pid, "frob")
        ctl_err(args, r"is above what this run can hold", pid, "set", "limit=64T")

        # Another user: refused, and nothing changes.
        if os.geteuid() != 0:
            ut.log("not root: the other-uid check is skipped")
        else:
            check_other_uid(args, prog)
        s = show(args, pid)
        ut.check(s["limit_bytes"] == START_LIMIT and s["swappiness"] == 60,
                 f"a refused request changed something: {s['limit_bytes']}, {s['swappiness']}")
        prog.finish()
    finally:
        prog.kill()


def check_other_uid(args, prog):
    uid = 65534
    # Another user cannot even reach the socket: its directory is 0700.
    rd, wr = os.pipe()
    child = os.fork()
    if child == 0:
        try:
            os.close(rd)
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            try:
                out = raw(prog.pid, b"set limit=1M\n")
            except OSError as e:
                out = f"{type(e).__name__}: {e.strerror}".encode()
            os.write(wr, out)
        finally:
            os._exit(0)
    os.close(wr)
    reply = b""
    while True:
        b = os.read(rd, 4096)
        if not b:
            break
        reply += b
    os.close(rd)
    os.waitpid(child, 0)
    ut.log(f"as uid {uid}: {reply!r}")
    ut.check(reply == b"PermissionError: Permission denied", f"another uid got {reply!r}")
    # The same through the CLI, if nobody may run the binary where it is.
    try:
        ctl_err(args, rf"permission denied: process {prog.pid} runs as uid 0, not as uid {uid}$",
                prog.pid, "set", "swappiness=0", user=uid)
    except PermissionError:
        ut.log(f"uid {uid} cannot run {args.uswap}: the CLI part is skipped")


def fd_count(pid):
    """The process's sockets (the program opens its progress file now and
    then: plain files come and go)."""
    n = 0
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            n += os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return n


def case_protocol(args, wd):
    prog = Prog(args, wd)
    try:
        prog.wait_passes(1)
        pid = prog.pid
        settable = b"(settable: limit, swappiness, wmark_min, wmark_low, wmark_high, batch, " \
                   b"refault_activate, file_cache)"
        cases = [
            (b"\x00\xff\x01garbage\n", b"error: unknown request '???garbage' (expected show, "
                                       b"set KEY=VALUE... or reclaim SIZE)\n"),
            (b"\n", b"error: empty request (expected show, set KEY=VALUE... or reclaim SIZE)\n"),
            (b"", b"error: empty request (expected show, set KEY=VALUE... or reclaim SIZE)\n"),
            (b"x" * 5000, b"error: request longer than 4096 bytes\n"),
            (b"set " + b"limit=64M " * 40 + b"\n", b"error: too many words in the request\n"),
            (b"show please\n", b"error: show takes no arguments\n"),
            (b"set\n", b"error: set needs KEY=VALUE " + settable + b"\n"),
            (b"set limit\n", b"error: expected KEY=VALUE, got 'limit'\n"),
            (b"set nope=1\n", b"error: unknown setting 'nope' " + settable + b"\n"),
            (b"set limit=" + b"9" * 100 + b"\n", None),
            (b"reclaim\n", b"error: reclaim needs one SIZE, like 64M\n"),
            (b"reclaim -1\n", b"error: invalid size '-1': expected a size like 64M, 512K or 2G\n"),
            (b"reclaim 99999999999999999999\n", None),
            (b"reclaim 0\n", b"ok reclaimed 0 bytes\n"),
            (b"set swappiness=61\r\n", b"ok\n"),
            (b"set\tswappiness=60 \n", b"ok\n"),
            (b"show", None),  # no newline: the end of the stream ends the line
        ]
        fds = fd_count(pid)
        for req, want in cases:
            got = raw(pid, req)
            ut.log(f"{req[:40]!r} -> {got[:120]!r}")
            if want is not None:
                ut.check(got == want, f"request {req[:40]!r}: got {got[:200]!r}, want {want!r}")
            elif req.startswith(b"show"):
                ut.check(json.loads(got)["limit_bytes"] == START_LIMIT, f"show got {got[:200]!r}")
            else:
                ut.check(got.startswith(b"error: ") and got.endswith(b"\n") and got.count(b"\n") == 1,
                         f"request {req[:40]!r}: got {got[:200]!r}")

        # A silent client is cut off, and does not hold up the next one for
        # more than its timeout.
        silent = connect(pid)
        t0 = time.monotonic()
        got = raw(pid, b"show\n")
        took = time.monotonic() - t0
        ut.log(f"show behind a silent client: {took:.2f}s")
        ut.check(json.loads(got)["limit_bytes"] == START_LIMIT, "show behind a silent client failed")
        ut.check(took < 4, f"a silent client held the monitor for {took:.1f}s")
        silent.settimeout(5)
        ut.check(silent.recv(100) == b"", "the silent client was not closed")
        silent.close()

        # A client that trickles its request is cut off too.
        t0 = time.monotonic()
        s = connect(pid, timeout=5)
        closed = False
        for c in b"set swappiness=10":
            try:
                s.send(bytes([c]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            time.sleep(0.3)
        took = time.monotonic() - t0
        s.close()
        ut.log(f"trickling client: closed={closed} after {took:.2f}s")
        ut.check(closed and took < 4, f"a trickling client was served for {took:.1f}s")
        ut.check(show(args, pid)["swappiness"] == 60, "the trickled request was applied")

        # No descriptor is left behind.
        for _ in range(100):
            raw(pid, b"show\n")
        ut.check(fd_count(pid) == fds, f"{fd_count(pid) - fds} sockets leaked over 100 requests")
        n = prog.passes()[0]
        prog.wait_passes(n + 1)
        prog.finish()
    finally:
        prog.kill()


def child_of(pid):
    """The program's forked child: the other process of its session (the
    driver starts it in a session of its own), found even once the parent
    has exited."""
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == pid:
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == pid and fields[0] != "Z":  # session id, state
            kids.append(int(d))
    ut.check(len(kids) == 1, f"process {pid} has children {kids}")
    return kids[0]


def case_fork(args, wd):
    prog = Prog(args, wd, mode="fork")
    try:
        prog.wait_passes(1, child=True)
        kid = child_of(prog.pid)
        s = show(args, kid)
        ut.check(s["limit_bytes"] == START_LIMIT, f"the child shows limit {s['limit_bytes']}")
        ctl_ok(args, kid, "set", "limit=32M")
        wait_for("the child's resident <= 32M",
                 lambda: show(args, kid)["resident_bytes"] <= 32 * MIB)
        p = show(args, prog.pid)
        ut.check(p["limit_bytes"] == START_LIMIT and p["resident_bytes"] > 32 * MIB,
                 f"setting the child's limit changed the parent's: {p['limit_bytes']}, {p['resident_bytes']}")
        ut.check(os.path.exists(sock_path(kid)) and os.path.exists(sock_path(prog.pid)),
                 f"the parent and the child do not each have a socket file: "
                 f"{os.listdir(os.path.dirname(sock_path(kid)))}")
        n = prog.passes(child=True)[0]
        prog.wait_passes(n + 1, child=True, timeout=60)
        prog.finish()
        # Each removes its own file at exit.
        d = os.path.dirname(sock_path(kid))
        wait_for("the socket files removed at exit", lambda: not os.listdir(d), timeout=10)
    finally:
        prog.kill()


def case_orphan(args, wd):
    prog = Prog(args, wd, mode="orphan", extra=["--on-fork", "unmanaged"])
    kid = None
    try:
        ut.check(prog.p.wait(timeout=60) == 0, "the parent failed")
        kid = child_of(prog.pid)
        ut.check(os.path.exists(f"/proc/{kid}"), "the child is gone")
        ctl_err(args, rf"no uswap runtime in process {kid}", kid)
        # The parent is gone; its name must not be held by the child.
        try:
            connect(prog.pid, timeout=5).close()
            held = True
        except (ConnectionRefusedError, FileNotFoundError):
            held = False
        ut.check(not held, f"the unmanaged child {kid} still holds the parent's socket {sock_path(prog.pid)}")
        ut.check(not os.path.exists(sock_path(prog.pid)),
                 f"the parent's socket {sock_path(prog.pid)} is left after its exit")
    finally:
        if kid:
            try:
                os.kill(kid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        prog.kill()


CASES = {"live": case_live, "errors": case_errors, "protocol": case_protocol,
         "fork": case_fork, "orphan": case_orphan}


def run_cases(cases, prefix):
    """The command line of ctl_check.py and ctl_attack.py: one case of
    cases, run in a work dir with a private XDG_RUNTIME_DIR."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("case", choices=sorted(cases))
    args = ap.parse_args()
    args.uswap = os.path.abspath(args.uswap)

    def run():
        with ut.Workdir(prefix + args.case) as wd:
            os.chmod(wd.path, 0o755)
            private_run_dir(wd)
            cases[args.case](args, wd)

    ut.main_wrapper(run)


def main():
    run_cases(CASES, "ctl-")


if __name__ == "__main__":
    main()
