#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The measuring features of issue 5, asserted on real numbers.

  observe_check.py --uswap build/uswap --program build/tests/observe/hotcold CASE

hotcold (hotcold.c) has a hot set on the malloc heap, a cold set in its own
mmap, optionally a mapped file read through, and prints a line that depends
only on its sizes: every run under uswap must print what the native run
prints.

trace_csv    --interval 50ms, a .csv trace of a ~2 s thrashing run: the
             header is the spec's columns in order; the row count is
             duration_s / interval within 20% + 2; t strictly increasing
             in steps near the interval; cumulative counters never go
             down; the last row equals the stats file (pgfault,
             pgmajfault, pswpout, stall) and its t the run's duration.
trace_jsonl  the same with a .jsonl trace: every line a JSON object with
             the same keys.
psi_one      one thread thrashing: memory some_pct > 5, equal (within 2%
             + 0.5 points) to the threads' (throttle_ns + swapin_ns) /
             duration; full == some; some_ns at most the main thread's
             off-CPU time and at least 20% of it (measured 62-86%).
psi_two      -T: a second thread that never touches managed memory:
             full_pct < some_pct / 2 while some_pct > 5.
psi_none     a limit above the footprint: no major fault, stall < 0.5%.
regions      a file, a 64 MiB cold mmap, a 24 MiB hot heap set, limit
             40 MiB: the file by its path (kind file, faults > 0), the cold
             mmap (kind anon, 64 MiB) and the heap are there; the cold
             mmap has more evictions than the heap (10x); every
             resident_peak_bytes <= the limit; the regions' majfaults and
             refaults add up to the run's.
mrc          a fixed amount of work (-n), uniform over a 32 MiB hot set,
             at 16 MiB: the curve's points go up in limit and down in
             faults, its first point is the run itself, and the
             recommended size is at least the hot set and at most the
             footprint + 25%. Then real runs at 22 and 28 MiB: the faults
             the curve predicted there (interpolated between points) are
             within MRC_ERROR of the real ones (all numbers printed).
auto         hot 24 MiB, cold 64 MiB, ~8 s, --limit auto --auto-period
             250ms: settled_bytes is under 75% of the footprint (the cold
             set was given back) and at least 80% of the hot set.
errors       bad --interval (5ms, abc, 61s, USWAP_INTERVAL=abc), --trace
             to a path that cannot be written, bad --auto-target and
             --auto-step: exit 2, one line "uswap: ..." naming the value,
             and the program did not run.
"""

import argparse
import csv
import json
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

MIB = ut.MIB

# The trace columns of the shared spec, in order.
TRACE_COLUMNS = [
    "t", "limit_bytes", "resident_bytes", "active_anon", "inactive_anon", "active_file",
    "inactive_file", "pgfault", "pgmajfault", "pswpin", "pswpout", "pgpgin", "pgpgout",
    "pgsteal_anon", "pgsteal_file", "refault_anon", "refault_file", "writeback", "throttled",
    "throttle_ns", "stall_some_ns", "stall_full_ns", "scanner_cpu_ns", "handler_cpu_ns",
    "swap_bytes", "swappiness", "zswpout", "zswpin", "pool_bytes",
]
CUMULATIVE = [
    "pgfault", "pgmajfault", "pswpin", "pswpout", "pgpgin", "pgpgout", "pgsteal_anon",
    "pgsteal_file", "refault_anon", "refault_file", "throttle_ns", "stall_some_ns",
    "stall_full_ns", "scanner_cpu_ns", "handler_cpu_ns", "zswpout", "zswpin",
]

# Relative error allowed between the miss-ratio curve's prediction and a
# real run. Measured on the 2-vCPU development VM (hot 32 MiB uniform,
# 30000 accesses, from 16 MiB; 7 runs): +1.8..+3.8% at 22 MiB, +7.9..+11.3%
# at 28 MiB. The curve is LRU stack distance; uswap's second-chance lists
# keep up to wmark_high (4%) of the limit free and approximate LRU, so the
# real run at a larger limit hits a little more than predicted, more so
# as the limit nears the hot set. 25% is over twice the worst seen and
# still fails when the curve is off by a step of its own spacing (~1.7 MiB
# here, ~15% of the faults at 28 MiB) or misplaced.
MRC_ERROR = 0.25


def native(args, wd, prog_args):
    res = ut.run([args.program] + prog_args, workdir=wd, tag="native", timeout=120)
    ut.check(res.returncode == 0, f"[native] exit status {ut.status_text(res.returncode)}")
    return res.stdout_bytes()


def run(args, wd, tag, limit, prog_args, extra=(), want=None, timeout=180):
    """One run under uswap with --stats; checks exit 0 and the output."""
    stats = wd.join(f"{tag}.json")
    cmd = ut.uswap_cmd(args.uswap, limit, [args.program] + prog_args, stats=stats, extra=extra)
    res = ut.run(cmd, workdir=wd, tag=tag, stats_path=stats, timeout=timeout)
    ut.check(res.returncode == 0, f"[{tag}] exit status {ut.status_text(res.returncode)}")
    ut.require_stats(res, tag)
    if want is not None:
        ut.check(res.stdout_bytes() == want, f"[{tag}] output differs from the native run: "
                 f"{res.stdout_bytes()!r} vs {want!r}")
    return res


def main_times(res):
    """hotcold's own stderr line: the main thread's wall and CPU ns."""
    m = re.search(r"main_wall_ns=(\d+) main_cpu_ns=(\d+)", res.stderr)
    ut.check(m, "hotcold printed no timing line")
    return int(m.group(1)), int(m.group(2))


def region(stats, pred, what):
    found = [r for r in stats["regions"] if pred(r)]
    ut.check(found, f"no region for {what} in {[r['name'] for r in stats['regions']]}")
    return found[0]


# ---- trace ------------------------------------------------------------------

def read_trace(path, jsonl):
    with open(path) as f:
        text = f.read()
    ut.check(text.endswith("\n"), "the trace does not end with a newline")
    if not jsonl:
        rows = list(csv.reader(text.splitlines()))
        ut.check(rows and rows[0] == TRACE_COLUMNS,
                 f"CSV header is not the spec's columns: {rows[0] if rows else None}")
        out = []
        for i, r in enumerate(rows[1:], 2):
            ut.check(len(r) == len(TRACE_COLUMNS), f"CSV line {i} has {len(r)} fields: {r}")
            try:
                out.append({k: (float(v) if k == "t" else int(v)) for k, v in zip(TRACE_COLUMNS, r)})
            except ValueError:
                ut.check(False, f"CSV line {i} is not numbers: {r}")
        return out
    out = []
    for i, line in enumerate(text.splitlines(), 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            ut.check(False, f"trace line {i} is not JSON ({e}): {line[:200]!r}")
        ut.check(isinstance(obj, dict) and list(obj) == TRACE_COLUMNS,
                 f"trace line {i} keys differ from the spec's: {list(obj) if isinstance(obj, dict) else obj}")
        bad = [k for k in TRACE_COLUMNS[1:] if not isinstance(obj[k], int) or obj[k] < 0]
        ut.check(not bad and isinstance(obj["t"], (int, float)), f"trace line {i}: bad values for {bad}")
        out.append(obj)
    return out


def check_trace(args, wd, suffix):
    interval = 0.05
    prog = ["-s", "2", "24", "16"]
    want = native(args, wd, ["-s", "0.1", "24", "16"])
    trace = wd.join("trace" + suffix)
    res = run(args, wd, "trace", "20M", prog, ["--interval", "50ms", "--trace", trace], want)
    s = res.stats
    rows = read_trace(trace, suffix != ".csv")
    dur = s["run"]["duration_s"]
    expect = dur / interval
    ut.log(f"rows {len(rows)}, duration {dur:.3f} s, expected ~{expect:.1f}; "
           f"last row pgfault {rows[-1]['pgfault'] if rows else None} stats {s['pgfault']}")
    ut.check(s["run"]["interval_ms"] == 50, f"run.interval_ms is {s['run']['interval_ms']}, not 50")
    ut.check(s["run"]["trace"] == trace, f"run.trace is {s['run']['trace']!r}, not {trace!r}")
    ut.check(abs(len(rows) - expect) <= 0.2 * expect + 2,
             f"{len(rows)} trace rows for {dur:.3f} s at 50 ms (expected {expect:.0f} +- 20% + 2)")

    ts = [r["t"] for r in rows]
    steps = [b - a for a, b in zip(ts, ts[1:])]
    ut.check(all(d > 0 for d in steps), f"t does not strictly increase: {ts}")
    body = sorted(steps[:-1])  # the last row is written at exit, whenever that is
    med = body[len(body) // 2]
    far = [d for d in body if not 0.5 * interval <= d <= 2 * interval]
    ut.log(f"steps: median {med * 1000:.1f} ms, min {body[0] * 1000:.1f}, max {body[-1] * 1000:.1f}, "
           f"{len(far)} outside 25..100 ms")
    ut.check(abs(med - interval) <= 0.2 * interval, f"median step {med * 1000:.1f} ms, not ~50 ms")
    ut.check(len(far) <= max(2, len(body) // 10), f"{len(far)} steps far from 50 ms: {far}")
    ut.check(abs(ts[0] - interval) <= interval, f"the first row is at t={ts[0]}, not after one interval")
    ut.check(abs(ts[-1] - dur) <= 0.05, f"the last row is at t={ts[-1]}, the run lasted {dur}")

    for k in CUMULATIVE:
        for a, b in zip(rows, rows[1:]):
            ut.check(b[k] >= a[k], f"cumulative {k} went down: {a[k]} at t={a['t']} -> {b[k]} at t={b['t']}")
    for r in rows:
        ut.check(r["limit_bytes"] == s["limit_bytes"], f"limit_bytes {r['limit_bytes']} at t={r['t']}")
        ut.check(r["resident_bytes"] <= r["limit_bytes"], f"resident {r['resident_bytes']} above the limit at t={r['t']}")
        ut.check(r["stall_full_ns"] <= r["stall_some_ns"], f"stall full > some at t={r['t']}")
    last = rows[-1]
    for k, sk in (("pgfault", "pgfault"), ("pgmajfault", "pgmajfault"), ("pswpin", "pswpin"),
                  ("pswpout", "pswpout"), ("pgsteal_anon", "pgsteal_anon"),
                  ("refault_anon", "workingset_refault_anon"), ("throttle_ns", "throttle_ns")):
        ut.check(last[k] == s[sk], f"the last row's {k} {last[k]} != the stats file's {sk} {s[sk]}")
    some = s["psi"]["memory"]["some_ns"]
    ut.check(abs(last["stall_some_ns"] - some) <= 0.01 * some + 1e6,
             f"the last row's stall_some_ns {last['stall_some_ns']} != psi.memory.some_ns {some}")
    out = last["pswpout"] + last.get("zswpout", 0)
    ut.check(last["pgmajfault"] > 1000 and out > 1000,
             f"the run did not thrash (pgmajfault {last['pgmajfault']}, pswpout + zswpout {out})")
    mid = rows[len(rows) // 2]
    ut.check(0 < mid["pgmajfault"] < last["pgmajfault"],
             "the counters did not grow during the run (mid-run row: "
             f"pgmajfault {mid['pgmajfault']} of {last['pgmajfault']})")
    ut.check(mid["scanner_cpu_ns"] > 0 and mid["handler_cpu_ns"] > 0, "no runtime CPU time in the trace")


def case_trace_csv(args, wd):
    check_trace(args, wd, ".csv")


def case_trace_jsonl(args, wd):
    check_trace(args, wd, ".jsonl")


def case_pool_limit(args, wd):
    """The compressed pool is inside the limit: in every trace row (10 ms
    apart) resident_bytes + pool_bytes <= limit_bytes, while the pool is in
    use (pool_bytes > 0 in some row, zswpout and zswpin > 0) and within its
    share (--compress-pool 0.5: the peak at most half the limit)."""
    prog = ["-z", "-s", "2", "48", "16"]
    want = native(args, wd, ["-z", "-s", "0.1", "48", "16"])
    trace = wd.join("pool.csv")
    res = run(args, wd, "pool", "24M", prog,
              ["--interval", "10ms", "--trace", trace, "--compress-pool", "0.5"], want)
    s = res.stats
    rows = read_trace(trace, False)
    over = [r for r in rows if r["resident_bytes"] + r["pool_bytes"] > r["limit_bytes"]]
    peak = max(r["resident_bytes"] + r["pool_bytes"] for r in rows)
    pooled = [r for r in rows if r["pool_bytes"] > 0]
    ut.log(f"{len(rows)} rows, {len(pooled)} with pool memory; peak resident + pool "
           f"{peak} of {s['limit_bytes']}; zswpout {s['zswpout']} zswpin {s['zswpin']} "
           f"pool peak {s['zswap_pool_bytes_peak']}")
    ut.check(not over, f"{len(over)} rows over the limit, first: {over[:1]}")
    ut.check(len(pooled) >= len(rows) // 2, "the pool held memory in too few rows")
    ut.check(s["zswpout"] > 0 and s["zswpin"] > 0, "pages did not go through the pool")
    ut.check(0 < s["zswap_pool_bytes_peak"] <= s["limit_bytes"] // 2,
             f"pool peak {s['zswap_pool_bytes_peak']} is not within half the limit")


# ---- stall accounting -------------------------------------------------------

def psi_run(args, wd, tag, limit, prog):
    want = native(args, wd, ["-s", "0.1"] + prog[2:])
    res = run(args, wd, tag, limit, prog, want=want)
    s = res.stats
    mem = s["psi"]["memory"]
    dur = s["run"]["duration_s"]
    threads = s["threads"]
    per_thread = sum(t["throttle_ns"] + t["swapin_ns"] for t in threads)
    wall, cpu = main_times(res)
    ut.log(f"[{tag}] duration {dur:.3f} s; memory some {mem['some_pct']:.2f}% ({mem['some_ns'] / 1e9:.3f} s) "
           f"full {mem['full_pct']:.2f}% avg10 {mem['some_avg10']:.2f}/{mem['full_avg10']:.2f}; throttle "
           f"{s['psi']['throttle']['some_ns'] / 1e9:.3f} s swapin {s['psi']['swapin']['some_ns'] / 1e9:.3f} s; "
           f"threads {[(t['name'], t['majfaults'], round(t['stall_pct'], 2)) for t in threads]}; "
           f"sum over threads {per_thread / 1e9:.3f} s; main thread off-CPU {(wall - cpu) / 1e9:.3f} s; "
           f"pgmajfault {s['pgmajfault']}")
    for k in ("memory", "throttle", "swapin"):
        p = s["psi"][k]
        ut.check(0 <= p["full_ns"] <= p["some_ns"] and 0 <= p["full_pct"] <= p["some_pct"] <= 100,
                 f"psi.{k} inconsistent: {p}")
        ut.check(abs(p["some_pct"] - 100 * p["some_ns"] / 1e9 / dur) <= 0.5,
                 f"psi.{k}.some_pct {p['some_pct']} is not some_ns / duration")
    return s, mem, per_thread, wall, cpu


def case_psi_one(args, wd):
    s, mem, per_thread, wall, cpu = psi_run(args, wd, "one", "24M", ["-s", "2", "48", "8"])
    dur = s["run"]["duration_s"]
    ut.check(mem["some_pct"] > 5, f"a thrashing run shows memory some {mem['some_pct']}%")
    ut.check(s["pgmajfault"] > 1000, f"the run did not thrash: pgmajfault {s['pgmajfault']}")
    threads_pct = 100 * per_thread / 1e9 / dur
    ut.check(abs(mem["some_pct"] - threads_pct) <= 0.02 * mem["some_pct"] + 0.5,
             f"memory some {mem['some_pct']}% but the threads' stall adds up to {threads_pct:.2f}%")
    ut.check(abs(mem["full_pct"] - mem["some_pct"]) <= 0.01 + 0.001 * mem["some_pct"],
             f"one thread: full {mem['full_pct']}% != some {mem['some_pct']}%")
    ut.check(abs(mem["some_avg10"] - mem["some_pct"]) <= 0.2 * mem["some_pct"] + 2,
             f"a run under 10 s: some_avg10 {mem['some_avg10']} far from some_pct {mem['some_pct']}")
    psi = s["psi"]
    ut.check(max(psi["throttle"]["some_ns"], psi["swapin"]["some_ns"]) <= mem["some_ns"]
             <= psi["throttle"]["some_ns"] + psi["swapin"]["some_ns"] + 1000,
             "memory stall is not the union of throttle and swapin stalls")
    main = [t for t in s["threads"] if t["name"] == os.path.basename(args.program)[:15]]
    ut.check(main and main[0]["majfaults"] == s["pgmajfault"],
             f"the main thread's majfaults are not the run's {s['pgmajfault']}: {s['threads']}")
    # Independent of the runtime's own clocks: a stalled thread is off-CPU.
    off = wall - cpu
    ut.check(mem["some_ns"] <= off * 1.02 + 20e6,
             f"stall {mem['some_ns'] / 1e9:.3f} s exceeds the main thread's off-CPU time {off / 1e9:.3f} s")
    ut.check(mem["some_ns"] >= 0.2 * off,
             f"stall {mem['some_ns'] / 1e9:.3f} s is under 20% of the off-CPU time {off / 1e9:.3f} s of a thrashing thread")


def case_psi_two(args, wd):
    s, mem, per_thread, wall, cpu = psi_run(args, wd, "two", "24M", ["-s", "2", "-T", "48", "8"])
    ut.check(mem["some_pct"] > 5, f"a thrashing run shows memory some {mem['some_pct']}%")
    ut.check(mem["full_pct"] < mem["some_pct"] / 2,
             f"one of two threads thrashing: full {mem['full_pct']}% not below some {mem['some_pct']}% / 2")
    dur = s["run"]["duration_s"]
    ut.check(abs(mem["some_pct"] - 100 * per_thread / 1e9 / dur) <= 0.02 * mem["some_pct"] + 0.5,
             "memory some is not the stalled thread's stall")


def case_psi_none(args, wd):
    s, mem, _, _, _ = psi_run(args, wd, "none", "128M", ["-s", "1.5", "24", "16"])
    ut.check(s["pgmajfault"] == 0 and s["throttle_ns"] == 0,
             f"a limit above the footprint: pgmajfault {s['pgmajfault']}, throttle_ns {s['throttle_ns']}")
    ut.check(mem["some_pct"] < 0.5 and mem["full_pct"] < 0.5, f"stall {mem} without pressure")


# ---- regions ----------------------------------------------------------------

def case_regions(args, wd):
    path = os.path.realpath(wd.join("mapped.data"))
    limit = 40 * MIB
    prog = ["-s", "1.5", "-f", f"{path}:16", "24", "64"]
    want = native(args, wd, ["-s", "0.1"] + prog[2:])
    res = run(args, wd, "regions", "40M", prog, want=want)
    s = res.stats
    for r in s["regions"]:
        ut.log(f"region {r['name']!r} {r['kind']} size {r['size_bytes'] >> 10}K peak "
               f"{r['resident_peak_bytes'] >> 10}K faults {r['faults']} maj {r['majfaults']} "
               f"evictions {r['evictions']} refaults {r['refaults']} mapped {r['mapped']}")
    f = region(s, lambda r: r["name"] == path, f"the file {path}")
    cold = region(s, lambda r: r["name"].startswith("mmap ") and r["size_bytes"] == 64 * MIB, "the cold mmap")
    heap = region(s, lambda r: r["kind"] == "heap", "the heap")
    ut.check(f["kind"] == "file" and f["faults"] > 0 and f["size_bytes"] == 16 * MIB,
             f"the file region: {f}")
    ut.check(cold["kind"] == "anon" and cold["faults"] > 0, f"the cold region: {cold}")
    ut.check(heap["size_bytes"] >= 24 * MIB and heap["faults"] > 0, f"the heap region: {heap}")
    ut.check(cold["evictions"] > 1000 and cold["evictions"] >= 10 * heap["evictions"],
             f"cold evictions {cold['evictions']} not well above the hot heap's {heap['evictions']}")
    for r in s["regions"]:
        ut.check(r["resident_peak_bytes"] <= limit, f"{r['name']}: resident peak above the limit")
        ut.check(r["resident_bytes"] <= r["resident_peak_bytes"], f"{r['name']}: resident above its peak")
    ut.check(f["mapped"] and cold["mapped"] and heap["mapped"], "a live region says mapped: false")
    weights = [r["evictions"] + r["refaults"] + r["faults"] for r in s["regions"]]
    ut.check(weights == sorted(weights, reverse=True), f"regions not sorted by weight: {weights}")
    R = s["regions"]
    ut.check(sum(r["majfaults"] for r in R) == s["pgmajfault"],
             f"regions' majfaults {sum(r['majfaults'] for r in R)} != pgmajfault {s['pgmajfault']}")
    ref = s["workingset_refault_anon"] + s["workingset_refault_file"]
    ut.check(sum(r["refaults"] for r in R) == ref, f"regions' refaults {sum(r['refaults'] for r in R)} != {ref}")
    steal = s["pgsteal_anon"] + s["pgsteal_file"]
    ev = sum(r["evictions"] for r in R)
    ut.check(steal - s.get("pgsteal_zero", 0) <= ev <= steal, f"regions' evictions {ev}, pgsteal {steal}")
    flt = sum(r["faults"] for r in R)
    ut.check(s["pgfault"] - s["tracking_faults"] <= flt <= s["pgfault"],
             f"regions' faults {flt}, pgfault {s['pgfault']}, tracking {s['tracking_faults']}")


# ---- miss-ratio curve ---------------------------------------------------------

def interpolate(points, limit):
    for a, b in zip(points, points[1:]):
        if a["limit_bytes"] <= limit <= b["limit_bytes"]:
            span = b["limit_bytes"] - a["limit_bytes"]
            w = (limit - a["limit_bytes"]) / span if span else 0
            return a["majfaults"] + w * (b["majfaults"] - a["majfaults"])
    ut.check(False, f"limit {limit} outside the curve's points")


def case_mrc(args, wd):
    prog = ["-n", "30000", "32", "1"]
    footprint = 33 * MIB
    want = native(args, wd, prog)
    base = run(args, wd, "mrc16M", "16M", prog, want=want).stats
    m = base["mrc"]
    pts = m["points"]
    ut.log(f"mrc at 16 MiB: majfaults {m['majfaults']}, recommended {m['recommended_bytes'] / MIB:.1f} MiB, "
           "points " + ", ".join(f"{p['limit_bytes'] / MIB:.1f}M:{p['majfaults']}" for p in pts))
    ut.check(base["pgmajfault"] > 5000, f"the base run did not thrash: {base['pgmajfault']}")
    ut.check(len(pts) >= 5, f"only {len(pts)} points")
    ut.check(pts[0]["limit_bytes"] == m["limit_bytes"] == 16 * MIB, f"the first point is not the run: {pts[0]}")
    ut.check(abs(pts[0]["majfaults"] - base["pgmajfault"]) <= 0.02 * base["pgmajfault"] + 2,
             f"the first point predicts {pts[0]['majfaults']} majfaults, the run took {base['pgmajfault']}")
    for a, b in zip(pts, pts[1:]):
        ut.check(b["limit_bytes"] > a["limit_bytes"], f"points not increasing in limit: {a} {b}")
        ut.check(b["majfaults"] <= a["majfaults"], f"more faults at a larger limit: {a} {b}")
    ut.check(pts[-1]["majfaults"] <= 0.1 * pts[0]["majfaults"],
             f"the curve does not come down at the footprint: {pts[-1]}")
    rec = m["recommended_bytes"]
    ut.check(32 * MIB <= rec <= footprint * 1.25,
             f"recommended {rec / MIB:.1f} MiB for a 32 MiB hot set in a {footprint / MIB:.0f} MiB footprint")

    worst = 0
    for mib in (22, 28):
        real = run(args, wd, f"mrc{mib}M", f"{mib}M", prog, want=want).stats["pgmajfault"]
        pred = interpolate(pts, mib * MIB)
        err = (pred - real) / real
        worst = max(worst, abs(err))
        ut.log(f"limit {mib} MiB: predicted {pred:.0f} major faults, real {real}, error {100 * err:+.1f}%")
        ut.check(abs(err) <= MRC_ERROR, f"at {mib} MiB the curve predicted {pred:.0f} major faults, "
                 f"the real run took {real} ({100 * err:+.1f}%, bound {100 * MRC_ERROR:.0f}%)")
    ut.log(f"worst relative error {100 * worst:.1f}%")


# ---- --limit auto -------------------------------------------------------------

def case_auto(args, wd):
    hot, cold = 24, 64
    prog = ["-s", "8", str(hot), str(cold)]
    want = native(args, wd, ["-s", "0.1", str(hot), str(cold)])
    s = run(args, wd, "auto", "auto", prog, ["--auto-period", "250ms"], want=want).stats
    a = s.get("auto")
    ut.check(isinstance(a, dict), f"no \"auto\" object in the stats: {a!r}")
    ut.check(s["run"]["limit_mode"] == "auto", f"run.limit_mode {s['run']['limit_mode']!r}")
    footprint = (hot + cold) * MIB
    ut.log(f"auto: settled {a['settled_bytes'] / MIB:.1f} MiB (min {a['min_bytes'] / MIB:.1f}, max "
           f"{a['max_bytes'] / MIB:.1f}, final {a.get('final_bytes', 0) / MIB:.1f}, steps {a.get('steps')}); "
           f"hot {hot} MiB, footprint {footprint / MIB:.0f} MiB; stall {s['psi']['memory']['some_pct']:.1f}%, "
           f"pgmajfault {s['pgmajfault']}")
    ut.check(a["target_pct"] == 1, f"target_pct {a['target_pct']}, default is 1")
    ut.check(a["min_bytes"] <= a["settled_bytes"] <= a["max_bytes"], f"settled outside [min, max]: {a}")
    ut.check(a["settled_bytes"] < 0.75 * footprint,
             f"settled at {a['settled_bytes'] / MIB:.1f} MiB: the cold {cold} MiB were not given back")
    ut.check(a["settled_bytes"] >= 0.8 * hot * MIB,
             f"settled at {a['settled_bytes'] / MIB:.1f} MiB, below the hot set of {hot} MiB")
    ut.check(a.get("steps", 20) >= 10, f"only {a.get('steps')} controller steps in 8 s at 250 ms")


# ---- setting errors -------------------------------------------------------------

def case_errors(args, wd):
    marker = wd.join("ran")
    afile = wd.join("plain")
    open(afile, "w").close()
    prog = ["/bin/sh", "-c", f"touch {marker}"]
    cases = [
        (["--interval", "5ms"], {}, "5ms"),
        (["--interval", "abc"], {}, "abc"),
        (["--interval", "61s"], {}, "61s"),
        ([], {"USWAP_INTERVAL": "abc"}, "abc"),
        (["--trace", "/nonexistent-dir/t.csv"], {}, "/nonexistent-dir/t.csv"),
        (["--trace", f"{afile}/t.jsonl"], {}, f"{afile}/t.jsonl"),
        (["--trace", wd.path], {}, wd.path),
        (["--limit", "auto", "--auto-target", "0"], {}, "0"),
        (["--limit", "auto", "--auto-target", "abc"], {}, "abc"),
        (["--limit", "auto", "--auto-target", "150"], {}, "150"),
        (["--limit", "auto", "--auto-step", "0"], {}, "0"),
        (["--limit", "auto", "--auto-step", "1.5"], {}, "1.5"),
        (["--limit", "auto", "--auto-step", "x"], {}, "x"),
        (["--limit", "auto", "--auto-period", "1ms"], {}, "1ms"),
    ]
    for i, (opts, env, value) in enumerate(cases):
        cmd = [args.uswap] + (["--limit", "32M"] if "--limit" not in opts else []) + opts + ["--"] + prog
        res = ut.run(cmd, workdir=wd, tag=f"err{i}", env=env, timeout=30)
        lines = res.stderr.strip().splitlines()
        what = " ".join(opts) + " ".join(f"{k}={v}" for k, v in env.items())
        ut.check(res.returncode == 2, f"{what}: exit {ut.status_text(res.returncode)}, not 2")
        ut.check(len(lines) == 1 and lines[0].startswith("uswap: "), f"{what}: stderr {lines!r}")
        ut.check(value in lines[0], f"{what}: the error does not name {value!r}: {lines[0]}")
        ut.check(not res.stdout_bytes(), f"{what}: something on stdout")
        ut.check(not os.path.exists(marker), f"{what}: the program ran")
        ut.log(f"ok: {what} -> {lines[0]}")


CASES = ["trace_csv", "trace_jsonl", "pool_limit", "psi_one", "psi_two", "psi_none", "regions", "mrc", "auto", "errors"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--program", required=True)
    ap.add_argument("case", choices=CASES)
    args = ap.parse_args()
    with ut.Workdir(args.case) as wd:
        globals()["case_" + args.case](args, wd)


if __name__ == "__main__":
    ut.main_wrapper(main)
