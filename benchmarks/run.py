#!/usr/bin/env python3
"""Benchmark driver for uswap: access patterns and fault latency, compared
with no limit at all and with the kernel's own answer (memcg v1 + swap file).

It builds nothing: run `meson setup build && meson compile -C build` first.

Modes, each run in a fresh process:
  native          no limit; the reference for wall time and checksums.
  memcg           the kernel: a cgroup v1 memory cgroup with
                  memory.limit_in_bytes = limit and memory.swappiness = 60,
                  swapping to a swap file made here (fallocate, mkswap,
                  swapon).  Needs root and the v1 memory controller; skipped
                  otherwise.
  uswap           uswap --limit LIMIT (default tracking, uffd).
  uswap-mprotect  uswap --limit LIMIT --track mprotect.

Major faults: uswap's --stats JSON (pgmajfault); memcg's memory.stat
pgmajfault (delta over the run); natively getrusage(ru_majflt) from wait4.
VMA peak: the stats JSON's vma_peak when present, else /proc/PID/maps sampled
while the program runs (uswap modes only).

Whatever happens (an error, Ctrl-C, SIGTERM, SIGHUP), the cgroup is emptied
and removed, the swap file is swapped off and deleted, and the scratch
directory is removed.  Machine-noise note: compare ratios within one run.

Usage: benchmarks/run.py [--quick] [--out FILE.md] [--json FILE] ...
Exit status: 0 when every run succeeded, 1 when some run failed or gave a
wrong checksum, 2 for usage or setup errors.
"""

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sysenv import (  # noqa: E402  benchmarks/sysenv.py: the system side
    CGROUP_V1_MEMORY, MIB, REPO, Child, Cleanup, Interrupted, MemCgroup, PeakSampler, SwapFile, fmt, fs_type,
    log, on_signal, parse_kv, read_file, reap_stale, remove_tree, vmstat, wait_timed, write_file)

PATTERNS = ("seq", "random", "zipf", "scanhot")
MODES = ("native", "memcg", "uswap", "uswap-mprotect")

# Sizes.  The full set keeps one run (4 patterns x 4 modes + fault latency)
# under about ten minutes on the 2-vCPU development VM, where a 4 KiB swap
# read costs ~50-300 us and writeback runs at ~270 MB/s.
FULL = {
    "footprint_mib": 1024,
    "limit_mib": 256,
    "count": {"seq": 2, "random": 100000, "zipf": 600000, "scanhot": 1},
    "faultlat_pages": 20000,
    "faultlat_wait_ms": 1000,
    "timeout_s": 180,
}
QUICK = {
    "footprint_mib": 128,
    "limit_mib": 32,
    "count": {"seq": 2, "random": 20000, "zipf": 200000, "scanhot": 2},
    "faultlat_pages": 4000,
    "faultlat_wait_ms": 300,
    "timeout_s": 120,
}


def maps_lines(pid):
    """Line count of /proc/PID/maps (its VMAs), 0 once it is gone."""
    try:
        with open(f"/proc/{pid}/maps", "rb") as f:
            return sum(1 for _ in f)
    except OSError:
        return 0


def maps_sampler(pid):
    """Peak of maps_lines(pid), sampled while the process runs."""
    return PeakSampler(lambda: maps_lines(pid))


class Runner:
    def __init__(self, args, cfg, workdir, cgroup):
        self.args, self.cfg, self.workdir, self.cgroup = args, cfg, workdir, cgroup
        self.vma_peak_in_stats = None  # learned from the first uswap run
        self.seq = 0

    def swap_path(self):
        return os.path.join(self.workdir, f"uswap-{self.seq}.swap")

    def command(self, mode, argv, stats_path):
        limit = f"{self.cfg['limit_mib']}M"
        if mode in ("native", "memcg"):
            return argv
        cmd = [self.args.uswap, "--limit", limit,
               "--swap", self.swap_path(),
               "--stats", stats_path]
        if mode == "uswap-mprotect":
            cmd += ["--track", "mprotect"]
        return cmd + self.args.uswap_arg + ["--"] + argv

    def run(self, mode, argv, label):
        """Run one program in one mode; returns a result dict."""
        self.seq += 1
        stats_path = os.path.join(self.workdir, f"stats-{self.seq}.json")
        out_path = os.path.join(self.workdir, f"out-{self.seq}.txt")
        err_path = os.path.join(self.workdir, f"err-{self.seq}.txt")
        cmd = self.command(mode, argv, stats_path)
        shown = " ".join(cmd)
        if mode == "memcg":
            # Join the cgroup before exec so that every page is charged to it.
            cmd = ["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', self.cgroup.path] + cmd
        res = {"label": label, "mode": mode, "cmd": shown}
        log(f"run.py: [{label}] {mode}: {shown}")

        cg_before = self.cgroup.stat() if mode == "memcg" else {}
        vm_before = vmstat()
        with open(out_path, "w") as out, open(err_path, "w") as err:
            rc, wall, ru, timed_out, sampler = wait_timed(
                cmd, self.cfg["timeout_s"],
                maps_sampler if mode.startswith("uswap") and self.vma_peak_in_stats is not True else None,
                stdout=out, stderr=err)

        if os.path.exists(self.swap_path()):
            os.unlink(self.swap_path())
        res["wall_s"] = wall
        res["rc"] = rc
        res["timed_out"] = timed_out
        res["ru_majflt"] = ru.ru_majflt
        res["ru_maxrss_kib"] = ru.ru_maxrss
        res["ru_inblock"] = ru.ru_inblock  # 512-byte blocks read from disk by the process
        res["stdout"] = read_file(out_path)
        res["stderr"] = read_file(err_path)
        vm_after = vmstat()
        res["vmstat_delta"] = {k: vm_after[k] - vm_before.get(k, 0) for k in vm_after}

        stats = None
        if mode.startswith("uswap") and os.path.exists(stats_path):
            try:
                with open(stats_path) as f:
                    stats = json.load(f)
            except ValueError as e:
                res["stats_error"] = f"{stats_path}: {e}"
        res["stats"] = stats

        if mode == "memcg":
            after = self.cgroup.stat()
            res["memcg_delta"] = {k: after[k] - cg_before.get(k, 0) for k in after
                                  if k in ("pgmajfault", "pgfault", "pgpgin", "pgpgout")}
            res["majflt"] = res["memcg_delta"].get("pgmajfault", ru.ru_majflt)
            res["majflt_src"] = "memory.stat"
            res["pswpout"] = res["vmstat_delta"].get("pswpout")
        elif mode.startswith("uswap"):
            res["majflt"] = stats.get("pgmajfault") if stats else None
            res["majflt_src"] = "stats" if stats else None
            res["pswpout"] = stats.get("pswpout") if stats else None
        else:
            res["majflt"] = ru.ru_majflt
            res["majflt_src"] = "ru_majflt"
            res["pswpout"] = 0

        if mode.startswith("uswap"):
            if stats and "vma_peak" in stats:
                self.vma_peak_in_stats = True
                res["vma_peak"], res["vma_src"] = stats["vma_peak"], "stats"
            elif sampler:
                if stats is not None:
                    self.vma_peak_in_stats = False
                res["vma_peak"], res["vma_src"] = sampler.peak, "maps"

        if res["rc"] != 0 or res["timed_out"]:
            tail = "\n".join(res["stderr"].strip().splitlines()[-5:])
            log(f"run.py: [{label}] {mode}: FAILED rc={res['rc']}"
                f"{' (timeout)' if res['timed_out'] else ''}\n{tail}")
        return res


def ratio(a, b):
    if a is None or b is None or b <= 0:
        return None
    return a / b


def run_ok(r):
    return r is not None and r["rc"] == 0 and not r["timed_out"]


def completed(r):
    """The pattern ran to its end and printed its result line (its timing is
    valid even if --verify then found wrong words and it exited 1)."""
    return (r is not None and not r["timed_out"] and "checksum" in parse_kv(r["stdout"])
            and r["rc"] in (0, 1))


def pattern_table(results, modes):
    lines = ["| pattern | mode | wall s | ratio vs native | major faults | ratio vs kernel memcg"
             " | run s | pswpout | VMA peak | notes |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    failures = []
    for pat in results:
        by_mode = results[pat]
        native, memcg = by_mode.get("native"), by_mode.get("memcg")
        ref_sum = parse_kv(native["stdout"]).get("checksum") if run_ok(native) else None
        for mode in modes:
            r = by_mode.get(mode)
            if r is None:
                continue
            notes = []
            kv = parse_kv(r["stdout"])
            bad = kv.get("bad_words", "0") != "0"
            if not completed(r):
                notes.append("TIMEOUT" if r["timed_out"] else f"FAILED rc={r['rc']}")
            elif ref_sum and kv.get("checksum") != ref_sum:
                notes.append(f"BAD CHECKSUM {kv.get('checksum')} != {ref_sum}")
            if bad:
                kinds = {k: r["stderr"].count(f"({k})") for k in ("stale", "zero", "other")}
                notes.append(f"{kv['bad_words']} wrong words (reported: "
                             + ", ".join(f"{n} {k}" for k, n in kinds.items() if n) + ")")
            if notes:
                failures.append(r)
            if r.get("stats_error"):
                notes.append("stats JSON unreadable")
            elif mode.startswith("uswap") and r["stats"] is None and completed(r):
                notes.append("no stats JSON")
            wall = r["wall_s"] if completed(r) else None
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                pat, mode, fmt(wall),
                fmt(ratio(wall, native["wall_s"] if run_ok(native) else None)),
                fmt(r.get("majflt"), "{:d}"),
                fmt(ratio(wall, memcg["wall_s"] if completed(memcg) else None)),
                kv.get("run_s", "-"),
                fmt(r.get("pswpout"), "{:d}"),
                fmt(r.get("vma_peak"), "{:d}") + (" (maps)" if r.get("vma_src") == "maps" else ""),
                "; ".join(notes)))
    return lines, failures


def faultlat_table(results, modes):
    lines = ["| mode | test | faults | hard (≥50 µs) | µs/fault | p50 µs | p99 µs"
             " | ratio vs native first-touch | nonresident before |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    failures = []
    base = None
    nat = results.get("native")
    if run_ok(nat):
        for line in nat["stdout"].splitlines():
            kv = parse_kv(line)
            if kv.get("test") == "first_touch":
                base = float(kv["us_per_fault"])
    for mode in modes:
        r = results.get(mode)
        if r is None:
            continue
        if not run_ok(r):
            failures.append(r)
            bad = re.search(r"bad_pages=(\d+)", r["stdout"])
            why = f"{bad.group(1)} pages read back wrong" if bad else (
                "timeout" if r["timed_out"] else f"rc={r['rc']}")
            lines.append(f"| {mode} | (all) | FAILED: {why} | | | | | | |")
        for line in r["stdout"].splitlines():
            kv = parse_kv(line)
            if "test" not in kv:
                continue
            if "skipped" in kv:
                lines.append(f"| {mode} | {kv['test']} | skipped ({kv['skipped']}) | | | | | | |")
                continue
            us = float(kv["us_per_fault"])
            nfault = int(kv["faults"])
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                mode, kv["test"], nfault, kv["hard"],
                fmt(us) if nfault else "-", kv["p50_us"] if nfault else "-",
                kv["p99_us"] if nfault else "-",
                fmt(ratio(us, base)) if nfault else "-", kv.get("nonresident", "-")))
    return lines, failures


USWAP_COUNTERS = ("pgfault", "pgmajfault", "tracking_faults", "pgactivate", "pgdeactivate",
                  "pswpin", "pswpout", "pgsteal_clean", "workingset_refault_anon",
                  "throttle_count", "throttle_ns", "scanner_cpu_ns", "handler_cpu_ns",
                  "resident_peak_bytes", "vma_peak")


def counters_table(pat_results, lat_results):
    """uswap's own counters, one row per uswap run (ns shown as ms, bytes as MiB)."""
    rows = []
    for label, by_mode in list(pat_results.items()) + [("faultlat", lat_results)]:
        for mode, r in by_mode.items():
            if mode.startswith("uswap") and r.get("stats"):
                rows.append((label, mode, r["stats"]))
    if not rows:
        return []
    heads = [k.replace("_ns", "_ms").replace("_bytes", "_mib") for k in USWAP_COUNTERS]
    lines = ["| run | mode | " + " | ".join(heads) + " |",
             "|---|---|" + "---:|" * len(heads)]
    for label, mode, st in rows:
        cells = []
        for k in USWAP_COUNTERS:
            v = st.get(k)
            if v is None:
                cells.append("-")
            elif k.endswith("_ns"):
                cells.append(f"{v / 1e6:.0f}")
            elif k.endswith("_bytes"):
                cells.append(f"{v / MIB:.0f}")
            else:
                cells.append(str(v))
        lines.append(f"| {label} | {mode} | " + " | ".join(cells) + " |")
    return lines


def environment_lines(args, cfg, modes, memcg_note, workdir):
    thp = re.search(r"\[(\w+)\]", read_file("/sys/kernel/mm/transparent_hugepage/enabled"))
    rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "(no commit)"
    mem = re.search(r"MemTotal:\s+(\d+)", read_file("/proc/meminfo"))
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S')}; git: {rev}; kernel: {platform.release()};"
        f" CPUs: {os.cpu_count()}; RAM: {int(mem.group(1)) // 1024 if mem else '?'} MiB;"
        f" THP: {thp.group(1) if thp else '?'};"
        f" vm.page-cluster: {read_file('/proc/sys/vm/page-cluster').strip()}",
        f"- footprint {cfg['footprint_mib']} MiB, limit {cfg['limit_mib']} MiB, counts {cfg['count']},"
        f" alloc {'mmap' if args.mmap else 'malloc'}, seed {args.seed}"
        f"{', patterns --verify' if args.verify else ''}",
        f"- modes: {', '.join(modes)}; {memcg_note}",
        f"- swap files in {workdir} ({fs_type(workdir)})",
        "- wall s: measured by run.py around fork/exec/wait4 (includes runtime start and exit);"
        " run s: the program's own timing of the pattern phase (after the init write sweep).",
        "- major faults: uswap = stats pgmajfault; memcg = memory.stat pgmajfault;"
        " native = ru_majflt. pswpout: uswap stats; memcg = /proc/vmstat delta (pages).",
    ]


def add_common_args(p, swap_dir_help="where swap files go (default: /var/tmp, not a tmpfs)"):
    """The options every benchmark script takes: where results go, what to
    run, and how runs are controlled."""
    p.add_argument("--out", metavar="FILE", help="also write the markdown report here")
    p.add_argument("--json", metavar="FILE", help="write every raw result here")
    p.add_argument("--build-dir", default=os.path.join(REPO, "build"))
    p.add_argument("--uswap", help="uswap CLI (default BUILD/uswap)")
    p.add_argument("--timeout", type=int, help="seconds per run before it is killed")
    p.add_argument("--swap-dir", help=swap_dir_help)
    p.add_argument("--uswap-arg", action="append", default=[], metavar="ARG",
                   help="extra argument for the uswap CLI (repeatable)")


def parse_common(p, argv):
    """parse_args, with the uswap CLI defaulting to the build directory's."""
    a = p.parse_args(argv)
    a.uswap = a.uswap or os.path.join(a.build_dir, "uswap")
    return a


def write_report(args, text, data, **dump_kw):
    """Print the report; copy it to --out and the raw data to --json."""
    print(text, end="")
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(data, f, indent=1, **dump_kw)


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (128 MiB footprint, 32 MiB limit)")
    add_common_args(p)
    p.add_argument("--patterns", dest="patterns_exe", help="patterns program (default BUILD/benchmarks/patterns)")
    p.add_argument("--faultlat", dest="faultlat_exe", help="faultlat program (default BUILD/benchmarks/faultlat)")
    p.add_argument("--footprint-mib", type=int)
    p.add_argument("--limit-mib", type=int)
    p.add_argument("--only", metavar="PAT,...", help=f"patterns to run (of {','.join(PATTERNS)})")
    p.add_argument("--modes", metavar="MODE,...", help=f"modes to run (of {','.join(MODES)})")
    p.add_argument("--no-faultlat", action="store_true")
    p.add_argument("--mmap", action="store_true", help="patterns and faultlat use mmap instead of malloc")
    p.add_argument("--verify", action="store_true",
                   help="patterns --verify: check every read against a shadow copy kept outside"
                        " the limit (names each wrong word; costs 128 bytes/page and some CPU)")
    p.add_argument("--seed", type=int, default=1)
    a = parse_common(p, argv)
    a.patterns_exe = a.patterns_exe or os.path.join(a.build_dir, "benchmarks", "patterns")
    a.faultlat_exe = a.faultlat_exe or os.path.join(a.build_dir, "benchmarks", "faultlat")
    return a


def main(argv):
    args = parse_args(argv)
    cfg = json.loads(json.dumps(QUICK if args.quick else FULL))
    if args.footprint_mib:
        cfg["footprint_mib"] = args.footprint_mib
    if args.limit_mib:
        cfg["limit_mib"] = args.limit_mib
    if args.timeout:
        cfg["timeout_s"] = args.timeout
    pats = args.only.split(",") if args.only else list(PATTERNS)
    modes = args.modes.split(",") if args.modes else list(MODES)
    if any(p not in PATTERNS for p in pats) or any(m not in MODES for m in modes):
        log("run.py: unknown pattern or mode")
        return 2
    for exe in [args.patterns_exe] + ([] if args.no_faultlat else [args.faultlat_exe]):
        if not os.access(exe, os.X_OK):
            log(f"run.py: {exe} not found; build first: meson setup build && meson compile -C build")
            return 2
    if any(m.startswith("uswap") for m in modes) and not os.access(args.uswap, os.X_OK):
        log(f"run.py: {args.uswap} not found; uswap modes skipped")
        modes = [m for m in modes if not m.startswith("uswap")]

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, on_signal)
    cleanup = Cleanup("run.py")
    cleanup.push("kill the running benchmark", Child.kill_all)
    try:
        swap_dir = args.swap_dir or ("/var/tmp" if fs_type("/var/tmp") != "tmpfs" else REPO)
        reap_stale(swap_dir, "run.py", "uswap-bench")
        workdir = tempfile.mkdtemp(prefix="uswap-bench-", dir=swap_dir)
        cleanup.push(f"remove {workdir}", lambda: remove_tree(workdir))
        write_file(os.path.join(workdir, "owner.pid"), os.getpid())

        cgroup, memcg_note = None, "kernel memcg baseline: not requested"
        if "memcg" in modes:
            memcg_note = setup_memcg_possible()
            if memcg_note is None:
                limit = cfg["limit_mib"] * MIB
                # Twice the footprint: below half full, the kernel keeps a
                # swapped-in page's slot (swap cache), so clean pages are
                # dropped without a rewrite (vm_swap_full() in mm/swap.h).
                swap_size = max(2 * cfg["footprint_mib"] * MIB, 4 * limit) + 256 * MIB
                try:
                    SwapFile(os.path.join(workdir, "kernel.swap"), swap_size, cleanup)
                    cgroup = MemCgroup(f"uswap-bench-{os.getpid()}", limit, 60, cleanup)
                    memcg_note = (f"kernel memcg: v1 memory.limit_in_bytes={limit}, swappiness=60,"
                                  f" swap file {swap_size // MIB} MiB")
                except (OSError, subprocess.CalledProcessError) as e:
                    memcg_note = f"kernel memcg baseline skipped: setup failed: {e}"
            if cgroup is None:
                log(f"run.py: {memcg_note}")
                modes = [m for m in modes if m != "memcg"]
        others = [line for line in read_file("/proc/swaps").splitlines()[1:]
                  if line.strip() and not line.startswith(workdir)]
        if others:
            memcg_note += f" (other swap active: {'; '.join(o.split()[0] for o in others)})"

        runner = Runner(args, cfg, workdir, cgroup)
        pat_results, lat_results = {}, {}
        for pat in pats:
            pat_results[pat] = {}
            argv_p = [args.patterns_exe] + (["--mmap"] if args.mmap else []) + (
                ["--verify"] if args.verify else []) + [
                pat, str(cfg["footprint_mib"]), str(cfg["count"][pat]), str(args.seed)]
            for mode in modes:
                pat_results[pat][mode] = runner.run(mode, argv_p, pat)
        if not args.no_faultlat:
            argv_f = [args.faultlat_exe, "--pages", str(cfg["faultlat_pages"]),
                      "--wait-ms", str(cfg["faultlat_wait_ms"])] + (["--mmap"] if args.mmap else [])
            for mode in modes:
                # The limit explicitly, rather than trusting faultlat to find it.
                lim = [] if mode == "native" else ["--limit", f"{cfg['limit_mib']}M"]
                lat_results[mode] = runner.run(mode, argv_f + lim, "faultlat")

        report = ["# uswap benchmarks", ""] + environment_lines(args, cfg, modes, memcg_note, workdir)
        t1, fail1 = pattern_table(pat_results, modes)
        report += ["", "## Access patterns", ""] + t1
        fail2 = []
        if lat_results:
            t2, fail2 = faultlat_table(lat_results, modes)
            report += ["", "## Fault latency (faultlat)", "",
                       "A fault is a touch slower than 1 µs, timed in the faulting thread;"
                       " µs/fault is the mean over those (first_touch: over every page).", ""] + t2
        t3 = counters_table(pat_results, lat_results)
        if t3:
            report += ["", "## uswap counters (--stats JSON)", ""] + t3
        failures = fail1 + fail2
        if failures:
            report += ["", "## Failures", ""]
            for r in failures:
                report += [f"- [{r['label']}] {r['mode']}: rc={r['rc']}{' timeout' if r['timed_out'] else ''}:"
                           f" `{r['cmd']}`", "", "```"]
                err = r["stderr"].strip().splitlines()
                if len(err) > 16:
                    err = err[:10] + [f"... ({len(err) - 15} lines)"] + err[-5:]
                report += r["stdout"].strip().splitlines()[-5:] + err
                report += ["```", ""]
        text = "\n".join(report) + "\n"
        write_report(args, text, {"config": cfg, "patterns": pat_results, "faultlat": lat_results})
        return 1 if failures else 0
    except Interrupted as e:
        log(f"run.py: {e}; cleaning up")
        return 128 + e.signum
    finally:
        cleanup.run()


def setup_memcg_possible():
    """None when the memcg baseline can run, else why not."""
    if os.geteuid() != 0:
        return "kernel memcg baseline skipped: needs root"
    if not os.path.exists(os.path.join(CGROUP_V1_MEMORY, "memory.limit_in_bytes")):
        return "kernel memcg baseline skipped: no cgroup v1 memory controller"
    return None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
