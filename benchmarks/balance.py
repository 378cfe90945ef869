#!/usr/bin/env python3
"""Anon/file reclaim balance: uswap against the kernel's memcg, swappiness by
swappiness, on one workload that needs both kinds of memory (mixed.c).

What it measures and why: under a limit, a runtime must choose between
evicting anonymous pages (a swap write now, a swap read on refault) and
file pages (free now, a file read on refault).  swappiness (0..200) sets
that balance; `auto` (uswap only) is to learn it from measured refault
I/O.  mixed.c is sized so that the wrong choice costs in both directions:
anon and file are each 3/4 of the limit, each with a hot half that gets
90% of its accesses, so the best policy keeps both hot halves.  The table
shows what each setting costs, and the last lines how close `auto` gets
to the best fixed value.

It builds nothing: run `meson setup build && meson compile -C build` first.
The data file (--file-mib, fixed content) is created once in a scratch
directory; before every run it is fsynced and dropped from the page cache
(POSIX_FADV_DONTNEED), so every run starts cold.  The file is mapped with
MADV_RANDOM unless --readahead: the pages are read in random order, and
with the kernel's read-around a memcg at swappiness 0 livelocks (measured
at 64 MiB: 47 GiB read from disk for 6,818 faults in 57 s, where
MADV_RANDOM takes 0.4 s), which says nothing about the balance.

Runs, each in a fresh process:
  native            no limit: the reference for wall time and checksum.
  memcg S           cgroup v1, memory.limit_in_bytes = limit (page cache
                    included), memory.swappiness = S, for S in 0 60 100
                    200, swapping to a swap file made here; a fresh cgroup
                    per run.  Needs root and the v1 memory controller.
  uswap S           uswap --limit LIMIT --swappiness S, S in 0 60 100 200
                    auto.  A setting the CLI rejects (exit 2, one `uswap:`
                    line, the program never ran) is reported as REJECTED
                    and the rest go on.

Columns: major faults are uswap's stats pgmajfault, memory.stat pgmajfault
(delta) under memcg, ru_majflt natively; ru_majflt (wait4) for every run
counts the faults the kernel itself served with I/O (under uswap: those on
memory it leaves to the kernel, such as an unmanaged file).  pswpout,
pgsteal_*, pgpgin and workingset_refault_*: uswap's --stats JSON ('-' for a
key it does not have); for memcg, pswpout and pgsteal_* are /proc/vmstat deltas and the
refaults memory.stat deltas (/proc/vmstat is system-wide: keep the machine
otherwise idle).  disk read MiB is the program's own ru_inblock (wait4):
what its threads read from disk, file pages and swap-ins alike, so a
refault served from the page cache shows there as no I/O.  With
--repeat N every number is the median over N runs.

Cleanup is run.py's (benchmarks/sysenv.py): whatever happens (an error,
Ctrl-C, SIGTERM, SIGHUP) the running program is killed, the cgroup emptied
and removed, the swap file swapped off and the scratch directory removed.

Usage: benchmarks/balance.py [--quick] [--repeat N] [--out FILE.md] [--json FILE]
Exit status: 0 when every run that started succeeded (REJECTED settings do
not count), 1 when a run failed or gave a wrong checksum, 2 for usage or
setup errors.
"""

import argparse
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  benchmarks/run.py: the runner, options, report
import sysenv  # noqa: E402  benchmarks/sysenv.py: cleanup, swap file, cgroup, helpers

MIB = sysenv.MIB
RUNTIMES = ("native", "memcg", "uswap")
SWAPPINESS = ("0", "60", "100", "200", "auto")  # auto: uswap only

# Sizes.  Measured on the 2-vCPU development VM (d247d4b, other work
# running): the whole run (1 native + 4 memcg + 5 uswap runs) takes about
# 5 minutes with DEFAULT, the slowest run about 65 s; QUICK about 70 s.
# Limit 15 minutes and a few minutes, so there is room for a slower runtime.
DEFAULT = {"anon_mib": 192, "file_mib": 192, "limit_mib": 256, "rounds": 20, "timeout_s": 300}
QUICK = {"anon_mib": 48, "file_mib": 48, "limit_mib": 64, "rounds": 20, "timeout_s": 120}

# Columns after wall time: (heading, key in a run's "cols").
COLUMNS = (("major faults", "majflt"), ("ru_majflt", "ru_majflt"), ("pswpout", "pswpout"),
           ("pgsteal_anon", "pgsteal_anon"), ("pgsteal_file", "pgsteal_file"),
           ("pgpgin", "pgpgin"), ("refault_anon", "refault_anon"),
           ("refault_file", "refault_file"), ("disk read MiB", "read_mib"))


def vmstat_all():
    out = {}
    for line in sysenv.read_file("/proc/vmstat").splitlines():
        k, _, v = line.partition(" ")
        if v.strip().isdigit():
            out[k] = int(v)
    return out


def drop_cache(path):
    """Write back and drop the data file from the page cache; returns the
    KiB still cached afterwards (fincore), or None if fincore is missing."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)
    try:
        out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                             capture_output=True, text=True, check=True).stdout
        return int(out.split()[0]) // 1024
    except (OSError, subprocess.CalledProcessError, ValueError, IndexError):
        return None


class BalanceRunner(run.Runner):
    """run.Runner plus a swappiness per run and a fresh cgroup per memcg run."""

    def __init__(self, args, cfg, workdir, cleanup):
        super().__init__(args, cfg, workdir, None)
        self.cleanup = cleanup
        self.swappiness = None

    def command(self, mode, argv, stats_path):
        cmd = super().command(mode, argv, stats_path)
        if mode == "uswap":
            cmd[1:1] = ["--swappiness", self.swappiness]
        return cmd

    def run_one(self, runtime, swappiness, argv, data_path):
        self.swappiness = swappiness
        cached = drop_cache(data_path)
        if runtime == "memcg":
            self.cgroup = sysenv.MemCgroup(f"uswap-bench-{os.getpid()}", self.cfg["limit_mib"] * MIB,
                                        swappiness, self.cleanup)
        cg0 = self.cgroup.stat() if runtime == "memcg" else {}
        vm0 = vmstat_all()
        label = runtime if swappiness is None else f"{runtime} s={swappiness}"
        r = self.run(runtime, argv, label)
        vm1 = vmstat_all()
        vm = {k: v - vm0.get(k, 0) for k, v in vm1.items()}
        if runtime == "memcg":
            cg1 = self.cgroup.stat()
            cg = {k: v - cg0.get(k, 0) for k, v in cg1.items()}
            self.cgroup.remove()
            self.cgroup = None
        r.update(runtime=runtime, swappiness=swappiness, cached_kib_at_start=cached)
        r["ok"], r["why"] = judge(r)
        st = r["stats"] or {}
        cols = {"majflt": r.get("majflt"), "ru_majflt": r["ru_majflt"], "pswpout": r.get("pswpout"),
                "read_mib": r["ru_inblock"] * 512 / MIB}
        if runtime == "uswap":
            for k in ("pgsteal_anon", "pgsteal_file", "pgpgin"):
                cols[k] = st.get(k)
            cols["refault_anon"] = st.get("workingset_refault_anon")
            cols["refault_file"] = st.get("workingset_refault_file")
        elif runtime == "memcg":
            cols.update(pgsteal_anon=vm.get("pgsteal_anon"), pgsteal_file=vm.get("pgsteal_file"),
                        refault_anon=cg.get("workingset_refault_anon"),
                        refault_file=cg.get("workingset_refault_file"))
            r["memcg_stat_delta"] = cg
        r["cols"], r["vmstat_all_delta"] = cols, {k: v for k, v in vm.items() if v}
        # While file mappings may still be left to the kernel, say so: then
        # uswap's numbers are about anon only.
        r["notes"] = []
        if st.get("file_maps_managed") == 0:
            r["notes"].append("file mapping left to the kernel")
        if swappiness == "auto" and "swappiness_effective" in st:
            r["notes"].append(f"effective swappiness at exit {st['swappiness_effective']}")
        return r


def judge(r):
    """(ok, why): ok is True, False, or "rejected" (the uswap CLI refused the
    setting before the program ran)."""
    err = r["stderr"].strip().splitlines()
    if r["rc"] == 2 and not r["stdout"].strip() and err and err[0].startswith("uswap:"):
        return "rejected", "REJECTED: " + err[0]
    if r["timed_out"]:
        return False, "TIMEOUT"
    kv = sysenv.parse_kv(r["stdout"])
    if r["rc"] != 0 or "checksum" not in kv:
        tail = err[-1] if err else ""
        return False, f"FAILED rc={r['rc']}" + (f": {tail}" if tail else "")
    if kv.get("bad_words", "0") != "0":
        return False, f"{kv['bad_words']} file words read back wrong"
    return True, ""


def summarize(runs, ref_sum):
    """One row from the repeats of one mode: medians, or the first failure."""
    for r in runs:
        if r["ok"] is True and ref_sum and sysenv.parse_kv(r["stdout"]).get("checksum") != ref_sum:
            r["ok"], r["why"] = False, f"BAD CHECKSUM {sysenv.parse_kv(r['stdout'])['checksum']} != {ref_sum}"
    bad = [r for r in runs if r["ok"] is not True]
    row = {"runtime": runs[0]["runtime"], "swappiness": runs[0]["swappiness"], "n": len(runs)}
    if bad:
        row.update(ok=bad[0]["ok"], why=bad[0]["why"])
        return row
    walls = [r["wall_s"] for r in runs]
    row.update(ok=True, why="", wall_s=statistics.median(walls), wall_min=min(walls), wall_max=max(walls))
    for _, k in COLUMNS:
        vals = [r["cols"].get(k) for r in runs]
        row[k] = None if any(v is None for v in vals) else statistics.median_low(vals)
    notes = list(dict.fromkeys(n for r in runs for n in r["notes"]))
    cached = [r["cached_kib_at_start"] for r in runs if r["cached_kib_at_start"]]
    if cached:
        notes.append(f"data file {max(cached)} KiB cached at start")
    row["why"] = "; ".join(notes)
    return row


def table(rows, native_wall, repeat):
    heads = ["runtime", "swappiness", "wall s", "vs native"] + [h for h, _ in COLUMNS] + ["notes"]
    lines = ["| " + " | ".join(heads) + " |", "|---|---|" + "---:|" * (len(heads) - 3) + "---|"]
    for row in rows:
        s = row["swappiness"] if row["swappiness"] is not None else "-"
        if row["ok"] is not True:
            lines.append(f"| {row['runtime']} | {s} |" + " |" * (len(heads) - 3) + f" {row['why']} |")
            continue
        wall = sysenv.fmt(row["wall_s"])
        if repeat > 1:
            wall += f" ({row['wall_min']:.2f}-{row['wall_max']:.2f})"
        cells = [row["runtime"], s, wall, sysenv.fmt(run.ratio(row["wall_s"], native_wall))]
        for _, k in COLUMNS:
            v = row[k]
            cells.append("-" if v is None else f"{v:.0f}" if isinstance(v, float) else str(v))
        lines.append("| " + " | ".join(cells + [row["why"]]) + " |")
    return lines


def best_lines(rows):
    """The best fixed swappiness per runtime, and uswap auto against it."""
    out = []
    for runtime in ("memcg", "uswap"):
        fixed = [r for r in rows if r["runtime"] == runtime and r["swappiness"] != "auto" and r["ok"] is True]
        if not fixed:
            continue
        bw = min(fixed, key=lambda r: r["wall_s"])
        bf = min((r for r in fixed if r["majflt"] is not None), key=lambda r: r["majflt"], default=None)
        out.append(f"- {runtime}: best fixed swappiness by wall time s={bw['swappiness']}"
                   f" ({bw['wall_s']:.2f} s), by major faults "
                   + (f"s={bf['swappiness']} ({bf['majflt']})" if bf else "-"))
        if runtime != "uswap":
            continue
        auto = next((r for r in rows if r["runtime"] == "uswap" and r["swappiness"] == "auto"), None)
        if auto is None:
            out.append("- uswap auto: not run")
        elif auto["ok"] is not True:
            out.append(f"- uswap auto: no result ({auto['why']})")
        else:
            fr = run.ratio(auto["majflt"], bf["majflt"]) if bf and auto["majflt"] is not None else None
            if bf and bf["majflt"] == 0 and auto["majflt"] == 0:
                fr = 1.0
            out.append(f"- uswap auto vs best fixed: wall {auto['wall_s']:.2f} / {bw['wall_s']:.2f} s"
                       f" = {sysenv.fmt(run.ratio(auto['wall_s'], bw['wall_s']))},"
                       f" major faults {sysenv.fmt(auto['majflt'], '{}')}"
                       f" / {sysenv.fmt(bf['majflt'] if bf else None, '{}')}"
                       f" = {sysenv.fmt(fr)}")
    return out


def environment_lines(args, cfg, memcg_note, workdir, create_s):
    rev = subprocess.run(["git", "-C", sysenv.REPO, "rev-parse", "--short", "HEAD"],
                         capture_output=True, text=True).stdout.strip() or "(no commit)"
    dirty = subprocess.run(["git", "-C", sysenv.REPO, "status", "--porcelain", "--", "src", "preload", "include"],
                           capture_output=True, text=True).stdout.strip()
    mem = re.search(r"MemTotal:\s+(\d+)", sysenv.read_file("/proc/meminfo"))
    return [
        f"- date: {time.strftime('%Y-%m-%d %H:%M:%S')}; git: {rev}{' + uncommitted runtime changes' if dirty else ''};"
        f" kernel: {platform.release()}; CPUs: {os.cpu_count()};"
        f" RAM: {int(mem.group(1)) // 1024 if mem else '?'} MiB;"
        f" vm.page-cluster: {sysenv.read_file('/proc/sys/vm/page-cluster').strip()}",
        f"- anon {cfg['anon_mib']} MiB (malloc), file {cfg['file_mib']} MiB"
        f" ({'MAP_PRIVATE' if args.private else 'MAP_SHARED'}{'' if args.readahead else ', MADV_RANDOM'}),"
        f" limit {cfg['limit_mib']} MiB; {cfg['rounds']} rounds of anon+file pages operations,"
        f" hot {args.hot}, skew {args.skew}, anon share {args.anon_share}, seed {args.seed};"
        f" repeat {args.repeat}",
        f"- {memcg_note}",
        f"- scratch (data file, swap files) in {workdir} ({sysenv.fs_type(workdir)});"
        f" data file created in {create_s:.1f} s, dropped from the page cache before every run",
        "- wall s: around fork/exec/wait4; major faults: uswap stats pgmajfault, memcg memory.stat,"
        " native ru_majflt; memcg pswpout/pgsteal_*: /proc/vmstat, refault_*: memory.stat;"
        " disk read MiB: the program's ru_inblock",
    ]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes (48+48 MiB under a 64 MiB limit)")
    p.add_argument("--repeat", type=int, default=1, metavar="N", help="runs per mode; report medians")
    run.add_common_args(p, swap_dir_help="scratch directory for the data and swap files"
                                         " (default: /var/tmp; not a tmpfs)")
    p.add_argument("--mixed", dest="mixed_exe", help="mixed program (default BUILD/benchmarks/mixed)")
    p.add_argument("--runtimes", default=",".join(RUNTIMES), metavar="R,...",
                   help=f"of {','.join(RUNTIMES)}")
    p.add_argument("--swappiness", default=",".join(SWAPPINESS), metavar="S,...",
                   help="values to run (auto: uswap only)")
    p.add_argument("--anon-mib", type=int)
    p.add_argument("--file-mib", type=int)
    p.add_argument("--limit-mib", type=int)
    p.add_argument("--rounds", type=int)
    p.add_argument("--hot", default="0.5", help="mixed --hot: hot fraction of each kind's pages")
    p.add_argument("--skew", default="0.9", help="mixed --skew: share of accesses to the hot part")
    p.add_argument("--anon-share", default="0.5", help="mixed --anon-share: share of operations on anon")
    p.add_argument("--private", action="store_true", help="map the file MAP_PRIVATE")
    p.add_argument("--readahead", action="store_true",
                   help="leave the file mapping's readahead on (no MADV_RANDOM; see the top comment)")
    p.add_argument("--seed", type=int, default=1)
    a = run.parse_common(p, argv)
    a.mixed_exe = a.mixed_exe or os.path.join(a.build_dir, "benchmarks", "mixed")
    return a


def main(argv):
    args = parse_args(argv)
    cfg = dict(QUICK if args.quick else DEFAULT)
    for k in ("anon_mib", "file_mib", "limit_mib", "rounds"):
        if getattr(args, k):
            cfg[k] = getattr(args, k)
    if args.timeout:
        cfg["timeout_s"] = args.timeout
    runtimes = args.runtimes.split(",")
    values = args.swappiness.split(",")
    if (any(r not in RUNTIMES for r in runtimes) or args.repeat < 1
            or any(not (v == "auto" or v.isdigit()) for v in values)):
        sysenv.log("balance.py: bad --runtimes, --swappiness or --repeat")
        return 2
    if not os.access(args.mixed_exe, os.X_OK):
        sysenv.log(f"balance.py: {args.mixed_exe} not found; build first: meson setup build && meson compile -C build")
        return 2
    if "uswap" in runtimes and not os.access(args.uswap, os.X_OK):
        sysenv.log(f"balance.py: {args.uswap} not found; uswap runs skipped")
        runtimes.remove("uswap")

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, sysenv.on_signal)
    cleanup = sysenv.Cleanup("balance.py")
    cleanup.push("kill the running benchmark", sysenv.Child.kill_all)
    try:
        swap_dir = args.swap_dir or "/var/tmp"
        if sysenv.fs_type(swap_dir) == "tmpfs":
            sysenv.log(f"balance.py: {swap_dir} is a tmpfs: its files cannot be dropped from"
                    " memory nor swapped on; give --swap-dir on a disk")
            return 2
        sysenv.reap_stale(swap_dir, "balance.py", "uswap-bench")
        workdir = tempfile.mkdtemp(prefix="uswap-bench-", dir=swap_dir)
        cleanup.push(f"remove {workdir}", lambda: sysenv.remove_tree(workdir))
        sysenv.write_file(os.path.join(workdir, "owner.pid"), os.getpid())

        data = os.path.join(workdir, "mixed.data")
        t0 = time.monotonic()
        subprocess.run([args.mixed_exe, "--create", data, str(cfg["file_mib"])], check=True)
        create_s = time.monotonic() - t0

        memcg_note = "kernel memcg: not requested"
        if "memcg" in runtimes:
            memcg_note = run.setup_memcg_possible()
            if memcg_note is None:
                limit = cfg["limit_mib"] * MIB
                # As run.py: room for twice the anon footprint, so the kernel
                # keeps swapped-in pages' slots (vm_swap_full()).
                swap_size = max(2 * cfg["anon_mib"] * MIB, 4 * limit) + 256 * MIB
                try:
                    sysenv.SwapFile(os.path.join(workdir, "kernel.swap"), swap_size, cleanup)
                    memcg_note = (f"kernel memcg: v1 memory.limit_in_bytes={limit}, a fresh cgroup per run,"
                                  f" swap file {swap_size // MIB} MiB")
                except (OSError, subprocess.CalledProcessError) as e:
                    memcg_note = f"kernel memcg runs skipped: swap setup failed: {e}"
                    runtimes.remove("memcg")
            else:
                runtimes.remove("memcg")
                memcg_note = memcg_note.replace("baseline", "runs")
            if "memcg" not in runtimes:
                sysenv.log(f"balance.py: {memcg_note}")
        others = [line.split()[0] for line in sysenv.read_file("/proc/swaps").splitlines()[1:]
                  if line.strip() and not line.startswith(workdir)]
        if others:
            memcg_note += f" (other swap active: {'; '.join(others)})"

        modes = [(r, None) for r in runtimes if r == "native"]
        # memcg takes 0..200 only; uswap gets every value, to see it refused.
        modes += [(r, v) for r in runtimes if r != "native" for v in values
                  if r == "uswap" or (v.isdigit() and int(v) <= 200)]
        argv_m = [args.mixed_exe, "--hot", args.hot, "--skew", args.skew,
                  "--anon-share", args.anon_share] + (["--private"] if args.private else []) + (
                  [] if args.readahead else ["--random"]) + [
                  str(cfg["anon_mib"]), data, str(cfg["rounds"]), str(args.seed)]
        runner = BalanceRunner(args, cfg, workdir, cleanup)
        results = {m: [] for m in modes}
        t_all = time.monotonic()
        # Repeats go round all modes in turn, so that a slow spell of the
        # machine does not land on one mode only.
        for _ in range(args.repeat):
            for m in modes:
                results[m].append(runner.run_one(m[0], m[1], argv_m, data))
        total_s = time.monotonic() - t_all

        nat = results.get(("native", None), [])
        ref = next((sysenv.parse_kv(r["stdout"]).get("checksum") for r in nat if r["ok"] is True), None)
        rows = [summarize(results[m], ref) for m in modes]
        native_row = next((r for r in rows if r["runtime"] == "native" and r["ok"] is True), None)
        report = ["# Anon/file balance (benchmarks/balance.py)", ""]
        report += environment_lines(args, cfg, memcg_note, workdir, create_s)
        report += [f"- {sum(len(v) for v in results.values())} runs in {total_s:.0f} s"
                   + ("" if ref else "; no native checksum to compare against"), ""]
        report += table(rows, native_row["wall_s"] if native_row else None, args.repeat)
        report += ["", "Best fixed swappiness, and auto against it:", ""] + best_lines(rows)
        text = "\n".join(report) + "\n"
        run.write_report(args, text, {"config": cfg, "args": vars(args), "rows": rows,
                                      "runs": [r for m in modes for r in results[m]]})
        return 1 if any(r["ok"] is False for r in rows) else 0
    except sysenv.Interrupted as e:
        sysenv.log(f"balance.py: {e}; cleaning up")
        return 128 + e.signum
    except (OSError, subprocess.CalledProcessError) as e:
        sysenv.log(f"balance.py: {e}")
        return 2
    finally:
        cleanup.run()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
