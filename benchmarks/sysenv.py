"""sysenv: the system side of the benchmark drivers (run.py, compare.py,
balance.py, observe.py), in one place.

Signals turned into an exception, a LIFO cleanup stack, the one benchmark
process group running, a kernel swap file, a cgroup v1 memory cgroup,
zswap's parameters, /proc readers, and the reaping of what an earlier,
SIGKILLed run left behind (its cgroups, active swap files, zswap settings
and scratch directory).  Standard library only.

Each driver installs on_signal for SIGINT, SIGTERM and SIGHUP, pushes every
undo action onto one Cleanup as soon as the thing to undo exists, and runs
it in a finally block (compare.py also from atexit: a second run is a
no-op), so that the system is put back on every exit path.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

MIB = 1 << 20
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CGROUP_V1_MEMORY = "/sys/fs/cgroup/memory"
ZSWAP = "/sys/module/zswap/parameters"


class Interrupted(Exception):
    """A signal asked us to stop; raised so that every finally block runs."""

    def __init__(self, signum):
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum


def on_signal(signum, _frame):
    raise Interrupted(signum)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def write_file(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def read_file(path, default=""):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return default


def fs_type(path):
    """Filesystem type of the mount holding path (longest mount prefix)."""
    path = os.path.realpath(path)
    best, kind = "", "?"
    for line in read_file("/proc/mounts").splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        mnt = fields[1].replace("\\040", " ")
        if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) > len(best):
            best, kind = mnt, fields[2]
    return kind


def parse_kv(line):
    return dict(tok.split("=", 1) for tok in line.split() if "=" in tok)


def fmt(v, spec="{:.2f}", none="-"):
    return none if v is None else spec.format(v)


def vmstat():
    out = {}
    for line in read_file("/proc/vmstat").splitlines():
        k, _, v = line.partition(" ")
        if k in ("pswpin", "pswpout", "pgmajfault"):
            out[k] = int(v)
    return out


def active_swaps():
    """The swap devices and files in use, as /proc/swaps names them."""
    return [line.split()[0] for line in read_file("/proc/swaps").splitlines()[1:] if line.strip()]


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def remove_tree(path):
    if not os.path.isdir(path):
        return
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            os.unlink(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    os.rmdir(path)


class Cleanup:
    """A LIFO stack of undo actions; each runs once, errors are reported
    (as "PROG: cleanup: ...") and do not stop the rest.  Signals are ignored
    while it runs so that a second Ctrl-C cannot cut a swapoff short."""

    def __init__(self, prog):
        self.prog = prog
        self.actions = []

    def push(self, desc, fn):
        self.actions.append((desc, fn))

    def run(self):
        old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            while self.actions:
                desc, fn = self.actions.pop()
                try:
                    fn()
                except Exception as e:  # keep undoing the rest
                    log(f"{self.prog}: cleanup: {desc}: {e}")
        finally:
            for s, h in old.items():
                signal.signal(s, h)


class Child:
    """The benchmark process groups running (one at a time, in practice), so
    that cleanup can kill them: add a pid once started, drop it once reaped."""

    pids = []

    @classmethod
    def kill_all(cls):
        for pid in list(cls.pids):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        cls.pids = []


class PeakSampler(threading.Thread):
    """The peak of probe() while a program runs, sampled every interval
    seconds until stop is set: a sampler for wait_timed."""

    def __init__(self, probe, interval=0.1):
        super().__init__(daemon=True)
        self.probe, self.interval, self.peak = probe, interval, 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            self.peak = max(self.peak, self.probe())
            self.stop.wait(self.interval)


def wait_timed(cmd, timeout, sampler=None, **popen_kw):
    """Run cmd in a session of its own, in Child.pids while it runs (so that
    cleanup can kill it), its process group SIGKILLed after timeout seconds.
    sampler(pid), when given, makes a thread with a stop Event that watches
    the program (a PeakSampler): started once the program is, stopped once it is reaped.
    Returns (exit code as subprocess gives it, wall seconds around
    fork/exec/wait4, its rusage, whether it timed out, the sampler thread,
    joined, or None)."""
    timed_out = threading.Event()
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, start_new_session=True, **popen_kw)
    Child.pids.append(proc.pid)
    watch = None
    if sampler:
        watch = sampler(proc.pid)
        watch.start()

    def on_timeout():
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, on_timeout)
    timer.start()
    try:
        _, status, ru = os.wait4(proc.pid, 0)
    finally:
        timer.cancel()
        if watch:
            watch.stop.set()
    wall = time.monotonic() - t0
    Child.pids.remove(proc.pid)
    if watch:
        watch.join()
    return os.waitstatus_to_exitcode(status), wall, ru, timed_out.is_set(), watch


class SwapFile:
    """A swap file for the kernel baseline: fallocate, mkswap, swapon; swapped
    off and deleted on cleanup."""

    def __init__(self, path, size, cleanup):
        self.path = path
        cleanup.push(f"swapoff and remove {path}", self.remove)
        subprocess.run(["fallocate", "-l", str(size), path], check=True)
        os.chmod(path, 0o600)
        subprocess.run(["mkswap", path], check=True, stdout=subprocess.DEVNULL)
        subprocess.run(["swapon", path], check=True)

    def is_active(self):
        active = active_swaps()
        return self.path in active or os.path.realpath(self.path) in active

    def remove(self):
        if self.is_active():
            subprocess.run(["swapoff", self.path], check=True)
        if os.path.exists(self.path):
            os.unlink(self.path)


class MemCgroup:
    """A cgroup v1 memory cgroup with a hard limit, emptied and removed on cleanup."""

    def __init__(self, name, limit, swappiness, cleanup):
        self.path = os.path.join(CGROUP_V1_MEMORY, name)
        cleanup.push(f"rmdir {self.path}", self.remove)
        os.mkdir(self.path)
        write_file(self.f("memory.swappiness"), swappiness)
        write_file(self.f("memory.limit_in_bytes"), limit)

    def f(self, name):
        return os.path.join(self.path, name)

    def stat(self):
        out = {}
        for line in read_file(self.f("memory.stat")).splitlines():
            k, _, v = line.partition(" ")
            if v.strip().isdigit():
                out[k] = int(v)
        return out

    def num(self, name):
        v = read_file(self.f(name)).strip()
        return int(v) if v.isdigit() else None

    def oom_control(self):
        return {k: int(v) for k, v in (line.split() for line in read_file(self.f("memory.oom_control")).splitlines()
                                       if len(line.split()) == 2 and line.split()[1].isdigit())}

    def pids(self):
        return [int(p) for p in read_file(self.f("cgroup.procs")).split()]

    def remove(self):
        if not os.path.isdir(self.path):
            return
        deadline = time.monotonic() + 30
        while True:
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            try:
                os.rmdir(self.path)
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)


class Zswap:
    """zswap's enabled and compressor parameters, saved at start (also to a
    file, for the next run to restore if this one is SIGKILLed), put back on
    cleanup."""

    SAVED = "zswap.saved"  # the file's name in the scratch directory

    def __init__(self, saved_path, cleanup):
        self.saved = {k: read_file(os.path.join(ZSWAP, k)).strip() for k in ("enabled", "compressor")}
        self.cur = dict(self.saved)
        self.saved_path = saved_path
        with open(saved_path, "w") as f:
            json.dump(self.saved, f)
        cleanup.push("restore zswap parameters", self.restore)

    def set(self, enabled, compressor=None):
        if compressor and self.cur["compressor"] != compressor:
            write_file(os.path.join(ZSWAP, "compressor"), compressor)
            self.cur["compressor"] = compressor
        if self.cur["enabled"] != enabled:
            write_file(os.path.join(ZSWAP, "enabled"), enabled)
            self.cur["enabled"] = enabled

    @staticmethod
    def restore_values(saved):
        # The compressor first, so that an enabled zswap comes back with its own.
        for k in ("compressor", "enabled"):
            p = os.path.join(ZSWAP, k)
            if saved.get(k) and read_file(p).strip() != saved[k]:
                write_file(p, saved[k])

    def restore(self):
        self.restore_values(self.saved)
        self.cur = dict(self.saved)
        if os.path.exists(self.saved_path):
            os.unlink(self.saved_path)


def reap_stale(swap_dir, prog, tag, kill_tasks=False):
    """Undo what an earlier run of a driver left behind when it was SIGKILLed
    (the one exit no handler sees).  Its cgroups, TAG-PID or TAG-PID-N under
    the v1 memory controller with PID dead: removed when empty, or, with
    kill_tasks, after killing what is left in them.  Its scratch
    directories, SWAP_DIR/TAG-* whose owner.pid is dead: active swap files
    in them swapped off, zswap parameters saved there (Zswap.SAVED) put
    back, the directory removed.  Reported as "PROG: ..." on stderr."""
    if os.path.isdir(CGROUP_V1_MEMORY):
        for name in os.listdir(CGROUP_V1_MEMORY):
            m = re.fullmatch(re.escape(tag) + r"-(\d+)(?:-\d+)?", name)
            path = os.path.join(CGROUP_V1_MEMORY, name)
            if not m or pid_alive(int(m.group(1))):
                continue
            tasks = read_file(os.path.join(path, "cgroup.procs")).split()
            if tasks and not kill_tasks:
                continue
            try:
                if tasks:
                    for pid in tasks:
                        os.kill(int(pid), signal.SIGKILL)
                    time.sleep(0.2)
                os.rmdir(path)
                log(f"{prog}: removed stale cgroup {path}")
            except OSError as e:
                log(f"{prog}: stale cgroup {path}: {e}")
    try:
        names = os.listdir(swap_dir)
    except OSError:
        return
    for name in names:
        d = os.path.join(swap_dir, name)
        owner = read_file(os.path.join(d, "owner.pid")).strip()
        if not name.startswith(tag + "-") or not owner.isdigit() or pid_alive(int(owner)):
            continue
        try:
            for dev in active_swaps():
                if os.path.dirname(dev) == d:
                    subprocess.run(["swapoff", dev], check=True)
            saved = os.path.join(d, Zswap.SAVED)
            if os.path.exists(saved):
                with open(saved) as f:
                    Zswap.restore_values(json.load(f))
                log(f"{prog}: restored zswap parameters saved by dead pid {owner}")
            shutil.rmtree(d)
            log(f"{prog}: removed stale {d}")
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            log(f"{prog}: stale {d}: {e}")
