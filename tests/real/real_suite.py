#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""real_suite: real software under uswap at half its native peak RSS.

  real_suite.py --uswap build/uswap --treepeak build/tests/real/treepeak \
      --case sqlite [--cxx-maps build/tests/real/cxx_maps]

Each case is one or more steps. A step runs natively first, in its own
directory (<tmp>/native), then under `uswap --limit <half the native peak>
--stats FILE` in another (<tmp>/uswap), with the same command line, the same
inputs (generated once, deterministically, in <tmp>/input) and the same
environment. Asserted per step:

  * the native run exits 0 (else there is nothing to compare against) and
    the run under uswap exits with the same status;
  * stdout, and every output file the step names, are byte-identical (a few
    steps compare a normalized form and say so: CPython's regression tests
    compare per-test outcomes, not timings);
  * step-specific checks (xz/pigz round trips give back the input);
  * the stats file exists with every contract key, limit_bytes is the limit,
    and memory really was paged: pswpout of the top process plus
    children.pswpout (descendant managed processes) > 0;
  * resident_peak_bytes <= limit_bytes for the top process and for every
    child (children.resident_peak_bytes is their maximum);
  * the kernel's peak RSS under uswap is at most the limit plus
    max(64 MiB, limit/4) (binaries, libraries, the runtime's own tables).

Peak RSS, and so the limit: the limit applies to each managed process on its
own (every process of the tree loads the runtime with the same USWAP_LIMIT),
so the number to halve is the peak of the largest single process of the
tree, not a sum over the tree. The treepeak helper (treepeak.c) measures
exactly that: wait4() on a child returns getrusage(RUSAGE_BOTH) of it, whose
ru_maxrss is the largest of the child's own peak and those of every
descendant it reaped; the helper is a child subreaper, so orphaned
descendants are reaped (and counted) there too. The helper, not this
script, forks the command: a child vforked by a big Python process would
inherit the driver's high-water RSS at exec.

One summary line per step ("summary | ...") gives limit, wall times, major
faults and pages swapped out (top process + children); with
USWAP_REAL_SUMMARY=FILE each step also appends a JSON line there.

Exit codes: 0 pass, 1 fail, 77 skip (a program or package is missing).
Keep the temp dir: USWAP_KEEP_TMP=1.
"""

import argparse
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "preload"))
import uswaptest as ut  # noqa: E402

MIB = ut.MIB


# ---------------------------------------------------------------- steps

class Step:
    """One command run natively and under uswap.

    cmd         argv; relative paths resolve in the run's own directory
    stdin       None, or fn(rundir) -> path of a file to feed on stdin
    outputs     files the command writes (relative to the run directory)
                that must be byte-identical
    normalize   {"stdout" or output name: fn(bytes) -> bytes} for the few
                outputs compared in a normalized form
    check       fn(rundir, stdout_path, limit_bytes) -> None, raises
                TestFailure; limit_bytes is None for the native run
    """

    def __init__(self, name, cmd, *, env=None, stdin=None, outputs=(),
                 normalize=None, check=None, timeout=400, describe=None):
        self.name = name
        self.cmd = list(cmd)
        self.env = dict(env or {})
        self.stdin = stdin
        self.outputs = list(outputs)
        self.normalize = dict(normalize or {})
        self.check = check
        self.timeout = timeout
        self.describe = describe or " ".join(shlex.quote(c) for c in self.cmd)


class Run:
    def __init__(self):
        self.returncode = None
        self.elapsed = 0.0
        self.maxrss = 0
        self.stdout_path = None
        self.stderr = ""
        self.stats = None
        self.stats_error = None


def run_step(step, rundir, tag, *, treepeak, prefix=(), stats_path=None):
    """Run prefix + step.cmd in rundir; stdout to <rundir>/<step>.stdout.

    The command runs under the treepeak helper, which reports its wait
    status and the peak RSS of the largest process of its tree (see
    treepeak.c for why not wait4() here). The helper gets its own session so
    a timeout kills everything the command started."""
    r = Run()
    r.stdout_path = os.path.join(rundir, f"{step.name}.stdout")
    err_path = os.path.join(rundir, f"{step.name}.stderr")
    peak_path = os.path.join(rundir, f"{step.name}.treepeak")
    env = dict(os.environ)
    env["TMPDIR"] = rundir
    for k, v in step.env.items():  # None: remove from the environment
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    cmd = list(prefix) + step.cmd
    ut.log(f"[{tag}] $ (cd {rundir} && {' '.join(shlex.quote(c) for c in cmd)}"
           + (f" < {step.stdin(rundir)}" if step.stdin else "") + ")")
    if os.path.exists(peak_path):
        os.unlink(peak_path)
    stdin = open(step.stdin(rundir), "rb") if step.stdin else subprocess.DEVNULL
    t0 = time.monotonic()
    try:
        with open(r.stdout_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen([treepeak, peak_path, "--"] + cmd, cwd=rundir, stdin=stdin,
                                 stdout=out, stderr=err, env=env, start_new_session=True)
            try:
                helper_rc = p.wait(timeout=step.timeout)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
                with open(err_path, errors="replace") as f:
                    ut._echo(tag, f.read(), True)
                raise ut.TestFailure(f"[{tag}] timed out after {step.timeout}s")
    finally:
        if step.stdin:
            stdin.close()
    r.elapsed = time.monotonic() - t0
    with open(err_path, errors="replace") as f:
        r.stderr = f.read()
    ut._echo(tag, r.stderr, True)
    ut.check(helper_rc == 0 and os.path.exists(peak_path),
             f"[{tag}] the treepeak helper failed ({ut.status_text(helper_rc)})")
    with open(peak_path) as f:
        rep = dict(line.split() for line in f if line.strip())
    r.returncode = os.waitstatus_to_exitcode(int(rep["status"]))
    r.maxrss = int(rep["maxrss_kib"]) * 1024
    ut.log(f"[{tag}] {ut.status_text(r.returncode)} in {r.elapsed:.1f}s, "
           f"peak RSS (largest process) {ut.fmt_bytes(r.maxrss)}"
           + (f", {rep['orphans']} orphaned descendants" if rep.get("orphans", "0") != "0"
              else ""))
    if stats_path:
        r.stats, r.stats_error = ut.load_stats(stats_path)
    return r


def first_difference(a, b):
    """Offset of the first differing byte of two files (or the shorter length)."""
    with open(a, "rb") as fa, open(b, "rb") as fb:
        off = 0
        while True:
            x, y = fa.read(1 << 16), fb.read(1 << 16)
            if x != y:
                n = min(len(x), len(y))
                i = next((i for i in range(n) if x[i] != y[i]), n)
                return off + i
            if not x:
                return None
            off += len(x)


def compare_output(label, native_path, uswap_path, normalize=None):
    ut.check(os.path.exists(uswap_path), f"{label}: not written under uswap")
    if normalize:
        with open(native_path, "rb") as f:
            a = normalize(f.read())
        with open(uswap_path, "rb") as f:
            b = normalize(f.read())
        if a != b:
            al, bl = a.splitlines(), b.splitlines()
            i = next((i for i in range(min(len(al), len(bl))) if al[i] != bl[i]),
                     min(len(al), len(bl)))
            only_n = [x for x in al if x not in set(bl)][:10]
            only_u = [x for x in bl if x not in set(al)][:10]
            raise ut.TestFailure(
                f"{label} differs (normalized, {len(al)} vs {len(bl)} lines); first "
                f"difference at line {i + 1}:\n  native: "
                f"{al[i] if i < len(al) else '<end>'!r}\n  uswap:  "
                f"{bl[i] if i < len(bl) else '<end>'!r}\n  only natively (up to 10):\n"
                + "".join(f"    {x.decode(errors='replace')}\n" for x in only_n)
                + "  only under uswap (up to 10):\n"
                + "".join(f"    {x.decode(errors='replace')}\n" for x in only_u))
        ut.log(f"ok: {label} identical after normalization ({len(a)} bytes)")
        return
    na, ua = ut.sha256_file(native_path), ut.sha256_file(uswap_path)
    ns, us = os.path.getsize(native_path), os.path.getsize(uswap_path)
    if na != ua:
        off = first_difference(native_path, uswap_path)
        raise ut.TestFailure(f"{label} differs: native {ns} bytes sha256 {na[:16]}, "
                             f"under uswap {us} bytes sha256 {ua[:16]}; first "
                             f"difference at byte {off}")
    ut.log(f"ok: {label} byte-identical ({ns} bytes, sha256 {na[:16]})")


def child_stat(stats, key):
    ch = stats.get("children")
    return ch.get(key, 0) if isinstance(ch, dict) else 0


def run_case(case, steps, wd, args):
    ndir, udir = wd.join("native"), wd.join("uswap")
    os.makedirs(ndir, exist_ok=True)
    os.makedirs(udir, exist_ok=True)
    rows = []
    for step in steps:
        tag = f"{case}/{step.name}"
        native = run_step(step, ndir, f"{tag}-native", treepeak=args.treepeak)
        ut.check(native.returncode == 0,
                 f"[{tag}] native run failed ({ut.status_text(native.returncode)}); "
                 "nothing to compare against")
        if step.check:
            step.check(ndir, native.stdout_path, None)
        limit_kib = native.maxrss // 1024 // 2
        limit, limit_bytes = f"{limit_kib}K", limit_kib * 1024
        ut.log(f"[{tag}] native peak RSS {ut.fmt_bytes(native.maxrss)} -> limit {limit} "
               f"({ut.fmt_bytes(limit_bytes)})")

        stats_path = os.path.join(udir, f"{step.name}.stats.json")
        under = run_step(step, udir, f"{tag}-uswap", stats_path=stats_path, treepeak=args.treepeak,
                         prefix=ut.uswap_cmd(args.uswap, limit, [], stats=stats_path))
        stats = under.stats or {}
        majf = (stats.get("pgmajfault", 0), child_stat(stats, "pgmajfault"))
        pout = (stats.get("swapout", 0), child_stat(stats, "swapout"))
        procs = 1 + child_stat(stats, "processes")
        row = {"case": case, "step": step.name, "command": step.describe,
               "native_peak_bytes": native.maxrss, "limit_bytes": limit_bytes,
               "native_s": round(native.elapsed, 2), "uswap_s": round(under.elapsed, 2),
               "uswap_peak_bytes": under.maxrss,
               "pgmajfault": majf[0], "pgmajfault_children": majf[1],
               "pswpout": pout[0], "pswpout_children": pout[1], "processes": procs,
               "result": "FAIL"}
        try:
            if under.stats is not None:
                ut.log(f"[{tag}] stats: {ut.summarize_stats(stats)}")
                if isinstance(stats.get("children"), dict):
                    ut.log(f"[{tag}] children: " + ut.summarize_stats(stats["children"])
                           + f" processes={child_stat(stats, 'processes')}")
            # Status, outputs and step checks: report every mismatch at once
            # (a failed test's outcome diff says more than its exit status).
            problems = []

            def attempt(fn, *a):
                try:
                    fn(*a)
                except ut.TestFailure as e:
                    problems.append(str(e))

            attempt(lambda: ut.check(
                under.returncode == native.returncode,
                f"[{tag}] under uswap {ut.status_text(under.returncode)}, natively "
                f"{ut.status_text(native.returncode)}"))
            attempt(compare_output, f"[{tag}] stdout", native.stdout_path, under.stdout_path,
                    step.normalize.get("stdout"))
            for name in step.outputs:
                attempt(compare_output, f"[{tag}] {name}", os.path.join(ndir, name),
                        os.path.join(udir, name), step.normalize.get(name))
            if step.check:
                attempt(step.check, udir, under.stdout_path, limit_bytes)
            if problems:
                raise ut.TestFailure("\n".join(problems))
            stats = ut.require_stats(under, tag)
            ut.check(stats["limit_bytes"] == limit_bytes,
                     f"[{tag}] limit_bytes={stats['limit_bytes']}, expected {limit_bytes}")
            ut.check(pout[0] + pout[1] > 0,
                     f"[{tag}] nothing was paged: swapout={pout[0]}, "
                     f"children.swapout={pout[1]} ({procs} managed processes)")
            ut.log(f"[{tag}] ok: swapout {pout[0]} + children {pout[1]} > 0")
            ut.check_expr(stats, "resident_peak_bytes<=limit_bytes")
            cpeak = child_stat(stats, "resident_peak_bytes")
            ut.check(cpeak <= limit_bytes,
                     f"[{tag}] children.resident_peak_bytes={cpeak} > limit {limit_bytes}")
            slack = max(64 * MIB, limit_bytes // 4)
            ut.check(under.maxrss <= limit_bytes + slack,
                     f"[{tag}] kernel peak RSS under uswap {ut.fmt_bytes(under.maxrss)} > "
                     f"limit {ut.fmt_bytes(limit_bytes)} + {ut.fmt_bytes(slack)} (native "
                     f"{ut.fmt_bytes(native.maxrss)})")
            ut.log(f"[{tag}] ok: resident peaks within the limit, kernel peak RSS "
                   f"{ut.fmt_bytes(under.maxrss)} <= limit + {ut.fmt_bytes(slack)}")
            row["result"] = "PASS"
        finally:
            rows.append(row)
            summary(row, args)
    return rows


def summary(row, args):
    ut.log("summary | {case}/{step} | {command} | limit {lim:.1f} MiB (native peak "
           "{peak:.1f} MiB) | native {native_s:.1f} s | uswap {uswap_s:.1f} s | pgmajfault "
           "{pgmajfault} + {pgmajfault_children} | pswpout {pswpout} + {pswpout_children} | "
           "{processes} proc | {result}".format(
               lim=row["limit_bytes"] / MIB, peak=row["native_peak_bytes"] / MIB, **row))
    out = os.environ.get("USWAP_REAL_SUMMARY")
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")


def need(prog):
    path = shutil.which(prog) if "/" not in prog else (prog if os.access(prog, os.X_OK) else None)
    if not path:
        raise ut.TestSkip(f"{prog} not found (see .ci/run for the Debian packages)")
    return path


# --------------------------------------------------------- input data

def make_text(path, mb, seed=20240611):
    """Deterministic, compressible text: lines of words from a vocabulary,
    in 256 KiB chunks; three chunks in four repeat an earlier chunk (from
    anywhere before, lightly edited): long-distance matches that only a
    large dictionary finds."""
    rng = random.Random(seed)
    alpha = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choices(alpha, k=rng.randint(2, 10))) for _ in range(8192)]
    vocab += [str(rng.randint(0, 10**6)) for _ in range(1024)] + ["\n"] * 600
    chunk, chunks, total = 256 * 1024, [], 0
    with open(path, "wb") as f:
        while total < mb * MIB:
            if len(chunks) > 8 and rng.random() < 0.75:
                data = bytearray(chunks[rng.randrange(len(chunks))])
                for _ in range(16):
                    data[rng.randrange(len(data))] = rng.randrange(32, 127)
                data = bytes(data)
            else:
                data = " ".join(rng.choices(vocab, k=chunk // 5)).encode()[:chunk]
            chunks.append(data)
            f.write(data)
            total += len(data)
    return total


def make_c(path, nfunc, seed=7):
    """A large C translation unit: a big constant table and nfunc functions
    with loops, switches and helpers, plus a table of pointers to them."""
    rng = random.Random(seed)
    tsize = nfunc * 16
    out = ["/* generated by tests/real/real_suite.py */", "#include <stdint.h>",
           "#include <string.h>", "", f"static const uint32_t table[{tsize}] = {{"]
    vals = [f"{rng.randrange(1 << 32)}u" for _ in range(tsize)]
    out += ["  " + ", ".join(vals[i:i + 12]) + "," for i in range(0, tsize, 12)]
    out += ["};", "struct st { uint32_t a, b; uint64_t c; char name[16]; };"]
    for f in range(nfunc):
        k = [rng.randrange(1, 1 << 16) for _ in range(8)]
        ops = []
        for _ in range(rng.randint(6, 14)):
            c = rng.randrange(1, 1 << 12)
            ops.append("      " + rng.choice([
                f"x = x * {c}u + y;",
                f"y ^= (x >> {c % 29 + 1}) | (y << 3);",
                f"if (x & {c}u) y += table[(x + i) % {tsize}u]; else x -= y;",
                f"s->c += (uint64_t)x * {c}u;",
                f"for (int j = 0; j < (int)(n & 7); j++) x += buf[(i + j) & 63] * {c}u;",
            ]))
        out.append(f"static uint32_t f{f}_helper(uint32_t v) "
                   f"{{ return (v * {k[0] | 1}u) ^ (v >> {k[1] % 31 + 1}); }}")
        out.append(f"uint64_t func{f}(struct st *s, const uint8_t *buf, uint32_t n) {{")
        out.append(f"  uint32_t x = s->a + {k[2]}u, y = s->b ^ {k[3]}u;")
        out.append("  for (uint32_t i = 0; i < n; i++) {")
        out += ops
        out.append("    switch ((x ^ i) % 8) {")
        for c in range(rng.randint(3, 8)):
            out.append(f"    case {c}: x += {k[c % 8]}u; y = y * {k[(c + 1) % 8]}u + "
                       f"f{f}_helper(x); break;")
        out += ["    default: y += x; break;", "    }", "  }",
                f'  memcpy(s->name, "fn{f}", {len(f"fn{f}") + 1});',
                "  return ((uint64_t)x << 32) | y;", "}"]
    out.append("uint64_t (*const all_funcs[])(struct st *, const uint8_t *, uint32_t) = {")
    out += [f"  func{f}," for f in range(nfunc)]
    out.append("};")
    with open(path, "w") as fh:
        fh.write("\n".join(out) + "\n")


SQLITE_SCRIPT = """\
PRAGMA mmap_size=0;
PRAGMA cache_size=-400000;
PRAGMA temp_store=MEMORY;
PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL, name TEXT NOT NULL,
               val REAL NOT NULL, payload TEXT NOT NULL);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < {rows})
INSERT INTO t SELECT x, (x * 7919) % 1009, printf('name-%09d', (x * 104729) % {prime}),
  ((x * 31337) % 100003) / 7.0, printf('%064x-%032d', x * 2654435761, (x * x) % 1000000007)
FROM c;
CREATE INDEX t_name ON t(name);
CREATE INDEX t_grp_val ON t(grp, val);
CREATE TABLE g(grp INTEGER PRIMARY KEY, label TEXT);
WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 1008)
INSERT INTO g SELECT x, 'group-' || (x * 37 % 1009) FROM c;
.mode list
SELECT 'rows', count(*), sum(val), min(name), max(name), max(payload) FROM t;
SELECT grp, count(*), printf('%.3f', sum(val)), printf('%.3f', max(val)) FROM t
  GROUP BY grp ORDER BY grp;
SELECT g.label, count(*), printf('%.3f', avg(t.val)) FROM t JOIN g ON g.grp = t.grp
  WHERE t.val > 5000 GROUP BY g.label ORDER BY 2 DESC, 1 LIMIT 50;
SELECT id, name, val FROM t ORDER BY payload DESC LIMIT 20;
SELECT name, count(*) FROM t GROUP BY name HAVING count(*) > 1 ORDER BY name LIMIT 20;
SELECT count(DISTINCT substr(payload, 1, 6)) FROM t;
SELECT a.id, b.id FROM t a JOIN t b ON b.name = a.name
  WHERE a.id < b.id AND a.grp = 7 ORDER BY a.id LIMIT 20;
"""


# --------------------------------------------------------------- cases

# CPython's own regression tests, from Debian's libpython3.11-testsuite, run
# by Debian's interpreter (not whatever python3 is first on PATH). Grouped so
# each python -m test run is big enough to page at half its peak; modules of
# similar peak go together. All pass natively on Debian 12 (checked: the
# native run must pass). A handful of cases that only measure wall-clock
# timeouts or sleep for tens of seconds are left out with -i.
PYTHON = "/usr/bin/python3.11"
PY_GROUPS = {
    # large transient allocations: itertools' and unicode's big-object tests
    "py_alloc": ["test_itertools", "test_unicode", "test_list", "test_json",
                 "test_pickle", "test_zlib"],
    # containers, strings, numbers, gc: many small objects
    "py_data": ["test_dict", "test_set", "test_collections", "test_heapq", "test_array",
                "test_struct", "test_bytes", "test_re", "test_deque", "test_long",
                "test_marshal", "test_tuple", "test_gc", "test_hashlib", "test_math",
                "test_random", "test_csv", "test_bisect", "test_sort"],
    # threads, subprocesses (fork+exec, vfork), mmap, signals, file I/O
    "py_sys": ["test_threading", "test_subprocess", "test_mmap", "test_signal",
               "test_fileio", "test_os", "test_tempfile", "test_select", "test_queue"],
}
PY_IGNORE = [
    "test.test_signal.SiginterruptTest.test_siginterrupt_off",  # sleeps 30 s
    "test.test_subprocess.*_timeout",                          # wall-clock races
    # Counts signals from a timer thread in a 0.5 s window: 0 when the
    # machine is loaded, natively too (a native run failed so in a full run).
    "test.test_signal.StressTest.test_stress_modifying_handlers",
    # Lists the child's /proc/self/fd and expects only 0-2 and pass_fds: a
    # managed child also holds the runtime's own descriptors (README).
    "test.test_subprocess.POSIXProcessTestCase.test_pass_fds_redirected",
    # Looks for a run of free low descriptor numbers; ours take 3 to 10.
    "test.test_os.TestInvalidFD.test_closerange",
]


def junit_outcomes(data):
    """Per test case: id, outcome (ok/skipped/failure/error) and the skip
    reason (with the pid in temporary file names masked); no timings.
    Sorted, one per line."""
    root = ET.fromstring(data)
    lines = []
    for tc in root.iter("testcase"):
        kinds = sorted(ch.tag for ch in tc if ch.tag in ("skipped", "failure", "error"))
        outcome = ",".join(kinds) or tc.get("result", "ok")
        reason = ""
        for ch in tc:
            if ch.tag == "skipped":
                reason = (ch.get("message") or ch.text or "").strip()
        # support.TESTFN names carry the pid: "@test_31913_tmp"
        reason = re.sub(r"@test_\d+_", "@test_PID_", reason)
        lines.append(f"{tc.get('name')} {outcome} {reason}".rstrip())
    return ("\n".join(sorted(lines)) + "\n").encode()


_PY_KEEP = re.compile(r"^(== Tests result|Tests result|\d+ tests? (OK|failed|skipped|"
                      r"altered|omitted|run no tests)|All \d+ tests|    test_\w+|"
                      r"\d+ tests? skipped)")
_PY_PROGRESS = re.compile(r"^\d+:\d\d:\d\d load avg: [\d.]+ (\[\d+/\d+\]) (test_\w+)")


def regrtest_summary(data):
    """regrtest's progress lines ("[3/6] test_list", which modules ran in
    which order) and its result summary, without clock times, load averages
    or durations."""
    keep = []
    for ln in data.decode(errors="replace").splitlines():
        m = _PY_PROGRESS.match(ln)
        if m:
            keep.append(f"{m.group(1)} {m.group(2)}")
        elif _PY_KEEP.match(ln):
            keep.append(ln.rstrip())
    return ("\n".join(keep) + "\n").encode()


def case_python(args, wd, group):
    if not os.access(PYTHON, os.X_OK):
        raise ut.TestSkip(f"{PYTHON} not found (Debian package python3.11)")
    if not os.path.exists("/usr/lib/python3.11/test/test_list.py"):
        raise ut.TestSkip("CPython's tests not installed (Debian package "
                          "libpython3.11-testsuite)")
    mods = PY_GROUPS[group]
    ign = [a for p in PY_IGNORE for a in ("-i", p)]
    # --timeout: a test that hangs dumps its threads' tracebacks and ends
    # the run (exit 1) instead of eating the whole CI budget.
    cmd = [PYTHON, "-m", "test", "--timeout", str(args.py_test_timeout),
           "--junit-xml", "junit.xml"] + ign + mods
    # The interpreter must see only its own environment: no PYTHON* from
    # the caller (meson runs us under some other python).
    env = {k: None for k in os.environ if k.startswith("PYTHON")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return [Step(group, cmd, env=env, outputs=["junit.xml"],
                 normalize={"stdout": regrtest_summary, "junit.xml": junit_outcomes},
                 timeout=args.timeout,
                 describe=f"python3.11 -m test ({len(mods)} modules: {' '.join(mods)})")]


def case_sqlite(args, wd):
    sqlite = need("sqlite3")
    rows = args.sqlite_rows
    script = wd.join("input", "workload.sql")
    with open(script, "w") as f:
        f.write(SQLITE_SCRIPT.format(rows=rows, prime=rows + 7))

    def db_bigger_than_limit(rundir, stdout_path, limit_bytes):
        size = os.path.getsize(os.path.join(rundir, "db.sqlite"))
        ut.log(f"database {ut.fmt_bytes(size)}")
        if limit_bytes is not None:
            ut.check(size > limit_bytes, f"database {ut.fmt_bytes(size)} is not bigger "
                     f"than the limit {ut.fmt_bytes(limit_bytes)}; raise --sqlite-rows")

    # The database file is an output too: sqlite writes it from its heap
    # page cache, which is what pages.
    return [Step("sqlite", [sqlite, "db.sqlite"], stdin=lambda d: script,
                 outputs=["db.sqlite"], check=db_bigger_than_limit, timeout=args.timeout,
                 describe=f"sqlite3 db.sqlite < workload.sql ({rows} rows, 2 indexes, "
                          "cache_size=-400000, mmap_size=0)")]


def roundtrip_check(original):
    want = ut.sha256_file(original)

    def check(rundir, stdout_path, limit_bytes):
        got = ut.sha256_file(stdout_path)
        ut.check(got == want, f"round trip in {rundir} does not give back the input "
                 f"(sha256 {got[:16]} != {want[:16]})")
        ut.log(f"ok: round trip in {os.path.basename(rundir)} gives back the input")
    return check


def gunzip_check(pigz, original):
    want = ut.sha256_file(original)

    def check(rundir, stdout_path, limit_bytes):
        h = hashlib.sha256()
        with open(stdout_path, "rb") as f:
            p = subprocess.Popen([pigz, "-d", "-c"], stdin=f, stdout=subprocess.PIPE)
            for block in iter(lambda: p.stdout.read(1 << 20), b""):
                h.update(block)
            rc = p.wait()
        ut.check(rc == 0 and h.hexdigest() == want,
                 f"pigz -dc of the output in {rundir} does not give back the input "
                 f"(exit {rc}, sha256 {h.hexdigest()[:16]} != {want[:16]})")
        ut.log(f"ok: pigz -dc of the output in {os.path.basename(rundir)} gives back "
               "the input")
    return check


def stdout_of(step_name):
    return lambda rundir: os.path.join(rundir, f"{step_name}.stdout")


def case_xz(args, wd):
    xz = need("xz")
    data = wd.join("input", "data.txt")
    make_text(data, args.xz_mb)
    opts = f"preset=1,dict={args.xz_dict_mb}MiB"
    return [
        Step("xz-compress", [xz, "-T1", f"--lzma2={opts}", "-c", data],
             timeout=args.timeout,
             describe=f"xz -T1 --lzma2={opts} ({args.xz_mb} MiB of text)"),
        Step("xz-decompress", [xz, "-d", "-c"], stdin=stdout_of("xz-compress"),
             check=roundtrip_check(data), timeout=args.timeout,
             describe=f"xz -dc (dictionary {args.xz_dict_mb} MiB)"),
    ]


def case_threads(args, wd):
    xz, pigz = need("xz"), need("pigz")
    data = wd.join("input", "data.txt")
    make_text(data, args.xz_mb, seed=20240612)
    opts = "preset=1,dict=24MiB"
    return [
        Step("xz-T2", [xz, "-T2", "--block-size=24MiB", f"--lzma2={opts}", "-c", data],
             timeout=args.timeout,
             describe=f"xz -T2 --block-size=24MiB --lzma2={opts} ({args.xz_mb} MiB)"),
        Step("xz-T2-decompress", [xz, "-T2", "-d", "-c"], stdin=stdout_of("xz-T2"),
             check=roundtrip_check(data), timeout=args.timeout, describe="xz -T2 -dc"),
        # pigz -d inflates through a 32 KiB window (a 2 MiB process): nothing
        # to page at half of that, so its round trip is checked, natively,
        # on each run's output rather than measured as a step; xz -T2 -d
        # covers a multithreaded decompressor.
        Step("pigz", [pigz, "-p", "2", "-b", "32768", "-c", data], timeout=args.timeout,
             check=gunzip_check(pigz, data),
             describe=f"pigz -p 2 -b 32768 ({args.xz_mb} MiB)"),
    ]


def case_gcc(args, wd):
    gcc = need("gcc")
    src = wd.join("input", "big.c")
    make_c(src, args.gcc_funcs)
    # No -g: the object then holds nothing that depends on the directory.
    return [Step("gcc", [gcc, "-O2", "-c", src, "-o", "big.o"], outputs=["big.o"],
                 timeout=args.timeout,
                 describe=f"gcc -O2 -c big.c ({args.gcc_funcs} functions, "
                          f"{os.path.getsize(src) // 1024} KiB)")]


def case_shell(args, wd):
    bash = need("bash")
    for p in ("sort", "uniq", "cut", "find", "sed", "awk", "md5sum", "head"):
        need(p)
    script = os.path.join(HERE, "forks.sh")
    return [Step("bash", [bash, script, str(args.shell_rows), str(args.shell_forks),
                          "/usr/share"], timeout=args.timeout,
                 describe=f"bash forks.sh {args.shell_rows} {args.shell_forks} /usr/share")]


def case_cxx(args, wd):
    if not args.cxx_maps:
        raise ut.TestSkip("no --cxx-maps binary (no C++ compiler at configure time)")
    cmd = [args.cxx_maps, str(args.cxx_map_entries), str(args.cxx_strings), "8"]
    return [Step("cxx_maps", cmd, timeout=args.timeout,
                 describe=f"cxx_maps {args.cxx_map_entries} {args.cxx_strings} 8")]


CASES = {
    "py_alloc": lambda a, w: case_python(a, w, "py_alloc"),
    "py_data": lambda a, w: case_python(a, w, "py_data"),
    "py_sys": lambda a, w: case_python(a, w, "py_sys"),
    "sqlite": case_sqlite,
    "xz": case_xz,
    "gcc": case_gcc,
    "shell": case_shell,
    "cxx": case_cxx,
    "threads": case_threads,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--case", required=True, choices=sorted(CASES))
    ap.add_argument("--treepeak", required=True, help="path to the built treepeak helper")
    ap.add_argument("--cxx-maps", default=None, help="path to the built cxx_maps")
    ap.add_argument("--timeout", type=int, default=400, help="per run, seconds")
    ap.add_argument("--py-test-timeout", type=int, default=180,
                    help="regrtest --timeout: seconds one test may take")
    ap.add_argument("--sqlite-rows", type=int, default=1000000)
    ap.add_argument("--xz-mb", type=int, default=96)
    ap.add_argument("--xz-dict-mb", type=int, default=128)
    ap.add_argument("--gcc-funcs", type=int, default=800)
    ap.add_argument("--shell-rows", type=int, default=200000)
    ap.add_argument("--shell-forks", type=int, default=600)
    ap.add_argument("--cxx-map-entries", type=int, default=1600000)
    ap.add_argument("--cxx-strings", type=int, default=800000)
    args = ap.parse_args()
    args.uswap = os.path.abspath(args.uswap)
    args.treepeak = os.path.abspath(args.treepeak)

    t0 = time.monotonic()
    with ut.Workdir(f"real-{args.case}") as wd:
        os.makedirs(wd.join("input"))
        steps = CASES[args.case](args, wd)
        ut.log(f"inputs ready in {time.monotonic() - t0:.1f}s")
        run_case(args.case, steps, wd, args)
    ut.log(f"case {args.case}: {time.monotonic() - t0:.1f}s in all")


if __name__ == "__main__":
    ut.main_wrapper(main)
