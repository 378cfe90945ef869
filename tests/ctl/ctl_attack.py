#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""uswap ctl under attack: squatters, hostile clients, a hostile server.

  ctl_attack.py --uswap build/uswap --program build/tests/ctl/toucher CASE

squat     before the program starts (its pid is known: the test forks it
          and holds it before the exec), a squatter binds the old abstract
          name @uswap.PID and plants a listening socket file at the
          program's name in the private directory. The program still gets
          its control socket (no warning), `uswap ctl PID` shows the
          program's real settings and the squatter never gets a connection.
planted   while the program runs, a process of the same user replaces the
          socket file with its own: `uswap ctl` refuses it (the server is not
          the process asked for), one clear line, nothing of the fake's
          printed.
baddir    without XDG_RUNTIME_DIR, TMPDIR/uswap-UID made beforehand as a
          symlink, as a directory of another uid, and with mode 0755: the
          program runs on without control and says why in one line; nothing
          is created through the symlink.
flood     garbage, a 16 MiB line, a request in pieces, 4 slow-loris clients
          (one byte every 0.3 s) and then 100 idle connections at once: the
          program runs on (its pages intact), the trace keeps its rows
          coming, each `uswap ctl PID show` answers within a bound, and no
          descriptor is left behind.
client    `uswap ctl` against a fake server (a process of this test, asked
          for by its own pid, so it passes the credential check): terminal
          escapes, C1 controls and bytes that are not UTF-8 in the names, the
          values and the error come out escaped, the --json output is JSON
          with no raw control byte, and an endless reply is cut at 4 MiB with
          a clear error and bounded memory.
"""

import argparse
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "preload"))
sys.path.insert(0, HERE)
import uswaptest as ut  # noqa: E402
import ctl_check as cc  # noqa: E402

MIB = 1 << 20
START_LIMIT = 96 * MIB


class Held:
    """The toucher under uswap, forked and held before its exec so that its
    pid is known before it runs (the CLI execs: the program keeps it)."""

    def __init__(self, args, wd, extra=(), env=None, trace=None):
        self.wd = wd
        self.progress = wd.join("progress")
        if os.path.exists(self.progress):
            os.unlink(self.progress)
        cmd = [args.uswap, "--limit", "96M"] + (["--trace", trace, "--interval", "100ms"]
                                                 if trace else []) + list(extra) + \
            ["--", args.program, "64", "120", self.progress]
        ut.log("$ " + " ".join(cmd))
        rd, wr = os.pipe()
        out = os.open(wd.join("prog.stdout"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        err = os.open(wd.join("prog.stderr"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        self.pid = os.fork()
        if self.pid == 0:
            try:
                os.close(wr)
                os.setsid()
                os.read(rd, 1)
                os.dup2(out, 1)
                os.dup2(err, 2)
                os.execve(cmd[0], cmd, env if env is not None else os.environ)
            finally:
                os._exit(127)
        os.close(rd)
        os.close(out)
        os.close(err)
        self.go_fd = wr
        self.rc = None

    def go(self):
        os.write(self.go_fd, b"x")
        os.close(self.go_fd)

    def passes(self):
        try:
            with open(self.progress) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def alive(self):
        if self.rc is None:
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.rc = os.waitstatus_to_exitcode(st)
        return self.rc is None

    def wait_passes(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while self.passes() < n:
            ut.check(self.alive(), f"the program exited early: {self.stderr()}")
            ut.check(time.monotonic() < deadline, f"the program made no {n} passes in {timeout}s")
            time.sleep(0.02)

    def stderr(self):
        with open(self.wd.join("prog.stderr"), errors="replace") as f:
            return f.read()

    def finish(self):
        """SIGTERM; the program must exit 0 (it checks its pages)."""
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 60
        while self.alive():
            if time.monotonic() > deadline:
                self.kill()
                raise ut.TestFailure("the program did not end on SIGTERM")
            time.sleep(0.02)
        err = self.stderr()
        if err.strip():
            ut.log("program stderr: " + err.strip().replace("\n", "\n  "))
        ut.check(self.rc == 0, f"the program ended with {ut.status_text(self.rc)}")

    def kill(self):
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(self.pid, 0)
            self.rc = -9


FAKE_SHOW = b'{"limit_bytes": 1, "owned": "yes"}\n'


class FakeServer:
    """A listening socket that answers every connection with reply (bytes,
    or a function of the connection) and counts its connections."""

    def __init__(self, addr, reply=FAKE_SHOW):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.bind(addr)
        self.s.listen(64)
        self.s.settimeout(0.2)
        self.addr = addr
        self.reply = reply
        self.hits = 0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            try:
                c, _ = self.s.accept()
            except (socket.timeout, OSError):
                continue
            self.hits += 1
            try:
                c.settimeout(5)
                c.recv(4096)
                if callable(self.reply):
                    self.reply(c)
                else:
                    c.sendall(self.reply)
            except OSError:
                pass
            c.close()

    def close(self):
        self.stop = True
        self.t.join()
        self.s.close()


def no_control_warning(prog):
    err = prog.stderr()
    ut.check("control socket" not in err, f"the program lost its control socket: {err.strip()!r}")


def case_squat(args, wd):
    prog = Held(args, wd)
    pid = prog.pid
    fakes = []
    try:
        fakes.append(FakeServer(b"\0uswap.%d" % pid))
        d = os.path.join(os.environ["XDG_RUNTIME_DIR"], "uswap")
        os.makedirs(d, 0o700, exist_ok=True)
        fakes.append(FakeServer(cc.sock_path(pid)))
        ut.log(f"squatting @uswap.{pid} and {cc.sock_path(pid)} before the program starts")
        prog.go()
        prog.wait_passes(1)
        s = json.loads(cc.ctl_ok(args, "--json", pid))
        ut.check(s.get("limit_bytes") == START_LIMIT and "owned" not in s,
                 f"uswap ctl --json {pid} printed the squatter's answer: {s}")
        got = cc.ctl_ok(args, pid)
        ut.check("owned" not in got and f"{START_LIMIT} (96.0 MiB)" in got,
                 f"uswap ctl {pid} printed {got[:300]!r}")
        no_control_warning(prog)
        ut.check(all(f.hits == 0 for f in fakes),
                 f"the squatters got {[f.hits for f in fakes]} connections")
        prog.finish()
        ut.check(not os.path.exists(cc.sock_path(pid)),
                 f"{cc.sock_path(pid)} is left after the program's exit")
    finally:
        prog.kill()
        for f in fakes:
            f.close()


def case_planted(args, wd):
    prog = Held(args, wd)
    pid = prog.pid
    fake = None
    try:
        prog.go()
        prog.wait_passes(1)
        cc.ctl_ok(args, "--json", pid)
        path = cc.sock_path(pid)
        if os.path.exists(path):
            os.unlink(path)
        else:
            os.makedirs(os.path.dirname(path), 0o700, exist_ok=True)
        fake = FakeServer(path, b'{"limit_bytes": 1, "owned": "\x1b[31myes"}\n')
        # The same fake on the old abstract name, where the old client looks.
        try:
            fake2 = FakeServer(b"\0uswap.%d" % pid, b'{"limit_bytes": 1, "owned": "\x1b[31myes"}\n')
        except OSError:
            fake2 = None  # the unfixed runtime holds it
        line = cc.ctl_err(args, rf"refusing {re.escape(path)}: it is served by process {os.getpid()} "
                          rf"\(uid {os.geteuid()}\), not by process {pid} or its children", pid)
        ut.check("\x1b" not in line and "owned" not in line, f"the refusal printed the fake's bytes: {line!r}")
        cc.wait_for("the fake's connection", lambda: fake.hits == 1, timeout=5)
        if fake2:
            fake2.close()
        prog.finish()
    finally:
        prog.kill()
        if fake:
            fake.close()


def case_baddir(args, wd):
    tmp = wd.join("tmp")
    os.mkdir(tmp, 0o755)
    env = dict(os.environ)
    env.pop("XDG_RUNTIME_DIR")
    env["TMPDIR"] = tmp
    d = os.path.join(tmp, f"uswap-{os.geteuid()}")
    target = wd.join("elsewhere")
    os.mkdir(target, 0o700)
    setups = [
        ("a symlink", lambda: os.symlink(target, d), rf"{re.escape(d)} is a symlink"),
        ("mode 0755", lambda: (os.mkdir(d), os.chmod(d, 0o755)), rf"{re.escape(d)} has mode 0755, not 0700"),
    ]
    if os.geteuid() == 0:
        setups.append(("another uid's", lambda: (os.mkdir(d, 0o700), os.chown(d, 65534, 65534)),
                       rf"{re.escape(d)} is owned by uid 65534, not by uid 0"))
    else:
        ut.log("not root: the other-uid directory is skipped")
    for what, make, want in setups:
        make()
        prog = Held(args, wd, env=env)
        try:
            prog.go()
            prog.wait_passes(2)
            lines = [l for l in prog.stderr().splitlines() if "control socket" in l]
            ut.log(f"{what}: {lines}")
            ut.check(len(lines) == 1 and re.search(rf"warning: no control socket: refusing the socket "
                                                   rf"directory: {want}", lines[0]),
                     f"{what} {d}: the program said {prog.stderr().strip()!r}")
            ut.check(os.listdir(target) == [], f"something was made through the symlink: {os.listdir(target)}")
            prog.finish()
        finally:
            prog.kill()
        if os.path.islink(d):
            os.unlink(d)
        else:
            os.rmdir(d)


def timed_show(args, pid, bound):
    t0 = time.monotonic()
    s = json.loads(cc.ctl_ok(args, "--json", pid))
    took = time.monotonic() - t0
    ut.log(f"  uswap ctl --json {pid}: {took:.2f}s")
    ut.check(s["limit_bytes"] == START_LIMIT, f"ctl show: limit_bytes {s['limit_bytes']}")
    ut.check(took < bound, f"uswap ctl show took {took:.2f}s (bound {bound}s)")
    return took


class TraceWatch:
    """Follows the trace file's rows: the longest time without a new one."""

    def __init__(self, path):
        self.path = path
        self.gap = 0.0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)

    def rows(self):
        try:
            with open(self.path, "rb") as f:
                return f.read().count(b"\n")
        except OSError:
            return 0

    def run(self):
        last, t_last = self.rows(), time.monotonic()
        while not self.stop:
            time.sleep(0.02)
            n, now = self.rows(), time.monotonic()
            if n != last:
                last, t_last = n, now
            self.gap = max(self.gap, now - t_last)

    def __enter__(self):
        self.gap = 0.0
        self.stop = False
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.t.join()


def send_big(pid, data):
    """data on one connection, as much as the server takes; its reply."""
    s = cc.connect(pid, timeout=5)
    try:
        s.sendall(data)
    except OSError:
        pass
    out = b""
    while True:
        try:
            b = s.recv(65536)
        except OSError:
            break
        if not b:
            break
        out += b
    s.close()
    return out


def case_flood(args, wd):
    trace = wd.join("trace.csv")
    prog = Held(args, wd, trace=trace)
    pid = prog.pid
    try:
        prog.go()
        prog.wait_passes(1)
        no_control_warning(prog)
        fds = cc.fd_count(pid)

        # Garbage with no newline, then a 16 MiB line: each gets its one error.
        got = cc.raw(pid, os.urandom(4000).replace(b"\n", b"x"), timeout=5)
        ut.check(got.startswith(b"error: ") and got.count(b"\n") == 1 and got.endswith(b"\n"),
                 f"garbage got {got[:100]!r}")
        got = send_big(pid, b"y" * (16 * MIB))
        ut.check(got == b"error: request longer than 4096 bytes\n", f"a 16 MiB line got {got[:100]!r}")

        # A request in pieces, within the deadline, is served.
        s = cc.connect(pid)
        for piece in (b"sh", b"o", b"w\n"):
            s.send(piece)
            time.sleep(0.2)
        got = b""
        while True:
            b = s.recv(65536)
            if not b:
                break
            got += b
        s.close()
        ut.check(json.loads(got)["limit_bytes"] == START_LIMIT, f"show in pieces got {got[:100]!r}")

        # Four slow-loris clients: one byte every 0.3 s.
        stop = threading.Event()

        def loris():
            while not stop.is_set():
                try:
                    c = cc.connect(pid, timeout=5)
                    for ch in b"set swappiness=1":
                        if stop.is_set():
                            break
                        c.send(bytes([ch]))
                        time.sleep(0.3)
                    c.close()
                except OSError:
                    time.sleep(0.05)

        with TraceWatch(trace) as tw:
            ts = [threading.Thread(target=loris, daemon=True) for _ in range(4)]
            for t in ts:
                t.start()
            time.sleep(0.5)
            worst = max(timed_show(args, pid, 1.0) for _ in range(3))
            time.sleep(1.0)
            stop.set()
            for t in ts:
                t.join()
        ut.log(f"4 slow-loris clients: show took up to {worst:.2f}s, longest trace gap {tw.gap:.2f}s")
        ut.check(tw.gap < 1.0, f"the trace had no row for {tw.gap:.2f}s behind slow clients")
        ut.check(cc.show(args, pid)["swappiness"] == 60, "a slow-loris request was applied")

        # 100 connections at once, held open and silent.
        release = threading.Event()
        connected = []

        def idle():
            try:
                c = cc.connect(pid, timeout=None)  # blocking: it waits in the backlog
                connected.append(1)
                release.wait(10)
                c.close()
            except OSError:
                pass

        with TraceWatch(trace) as tw:
            ts = [threading.Thread(target=idle, daemon=True) for _ in range(100)]
            for t in ts:
                t.start()
            time.sleep(0.3)
            worst = max(timed_show(args, pid, 2.0) for _ in range(3))
            time.sleep(0.5)
            release.set()
            for t in ts:
                t.join()
        ut.log(f"100 idle connections ({len(connected)} connected): show took up to {worst:.2f}s, "
               f"longest trace gap {tw.gap:.2f}s")
        ut.check(tw.gap < 1.0, f"the trace had no row for {tw.gap:.2f}s behind 100 connections")

        # No descriptor left behind once the deadlines have passed.
        cc.wait_for("the connections closed", lambda: cc.fd_count(pid) == fds, timeout=10)
        n = prog.passes()
        prog.wait_passes(n + 2, timeout=60)
        timed_show(args, pid, 1.0)
        prog.finish()
    finally:
        prog.kill()


def ctl_rusage(args, *words, timeout=60):
    """uswap ctl, with its peak memory (KiB)."""
    cmd = [args.uswap, "ctl"] + [str(w) for w in words]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, err = p.communicate()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    ut.log(f"$ uswap ctl {' '.join(map(str, words))} -> {p.returncode} | {err[:300]!r}")
    return p.returncode, out, err, ru.ru_maxrss


def no_raw_bytes(what, data):
    """Printable UTF-8 with newlines, nothing a terminal acts on."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ut.TestFailure(f"{what} printed bytes that are not UTF-8 ({e}): {data[:300]!r}")
    bad = [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) <= 0x9f]
    ut.check(not bad, f"{what} printed raw control characters {bad!r}: {data[:300]!r}")


def case_client(args, wd):
    pid = os.getpid()
    d = os.path.join(os.environ["XDG_RUNTIME_DIR"], "uswap")
    os.makedirs(d, 0o700, exist_ok=True)
    evil = (b'{"limit_bytes": 5, "name\x1b[2J": "\x1b]0;pwned\x07red\x1b[31m", '
            b'"c1": "\xc2\x9b31m", "latin1": "caf\xe9 \xff\xfe", "bidi": "\xe2\x80\xaeabc", '
            b'"ok": "caf\xc3\xa9"}\n')
    reply = [evil]

    def answer(c):
        r = reply[0]
        if callable(r):
            r(c)
        else:
            c.sendall(r)

    fakes = [FakeServer(cc.sock_path(pid), answer)]
    # The same fake on the old abstract name, where the unfixed client looks.
    fakes.append(FakeServer(b"\0uswap.%d" % pid, answer))
    try:
        rc, out, err, _ = ctl_rusage(args, pid)
        ut.check(rc == 0, f"show from the fake: exit {rc}, {err!r}")
        no_raw_bytes("show", out)
        ut.check(b"name\\x1b[2J" in out and b"\\x1b]0;pwned\\x07red\\x1b[31m" in out
                 and b"\\xc2\\x9b31m" in out and b"caf\\xe9 \\xff\\xfe" in out
                 and b"\\xe2\\x80\\xaeabc" in out and "café".encode() in out,
                 f"show did not escape as expected: {out!r}")

        rc, out, err, _ = ctl_rusage(args, "--json", pid)
        ut.check(rc == 0, f"show --json from the fake: exit {rc}, {err!r}")
        no_raw_bytes("show --json", out)
        s = json.loads(out)
        ut.check(s["name\x1b[2J"] == "\x1b]0;pwned\x07red\x1b[31m" and s["c1"] == "\x9b31m"
                 and s["latin1"] == "caf\xe9 \xff\xfe" and s["ok"] == "café",
                 f"show --json did not keep the values: {s}")

        reply[0] = b"error: \x1b[31mred\x07 \xff\n"
        rc, out, err, _ = ctl_rusage(args, pid, "set", "limit=1M")
        ut.check(rc == 2 and err == b"uswap: ctl: \\x1b[31mred\\x07 \\xff\n",
                 f"an error from the fake: exit {rc}, {err!r}")

        def endless(c):
            chunk = b'{"a": "' + b"x" * 65536
            try:
                for _ in range(64 * 16):  # 64 MiB, then give up
                    c.sendall(chunk)
            except OSError:
                pass

        reply[0] = endless
        t0 = time.monotonic()
        rc, out, err, rss = ctl_rusage(args, pid)
        ut.log(f"endless reply: {time.monotonic() - t0:.2f}s, peak {rss // 1024} MiB (of all children)")
        ut.check(rc == 2 and re.fullmatch(rb"uswap: ctl: process %d sent a reply longer than 4 MiB: "
                                          rb"not a uswap reply\n" % pid, err),
                 f"an endless reply: exit {rc}, {err[:200]!r}")
        ut.check(rss < 64 * 1024, f"the client used {rss // 1024} MiB on an endless reply")
    finally:
        for f in fakes:
            f.close()


CASES = {"squat": case_squat, "planted": case_planted, "baddir": case_baddir,
         "flood": case_flood, "client": case_client}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("case", choices=sorted(CASES))
    args = ap.parse_args()
    args.uswap = os.path.abspath(args.uswap)

    def run():
        with ut.Workdir("ctla-" + args.case) as wd:
            os.chmod(wd.path, 0o755)
            cc.private_run_dir(wd)
            CASES[args.case](args, wd)

    ut.main_wrapper(run)


if __name__ == "__main__":
    main()
