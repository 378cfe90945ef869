#!/usr/bin/env python3
"""Check the layering of src/ and preload/ from their #include lines.

The runtime is in layer folders (README.md, "Layout"); calls go down, so
includes do too. This fails (exit 1) on:
  - an include of a header in a folder the including file's folder may not
    use (an upward include, or engine/ and control/ seeing each other);
  - a cycle between modules (a module is a .c and its .h);
  - a .c file whose own header is not the first project header it includes
    (its header must stand alone).
With --graph it prints the module graph: edges, and the strongly connected
components of more than one module (the import cycles).

Usage: check_includes.py [--graph] [ROOT]   (ROOT: the source tree, default
the one this file is in)
"""
import os
import re
import sys

# What each folder may include from, besides itself and include/uswap/.
# Bottom up: base, obs, mm, policy, then engine and control side by side,
# then runtime; preload sits on runtime (and obs/sites, base); the CLI uses
# base and mm's checks of userfaultfd and the swap location.
ALLOWED = {
    "src/base": [],
    "src/obs": ["src/base"],
    "src/mm": ["src/obs", "src/base"],
    "src/policy": ["src/mm", "src/obs", "src/base"],
    "src/engine": ["src/policy", "src/mm", "src/obs", "src/base"],
    "src/control": ["src/policy", "src/mm", "src/obs", "src/base"],
    "src/runtime": ["src/control", "src/engine", "src/policy", "src/mm", "src/obs", "src/base"],
    "preload": ["src/runtime", "src/obs/sites.h", "src/base"],
    "src/cli": ["src/cli/report", "src/mm", "src/base"],
    # outfile.h: the report is written as every other output (no links, no FIFOs).
    "src/cli/report": ["src/cli", "src/base/outfile.h"],
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def files(root):
    out = []
    for top in ("src", "preload"):
        for d, _, names in os.walk(os.path.join(root, top)):
            out += [os.path.join(d, n) for n in names if n.endswith((".c", ".h"))]
    return sorted(out)


def rel(root, p):
    return os.path.relpath(p, root)


def resolve(root, src, inc, all_headers):
    """The project header src's #include "inc" names (None: not ours)."""
    if inc.startswith("uswap/"):
        return None  # public schemas: anyone may include them
    here = os.path.normpath(os.path.join(os.path.dirname(src), inc))
    if os.path.exists(here):
        return here
    by_name = [h for h in all_headers if os.path.basename(h) == os.path.basename(inc)]
    folder = rel(root, os.path.dirname(src))
    for allowed in ALLOWED.get(folder, []):
        for h in by_name:
            r = rel(root, h)
            if r == allowed or os.path.dirname(r) == allowed:
                return h
    return by_name[0] if by_name else None


def module(root, p):
    return rel(root, os.path.splitext(p)[0])


def may_use(root, src, hdr):
    folder, target = rel(root, os.path.dirname(src)), rel(root, hdr)
    if os.path.dirname(target) == folder:
        return True
    return any(target == a or os.path.dirname(target) == a for a in ALLOWED.get(folder, []))


def sccs(graph):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    show = "--graph" in sys.argv
    root = os.path.abspath(args[0] if args else
                           os.path.join(os.path.dirname(__file__), "..", ".."))
    all_files = files(root)
    headers = [f for f in all_files if f.endswith(".h")]
    graph, problems = {}, []
    for f in all_files:
        text = open(f, encoding="utf-8", errors="replace").read()
        m = module(root, f)
        graph.setdefault(m, set())
        first = None
        for inc in INCLUDE.findall(text):
            h = resolve(root, f, inc, headers)
            if h is None:
                continue
            if first is None:
                first = h
            if not may_use(root, f, h):
                problems.append(f"{rel(root, f)}: includes {rel(root, h)}, "
                                f"which {rel(root, os.path.dirname(f))}/ may not use")
            if module(root, h) != m:
                graph[m].add(module(root, h))
        own = os.path.splitext(f)[0] + ".h"
        if (f.endswith(".c") and os.path.exists(own) and first is not None
                and os.path.normpath(first) != os.path.normpath(own)):
            problems.append(f"{rel(root, f)}: the first project header it includes is "
                            f"{rel(root, first)}, not its own {rel(root, own)}")
    cycles = [c for c in sccs(graph) if len(c) > 1]
    for c in cycles:
        problems.append("include cycle between %d modules: %s" % (len(c), ", ".join(c)))
    if show:
        edges = sum(len(v) for v in graph.values())
        print(f"{len(graph)} modules, {edges} edges, {len(cycles)} cycles")
        for m in sorted(graph):
            print(f"  {m} -> {', '.join(sorted(graph[m])) or '-'}")
        for c in cycles:
            print(f"  cycle ({len(c)}): {', '.join(c)}")
    for p in problems:
        print(p)
    if problems:
        print(f"check_includes: {len(problems)} problem(s)")
        return 1
    print(f"check_includes: {len(graph)} modules in layers, no cycle, no upward include")
    return 0


if __name__ == "__main__":
    sys.exit(main())
