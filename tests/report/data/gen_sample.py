#!/usr/bin/env python3
"""Writes the sample run the report test reads: stats.json and trace.csv.

A made-up but self-consistent 30 s run, as `uswap --limit 64M --run DIR`
writes it (see /tmp/spec and README "Measuring a program"): a program grows
to a 110 MiB working set under a 64 MiB limit, thrashes, and at t=20 s the
limit is raised to 96 MiB (`uswap ctl PID set limit=96M`), which cuts the
major faults. Every key of the stats file's spec is there, and the trace's
last row agrees with the stats file's counters, so the report's figures can
be checked against numbers computed here (printed as EXPECT lines).

Deterministic (fixed seed): rerun it after changing it and commit both files.
    python3 gen_sample.py [DIR]
"""
import json
import os
import random
import sys

MiB = 1 << 20
PAGE = 4096
COLS = ["t", "limit_bytes", "resident_bytes", "active_anon", "inactive_anon",
        "active_file", "inactive_file", "pgfault", "pgmajfault", "pswpin", "pswpout",
        "pgpgin", "pgpgout", "pgsteal_anon", "pgsteal_file", "refault_anon",
        "refault_file", "writeback", "throttled", "throttle_ns", "stall_some_ns",
        "stall_full_ns", "scanner_cpu_ns", "handler_cpu_ns", "swap_bytes", "swappiness"]
STATS = ["pgfault", "pgmajfault", "pswpin", "pswpout", "pgscan_anon", "pgsteal_anon",
         "pgscan_file", "pgsteal_file", "pgpgin", "pgpgout", "pgactivate", "pgdeactivate",
         "pgrotated", "pgzerofill", "pgfree_discard", "pgsteal_clean", "pgsteal_zero", "swap_ra",
         "swap_ra_hit", "swap_prefetch", "pgpageout", "unevictable_pgs_mlocked",
         "workingset_refault_anon", "workingset_activate_anon", "workingset_restore_anon",
         "workingset_refault_file", "workingset_activate_file", "workingset_restore_file",
         "file_maps_managed", "file_maps_kernel", "file_maps_released", "file_write_errors",
         "nr_active_anon", "nr_inactive_anon", "nr_active_file", "nr_inactive_file",
         "nr_active_anon_peak", "nr_inactive_anon_peak", "nr_active_file_peak",
         "nr_inactive_file_peak", "swappiness_effective", "anon_io_ns", "file_io_ns",
         "throttle_count", "throttle_ns", "swap_write_errors", "swap_full", "swap_read_errors",
         "scan_passes", "scanner_cpu_ns", "handler_cpu_ns", "tracking_faults",
         "nr_regions_peak", "vma_peak", "resident_peak_bytes", "swap_bytes_peak",
         "swap_file_bytes"]


def simulate(rng):
    rows = []
    c = dict.fromkeys(["pgfault", "pgmajfault", "pswpin", "pswpout", "pgpgin", "pgpgout",
                       "pgsteal_anon", "pgsteal_file", "refault_anon", "refault_file",
                       "throttle_ns", "stall_some_ns", "stall_full_ns", "scanner_cpu_ns",
                       "handler_cpu_ns"], 0)
    ws = 110 * MiB
    file_size = 16 * MiB
    peak = dict(resident=0, swap=0, aa=0, ia=0, af=0, if_=0)
    for i in range(1, 301):
        t = i / 10
        dt = 0.1
        limit = 64 * MiB if t < 20 else 96 * MiB
        alloc = min(ws, ws * t / 5)             # grows for 5 s, then steady
        want = alloc + min(file_size, file_size * t / 3)
        resident = min(want, limit * rng.uniform(0.965, 0.985))
        file_res = min(file_size, file_size * t / 3) * (0.55 if want > limit else 1.0)
        anon_res = resident - file_res
        pressure = max(0.0, 1 - limit / (want * 1.02)) if want > limit else 0.0
        touch = 20000 * dt                      # pages touched per interval
        zero = (ws / 5 / PAGE * dt) if t <= 5 else 0
        maj = touch * pressure * rng.uniform(0.85, 1.15)
        fmaj = maj * 0.06
        c["pgfault"] += zero + maj + fmaj + touch * 0.08 * rng.uniform(0.9, 1.1)
        c["pgmajfault"] += maj
        c["pswpin"] += maj
        c["pgpgin"] += fmaj + (file_size / 3 / PAGE * dt if t <= 3 else 0)
        c["refault_anon"] += maj * 0.97
        c["refault_file"] += fmaj
        steal = maj * rng.uniform(0.98, 1.05)
        c["pgsteal_anon"] += steal
        c["pgsteal_file"] += fmaj * 1.02
        c["pswpout"] += steal * 0.7
        c["pgpgout"] += fmaj * 0.1
        thr = min(4, int(rng.expovariate(1 / (6 * pressure + 1e-9)))) if pressure else 0
        c["throttle_ns"] += 1e9 * dt * (pressure * 0.9 * rng.uniform(0.7, 1.3))
        some = min(0.95, pressure * 0.95 * rng.uniform(0.8, 1.2))
        c["stall_some_ns"] += 1e9 * dt * some
        c["stall_full_ns"] += 1e9 * dt * some * 0.4
        c["scanner_cpu_ns"] += 1e9 * dt * (0.02 + pressure * 0.25)
        c["handler_cpu_ns"] += 1e9 * dt * (0.01 + pressure * 0.18)
        aa = anon_res / PAGE * 0.62
        ia = anon_res / PAGE - aa
        af = file_res / PAGE * 0.45
        if_ = file_res / PAGE - af
        swap = max(0.0, alloc - anon_res) * 1.05
        row = dict(t=t, limit_bytes=limit, resident_bytes=resident, active_anon=aa,
                   inactive_anon=ia, active_file=af, inactive_file=if_,
                   writeback=rng.randint(0, 64) if pressure else 0, throttled=thr,
                   swap_bytes=swap, swappiness=60, **c)
        rows.append({k: (round(v, 3) if k == "t" else int(v)) for k, v in row.items()})
        peak = dict(resident=max(peak["resident"], resident), swap=max(peak["swap"], swap),
                    aa=max(peak["aa"], aa), ia=max(peak["ia"], ia), af=max(peak["af"], af),
                    if_=max(peak["if_"], if_))
    for k in ("resident", "swap", "aa", "ia", "af", "if_"):
        peak[k] = int(peak[k])
    return rows, peak


def stats_for(rows, peak):
    last = rows[-1]
    s = dict.fromkeys(STATS, 0)
    s.update(limit_bytes=last["limit_bytes"], pgfault=last["pgfault"],
             pgmajfault=last["pgmajfault"], pswpin=last["pswpin"], pswpout=last["pswpout"],
             pgpgin=last["pgpgin"], pgpgout=last["pgpgout"], pgsteal_anon=last["pgsteal_anon"],
             pgsteal_file=last["pgsteal_file"], pgscan_anon=last["pgsteal_anon"] * 3 // 2,
             pgscan_file=last["pgsteal_file"] * 5 // 4, pgactivate=412345, pgdeactivate=498765,
             pgrotated=1234, pgzerofill=28160, pgfree_discard=2048,
             pgsteal_clean=last["pgsteal_anon"] - last["pswpout"], pgsteal_zero=321,
             swap_ra=8192, swap_ra_hit=6900,
             workingset_refault_anon=last["refault_anon"],
             workingset_activate_anon=last["refault_anon"] // 3,
             workingset_restore_anon=last["refault_anon"] // 9,
             workingset_refault_file=last["refault_file"],
             workingset_activate_file=last["refault_file"] // 4,
             workingset_restore_file=last["refault_file"] // 12,
             file_maps_managed=3, file_maps_kernel=1,
             nr_active_anon=last["active_anon"], nr_inactive_anon=last["inactive_anon"],
             nr_active_file=last["active_file"], nr_inactive_file=last["inactive_file"],
             nr_active_anon_peak=peak["aa"], nr_inactive_anon_peak=peak["ia"],
             nr_active_file_peak=peak["af"], nr_inactive_file_peak=peak["if_"],
             swappiness_effective=60, anon_io_ns=41000, file_io_ns=23000,
             throttle_count=35012, throttle_ns=last["throttle_ns"], scan_passes=5120,
             scanner_cpu_ns=last["scanner_cpu_ns"], handler_cpu_ns=last["handler_cpu_ns"],
             tracking_faults=190000, nr_regions_peak=41, vma_peak=77,
             resident_peak_bytes=peak["resident"], swap_bytes_peak=peak["swap"],
             swap_file_bytes=128 * MiB)
    s["swappiness"] = 60
    s["track"] = "uffd"
    hist = [0] * 33
    for i, share in zip(range(12, 16), (0.05, 0.25, 0.45, 0.25)):
        hist[i] = int(last["refault_anon"] * share)
    fhist = [0] * 33
    fhist[11], fhist[12] = last["refault_file"] // 2, last["refault_file"] - last["refault_file"] // 2
    s["refault_distance"] = {"anon": hist, "file": fhist}
    dur = last["t"]
    some, full = last["stall_some_ns"], last["stall_full_ns"]
    thr = last["throttle_ns"]
    s["run"] = {"pid": 4242, "command": "./churn --size 110M --passes 40 --seed 7",
                "duration_s": dur, "interval_ms": 100, "trace": "out/trace.csv",
                "limit_mode": "fixed"}

    def psi(sn, fn, s10, f10):
        return {"some_pct": round(sn / 1e7 / dur, 3), "full_pct": round(fn / 1e7 / dur, 3),
                "some_avg10": s10, "full_avg10": f10, "some_ns": int(sn), "full_ns": int(fn)}
    s["psi"] = {"memory": psi(some, full, 9.8, 3.9),
                "throttle": psi(thr * 0.55, thr * 0.2, 4.1, 1.2),
                "swapin": psi(some * 0.7, full * 0.6, 6.9, 2.5)}
    s["threads"] = [
        {"tid": 4242, "name": "churn", "faults": 61234, "majfaults": 40123,
         "throttle_ns": 1890000000, "swapin_ns": 2310000000, "stall_pct": 14.0},
        {"tid": 4245, "name": "worker-1", "faults": 52311, "majfaults": 35500,
         "throttle_ns": 1500000000, "swapin_ns": 2100000000, "stall_pct": 12.0},
        {"tid": 4246, "name": "worker-2", "faults": 50877, "majfaults": 34002,
         "throttle_ns": 1420000000, "swapin_ns": 1980000000, "stall_pct": 11.33},
        {"tid": 4247, "name": "worker-3", "faults": 49120, "majfaults": 33010,
         "throttle_ns": 1388000000, "swapin_ns": 1901000000, "stall_pct": 10.96},
        {"tid": 4250, "name": "logger", "faults": 88, "majfaults": 0, "throttle_ns": 0,
         "swapin_ns": 0, "stall_pct": 0.0},
    ]
    maj, ref = last["pgmajfault"], last["refault_anon"]
    s["regions"] = [
        {"name": "heap", "kind": "heap", "size_bytes": 96 * MiB, "resident_bytes": 70 * MiB,
         "resident_peak_bytes": 71 * MiB, "faults": 90321 + int(maj * 0.7), "majfaults": int(maj * 0.7),
         "evictions": int(ref * 0.72), "refaults": int(ref * 0.7), "mapped": True},
        {"name": "mmap 0x7f3a2c000000+16M", "kind": "anon", "size_bytes": 16 * MiB,
         "resident_bytes": 9 * MiB, "resident_peak_bytes": 14 * MiB,
         "faults": 4096 + int(maj * 0.24),
         "majfaults": int(maj * 0.24), "evictions": int(ref * 0.25), "refaults": int(ref * 0.24),
         "mapped": True},
        {"name": "/var/tmp/churn/index.db", "kind": "file", "size_bytes": 16 * MiB,
         "resident_bytes": 9 * MiB, "resident_peak_bytes": 16 * MiB,
         "faults": 4096 + last["refault_file"],
         "majfaults": last["refault_file"], "evictions": last["pgsteal_file"],
         "refaults": last["refault_file"], "mapped": True},
        {"name": "mmap 0x7f3a1a000000+4M", "kind": "anon", "size_bytes": 4 * MiB,
         "resident_bytes": 0, "resident_peak_bytes": 4 * MiB, "faults": 2048,
         "majfaults": 310, "evictions": 1024, "refaults": 300, "mapped": False},
        {"name": "/usr/share/zoneinfo/UTC", "kind": "file", "size_bytes": 114,
         "resident_bytes": 4096, "resident_peak_bytes": 4096, "faults": 1,
         "majfaults": 0, "evictions": 0, "refaults": 0, "mapped": True},
    ]

    def frames(*fs):
        return list(fs) + ["main+0x1a2 (churn)", "__libc_start_call_main+0x7a (libc.so.6)"]
    s["sites"] = {"sample_bytes": 524288, "samples": 262, "sites": [
        {"frames": frames("malloc+0x2c (libuswap.so)", "table_grow+0x4c (churn)",
                          "build_index+0x91 (churn)"),
         "function": "table_grow", "alloc_bytes": 64 * MiB, "samples": 128,
         "faults": 16384 + int(maj * 0.45),
         "majfaults": int(maj * 0.45), "evictions": int(ref * 0.47), "refaults": int(ref * 0.45)},
        {"frames": frames("calloc+0x31 (libuswap.so)", "record_pool_new+0x22 (churn)"),
         "function": "record_pool_new", "alloc_bytes": 32 * MiB, "samples": 64,
         "faults": 8192 + int(maj * 0.25),
         "majfaults": int(maj * 0.25), "evictions": int(ref * 0.26), "refaults": int(ref * 0.25)},
        {"frames": frames("mmap64+0x13 (libuswap.so)", "arena_map+0x58 (churn)"),
         "function": "arena_map", "alloc_bytes": 16 * MiB, "samples": 32,
         "faults": 4096 + int(maj * 0.24),
         "majfaults": int(maj * 0.24), "evictions": int(ref * 0.25), "refaults": int(ref * 0.24)},
        {"frames": frames("realloc+0x40 (libuswap.so)", "line_buf_push+0x1f (churn)",
                          "parse_line+0x6d (churn)"),
         "function": "parse_line", "alloc_bytes": 8 * MiB, "samples": 16, "faults": 2100,
         "majfaults": 700, "evictions": 900, "refaults": 650},
        {"frames": frames("malloc+0x2c (libuswap.so)", "strdup+0x1a (libc.so.6)",
                          "intern_name+0x33 (churn)"),
         "function": "intern_name", "alloc_bytes": 2 * MiB, "samples": 22, "faults": 512,
         "majfaults": 40, "evictions": 61, "refaults": 38},
    ]}
    # The curve from the run's limit up: the 110 MiB working set plus the
    # mapped file's 16 MiB need about 126 MiB.
    lim = last["limit_bytes"]
    cold = 512
    pts = []
    for k in range(25):
        L = lim + k * (40 * MiB) // 24
        frac = max(0.0, (126 * MiB - L) / (126 * MiB - lim))
        pts.append({"limit_bytes": L, "majfaults": int(cold + (maj - cold) * frac ** 1.6),
                    "faults": int(last["pgfault"] - maj + cold + (maj - cold) * frac ** 1.6)})
    s["mrc"] = {"limit_bytes": lim, "majfaults": maj, "cold_majfaults": cold,
                "tolerance_pct": 5, "recommended_bytes": 124 * MiB, "points": pts}
    s["children"] = dict({"processes": 0}, **dict.fromkeys(STATS, 0))
    return s


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    rows, peak = simulate(random.Random(7))
    with open(os.path.join(out, "trace.csv"), "w") as f:
        f.write(",".join(COLS) + "\n")
        for r in rows:
            f.write(",".join(("%.3f" % r[c]) if c == "t" else str(r[c]) for c in COLS) + "\n")
    s = stats_for(rows, peak)
    with open(os.path.join(out, "stats.json"), "w") as f:
        json.dump(s, f)
        f.write("\n")
    print("EXPECT majfaults", s["pgmajfault"], "refaults",
          s["workingset_refault_anon"] + s["workingset_refault_file"],
          "peak", s["resident_peak_bytes"], "some", s["psi"]["memory"]["some_pct"],
          "full", s["psi"]["memory"]["full_pct"])


if __name__ == "__main__":
    main()
