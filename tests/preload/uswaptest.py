# SPDX-License-Identifier: MIT
"""Shared helpers for the tests/preload Python drivers.

The Python side of helpers.h: exit codes 0 pass / 1 fail / 77 skip, running
a command natively, under the uswap CLI, or under LD_PRELOAD with USWAP_*
variables only, and checking the stats JSON that the managed process writes
at exit (keys per INTERFACE.md).
"""

import hashlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_SKIP = 77

MIB = 1024 * 1024

# Keys INTERFACE.md promises in the stats object (all integers).
CONTRACT_KEYS = (
    "pgfault", "pgmajfault", "pswpin", "pswpout", "pgscan_anon", "pgsteal_anon",
    "pgactivate", "pgdeactivate", "workingset_refault_anon", "limit_bytes",
    "resident_peak_bytes", "throttle_count", "throttle_ns", "swap_bytes_peak",
)


# meson test sets MALLOC_PERTURB_; glibc then memsets every allocation,
# which inflates the native peak RSS that real_programs derives its limit
# from. The preload's allocator ignores it anyway.
os.environ.pop("MALLOC_PERTURB_", None)


class TestFailure(Exception):
    pass


class TestSkip(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def main_wrapper(fn):
    """Run fn(); turn TestFailure/TestSkip into exit codes 1/77."""
    try:
        fn()
    except TestSkip as e:
        log(f"SKIP: {e}")
        sys.exit(EXIT_SKIP)
    except TestFailure as e:
        log(f"FAIL: {e}")
        sys.exit(EXIT_FAIL)
    log("PASS")
    sys.exit(EXIT_PASS)


def parse_size(text):
    """'64M' -> bytes (binary units), as the CLI reads SIZE."""
    m = re.fullmatch(r"(\d+)([KMG]?)", text.strip(), re.IGNORECASE)
    if not m:
        raise ValueError(f"bad size {text!r}")
    shift = {"": 0, "K": 10, "M": 20, "G": 30}[m.group(2).upper()]
    return int(m.group(1)) << shift


def fmt_bytes(n):
    return f"{n / MIB:.1f} MiB"


def status_text(rc):
    if rc is None:
        return "timed out"
    if rc < 0:
        try:
            return f"killed by {signal.Signals(-rc).name}"
        except ValueError:
            return f"killed by signal {-rc}"
    return f"exit {rc}"


class Result:
    """Outcome of one run: status, output files, peak RSS, stats."""

    def __init__(self):
        self.returncode = None  # as subprocess: negative = signal
        self.stdout_path = None
        self.stderr = ""
        self.maxrss_bytes = 0
        self.elapsed = 0.0
        self.stats = None  # dict, or None if no stats file
        self.stats_error = None

    def stdout_bytes(self):
        with open(self.stdout_path, "rb") as f:
            return f.read()


class Workdir:
    """A private temp directory, removed at the end unless USWAP_KEEP_TMP=1."""

    def __init__(self, prefix):
        base = os.environ.get("USWAP_TEST_TMPDIR") or None
        self.path = tempfile.mkdtemp(prefix=f"uswap-{prefix}-", dir=base)

    def join(self, *parts):
        return os.path.join(self.path, *parts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if os.environ.get("USWAP_KEEP_TMP") == "1":
            log(f"(keeping {self.path})")
        else:
            shutil.rmtree(self.path, ignore_errors=True)


def run(cmd, *, workdir, tag, env=None, timeout=600, stdin=subprocess.DEVNULL,
        stats_path=None, echo_stderr=True):
    """Run cmd with stdout to a file, stderr captured; wait4() for rusage.

    The child is put in its own process group so a timeout kills the whole
    tree (the program and anything it spawned).
    """
    res = Result()
    res.stdout_path = os.path.join(workdir.path, f"{tag}.stdout")
    err_path = os.path.join(workdir.path, f"{tag}.stderr")
    full_env = dict(os.environ)
    full_env["TMPDIR"] = workdir.path
    if env:
        full_env.update(env)
    log(f"[{tag}] $ {' '.join(shlex.quote(c) for c in cmd)}")
    t0 = time.monotonic()
    with open(res.stdout_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdin=stdin, stdout=out, stderr=err,
                             env=full_env, start_new_session=True)
        deadline = t0 + timeout
        while True:
            pid, status, ru = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(p.pid, signal.SIGKILL)
                pid, status, ru = os.wait4(p.pid, 0)
                res.elapsed = time.monotonic() - t0
                res.stderr = open(err_path, errors="replace").read()
                _echo(tag, res.stderr, echo_stderr)
                raise TestFailure(f"[{tag}] timed out after {timeout}s")
            time.sleep(0.02)
        p.returncode = os.waitstatus_to_exitcode(status)
    res.elapsed = time.monotonic() - t0
    res.returncode = p.returncode
    res.maxrss_bytes = ru.ru_maxrss * 1024
    with open(err_path, errors="replace") as f:
        res.stderr = f.read()
    _echo(tag, res.stderr, echo_stderr)
    log(f"[{tag}] {status_text(res.returncode)} in {res.elapsed:.1f}s, "
        f"peak RSS {fmt_bytes(res.maxrss_bytes)}")
    if stats_path:
        res.stats, res.stats_error = load_stats(stats_path)
    return res


def _echo(tag, text, enabled):
    """Show the program's own stderr in full (up to 300 lines) and at most
    the first and last 10 of the runtime's routine "uswap: " lines, which a
    debug build can print by the thousand."""
    if not enabled or not text:
        return
    lines = text.splitlines()
    # Lines that report lost data or a fatal condition are always shown.
    keep = re.compile(r"zero-fill|lost|corrupt|out of memory|fatal|abort", re.I)
    runtime = [i for i, line in enumerate(lines)
               if line.startswith("uswap: ") and not keep.search(line)]
    hidden = set(runtime[10:-10]) if len(runtime) > 20 else set()
    shown, skipped = [], 0
    for i, line in enumerate(lines):
        if i in hidden:
            skipped += 1
            continue
        if skipped:
            shown.append(f"... ({skipped} more 'uswap: ' lines) ...")
            skipped = 0
        shown.append(line)
    if len(shown) > 300:
        shown = shown[:150] + [f"... ({len(shown) - 300} lines) ..."] + shown[-150:]
    for line in shown:
        print(f"[{tag}] stderr: {line}")
    sys.stdout.flush()


def sha256_file(path):
    """Hex SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_stats(path):
    if not os.path.exists(path):
        return None, f"stats file {path} was not written"
    with open(path, errors="replace") as f:
        text = f.read()
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        return None, f"stats file is not valid JSON ({e}): {text[:200]!r}"
    if not isinstance(obj, dict):
        return None, f"stats file holds {type(obj).__name__}, not an object"
    add_swap_totals(obj)
    return obj, None


def add_swap_totals(stats):
    """Derived keys for "pages went to swap and came back", wherever they
    went: the compressed pool (zswpout, zswpin) or the swap file (pswpout,
    pswpin; a pool page written back counts in both). "swapout" and
    "swapin", in stats and in its "children" object."""
    for obj in (stats, stats.get("children")):
        if isinstance(obj, dict) and "pswpout" in obj:
            obj["swapout"] = obj.get("pswpout", 0) + obj.get("zswpout", 0)
            obj["swapin"] = obj.get("pswpin", 0) + obj.get("zswpin", 0)
    return stats


def uswap_cmd(uswap, limit, cmd, *, stats=None, extra=()):
    argv = [uswap, "--limit", limit]
    if stats:
        argv += ["--stats", stats]
    argv += list(extra)
    return argv + ["--"] + list(cmd)


def run_uswap(uswap, limit, cmd, *, workdir, tag, extra=(), timeout=300):
    """cmd under uswap with --stats WORKDIR/TAG.json: fails unless it exits 0
    with stats that carry the contract keys."""
    stats = workdir.join(f"{tag}.json")
    res = run(uswap_cmd(uswap, limit, cmd, stats=stats, extra=extra), workdir=workdir, tag=tag,
              stats_path=stats, timeout=timeout)
    check(res.returncode == 0, f"[{tag}] exit status {status_text(res.returncode)}")
    require_stats(res, tag)
    return res


def run_native(cmd, *, workdir, timeout=300):
    """cmd without uswap: fails unless it exits 0; its stdout (bytes)."""
    res = run(cmd, workdir=workdir, tag="native", timeout=timeout)
    check(res.returncode == 0, f"[native] exit status {status_text(res.returncode)}")
    return res.stdout_bytes()


def preload_env(preload, limit, *, stats=None, extra=None):
    env = {"LD_PRELOAD": preload, "USWAP_LIMIT": limit}
    if stats:
        env["USWAP_STATS"] = stats
    if extra:
        env.update(extra)
    return env


def require_stats(res, tag):
    """Stats exist, parse, and carry every contract key as an integer."""
    check(res.stats is not None, f"[{tag}] {res.stats_error}")
    missing = [k for k in CONTRACT_KEYS if k not in res.stats]
    check(not missing, f"[{tag}] stats lack contract keys: {', '.join(missing)}")
    bad = [k for k in CONTRACT_KEYS
           if not isinstance(res.stats[k], int) or isinstance(res.stats[k], bool)]
    check(not bad, f"[{tag}] stats keys not integers: "
          + ", ".join(f"{k}={res.stats[k]!r}" for k in bad))
    return res.stats


def summarize_stats(stats):
    keys = ("limit_bytes", "resident_peak_bytes", "pswpout", "pswpin", "zswpout", "zswpin",
            "pgfault", "pgmajfault", "pgscan_anon", "pgsteal_anon",
            "workingset_refault_anon", "throttle_count", "throttle_ns",
            "swap_bytes_peak")
    return " ".join(f"{k}={stats[k]}" for k in keys if k in stats)


# Keys may name nested objects: "children.processes>=1".
_EXPR = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(==|!=|<=|>=|<|>)\s*([A-Za-z_][\w.]*|-?\d+)\s*$")
_OPS = {
    "==": lambda a, b: a == b, "!=": lambda a, b: a != b,
    "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b,
}


def is_valid_expr(expr):
    return bool(_EXPR.match(expr))


def check_expr(stats, expr):
    """'pswpout>0' or 'resident_peak_bytes<=limit_bytes' against stats."""
    m = _EXPR.match(expr)
    if not m:
        raise ValueError(f"bad assertion {expr!r}")
    lhs, op, rhs = m.groups()

    def value(tok):
        if re.fullmatch(r"-?\d+", tok):
            return int(tok)
        obj = stats
        for part in tok.split("."):
            check(isinstance(obj, dict) and part in obj,
                  f"stats have no key {tok!r} (needed by {expr!r})")
            obj = obj[part]
        check(isinstance(obj, int) and not isinstance(obj, bool),
              f"stats key {tok!r} is {obj!r}, not an integer")
        return obj

    a, b = value(lhs), value(rhs)
    check(_OPS[op](a, b), f"stats assertion {expr} failed: {lhs}={a}"
          + ("" if re.fullmatch(r"-?\d+", rhs) else f", {rhs}={b}"))


def check_exprs(stats, exprs, tag):
    """Every assertion of @exprs against stats: each one is logged ok or
    FAIL, then the test fails if any did (with all their messages)."""
    failed = []
    for expr in exprs:
        try:
            check_expr(stats, expr)
            log(f"[{tag}] ok: {expr}")
        except TestFailure as e:
            log(f"[{tag}] FAIL: {e}")
            failed.append(str(e))
    check(not failed, "; ".join(failed))


def require_children(stats, tag):
    """The "children" object: integer counters, "processes" among them."""
    ch = stats.get("children")
    check(isinstance(ch, dict), f"[{tag}] stats have no \"children\" object (got {ch!r})")
    check("processes" in ch, f"[{tag}] stats \"children\" lack \"processes\": {ch}")
    bad = {k: v for k, v in ch.items()
           if not isinstance(v, int) or isinstance(v, bool) or v < 0}
    check(not bad, f"[{tag}] stats \"children\" values not counters: {bad}")
    return ch
