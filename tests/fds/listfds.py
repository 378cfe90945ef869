# SPDX-License-Identifier: MIT
"""Under uswap: what this process and a child it starts see of their
descriptors. Prints "ok" when /proc/self/fd and fstat show only the
program's own, in the process and in a child whose start failed
(RLIMIT_NOFILE too small for the runtime, or no swap file: it runs
unmanaged and must hold none of the runtime's descriptors either)."""
import os
import resource
import subprocess
import sys

KINDS = ("userfaultfd", "io_uring", "eventfd", "pagemap", "/mem", "socket:", "uswap-swap")


def runtime_fds():
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if any(k in target for k in KINDS):
            found.append((name, target))
    return found


if len(sys.argv) > 1 and sys.argv[1] == "child":
    print(runtime_fds() or "none", flush=True)
    sys.exit(0)

bad = runtime_fds()
if bad:
    print(f"FAIL: /proc/self/fd lists the runtime's: {bad}")
    sys.exit(1)
for fd in range(os.sysconf("SC_OPEN_MAX")):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
        os.fstat(fd)
    except OSError:
        continue
    if any(k in target for k in KINDS):
        print(f"FAIL: fstat sees descriptor {fd} -> {target}")
        sys.exit(1)


def low_limit():
    resource.setrlimit(resource.RLIMIT_NOFILE, (10, 10))


def child(why, **kw):
    r = subprocess.run([sys.executable, __file__, "child"], capture_output=True, text=True,
                       timeout=30, **kw)
    sys.stderr.write(r.stderr)
    if r.returncode != 0 or r.stdout.strip() != "none":
        print(f"FAIL: child ({why}) exit {r.returncode}, holds {r.stdout.strip()}")
        sys.exit(1)


child("RLIMIT_NOFILE 10", preexec_fn=low_limit)
# A start that fails after the userfaultfd, pagemap and mem were opened.
child("no swap file", env=dict(os.environ, USWAP_SWAP="/proc/uswap-no-such-dir/x"))
print("ok")
