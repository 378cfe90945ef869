#!/usr/bin/env python3
"""compare.py: uswap against the kernel's own reclaim, side by side in one run.

Each case runs in every selected mode, one process at a time:
  native       no limit: the reference for wall time, checksums and outputs.
  memcg        the kernel: a fresh cgroup v1 memory cgroup for every run
               (/sys/fs/cgroup/memory/uswap-compare-PID-N) with
               memory.limit_in_bytes = the limit and memory.swappiness = 60,
               swapping to a swap file this script makes (fallocate, mkswap,
               swapon) in the same directory as uswap's swap files; zswap off.
  memcg-zswap  the same with zswap on: compressor lzo-rle, enabled Y.
  uswap-off    build/uswap --limit L --compress off -- COMMAND
  uswap        build/uswap --limit L -- COMMAND (defaults: lz4 pool, its share auto)

Cases (--cases, comma-separated; groups: patterns, real, all, quick):
  seq random zipf scanhot init
               benchmarks/patterns at --size small (256 MiB footprint under
               64 MiB) or large (1 GiB under 256 MiB), each with --data text
               (compressible, about 2.6x with lz4) and --data random
               (incompressible): rows "seq/text", "seq/random", ...
               "init" is "patterns seq FOOTPRINT 0 SEED", the init write
               sweep alone.  The checksum must equal native's (else FAIL).
  sort python sqlite xz gcc cxx redis
               real programs at half their native peak RSS (measured by
               /usr/bin/time -f %M on the first native run: the largest
               process of the tree): GNU sort of a generated file, a python
               heap workload (dicts, lists, sorting), sqlite3 (a table with
               two indexes, joins, group by), xz -9 of generated text, gcc -O2
               -c on a generated C file, build/tests/real/cxx_maps (std::map,
               unordered_map, strings), redis-server driven by
               redis-benchmark.  Output files and stdout must hash the same
               as native's (redis: redis-benchmark picks keys at random,
               so only its exit status is checked; its wall time is the
               benchmark's, the client runs outside the limit).  Programs that are not installed are skipped with a
               note.  Under memcg the limit covers the whole process tree;
               under uswap each managed process has it to itself.
  faultlat     build/benchmarks/faultlat (first touch, swap-in random and
               sequential, tracking faults idle and under pressure) in every
               mode; prints the mean us per fault of each test.
  writeout     swap writeout bandwidth: the init sweep of incompressible data
               (patterns --data random seq FOOTPRINT 0) under each limited
               mode, bytes written to swap (uswap stats pswpout, kernel
               /proc/vmstat pswpout delta) * 4096 / wall time, against raw
               O_DIRECT writes to the same directory (dd if=/dev/zero
               of=FILE bs=1M count=512 oflag=direct).
Default (quick) set: seq,random,init,sort,python,cxx,faultlat,writeout.

Per (case, mode): the median over --reps of wall time (measured here around
fork/exec/wait, so runtime start-up and exit are in it); major faults (uswap:
stats JSON pgmajfault, plus children's; memcg: the cgroup's memory.stat
pgmajfault; native: ru_majflt of wait4); OOM kill (memcg: killed by SIGKILL
with memory.oom_control oom_kill > 0 or under_oom; also memory.failcnt is
recorded); swap used (uswap: stats swap_bytes_peak; memcg: the peak of
memory.stat "swap" sampled every 100 ms, and memsw.max_usage_in_bytes).

Output: one table on stdout, rows cases, columns modes, each cell the wall
time and its ratio to memcg (m) and to native (n), then a geometric-mean row
of the ratios over the real programs that both memcg and uswap finished; a
second table of major faults and swap peaks; the faultlat and writeout
tables.  Every raw number goes to --out as JSON (default /tmp/compare.json).

System settings are restored on every exit path (normal end, exception,
SIGINT, SIGTERM, SIGHUP; atexit as a backstop): the running program is
killed, every cgroup made here is emptied and removed, the swap file is
swapped off and deleted, zswap's enabled and compressor parameters are put
back to what they were, and the scratch directory is removed.  A run that
was SIGKILLed is cleaned up by the next one (stale cgroups, swap files and
the saved zswap settings of a dead owner).

Needs root and the cgroup v1 memory controller for the memcg modes (skipped
with a note otherwise).  Builds nothing: run `ninja -C build` first.
Exit status: 0 all ran and matched, 1 some run failed or mismatched, 2 usage
or setup error, 128+N when stopped by signal N.
"""

import argparse
import atexit
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sysenv  # noqa: E402  benchmarks/sysenv.py: the system side
from sysenv import (  # noqa: E402
    CGROUP_V1_MEMORY, MIB, REPO, ZSWAP, Child, Cleanup, Interrupted, MemCgroup, PeakSampler, SwapFile, Zswap,
    active_swaps, fmt, fs_type, on_signal, parse_kv, read_file, reap_stale, vmstat, wait_timed,
    write_file)
# The inputs and checks the real-program tests use: the same generated C file
# (tests/real/real_suite.py) and the same hash (tests/preload/uswaptest.py).
sys.path.insert(0, os.path.join(REPO, "tests", "real"))
from real_suite import make_c  # noqa: E402
from uswaptest import sha256_file  # noqa: E402  (real_suite puts tests/preload on the path)

PAGE = 4096
TIME = "/usr/bin/time"
PYTHON = "/usr/bin/python3.11" if os.access("/usr/bin/python3.11", os.X_OK) else "/usr/bin/python3"

MODES = ("native", "memcg", "memcg-zswap", "uswap-off", "uswap")
PATTERN_CASES = ("seq", "random", "zipf", "scanhot", "init")
REAL_CASES = ("sort", "python", "sqlite", "xz", "gcc", "cxx", "redis")
OTHER_CASES = ("faultlat", "writeout")
ALL_CASES = PATTERN_CASES + REAL_CASES + OTHER_CASES
GROUPS = {
    "patterns": list(PATTERN_CASES),
    "real": list(REAL_CASES),
    "all": list(ALL_CASES),
    "quick": ["seq", "random", "init", "sort", "python", "cxx", "faultlat", "writeout"],
}
DATA = ("text", "random")

# Sizes.  Counts keep a small run of one pattern under ~10 s in the slowest
# mode on the 2-vCPU development VM.
SIZES = {
    "small": {"footprint_mib": 256, "limit_mib": 64,
              "count": {"seq": 2, "random": 40000, "zipf": 150000, "scanhot": 1, "init": 0},
              "faultlat_pages": 16384, "faultlat_wait_ms": 500},
    "large": {"footprint_mib": 1024, "limit_mib": 256,
              "count": {"seq": 2, "random": 100000, "zipf": 600000, "scanhot": 1, "init": 0},
              "faultlat_pages": 20000, "faultlat_wait_ms": 1000},
}
# Real program sizes (inputs are generated once per run, deterministically).
# Native times on the development VM: 1-4 s each.
REAL_SIZES = {"sort_mib": 32, "python_n": 400000, "sqlite_rows": 300000, "xz_mib": 6,
              "gcc_funcs": 200, "cxx": ("800000", "400000", "8"),
              "redis_n": 200000, "redis_d": 1024, "redis_keys": 100000}


# ------------------------------------------------------------ utilities

def log(msg):
    sysenv.log(f"compare.py: {msg}")


def read_tail(path, n=4000):
    """The last n bytes of a file, as text (binary output is replaced)."""
    try:
        with open(path, "rb") as f:
            f.seek(max(0, os.path.getsize(path) - n))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else None


def quote(argv):
    import shlex
    return " ".join(shlex.quote(str(a)) for a in argv)


# ------------------------------------------------------------ inputs

def make_lines(path, mib, seed=1):
    rng = random.Random(seed)
    alpha = "abcdefghijklmnopqrstuvwxyz"
    vocab = ["".join(rng.choices(alpha, k=rng.randint(2, 10))) for _ in range(8192)]
    vocab += [str(rng.randint(0, 10**6)) for _ in range(1024)]
    n = 0
    with open(path, "w") as f:
        buf = []
        while n < mib * MIB:
            line = " ".join(rng.choices(vocab, k=rng.randint(3, 12))) + "\n"
            buf.append(line)
            n += len(line)
            if len(buf) >= 10000:
                f.write("".join(buf))
                buf = []
        f.write("".join(buf))


PY_HEAP = r'''
import hashlib, sys
n = int(sys.argv[1])
d = {}
for i in range(n):
    k = f"key-{(i * 2654435761) % (1 << 32):010d}"
    d[k] = [i, str(i * 7), (i % 97, i % 89), {"v": i * 3, "s": "x" * (i % 50)}]
h = hashlib.sha256()
for rnd in range(3):
    for k in sorted(d)[rnd::7]:
        v = d[k]
        v[0] += rnd
        v.append(rnd)
    h.update(str(sum(v[0] for v in d.values())).encode())
lst = [(v[1], k) for k, v in d.items()]
lst.sort()
for x in lst[::1000]:
    h.update(repr(x).encode())
groups = {}
for k, v in d.items():
    groups.setdefault(v[2][0], []).append(v[3]["v"])
h.update(repr(sorted((g, sum(x)) for g, x in groups.items())).encode())
print(len(d), h.hexdigest())
'''

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
SELECT count(DISTINCT substr(payload, 1, 6)) FROM t;
"""


class Program:
    """A real program: argv (relative paths resolve in the run directory),
    stdin file, env, output files compared by hash with stdout."""

    def __init__(self, name, argv, *, stdin=None, env=None, outputs=(), describe=None):
        self.name, self.argv, self.stdin = name, argv, stdin
        self.env, self.outputs = dict(env or {}), list(outputs)
        self.describe = describe or quote(argv)


def real_programs(args, inputs, dry):
    """name -> Program, or name -> "skip reason"."""
    R = REAL_SIZES
    progs = {}

    def inp(name):
        return os.path.join(inputs, name)

    def which(p):
        return shutil.which(p)

    if "sort" in args.case_list:
        if which("sort"):
            if not dry:
                make_lines(inp("lines.txt"), R["sort_mib"])
            progs["sort"] = Program("sort", [which("sort"), "--parallel=1", "-o", "out.txt", inp("lines.txt")],
                                    env={"LC_ALL": "C"}, outputs=["out.txt"],
                                    describe=f"LC_ALL=C sort --parallel=1 ({R['sort_mib']} MiB of lines)")
        else:
            progs["sort"] = "sort not installed"
    if "python" in args.case_list:
        if os.access(PYTHON, os.X_OK):
            if not dry:
                write_file(inp("heap.py"), PY_HEAP)
            progs["python"] = Program("python", [PYTHON, "-I", inp("heap.py"), str(R["python_n"])],
                                      env={"PYTHONHASHSEED": "0"},
                                      describe=f"python3 heap.py {R['python_n']} (dicts, lists, sort)")
        else:
            progs["python"] = f"{PYTHON} not installed"
    if "sqlite" in args.case_list:
        if which("sqlite3"):
            if not dry:
                write_file(inp("workload.sql"),
                           SQLITE_SCRIPT.format(rows=R["sqlite_rows"], prime=R["sqlite_rows"] + 7))
            progs["sqlite"] = Program("sqlite", [which("sqlite3"), "db.sqlite"], stdin=inp("workload.sql"),
                                      outputs=["db.sqlite"],
                                      describe=f"sqlite3 db.sqlite < workload.sql ({R['sqlite_rows']} rows)")
        else:
            progs["sqlite"] = "sqlite3 not installed (command -v sqlite3)"
    if "xz" in args.case_list:
        if which("xz"):
            if not dry:
                make_lines(inp("xz.txt"), R["xz_mib"], seed=2)
            progs["xz"] = Program("xz", [which("xz"), "-9", "-T1", "-c", inp("xz.txt")],
                                  describe=f"xz -9 -T1 -c ({R['xz_mib']} MiB of text)")
        else:
            progs["xz"] = "xz not installed"
    if "gcc" in args.case_list:
        if which("gcc"):
            if not dry:
                make_c(inp("big.c"), R["gcc_funcs"])
            progs["gcc"] = Program("gcc", [which("gcc"), "-O2", "-c", inp("big.c"), "-o", "big.o"],
                                   outputs=["big.o"], describe=f"gcc -O2 -c big.c ({R['gcc_funcs']} functions)")
        else:
            progs["gcc"] = "gcc not installed"
    if "cxx" in args.case_list:
        exe = os.path.join(args.build_dir, "tests", "real", "cxx_maps")
        if os.access(exe, os.X_OK):
            progs["cxx"] = Program("cxx", [exe] + list(R["cxx"]), describe="cxx_maps " + " ".join(R["cxx"]))
        else:
            progs["cxx"] = f"{exe} not built (needs a C++ compiler at configure time)"
    if "redis" in args.case_list:
        if which("redis-server") and which("redis-benchmark") and which("redis-cli"):
            progs["redis"] = "redis"  # handled by run_redis
        else:
            progs["redis"] = "redis-server, redis-benchmark or redis-cli not installed"
    return progs


# ------------------------------------------------------------ runner

class Runner:
    def __init__(self, args, workdir, cleanup, zswap):
        self.args, self.workdir, self.cleanup, self.zswap = args, workdir, cleanup, zswap
        self.seq = 0
        self.dry = args.dry_run

    def wrap(self, mode, argv, limit, stats_path, cg_path):
        """The command line for a mode (shown, and run)."""
        if mode == "native":
            return list(argv)
        if mode.startswith("memcg"):
            return ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cg_path] + list(argv)
        cmd = [self.args.uswap, "--limit", str(limit), "--swap", self.workdir, "--stats", stats_path]
        if mode == "uswap-off":
            cmd += ["--compress", "off"]
        return cmd + self.args.uswap_arg + ["--"] + list(argv)

    def run(self, label, mode, argv, limit, *, stdin=None, env=None, peak=False, outputs=(),
            keep_dir=False):
        """Run one program in one mode, in a fresh directory; returns a dict."""
        self.seq += 1
        n = self.seq
        rundir = os.path.join(self.workdir, f"run-{n}")
        stats_path = os.path.join(self.workdir, f"stats-{n}.json")
        peak_path = os.path.join(self.workdir, f"peak-{n}.txt")
        cg = None
        cg_path = os.path.join(CGROUP_V1_MEMORY, f"uswap-compare-{os.getpid()}-{n}")
        if peak:
            argv = [TIME, "-f", "%M", "-o", peak_path] + list(argv)
        cmd = self.wrap(mode, argv, limit, stats_path, cg_path)
        res = {"case": label, "mode": mode, "limit_bytes": limit if mode != "native" else None,
               "cmd": quote(cmd)}
        if self.dry:
            if mode.startswith("memcg"):
                print(f"# mkdir {cg_path}; echo 60 > memory.swappiness; "
                      f"echo {limit} > memory.limit_in_bytes"
                      + ("; zswap: compressor=lzo-rle enabled=Y" if mode == "memcg-zswap"
                         else "; zswap: enabled=N"))
            envs = " ".join(f"{k}={v}" for k, v in (env or {}).items())
            print(f"[{label}] {mode}: " + (f"env {envs} " if envs else "") + quote(cmd)
                  + (f" < {stdin}" if stdin else ""))
            return res
        os.makedirs(rundir)
        log(f"[{label}] {mode}: {res['cmd']}")
        if mode.startswith("memcg"):
            if mode == "memcg-zswap":
                self.zswap.set("Y", "lzo-rle")
            elif self.zswap:
                self.zswap.set("N")
            cg = MemCgroup(os.path.basename(cg_path), limit, 60, self.cleanup)
        run_env = dict(os.environ)
        run_env["TMPDIR"] = rundir
        run_env.update(env or {})
        vm0 = vmstat()
        # memcg: the peak of the cgroup's memory.stat "swap" while it runs.
        swap_sampler = (lambda _pid: PeakSampler(lambda: cg.stat().get("swap", 0))) if cg else None
        fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
        out_path, err_path = os.path.join(rundir, "stdout"), os.path.join(rundir, "stderr")
        try:
            with open(out_path, "wb") as out, open(err_path, "wb") as err:
                rc, wall, ru, timed_out, sampler = wait_timed(cmd, self.args.timeout, swap_sampler, cwd=rundir,
                                                              stdin=fin, stdout=out, stderr=err, env=run_env)
        finally:
            if stdin:
                fin.close()
        res.update(wall_s=wall, rc=rc, timed_out=timed_out,
                   ru_majflt=ru.ru_majflt, ru_maxrss_kib=ru.ru_maxrss)
        vm1 = vmstat()
        res["vmstat_delta"] = {k: vm1[k] - vm0.get(k, 0) for k in vm1}
        res["stdout"] = read_tail(out_path)
        res["stderr"] = read_tail(err_path)
        res["hashes"] = {"stdout": sha256_file(out_path)}
        for name in outputs:
            p = os.path.join(rundir, name)
            res["hashes"][name] = sha256_file(p) if os.path.exists(p) else None
        if peak:
            v = read_file(peak_path).strip().splitlines()
            res["peak_kib"] = int(v[-1]) if v and v[-1].isdigit() else None
        res["oom"] = False
        if mode == "native":
            res["majflt"], res["majflt_src"] = ru.ru_majflt, "ru_majflt"
            res["swap_peak_bytes"] = 0
            res["pswpout"] = 0
        elif cg:
            st = cg.stat()
            oc = cg.oom_control()
            res["memcg"] = {"stat": st, "oom_control": oc, "failcnt": cg.num("memory.failcnt"),
                            "max_usage_in_bytes": cg.num("memory.max_usage_in_bytes"),
                            "memsw_max_usage_in_bytes": cg.num("memory.memsw.max_usage_in_bytes")}
            res["majflt"], res["majflt_src"] = st.get("pgmajfault", ru.ru_majflt), "memory.stat"
            res["swap_peak_bytes"] = sampler.peak
            res["pswpout"] = res["vmstat_delta"].get("pswpout")
            killed = rc == -signal.SIGKILL and not timed_out
            res["oom"] = bool(oc.get("oom_kill", 0) > 0 or oc.get("under_oom", 0) or killed)
            try:
                cg.remove()  # its cleanup action stays, a no-op once it is gone
            except OSError as e:
                log(f"rmdir {cg.path}: {e} (left for cleanup)")
            if self.zswap:
                self.zswap.set("N")
        else:
            stats = None
            if os.path.exists(stats_path):
                try:
                    with open(stats_path) as f:
                        stats = json.load(f)
                except ValueError as e:
                    res["stats_error"] = str(e)
                os.unlink(stats_path)
            res["stats"] = stats
            if stats:
                ch = stats.get("children") if isinstance(stats.get("children"), dict) else {}
                res["majflt"] = stats.get("pgmajfault", 0) + ch.get("pgmajfault", 0)
                res["majflt_src"] = "stats"
                res["pswpout"] = stats.get("pswpout", 0) + ch.get("pswpout", 0)
                res["swap_peak_bytes"] = max(stats.get("swap_bytes_peak", 0), ch.get("swap_bytes_peak", 0))
            else:
                res["majflt"] = None
                res["pswpout"] = None
                res["swap_peak_bytes"] = None
            res["oom"] = rc == -signal.SIGKILL and not timed_out
        if not keep_dir:
            shutil.rmtree(rundir, ignore_errors=True)
        ok = rc == 0 and not timed_out
        log(f"[{label}] {mode}: {'ok' if ok else 'FAILED'} rc={rc} "
            f"{wall:.2f}s majflt={res.get('majflt')}"
            + (" OOM-KILLED" if res["oom"] else "") + (" TIMEOUT" if timed_out else ""))
        if not ok:
            tail = "\n".join(res["stderr"].strip().splitlines()[-5:])
            if tail:
                log(f"[{label}] {mode} stderr:\n{tail}")
        return res


def status_of(r):
    if r is None:
        return "skip"
    if r.get("timed_out"):
        return "TIMEOUT"
    if r.get("oom"):
        return "OOM"
    if r.get("rc") != 0:
        return f"FAIL rc={r.get('rc')}"
    if r.get("mismatch"):
        return "FAIL mismatch"
    return "ok"


def summarize(reps):
    """Median over repetitions; a case/mode is ok only if every rep was."""
    if not reps:
        return None
    done = [r for r in reps if status_of(r) == "ok"]
    s = {"reps": len(reps), "ok_reps": len(done), "status": status_of(next(
        (r for r in reps if status_of(r) != "ok"), reps[0]))}
    s["wall_s"] = median([r["wall_s"] for r in done]) if len(done) == len(reps) else None
    s["majflt"] = median([r.get("majflt") for r in reps])
    s["swap_peak_bytes"] = median([r.get("swap_peak_bytes") for r in reps])
    s["pswpout"] = median([r.get("pswpout") for r in reps])
    s["oom"] = any(r.get("oom") for r in reps)
    return s


# ------------------------------------------------------------ cases

def run_patterns(args, runner, cfg, results, modes):
    limit = cfg["limit_mib"] * MIB
    exe = args.patterns_exe
    for pat in [c for c in args.case_list if c in PATTERN_CASES]:
        for data in args.data_list:
            label = f"{pat}/{data}"
            argv = [exe, "--data", data, "seq" if pat == "init" else pat,
                    str(cfg["footprint_mib"]), str(cfg["count"][pat]), str(args.seed)]
            results[label] = {"kind": "pattern", "modes": {}, "argv": quote(argv)}
            for mode in modes:
                reps = []
                for _ in range(args.reps):
                    r = runner.run(label, mode, argv, limit)
                    if not runner.dry:
                        kv = parse_kv(r["stdout"].strip().splitlines()[-1] if r["stdout"].strip() else "")
                        r["checksum"] = kv.get("checksum")
                        r["init_s"] = float(kv["init_s"]) if "init_s" in kv else None
                        r["run_s"] = float(kv["run_s"]) if "run_s" in kv else None
                    reps.append(r)
                results[label]["modes"][mode] = reps
            if runner.dry:
                continue
            ref = next((r.get("checksum") for r in results[label]["modes"].get("native", [])
                        if status_of(r) == "ok"), None)
            for mode, reps in results[label]["modes"].items():
                for r in reps:
                    if r.get("rc") == 0 and ref is not None and r.get("checksum") != ref:
                        r["mismatch"] = f"checksum {r.get('checksum')} != native {ref}"
                        log(f"FAIL: [{label}] {mode}: CHECKSUM MISMATCH {r.get('checksum')} != {ref}")


def run_redis(args, runner, mode, limit, peak):
    """redis-server in the mode, redis-benchmark (native, outside the limit)
    against it; then the data set's size and digest.  Wall time: the
    benchmark's."""
    R = REAL_SIZES
    port = 20000 + os.getpid() % 20000
    srv_argv = [shutil.which("redis-server"), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no"]
    bench = [shutil.which("redis-benchmark"), "-p", str(port), "-q", "-P", "16", "-t", "set,get",
             "-n", str(R["redis_n"]), "-d", str(R["redis_d"]), "-r", str(R["redis_keys"])]
    cli = [shutil.which("redis-cli"), "-p", str(port)]
    if runner.dry:
        runner.run("redis", mode, srv_argv, limit)
        print(f"[redis] {mode}: (client) {quote(bench)}; {quote(cli)} DBSIZE; DEBUG DIGEST; SHUTDOWN NOSAVE")
        return {"case": "redis", "mode": mode}
    # The server runs in a thread so that runner.run's wait4 collects it.
    box = {}
    th = threading.Thread(target=lambda: box.update(r=runner.run("redis", mode, srv_argv, limit)), daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    while subprocess.run(cli + ["PING"], capture_output=True, text=True).stdout.strip() != "PONG":
        if time.monotonic() > deadline or not th.is_alive():
            break
        time.sleep(0.1)
    t0 = time.monotonic()
    b = subprocess.run(bench, capture_output=True, text=True, timeout=args.timeout)
    wall = time.monotonic() - t0
    # redis-benchmark picks its keys at random: the data set is not
    # compared with native's, only the benchmark's exit status.
    dbsize = subprocess.run(cli + ["DBSIZE"], capture_output=True, text=True).stdout.strip()
    hwm = None
    try:
        pid = subprocess.run(cli + ["INFO", "server"], capture_output=True, text=True).stdout
        m = re.search(r"process_id:(\d+)", pid)
        if m:
            st = read_file(f"/proc/{m.group(1)}/status")
            mm = re.search(r"VmHWM:\s+(\d+)", st)
            hwm = int(mm.group(1)) if mm else None
    except OSError:
        pass
    subprocess.run(cli + ["SHUTDOWN", "NOSAVE"], capture_output=True)
    th.join(args.timeout)
    r = box.get("r", {"case": "redis", "mode": mode, "rc": None})
    r["server_wall_s"] = r.get("wall_s")
    r["wall_s"] = wall
    r["bench_rc"] = b.returncode
    r["bench_out"] = (b.stdout + b.stderr)[-2000:]
    r["dbsize"] = dbsize
    r["hashes"] = {}
    if peak:
        r["peak_kib"] = hwm
    if b.returncode != 0 and r.get("rc") == 0:
        r["rc"] = 100 + b.returncode
    return r


def run_real(args, runner, results, modes, inputs):
    progs = real_programs(args, inputs, runner.dry)
    for name in [c for c in args.case_list if c in REAL_CASES]:
        p = progs[name]
        if isinstance(p, str) and not (name == "redis" and p == "redis"):
            results[name] = {"kind": "real", "skipped": p, "modes": {}}
            log(f"[{name}] skipped: {p}")
            continue
        results[name] = {"kind": "real", "modes": {},
                         "describe": "redis-server + redis-benchmark" if name == "redis" else p.describe}

        def one(mode, limit, peak):
            if name == "redis":
                return run_redis(args, runner, mode, limit, peak)
            return runner.run(name, mode, p.argv, limit, stdin=p.stdin, env=p.env, peak=peak,
                              outputs=p.outputs)

        # Native first: its peak RSS sets the limit of every other mode.
        limit = "HALF_NATIVE_PEAK" if runner.dry else None
        if "native" in modes or not runner.dry:
            reps = [one("native", None, i == 0) for i in range(args.reps)]
            results[name]["modes"]["native"] = reps
            r = reps[0]
            if not runner.dry:
                if status_of(r) == "ok" and r.get("peak_kib"):
                    limit = r["peak_kib"] * 1024 // 2 // PAGE * PAGE
                    results[name]["native_peak_bytes"] = r["peak_kib"] * 1024
                    results[name]["limit_bytes"] = limit
                    log(f"[{name}] native peak {r['peak_kib'] / 1024:.0f} MiB -> limit {limit / MIB:.0f} MiB")
                else:
                    log(f"[{name}] native run failed ({status_of(r)}): nothing to compare against, "
                        "limited modes skipped")
        for mode in modes:
            if mode == "native" or limit is None:
                continue
            results[name]["modes"][mode] = [one(mode, limit, False) for _ in range(args.reps)]
        if "native" not in modes:  # measured only for the limit
            results[name]["native_for_limit_only"] = True
        if runner.dry:
            continue
        ref = next((r["hashes"] for r in results[name]["modes"].get("native", []) if status_of(r) == "ok"), None)
        for mode, reps in results[name]["modes"].items():
            for r in reps:
                if r.get("rc") == 0 and ref is not None and r.get("hashes") != ref:
                    bad = [k for k in ref if ref[k] != r.get("hashes", {}).get(k)]
                    r["mismatch"] = f"output differs from native: {', '.join(bad)}"
                    log(f"FAIL: [{name}] {mode}: OUTPUT MISMATCH ({', '.join(bad)})")


def run_faultlat(args, runner, cfg, modes):
    limit = cfg["limit_mib"] * MIB
    argv = [args.faultlat_exe, "--pages", str(cfg["faultlat_pages"]), "--wait-ms", str(cfg["faultlat_wait_ms"])]
    out = {}
    for mode in modes:
        a = argv + ([] if mode == "native" else ["--limit", f"{cfg['limit_mib']}M"])
        r = runner.run("faultlat", mode, a, limit)
        if not runner.dry:
            r["tests"] = {}
            for line in r["stdout"].splitlines():
                kv = parse_kv(line)
                if "test" in kv:
                    r["tests"][kv["test"]] = kv
        out[mode] = r
    return out


def parse_dd(text):
    m = re.search(r"^(\d+) bytes .* copied, ([\d.]+) s", text, re.M)
    return (int(m.group(1)), float(m.group(2))) if m else (None, None)


def run_writeout(args, runner, cfg, modes):
    out = {"modes": {}}
    ddfile = os.path.join(runner.workdir, "dd.bin")
    dd = ["dd", "if=/dev/zero", f"of={ddfile}", "bs=1M", "count=512", "oflag=direct"]
    if runner.dry:
        print(f"[writeout] raw: {quote(dd)}; rm {ddfile}")
    else:
        log(f"[writeout] raw: {quote(dd)}")
        p = subprocess.run(dd, capture_output=True, text=True)
        nbytes, secs = parse_dd(p.stderr)
        if os.path.exists(ddfile):
            os.unlink(ddfile)
        out["raw"] = {"cmd": quote(dd), "rc": p.returncode, "bytes": nbytes, "s": secs,
                      "mb_s": nbytes / secs / 1e6 if nbytes and secs else None, "stderr": p.stderr[-500:]}
    argv = [args.patterns_exe, "--data", "random", "seq", str(cfg["footprint_mib"]), "0", str(args.seed)]
    for mode in modes:
        if mode == "native":
            continue
        r = runner.run("writeout", mode, argv, cfg["limit_mib"] * MIB)
        if not runner.dry:
            kv = parse_kv(r["stdout"].strip().splitlines()[-1] if r["stdout"].strip() else "")
            r["init_s"] = float(kv["init_s"]) if "init_s" in kv else None
            pages = r.get("pswpout")
            r["written_bytes"] = pages * PAGE if pages is not None else None
            r["mb_s"] = r["written_bytes"] / r["wall_s"] / 1e6 if r["written_bytes"] and r["wall_s"] else None
        out["modes"][mode] = r
    return out


# ------------------------------------------------------------ report

def table(head, rows):
    w = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "| " + " | ".join(str(c).ljust(n) for c, n in zip(cells, w)) + " |"  # noqa: E731
    return [line(head), "|" + "|".join("-" * (n + 2) for n in w) + "|"] + [line(r) for r in rows]


def report(args, cfg, modes, results, faultlat, writeout, notes):
    lines = [f"# compare.py: {time.strftime('%Y-%m-%d %H:%M:%S')}, kernel {platform.release()}, "
             f"{os.cpu_count()} CPUs, size {args.size} (patterns {cfg['footprint_mib']} MiB under "
             f"{cfg['limit_mib']} MiB), reps {args.reps}"]
    lines += [f"# {n}" for n in notes]
    summ = {c: {m: summarize(v["modes"].get(m)) for m in modes} for c, v in results.items()}
    lines += ["", "Wall time s (x memcg m, x native n); FAIL/OOM/TIMEOUT loudly:", ""]
    rows = []
    for case, v in results.items():
        if v.get("skipped"):
            rows.append([case] + [f"skipped: {v['skipped']}"] + [""] * (len(modes) - 1))
            continue
        sm = summ[case]
        mc = sm.get("memcg") and sm["memcg"]["wall_s"]
        nt = sm.get("native") and sm["native"]["wall_s"]
        row = [case + (f" (L={v['limit_bytes'] // MIB}M)" if v.get("limit_bytes") else "")]
        for m in modes:
            s = sm.get(m)
            if s is None:
                row.append("-")
            elif s["status"] != "ok" or s["wall_s"] is None:
                row.append(f"**{s['status']}**")
            else:
                cell = f"{s['wall_s']:.2f}"
                if mc and m != "memcg":
                    cell += f" {s['wall_s'] / mc:.2f}m"
                if nt and m != "native":
                    cell += f" {s['wall_s'] / nt:.1f}n"
                row.append(cell)
        rows.append(row)
    # Geometric mean of the ratio to memcg over real programs both memcg and uswap finished.
    both = [c for c, v in results.items() if v.get("kind") == "real" and not v.get("skipped")
            and summ[c].get("memcg") and summ[c]["memcg"]["wall_s"]
            and summ[c].get("uswap") and summ[c]["uswap"]["wall_s"]]
    if both and "memcg" in modes:
        row = [f"geomean real x memcg ({len(both)}: {','.join(both)})"]
        for m in modes:
            rs = [summ[c][m]["wall_s"] / summ[c]["memcg"]["wall_s"] for c in both
                  if summ[c].get(m) and summ[c][m]["wall_s"]]
            g = geomean(rs)
            row.append("-" if g is None else f"{g:.2f}m" + ("" if len(rs) == len(both) else f" ({len(rs)} of {len(both)})"))
        rows.append(row)
    if rows:
        lines += table(["case"] + list(modes), rows)
    rows = []
    for case, v in results.items():
        if v.get("skipped"):
            continue
        row = [case]
        for m in modes:
            s = summ[case].get(m)
            if s is None:
                row.append("-")
            else:
                sw = s["swap_peak_bytes"]
                row.append(f"{fmt(s['majflt'], '{:.0f}')} / {fmt(sw / MIB if sw is not None else None, '{:.0f}')}"
                           + (" OOM" if s["oom"] else ""))
        rows.append(row)
    if rows:
        lines += ["", "Major faults / swap peak MiB (uswap: stats; memcg: memory.stat, sampled \"swap\"):", ""]
        lines += table(["case"] + list(modes), rows)
    if faultlat:
        tests = ["first_touch", "swapin_rand", "swapin_seq", "track_idle", "track_pressure"]
        lines += ["", "faultlat: mean us per fault (a touch slower than 1 us; first_touch: every page);"
                  " first_touch also mean over all touches in ():", ""]
        rows = []
        for t in tests:
            row = [t]
            for m in modes:
                r = faultlat.get(m)
                kv = (r or {}).get("tests", {}).get(t) if r else None
                if r is None:
                    row.append("-")
                elif r.get("rc") not in (0, None):
                    row.append(f"**{status_of(r)}**")
                elif not kv:
                    row.append("-")
                elif "skipped" in kv:
                    row.append(f"skip ({kv['skipped']})")
                else:
                    cell = f"{float(kv['us_per_fault']):.2f} ({kv['faults']})"
                    if t == "first_touch":
                        cell = f"{float(kv['us_per_fault']):.2f}"
                    row.append(cell)
            rows.append(row)
        lines += table(["test (faults)"] + list(modes), rows)
    if writeout:
        raw = writeout.get("raw") or {}
        lines += ["", f"writeout: raw O_DIRECT dd {fmt(raw.get('mb_s'), '{:.0f}')} MB/s"
                  f" ({fmt(raw.get('bytes') and raw['bytes'] / MIB, '{:.0f}')} MiB in {fmt(raw.get('s'))} s);"
                  " each mode: init sweep of incompressible data, pswpout x 4096 / wall"
                  " (memcg-zswap: pages kept in zswap are not written):", ""]
        rows = []
        for m, r in writeout["modes"].items():
            rows.append([m, status_of(r), fmt(r.get("wall_s")), fmt(r.get("pswpout"), "{:d}"),
                         fmt(r.get("mb_s"), "{:.0f}"),
                         fmt(r["mb_s"] / raw["mb_s"] if r.get("mb_s") and raw.get("mb_s") else None)])
        lines += table(["mode", "status", "wall s", "pswpout pages", "MB/s", "x raw"], rows)
    failures = []
    for case, v in results.items():
        for m, reps in v.get("modes", {}).items():
            for r in reps:
                if status_of(r) != "ok":
                    failures.append(f"{case} {m}: {status_of(r)}"
                                    + (f" ({r['mismatch']})" if r.get("mismatch") else ""))
    for m, r in (faultlat or {}).items():
        if status_of(r) != "ok":
            failures.append(f"faultlat {m}: {status_of(r)}")
    if failures:
        lines += ["", "FAILURES (FAIL = wrong output or exit status; OOM = killed by the kernel):"]
        lines += [f"  - {f}" for f in failures]
    return "\n".join(lines) + "\n", failures, summ


# ------------------------------------------------------------ main

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--cases", default="quick",
                   help="comma-separated cases or groups (patterns, real, all, quick); default quick = "
                        + ",".join(GROUPS["quick"]) + "; all cases: " + ",".join(ALL_CASES))
    p.add_argument("--modes", default=",".join(MODES), help=f"comma-separated modes (default {','.join(MODES)})")
    p.add_argument("--size", choices=sorted(SIZES), default="small",
                   help="patterns: small = 256 MiB under 64 MiB, large = 1 GiB under 256 MiB (default small)")
    p.add_argument("--data", default=",".join(DATA), help="patterns --data kinds (default text,random)")
    p.add_argument("--reps", type=int, default=1, help="repetitions per case and mode; the median is shown")
    p.add_argument("--out", default="/tmp/compare.json", help="JSON with every raw number (default %(default)s)")
    p.add_argument("--report", metavar="FILE", help="also write the printed tables here")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"), help="meson build directory (default %(default)s)")
    p.add_argument("--uswap", help="the uswap CLI (default BUILD/uswap)")
    p.add_argument("--uswap-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for both uswap modes (repeatable)")
    p.add_argument("--swap-dir", help="where the kernel's swap file and uswap's swap files go; one directory,"
                                      " so one disk (default /var/tmp unless tmpfs)")
    p.add_argument("--timeout", type=int, default=300, help="seconds per run before it is killed (default 300)")
    p.add_argument("--seed", type=int, default=1, help="patterns seed (default 1)")
    p.add_argument("--dry-run", action="store_true", help="print the commands, change nothing, run nothing")
    a = p.parse_args(argv)
    a.uswap = a.uswap or os.path.join(a.build_dir, "uswap")
    a.patterns_exe = os.path.join(a.build_dir, "benchmarks", "patterns")
    a.faultlat_exe = os.path.join(a.build_dir, "benchmarks", "faultlat")
    cases = []
    for c in a.cases.split(","):
        for x in GROUPS.get(c, [c]):
            if x not in ALL_CASES:
                p.error(f"unknown case {x!r} (cases: {', '.join(ALL_CASES)}; groups: {', '.join(GROUPS)})")
            if x not in cases:
                cases.append(x)
    a.case_list = cases
    a.mode_list = [m for m in a.modes.split(",") if m]
    for m in a.mode_list:
        if m not in MODES:
            p.error(f"unknown mode {m!r} (modes: {', '.join(MODES)})")
    a.data_list = [d for d in a.data.split(",") if d]
    for d in a.data_list:
        if d not in ("sparse", "text", "random"):
            p.error(f"unknown --data {d!r}")
    if a.reps < 1:
        p.error("--reps must be >= 1")
    return a


def main(argv):
    args = parse_args(argv)
    cfg = SIZES[args.size]
    modes = list(args.mode_list)
    notes = []
    need = [args.patterns_exe] if any(c in PATTERN_CASES or c == "writeout" for c in args.case_list) else []
    need += [args.faultlat_exe] if "faultlat" in args.case_list else []
    for exe in need:
        if not os.access(exe, os.X_OK) and not args.dry_run:
            log(f"{exe} not found; build first: ninja -C {args.build_dir}")
            return 2
    if any(m.startswith("uswap") for m in modes) and not os.access(args.uswap, os.X_OK) and not args.dry_run:
        log(f"{args.uswap} not found; build first")
        return 2
    if any(m.startswith("memcg") for m in modes):
        why = None
        if os.geteuid() != 0:
            why = "needs root"
        elif not os.path.exists(os.path.join(CGROUP_V1_MEMORY, "memory.limit_in_bytes")):
            why = f"no cgroup v1 memory controller at {CGROUP_V1_MEMORY}"
        if why and not args.dry_run:
            notes.append(f"memcg modes skipped: {why}")
            modes = [m for m in modes if not m.startswith("memcg")]
    if "memcg-zswap" in modes and not args.dry_run:
        if not os.path.exists(os.path.join(ZSWAP, "enabled")):
            notes.append("memcg-zswap skipped: no zswap in this kernel")
            modes.remove("memcg-zswap")
        elif not re.search(r"^name\s+:\s+lzo-rle$", read_file("/proc/crypto"), re.M):
            notes.append("memcg-zswap skipped: no lzo-rle in /proc/crypto")
            modes.remove("memcg-zswap")
    for n in notes:
        log(n)

    cleanup = Cleanup("compare.py")
    atexit.register(cleanup.run)
    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    cleanup.push("kill the running benchmark", Child.kill_all)
    try:
        swap_dir = args.swap_dir or ("/var/tmp" if fs_type("/var/tmp") != "tmpfs" else REPO)
        if args.dry_run:
            workdir = os.path.join(swap_dir, "uswap-compare-XXXX")
            print(f"# scratch and swap directory {workdir} ({fs_type(swap_dir)})")
            zswap = None
            if any(m.startswith("memcg") for m in modes):
                size = max(4 * cfg["footprint_mib"] * MIB, 2048 * MIB)
                print(f"# fallocate -l {size} {workdir}/kernel.swap; mkswap; swapon"
                      "  (swapoff and rm at exit)")
            if "memcg-zswap" in modes:
                print("# zswap saved, then per memcg-zswap run: echo lzo-rle > "
                      f"{ZSWAP}/compressor; echo Y > {ZSWAP}/enabled (restored at exit)")
        else:
            reap_stale(swap_dir, "compare.py", "uswap-compare", kill_tasks=True)
            workdir = tempfile.mkdtemp(prefix="uswap-compare-", dir=swap_dir)
            cleanup.push(f"remove {workdir}", lambda: shutil.rmtree(workdir, ignore_errors=True))
            write_file(os.path.join(workdir, "owner.pid"), os.getpid())
            notes.append(f"swap files in {workdir} ({fs_type(workdir)}); before: /proc/swaps "
                         f"{active_swaps() or 'empty'}, zswap "
                         + " ".join(f"{k}={read_file(os.path.join(ZSWAP, k)).strip()}"
                                    for k in ("enabled", "compressor")))
            zswap = None
            if any(m.startswith("memcg") for m in modes):
                if os.path.exists(os.path.join(ZSWAP, "enabled")):
                    zswap = Zswap(os.path.join(workdir, Zswap.SAVED), cleanup)
                    zswap.set("N")
                # Enough for the largest footprint twice over (the kernel
                # keeps swap cache slots while the device is under half full).
                size = max(4 * cfg["footprint_mib"] * MIB, 2048 * MIB)
                try:
                    SwapFile(os.path.join(workdir, "kernel.swap"), size, cleanup)
                    notes.append(f"kernel: cgroup v1 memory.limit_in_bytes per case, swappiness 60, swap file"
                                 f" {size // MIB} MiB; memcg-zswap: zswap lzo-rle")
                except (OSError, subprocess.CalledProcessError) as e:
                    notes.append(f"memcg modes skipped: swap file setup failed: {e}")
                    modes = [m for m in modes if not m.startswith("memcg")]
        runner = Runner(args, workdir, cleanup, zswap)
        results, faultlat, writeout = {}, None, None
        inputs = os.path.join(workdir, "input")
        if not args.dry_run:
            os.makedirs(inputs)
        t0 = time.monotonic()
        run_patterns(args, runner, cfg, results, modes)
        run_real(args, runner, results, modes, inputs)
        if "faultlat" in args.case_list:
            faultlat = run_faultlat(args, runner, cfg, modes)
        if "writeout" in args.case_list:
            writeout = run_writeout(args, runner, cfg, modes)
        if args.dry_run:
            return 0
        notes.append(f"total {time.monotonic() - t0:.0f} s")
        text, failures, summ = report(args, cfg, modes, results, faultlat, writeout, notes)
        print(text, end="")
        if args.report:
            write_file(args.report, text)
        data = {"config": {"size": args.size, **cfg, "real": REAL_SIZES, "modes": modes,
                           "cases": args.case_list, "data": args.data_list, "reps": args.reps,
                           "seed": args.seed, "kernel": platform.release(), "notes": notes,
                           "git": subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                                 capture_output=True, text=True).stdout.strip()},
                "cases": results, "summary": summ, "faultlat": faultlat, "writeout": writeout}
        with open(args.out, "w") as f:
            json.dump(data, f, indent=1, default=str)
        log(f"raw numbers in {args.out}")
        return 1 if failures else 0
    except Interrupted as e:
        log(f"{e}; cleaning up")
        return 128 + e.signum
    finally:
        cleanup.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
