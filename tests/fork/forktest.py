# SPDX-License-Identifier: MIT
"""Shared helpers for the tests/fork Python drivers.

Reuses tests/preload/uswaptest.py (exit codes, Workdir, run(), stats
loading, assertions on nested stats keys, the "children" object check) and
adds what the fork and exec tests need: process-tree bookkeeping (every process of a session, to make sure a
killed run left nothing running).
"""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "preload"))
import uswaptest as ut  # noqa: E402,F401  (re-exported)

# Nested stats keys ("children.processes>=1") and the "children" object
# check live in uswaptest, shared with tests/preload/run_case.py.
require_children = ut.require_children


def session_pids(sid):
    """Pids of every live process whose session id is sid."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...; comm may hold spaces
        fields = text[text.rfind(")") + 2:].split()
        if len(fields) > 3 and int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(name))
    return pids


def fd_links(pid):
    """{fd: link} of a live process (empty if it is gone)."""
    out = {}
    try:
        names = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return out
    for n in names:
        try:
            out[int(n)] = os.readlink(f"/proc/{pid}/fd/{n}")
        except OSError:
            pass
    return out


PROBE_RE = re.compile(
    r"^probe (?P<tag>\S+): managed=(?P<managed>\d) ld_preload_uswap=(?P<ld>\d) "
    r"swap=(?P<swap>\d+) uffd=(?P<uffd>\d+) io_uring=(?P<io_uring>\d+) "
    r"eventfd=(?P<eventfd>\d+) \(at start swap=(?P<swap0>\d+) uffd=(?P<uffd0>\d+) "
    r"io_uring=(?P<io_uring0>\d+) eventfd=(?P<eventfd0>\d+)\) leaks=(?P<leaks>\d+) ")
FD_KINDS = ("swap", "uffd", "io_uring", "eventfd")


def parse_probes(text):
    """The 'probe TAG: ...' lines exec_probe prints, as {tag: {field: int}}."""
    out = {}
    for line in text.splitlines():
        m = PROBE_RE.match(line)
        if m:
            d = {k: (v if k == "tag" else int(v)) for k, v in m.groupdict().items()}
            out[d["tag"]] = d
    return out


def _on_sigterm(signum, frame):
    """meson's timeout sends SIGTERM: kill the sessions our children lead
    (ut.run starts each program in its own session, so nothing else would)
    and exit through the normal path, so Workdir removes its directory."""
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                text = f.read()
        except OSError:
            continue
        fields = text[text.rfind(")") + 2:].split()
        if int(fields[1]) == me and int(fields[3]) == int(name):
            try:
                os.killpg(int(name), signal.SIGKILL)
            except OSError:
                pass
    ut.log(f"killed by {signal.Signals(signum).name} (timeout?)")
    sys.exit(ut.EXIT_FAIL)


signal.signal(signal.SIGTERM, _on_sigterm)
