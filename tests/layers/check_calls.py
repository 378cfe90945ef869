#!/usr/bin/env python3
"""Check the layering of the built core from its symbols: which object
calls (or reads) which. Fails (exit 1) on a cycle between modules or a call
up the layers, or between engine/ and control/. It sees what includes do
not: a call through a declaration copied into the wrong file, and files
without a header. Usage: check_calls.py LIBUSWAP_CORE.a [--graph]
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_includes import sccs  # noqa: E402

ORDER = {"base": 0, "obs": 1, "mm": 2, "policy": 3, "engine": 4, "control": 4, "runtime": 5}


def main():
    lib = sys.argv[1]
    out = subprocess.run(["nm", "-A", lib], capture_output=True, text=True, check=True).stdout
    defs, undef = {}, {}
    for line in out.splitlines():
        where, _, rest = line.rpartition(":")
        obj = where.rpartition(":")[2] if ":" in where else where
        mod = os.path.basename(obj).replace(".c.o", "").replace(".o", "")
        p = rest.split()
        if len(p) == 3 and p[1] in "TDBRC":
            defs[p[2]] = mod
        elif len(p) == 2 and p[0] == "U":
            undef.setdefault(mod, set()).add(p[1])
        undef.setdefault(mod, set())
    graph = {m: {defs[s] for s in syms if s in defs and defs[s] != m} for m, syms in undef.items()}
    problems = []
    for a in sorted(graph):
        for b in sorted(graph[a]):
            la, lb = a.split("_")[0], b.split("_")[0]
            if la in ORDER and lb in ORDER and (ORDER[lb] > ORDER[la] or
                                                (ORDER[lb] == ORDER[la] and la != lb)):
                problems.append(f"{a} calls {b}: {lb}/ is not below {la}/")
    for c in sccs(graph):
        if len(c) > 1:
            problems.append("call cycle between %d modules: %s" % (len(c), ", ".join(c)))
    if "--graph" in sys.argv:
        for m in sorted(graph):
            print(f"  {m} -> {', '.join(sorted(graph[m])) or '-'}")
    for p in problems:
        print(p)
    edges = sum(len(v) for v in graph.values())
    if problems:
        print(f"check_calls: {len(problems)} problem(s)")
        return 1
    print(f"check_calls: {len(graph)} modules, {edges} call edges, no cycle, no upward call")
    return 0


if __name__ == "__main__":
    sys.exit(main())
