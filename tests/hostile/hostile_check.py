#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""hostile_check: a program must not be able to break its pager, nor
another user its outputs (issue 12). One case per run:

title_fork     a program that sets its process title (environ moved to the
               heap, the old argv+environ area zeroed) forks a child that
               writes 96 MiB under --limit 32M --swap FILE: the stats file
               is written, the child was managed (its swapout reaches the
               top's "children"), and no line says a child runs unmanaged
               or a file cannot be written.
title_exec     the same title, copying only environ's pointers (so its
               environment then holds empty strings), then exec's a
               program that forks the 96 MiB child: the exec'd program is
               still managed (settings from the copy uswap took at start).
server_exit    a server with a process title, paging 64 MiB under 32M,
server_flag    stopped by SIGTERM: its handler calls exit() (exit), or sets
               a flag main returns on (flag); the stats file is written.
children_files `--stats DIR/x.json`, with DIR/x.json.children planted as a
               symlink to a victim file, then as a file of fake counters:
               neither is touched or read (the victim's bytes, the fake
               file's bytes and the top's "children" figures are checked),
               and no record directory is left behind.
outputs        --stats or --trace naming a FIFO, a symlink or a directory:
               one line naming the file, exit 2 within a second, nothing
               written through the link.
rejected       a command line refused late (bad --swap, bad option after
               --run, bad option after --stats) has created no file and no
               directory.
"""

import argparse
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "preload"))
import uswaptest as ut  # noqa: E402

LIMIT = "32M"
BAD = ("runs unmanaged", "cannot write", "cannot create")


def stderr_clean(res, tag):
    bad = [ln for ln in res.stderr.splitlines() if any(b in ln for b in BAD)]
    ut.check(not bad, f"[{tag}] stderr says: {bad}")


def managed_child(stats, tag, min_pages):
    ch = stats.get("children")
    ut.check(isinstance(ch, dict), f"[{tag}] stats have no children object")
    ut.check(ch.get("processes", 0) >= 1, f"[{tag}] children.processes={ch.get('processes')}: "
             "the forked child was not managed or did not report")
    ut.check(ch.get("swapout", 0) >= min_pages,
             f"[{tag}] children.swapout={ch.get('swapout')} < {min_pages}: "
             "the child did not page under the limit")


def case_title_fork(a, wd):
    stats = wd.join("s.json")
    cmd = [a.uswap, "--limit", LIMIT, "--swap", wd.join("swapfile"), "--stats", stats,
           "--", a.title, "fork", "96"]
    res = ut.run(cmd, workdir=wd, tag="title_fork", timeout=60, stats_path=stats)
    ut.check(res.returncode == 0, f"exit {ut.status_text(res.returncode)}")
    ut.require_stats(res, "title_fork")
    stderr_clean(res, "title_fork")
    managed_child(res.stats, "title_fork", (96 - 32) * ut.MIB // 4096)
    ut.log(f"ok: stats written, child managed: {res.stats['children']['swapout']} pages out")


def case_title_exec(a, wd):
    stats = wd.join("s.json")
    cmd = [a.uswap, "--limit", LIMIT, "--stats", stats,
           "--", a.title, "--shallow", "exec", "96", a.title]
    res = ut.run(cmd, workdir=wd, tag="title_exec", timeout=60, stats_path=stats)
    ut.check(res.returncode == 0, f"exit {ut.status_text(res.returncode)}")
    ut.require_stats(res, "title_exec")
    stderr_clean(res, "title_exec")
    managed_child(res.stats, "title_exec", (96 - 32) * ut.MIB // 4096)
    ut.log(f"ok: exec'd program managed: {res.stats['children']['swapout']} pages out")


def server(a, wd, how):
    stats = wd.join("s.json")
    out_path, err_path = wd.join("server.out"), wd.join("server.err")
    cmd = [a.uswap, "--limit", LIMIT, "--stats", stats, "--", a.title, "server", "64", how]
    ut.log(f"$ {' '.join(cmd)}")
    env = dict(os.environ, TMPDIR=wd.path)
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        p = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while b"ready" not in open(out_path, "rb").read():
                ut.check(p.poll() is None, f"server ended early: {p.returncode}")
                ut.check(time.monotonic() < deadline, "server not ready in 30 s")
                time.sleep(0.05)
            p.send_signal(signal.SIGTERM)
            rc = p.wait(timeout=30)
        finally:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    text = open(err_path, errors="replace").read()
    for ln in text.splitlines():
        print(f"[server_{how}] stderr: {ln}")
    ut.check(rc == 0, f"server exit {ut.status_text(rc)}")
    st, why = ut.load_stats(stats)
    ut.check(st is not None, f"after SIGTERM ({how}): {why}")
    ut.check(st.get("swapout", 0) > 0, f"stats swapout={st.get('swapout')}: not the server's")
    ut.check(not [ln for ln in text.splitlines() if "cannot write" in ln], "stderr: cannot write")
    ut.log(f"ok: SIGTERM ({how}) -> stats written, swapout {st['swapout']}")


def case_server_exit(a, wd):
    server(a, wd, "exit")


def case_server_flag(a, wd):
    server(a, wd, "flag")


def case_children_files(a, wd):
    victim = wd.join("victim")
    with open(victim, "w") as f:
        f.write("victim's own bytes\n")
    fake_line = "pid 1 pswpout 999999999 pgfault 999999999\n"
    for kind in ("symlink", "file"):
        stats = wd.join(f"{kind}.json")
        planted = stats + ".children"
        if kind == "symlink":
            os.symlink(victim, planted)
        else:
            with open(planted, "w") as f:
                f.write(fake_line)
        cmd = [a.uswap, "--limit", LIMIT, "--stats", stats, "--", a.title, "--plain", "fork",
               "64"]
        res = ut.run(cmd, workdir=wd, tag=kind, timeout=60, stats_path=stats)
        ut.check(res.returncode == 0, f"[{kind}] exit {ut.status_text(res.returncode)}")
        ut.require_stats(res, kind)
        with open(victim) as f:
            ut.check(f.read() == "victim's own bytes\n", f"[{kind}] the victim file was written")
        if kind == "symlink":
            ut.check(os.path.islink(planted) and os.readlink(planted) == victim,
                     f"[{kind}] the planted link was changed")
        else:
            ut.check(os.path.isfile(planted) and open(planted).read() == fake_line,
                     f"[{kind}] the planted file was changed or removed")
        ch = res.stats["children"]
        ut.check(ch["processes"] == 1, f"[{kind}] children.processes={ch['processes']}, not 1")
        ut.check(ch["pswpout"] < 999999999, f"[{kind}] the fake counters were summed")
        managed_child(res.stats, kind, (64 - 32) * ut.MIB // 4096)
        left = [n for n in os.listdir(wd.path) if ".children-" in n or ".tmp-" in n]
        ut.check(not left, f"[{kind}] left behind: {left}")
        ut.log(f"ok: planted {kind} untouched, children counted once")


def refused(a, wd, tag, opts, name):
    marker = wd.join("ran")
    cmd = [a.uswap, "--limit", LIMIT] + opts + ["--", "/bin/sh", "-c", f"touch {marker}"]
    res = ut.run(cmd, workdir=wd, tag=tag, timeout=20)
    lines = res.stderr.strip().splitlines()
    ut.check(res.returncode == 2, f"[{tag}] exit {ut.status_text(res.returncode)}, not 2")
    ut.check(res.elapsed < 1.0, f"[{tag}] took {res.elapsed:.1f}s")
    ut.check(len(lines) == 1 and lines[0].startswith("uswap: ") and name in lines[0],
             f"[{tag}] stderr {lines!r} does not name {name}")
    ut.check(not os.path.exists(marker), f"[{tag}] the program ran")
    ut.log(f"ok: {tag} -> {lines[0]}")


def case_outputs(a, wd):
    fifo = wd.join("fifo")
    os.mkfifo(fifo)
    victim = wd.join("victim")
    with open(victim, "w") as f:
        f.write("victim\n")
    link = wd.join("link.json")
    os.symlink(victim, link)
    refused(a, wd, "stats_fifo", ["--stats", fifo], fifo)
    refused(a, wd, "trace_fifo", ["--trace", fifo], fifo)
    refused(a, wd, "stats_link", ["--stats", link], link)
    refused(a, wd, "trace_link", ["--trace", link], link)
    refused(a, wd, "stats_dir", ["--stats", wd.path], wd.path)
    ut.check(open(victim).read() == "victim\n", "the victim was written through the link")
    # The same through the environment (no CLI): the runtime refuses too.
    res = ut.run(["/bin/true"], workdir=wd, tag="env_link", timeout=30,
                 env=ut.preload_env(a.preload, LIMIT, stats=link))
    ut.check(open(victim).read() == "victim\n", "[env_link] the victim was written")
    ut.check(os.path.islink(link), "[env_link] the link was replaced")
    ut.check("symbolic link" in res.stderr, f"[env_link] no line about the link: {res.stderr!r}")
    ut.log("ok: the runtime does not write through a link either")


def case_rejected(a, wd):
    stats, run = wd.join("s.json"), wd.join("rundir")
    cases = [
        ("bogus_after_stats", [a.uswap, "--stats", stats, "--bogus-option", "--", "true"]),
        ("bad_swap", [a.uswap, "--limit", LIMIT, "--stats", stats,
                      "--swap", "/nonexistent-dir/swap", "--", "true"]),
        ("bogus_after_run", [a.uswap, "--limit", LIMIT, "--run", run, "--bogus", "--", "true"]),
        ("bad_swap_run", [a.uswap, "--limit", LIMIT, "--run", run,
                          "--swap", "/nonexistent-dir/swap", "--", "true"]),
        ("bad_limit_after_run", [a.uswap, "--run", run, "--limit", "12Q", "--", "true"]),
    ]
    for tag, cmd in cases:
        res = ut.run(cmd, workdir=wd, tag=tag, timeout=20)
        ut.check(res.returncode == 2, f"[{tag}] exit {ut.status_text(res.returncode)}, not 2")
        made = [p for p in (stats, run) if os.path.lexists(p)]
        ut.check(not made, f"[{tag}] a refused command line created {made}")
        ut.log(f"ok: {tag}: refused, nothing created")


CASES = ["title_fork", "title_exec", "server_exit", "server_flag", "children_files", "outputs",
         "rejected"]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--title", required=True)
    ap.add_argument("case", choices=CASES)
    a = ap.parse_args()
    with ut.Workdir(a.case) as wd:
        globals()["case_" + a.case](a, wd)


if __name__ == "__main__":
    ut.main_wrapper(main)
