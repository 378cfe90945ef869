#!/usr/bin/env python3
"""What measuring costs, and how well the miss-ratio curve predicts.

(a) Overhead. The same program under the same limit, run as
      base      uswap --limit L --sample-bytes 0                 (nothing on)
      observe   uswap --limit L --trace T.csv --sample-bytes 512K (the
                trace every 100 ms and call-site sampling every 512 KiB)
    repeated (--repeat, default 5, 3 with --quick), the two alternating so
    that a slow spell of the machine hits both. Wall time is measured around
    fork/exec/wait4, CPU time is the process's user + system time (every
    thread, the runtime's included) from wait4. The table gives min and
    median of each and the ratios observe/base of the medians and of the
    minimums; a ratio under 1 is noise.
    Workloads: examples/churn (random read-modify-write, thrashing),
    benchmarks/patterns zipf (skewed, moderate paging) and a malloc-heavy
    real program: CPython with PYTHONMALLOC=malloc building and rewriting a
    dict of small objects (every object a malloc; no limit pressure, so what
    shows is the cost on the allocation path).

(b) Miss-ratio curve. Each workload runs at a limit L with --stats; the
    "mrc" points of that run (interpolated linearly) predict its major
    faults at two larger limits; then it runs at those limits for real. The
    table gives predicted, real, and the relative error (predicted - real) /
    real. The workloads do a fixed amount of work, so fault counts compare.

Every run's output must match the native run's (the checksum). It builds
nothing: meson setup build && meson compile -C build first. Swap files go
to a scratch directory (--swap-dir, default /var/tmp) removed at the end,
whatever happens (run.py's cleanup, in sysenv.py).

Usage: benchmarks/observe.py [--quick] [--repeat N] [--out FILE.md] [--json FILE]
Exit status: 0 when every run succeeded with the right output, 1 when one
failed, 2 for usage or setup errors.
"""

import argparse
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  benchmarks/run.py: the runner, options, report
import sysenv  # noqa: E402  benchmarks/sysenv.py: cleanup, helpers

MIB = sysenv.MIB

# The malloc-heavy program: CPython, every object a malloc.
PY_ALLOC = r"""
import sys, zlib
n = int(sys.argv[1])
d = {}
for i in range(n):
    d["key%d" % i] = ("v" * (i % 50), i * 7, [i, i + 1])
h = 0
for r in range(3):
    for i in range(0, n, 3):
        k = "key%d" % ((i * 2654435761) % n)
        v = d[k]
        d[k] = (v[0] + "x", v[1] + 1, v[2] + [r])
    h = zlib.crc32(str(sum(v[1] + len(v[0]) + len(v[2]) for v in d.values())).encode(), h)
print("checksum=%08x" % h)
"""

# Sizes. Measured on the 2-vCPU development VM (other work running):
# --quick takes about 2.5 minutes, the default about 7.
QUICK = {
    "repeat": 3,
    "overhead": {"churn": (["96"], "48M"), "zipf": (["zipf", "128", "300000", "1"], "64M"),
                 "python": (["200000"], "1G")},
    "mrc": {"random": (["random", "128", "40000", "1"], 32, (64, 96)),
            "zipf": (["zipf", "128", "300000", "1"], 32, (48, 64))},
    "timeout_s": 300,
}
DEFAULT = {
    "repeat": 5,
    "overhead": {"churn": (["192"], "96M"), "zipf": (["zipf", "256", "1000000", "1"], "128M"),
                 "python": (["400000"], "1G")},
    "mrc": {"random": (["random", "256", "100000", "1"], 64, (128, 192)),
            "zipf": (["zipf", "256", "1000000", "1"], 64, (96, 128)),
            "churn": (["128"], 48, (72, 96))},
    "timeout_s": 600,
}


class ObsRunner(run.Runner):
    """run.Runner with the uswap options of each run, and CPU time."""

    def __init__(self, args, cfg, workdir):
        super().__init__(args, cfg, workdir, None)
        self.limit, self.extra = None, []

    def command(self, mode, argv, stats_path):
        if mode == "native":
            return argv
        return ([self.args.uswap, "--limit", self.limit, "--swap", self.swap_path(), "--stats", stats_path]
                + self.extra + self.args.uswap_arg + ["--"] + argv)

    def measure(self, mode, argv, label, limit=None, extra=(), env=None):
        self.limit, self.extra = limit, list(extra)
        saved = {k: os.environ.get(k) for k in (env or {})}
        os.environ.update(env or {})
        t0 = os.times()
        try:
            r = self.run(mode, argv, label)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        t1 = os.times()
        # wait4 in run() reaped the program: its times are in the children's.
        r["cpu_s"] = (t1.children_user - t0.children_user) + (t1.children_system - t0.children_system)
        return r


def output_key(r):
    """What must equal the native run's: the checksum field, else stdout."""
    kv = sysenv.parse_kv(r["stdout"])
    return kv.get("checksum", r["stdout"].strip())


def workload_argv(args, name, wargs):
    if name == "churn":
        return [args.churn] + wargs
    if name == "python":
        return [args.python, "-c", PY_ALLOC] + wargs
    return [args.patterns] + wargs


def workload_env(name):
    return {"PYTHONMALLOC": "malloc"} if name == "python" else None


def judge(r, want):
    if r["timed_out"]:
        return "TIMEOUT"
    if r["rc"] != 0:
        tail = r["stderr"].strip().splitlines()[-1:] or [""]
        return f"FAILED rc={r['rc']} {tail[0]}"
    if want is not None and output_key(r) != want:
        return f"WRONG OUTPUT {output_key(r)!r} != {want!r}"
    return ""


def overhead(args, cfg, runner, failures):
    lines = ["| workload | limit | runs | base wall s min / med | observe wall s min / med"
             " | wall ratio (med, min) | base CPU s min / med | observe CPU s min / med"
             " | CPU ratio (med, min) | trace rows | sites samples |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    summary = []
    raw = {}
    for name, (wargs, limit) in cfg["overhead"].items():
        argv = workload_argv(args, name, wargs)
        env = workload_env(name)
        nat = runner.measure("native", argv, f"{name} native", env=env)
        want = output_key(nat) if not judge(nat, None) else None
        runs = {"base": [], "observe": []}
        for i in range(cfg["repeat"]):
            for conf in ("base", "observe"):
                trace = os.path.join(runner.workdir, f"trace-{name}-{i}.csv")
                extra = (["--sample-bytes", "0"] if conf == "base"
                         else ["--trace", trace, "--sample-bytes", "512K"])
                r = runner.measure("uswap", argv, f"{name} {conf} #{i + 1}", limit, extra, env)
                r["why"] = judge(r, want)
                if conf == "observe" and os.path.exists(trace):
                    with open(trace) as f:
                        r["trace_rows"] = sum(1 for _ in f) - 1
                    os.unlink(trace)
                runs[conf].append(r)
        raw[name] = {"native": nat, **runs}
        bad = [r for rs in runs.values() for r in rs if r["why"]]
        if bad or want is None:
            failures += bad or [nat]
            why = bad[0]["why"] if bad else "native run failed"
            lines.append(f"| {name} | {limit} | | {why} | | | | | | | |")
            continue
        w = {c: [r["wall_s"] for r in rs] for c, rs in runs.items()}
        c = {k: [r["cpu_s"] for r in rs] for k, rs in runs.items()}
        wr = (statistics.median(w["observe"]) / statistics.median(w["base"]), min(w["observe"]) / min(w["base"]))
        cr = (statistics.median(c["observe"]) / statistics.median(c["base"]), min(c["observe"]) / min(c["base"]))
        rows = [r.get("trace_rows", 0) for r in runs["observe"]]
        samples = [((r["stats"] or {}).get("sites") or {}).get("samples") for r in runs["observe"]]
        lines.append(
            f"| {name} | {limit} | {cfg['repeat']}+{cfg['repeat']} "
            f"| {min(w['base']):.2f} / {statistics.median(w['base']):.2f} "
            f"| {min(w['observe']):.2f} / {statistics.median(w['observe']):.2f} "
            f"| {wr[0]:.3f}, {wr[1]:.3f} "
            f"| {min(c['base']):.2f} / {statistics.median(c['base']):.2f} "
            f"| {min(c['observe']):.2f} / {statistics.median(c['observe']):.2f} "
            f"| {cr[0]:.3f}, {cr[1]:.3f} | {statistics.median(rows):.0f} "
            f"| {sysenv.fmt(statistics.median(samples) if None not in samples else None, '{:.0f}')} |")
        summary.append((name, wr, cr))
    return lines, summary, raw


def interpolate(points, limit):
    """Predicted major faults at limit from the curve's points (the last
    point's value beyond them: no refault is left there)."""
    if limit <= points[0]["limit_bytes"]:
        return points[0]["majfaults"]
    for a, b in zip(points, points[1:]):
        if a["limit_bytes"] <= limit <= b["limit_bytes"]:
            span = b["limit_bytes"] - a["limit_bytes"]
            return a["majfaults"] + (limit - a["limit_bytes"]) / span * (b["majfaults"] - a["majfaults"])
    return points[-1]["majfaults"]


def mrc(args, cfg, runner, failures):
    lines = ["| workload | measured at | recommended | limit | predicted major faults | real"
             " | error | wall s |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    errors, raw = [], {}
    for name, (wargs, base_mib, others) in cfg["mrc"].items():
        argv = workload_argv(args, name, wargs)
        nat = runner.measure("native", argv, f"mrc {name} native")
        want = output_key(nat) if not judge(nat, None) else None
        base = runner.measure("uswap", argv, f"mrc {name} {base_mib}M", f"{base_mib}M")
        base["why"] = judge(base, want)
        raw[name] = {"native": nat, "base": base}
        m = (base["stats"] or {}).get("mrc")
        if base["why"] or not m:
            failures.append(base)
            lines.append(f"| {name} | {base_mib} MiB | | | {base['why'] or 'no mrc in the stats'} | | | |")
            continue
        lines.append(f"| {name} | {base_mib} MiB | {m['recommended_bytes'] / MIB:.1f} MiB | {base_mib} MiB"
                     f" | {m['points'][0]['majfaults']} | {base['stats']['pgmajfault']} | (the run) "
                     f"| {base['wall_s']:.2f} |")
        for mib in others:
            pred = interpolate(m["points"], mib * MIB)
            r = runner.measure("uswap", argv, f"mrc {name} {mib}M", f"{mib}M")
            r["why"] = judge(r, want)
            raw[name][f"{mib}M"] = r
            if r["why"]:
                failures.append(r)
                lines.append(f"| {name} | | | {mib} MiB | {pred:.0f} | {r['why']} | | |")
                continue
            real = r["stats"]["pgmajfault"]
            err = (pred - real) / real if real else (0.0 if pred < 1 else None)
            if err is not None:
                errors.append((name, mib, err))
            lines.append(f"| {name} | | | {mib} MiB | {pred:.0f} | {real} | "
                         f"{'-' if err is None else f'{100 * err:+.1f}%'} | {r['wall_s']:.2f} |")
    return lines, errors, raw


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, 3 repeats (about 2.5 minutes)")
    p.add_argument("--repeat", type=int, metavar="N", help="runs per configuration for the overhead")
    p.add_argument("--only", choices=("overhead", "mrc"), help="one half of the benchmark")
    run.add_common_args(p)
    p.add_argument("--patterns", help="patterns program (default BUILD/benchmarks/patterns)")
    p.add_argument("--churn", help="churn program (default BUILD/examples/churn)")
    p.add_argument("--python", default=os.path.realpath(sys.executable),
                   help="the CPython binary of the malloc-heavy workload (not a wrapper script)")
    a = run.parse_common(p, argv)
    a.patterns = a.patterns or os.path.join(a.build_dir, "benchmarks", "patterns")
    a.churn = a.churn or os.path.join(a.build_dir, "examples", "churn")
    return a


def main(argv):
    args = parse_args(argv)
    cfg = json.loads(json.dumps(QUICK if args.quick else DEFAULT))
    if args.repeat:
        cfg["repeat"] = args.repeat
    if args.timeout:
        cfg["timeout_s"] = args.timeout
    if cfg["repeat"] < 1:
        sysenv.log("observe.py: --repeat must be at least 1")
        return 2
    for exe in (args.uswap, args.patterns, args.churn, args.python):
        if not os.access(exe, os.X_OK):
            sysenv.log(f"observe.py: {exe} not found; build first: meson setup build && meson compile -C build")
            return 2

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, sysenv.on_signal)
    cleanup = sysenv.Cleanup("observe.py")
    cleanup.push("kill the running benchmark", sysenv.Child.kill_all)
    try:
        swap_dir = args.swap_dir or ("/var/tmp" if sysenv.fs_type("/var/tmp") != "tmpfs" else sysenv.REPO)
        sysenv.reap_stale(swap_dir, "observe.py", "uswap-bench")
        workdir = tempfile.mkdtemp(prefix="uswap-bench-", dir=swap_dir)
        cleanup.push(f"remove {workdir}", lambda: sysenv.remove_tree(workdir))
        sysenv.write_file(os.path.join(workdir, "owner.pid"), os.getpid())
        runner = ObsRunner(args, cfg, workdir)
        failures, raw = [], {}
        t0 = time.monotonic()
        rev = subprocess.run(["git", "-C", sysenv.REPO, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip() or "(no commit)"
        dirty = subprocess.run(["git", "-C", sysenv.REPO, "status", "--porcelain", "--", "src", "preload"],
                               capture_output=True, text=True).stdout.strip()
        report = ["# uswap: the cost of measuring, and the miss-ratio curve", "",
                  f"- date: {time.strftime('%Y-%m-%d %H:%M:%S')}; git: {rev}"
                  f"{' + uncommitted runtime changes' if dirty else ''}; kernel: {platform.release()};"
                  f" CPUs: {os.cpu_count()}; swap files in {workdir} ({sysenv.fs_type(workdir)})"]
        summary = []
        if args.only in (None, "overhead"):
            lines, osum, raw["overhead"] = overhead(args, cfg, runner, failures)
            report += ["", "## Overhead of --trace (100 ms) + --sample-bytes 512K", "",
                       "base: --sample-bytes 0, no trace. Ratios: observe / base, of the medians and of the"
                       " minimums. CPU: user + system time of the whole process (wait4).", ""] + lines
            for name, wr, cr in osum:
                summary.append(f"- overhead {name}: wall {100 * (wr[0] - 1):+.1f}% (median), "
                               f"{100 * (wr[1] - 1):+.1f}% (min); CPU {100 * (cr[0] - 1):+.1f}% (median), "
                               f"{100 * (cr[1] - 1):+.1f}% (min)")
        if args.only in (None, "mrc"):
            lines, errors, raw["mrc"] = mrc(args, cfg, runner, failures)
            report += ["", "## Miss-ratio curve: predicted against real major faults", "",
                       "Predicted: the \"mrc\" points of the run at the first limit, interpolated;"
                       " error = (predicted - real) / real.", ""] + lines
            if errors:
                worst = max(errors, key=lambda e: abs(e[2]))
                mean = statistics.mean(abs(e[2]) for e in errors)
                summary.append(f"- miss-ratio curve: mean |error| {100 * mean:.1f}% over {len(errors)} predictions,"
                               f" worst {100 * worst[2]:+.1f}% ({worst[0]} at {worst[1]} MiB)")
        summary.append(f"- {len(failures)} failed runs; total {time.monotonic() - t0:.0f} s")
        report += ["", "## Summary", ""] + summary
        text = "\n".join(report) + "\n"
        run.write_report(args, text, {"config": cfg, "results": raw}, default=str)
        return 1 if failures else 0
    except sysenv.Interrupted as e:
        sysenv.log(f"observe.py: {e}; cleaning up")
        return 128 + e.signum
    finally:
        cleanup.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
