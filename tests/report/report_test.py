#!/usr/bin/env python3
"""uswap report: the text summary's figures, the page rendered by headless
Chromium (its DOM and a screenshot), and the error cases.

    report_test.py --uswap BUILD/uswap --data tests/report/data [--keep DIR]
                   [--real PROGRAM [ARGS...]]

The data is a sample run (data/gen_sample.py). --real also runs PROGRAM under
`uswap --run` and reports on that run, for when the runtime writes every
section. Exit 77 (skipped) only if Chromium is missing outside CI.
"""
import argparse
import html.parser
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

failures = []


def check(cond, what):
    print(("ok    " if cond else "FAIL  ") + what)
    if not cond:
        failures.append(what)
    return cond


def report(uswap, *args):
    p = subprocess.run([uswap, "report", *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


# ---- the text summary ----

def expected_figures(stats):
    """What the headline must say, computed from the stats file."""
    mib = 1 << 20
    ref = stats["workingset_refault_anon"] + stats["workingset_refault_file"]
    return {
        "major faults": "%s (of %s faults)" % (f"{stats['pgmajfault']:,}", f"{stats['pgfault']:,}"),
        "refaults": f"{ref:,}",
        "stall some/full": "%.1f%% / %.1f%%" % (stats["psi"]["memory"]["some_pct"],
                                                stats["psi"]["memory"]["full_pct"]),
        "recommended size": "%d MiB" % (stats["mrc"]["recommended_bytes"] // mib),
        "limit": "%d MiB (changed: 64 MiB to %d MiB)" % (stats["limit_bytes"] // mib,
                                                         stats["limit_bytes"] // mib),
        "peak resident": "%.1f MiB" % (stats["resident_peak_bytes"] / mib),
    }


def check_summary(out, stats, rows):
    for key, want in expected_figures(stats).items():
        m = re.search(r"^  %s +(.*)$" % re.escape(key), out, re.M)
        check(m and m.group(1).startswith(want), "summary %s: %r starts with %r"
              % (key, m and m.group(1), want))
    check(re.search(r"^  trace +\S+, %d rows$" % rows, out, re.M), "summary: %d trace rows" % rows)
    # The tables: one line per region and site, in the stats file's order,
    # the numbers right-aligned under their headers.
    regions = [r["name"] for r in stats["regions"]]
    table = out.split("top regions")[1].split("top allocation")[0].splitlines()[2:]
    got = [l[2:36].strip() for l in table if l.strip()]
    check(got == regions[:10], "summary: regions in order %s" % got)
    sites = re.findall(r"^  (\w+) +[\d.]+ [KMG]iB +[\d,]+ ", out.split("top allocation sites")[1], re.M)
    check(sites == [s["function"] for s in stats["sites"]["sites"]][:10], "summary: sites %s" % sites)
    header = [l for l in out.splitlines() if l.startswith("  region ")][0]
    heap = [l for l in out.splitlines() if l.startswith("  heap ")][0]
    check(len(header) == len(heap) and header.endswith("refaults") and
          heap.endswith(f"{stats['regions'][0]['refaults']:,}"), "summary: region columns aligned")


# ---- the page in Chromium ----

def find_chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


def chromium(browser, tmp, *args):
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
           "--user-data-dir=" + os.path.join(tmp, "chromium-profile"), "--hide-scrollbars", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if p.returncode:
        print(p.stderr[-2000:])
    return p


class Dom(html.parser.HTMLParser):
    """The parts of the rendered DOM the checks look at."""

    def __init__(self):
        super().__init__()
        self.svgs = []          # per svg.plot: [polyline points strings]
        self.figures = []       # figure ids
        self.tables = {}        # id -> [[cell text]]
        self.cards = []         # headline card values
        self.empty = []         # placeholders' text
        self.stack = []
        self.text = None
        self.details = 0        # inside <details>: the frames, not the cell's text

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = a.get("class", "")
        if tag == "svg" and "plot" in cls:
            self.svgs.append([])
        elif tag in ("polyline", "path") and self.svgs:
            self.svgs[-1].append(a.get("points") or a.get("d") or "")
        elif tag == "figure":
            self.figures.append(a.get("id"))
        elif tag == "table":
            self.table = self.tables.setdefault(a.get("id"), [])
        elif tag == "tr":
            self.table.append([])
        elif tag in ("td", "th") or cls in ("v", "empty"):
            self.text = []
        self.details += tag == "details"
        if tag not in ("line", "rect", "polyline", "path", "meta", "br"):
            self.stack.append((tag, cls))

    def handle_endtag(self, tag):
        self.details -= tag == "details"
        if not self.stack:
            return
        t, cls = self.stack.pop()
        if self.text is None:
            return
        s = " ".join("".join(self.text).split())
        if t in ("td", "th"):
            self.table[-1].append(s)
            self.text = None
        elif cls == "v":
            self.cards.append(s)
            self.text = None
        elif cls == "empty":
            self.empty.append(s)
            self.text = None

    def handle_data(self, data):
        if self.text is not None and not self.details:
            self.text.append(data)


def points(s):
    nums = [float(v) for v in re.split(r"[ ,]+", s.strip()) if v]
    return list(zip(nums[::2], nums[1::2]))


def check_dom(dom, stats, name):
    check(len(dom.svgs) == 6, "%s: 6 plots, got %d" % (name, len(dom.svgs)))
    for i, svg in enumerate(dom.svgs):
        pts = [points(p) for p in svg]
        check(svg and all(len(p) >= 2 for p in pts) and
              all(0 <= x <= 920 and 0 <= y <= 290 for p in pts for x, y in p),
              "%s: plot %d has %d lines, each with points inside the plot (%s)"
              % (name, i, len(svg), [len(p) for p in pts]))
    check(dom.figures == ["plot-resident", "plot-lists", "plot-faults", "plot-throttle",
                          "plot-stall", "plot-mrc"], "%s: figures %s" % (name, dom.figures))
    regions = [r[0] for r in dom.tables.get("regions-table", [])[1:]]
    check(regions == [r["name"] for r in stats["regions"]], "%s: region rows %s" % (name, regions))
    sites = [r[0] for r in dom.tables.get("sites-table", [])[1:]]
    check(sites == [s["function"] for s in stats["sites"]["sites"]], "%s: site rows %s" % (name, sites))
    threads = [r[1] for r in dom.tables.get("threads-table", [])[1:]]
    check(threads[:1] == ["churn"] and threads[-1:] == ["logger"], "%s: threads by stall %s" % (name, threads))
    psi = dom.tables.get("psi-table", [])
    check(len(psi) == 4 and psi[1][1] == "%.1f%%" % stats["psi"]["memory"]["some_pct"],
          "%s: psi rows %s" % (name, psi[1:2]))
    counters = {r[0]: r[2] for r in dom.tables.get("counters-table", [])[1:]}
    check(counters.get("pgmajfault") == f"{stats['pgmajfault']:,}", "%s: counters table" % name)
    want = expected_figures(stats)
    check(dom.cards[:1] == ["%d MiB" % (stats["limit_bytes"] >> 20)] and
          want["refaults"] in dom.cards and want["stall some/full"] in dom.cards and
          want["recommended size"] in dom.cards, "%s: headline cards %s" % (name, dom.cards))


def read_png(path):
    """(width, height, rows of pixel tuples) of an 8-bit RGB/RGBA PNG."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("PNG depth %d colour type %d" % (depth, ctype))
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, rows, prev = zlib.decompress(idat), w * bpp, [], bytearray(w * bpp)
    for y in range(h):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append([tuple(line[x * bpp:x * bpp + 3]) for x in range(w)])
        prev = line
    return w, h, rows


def check_screenshot(path):
    w, h, rows = read_png(path)
    counts = {}
    for row in rows:
        for px in row:
            counts[px] = counts.get(px, 0) + 1
    bg = max(counts.values())
    near = lambda rgb: sum(n for px, n in counts.items()
                           if all(abs(px[i] - rgb[i]) < 40 for i in range(3)))
    check(w == 1280 and h == 4800, "screenshot is %dx%d" % (w, h))
    check(len(counts) > 50, "screenshot has %d colours" % len(counts))
    check(1 - bg / (w * h) > 0.05, "screenshot: %.1f%% not background" % (100 - 100 * bg / (w * h)))
    # The series strokes themselves, not just text: resident (blue) and the
    # limit and major faults (red) must be drawn.
    blue, red = near((0x25, 0x63, 0xeb)), near((0xdc, 0x26, 0x26))
    check(blue > 2000 and red > 1000, "screenshot: %d blue and %d red pixels of plot lines" % (blue, red))


def check_page(browser, tmp, page, stats, name, shot=None):
    p = chromium(browser, tmp, "--dump-dom", "file://" + os.path.abspath(page))
    if not check(p.returncode == 0 and "</svg>" in p.stdout, "%s: chromium dumped the DOM" % name):
        return
    dom = Dom()
    dom.feed(p.stdout)
    check_dom(dom, stats, name)
    if shot:
        p = chromium(browser, tmp, "--window-size=1280,4800", "--screenshot=" + shot,
                     "file://" + os.path.abspath(page))
        if check(p.returncode == 0 and os.path.exists(shot), "%s: screenshot %s" % (name, shot)):
            check_screenshot(shot)


# ---- the cases ----

def fresh_run(tmp, data, name, trace="trace.csv"):
    d = os.path.join(tmp, name)
    os.makedirs(d)
    shutil.copy(os.path.join(data, "stats.json"), d)
    if trace:
        shutil.copy(os.path.join(data, "trace.csv"), os.path.join(d, trace))
    return d


def csv_to_jsonl(src, dst):
    with open(src) as f:
        cols = f.readline().strip().split(",")
        with open(dst, "w") as o:
            for line in f:
                vals = [float(v) if "." in v else int(v) for v in line.strip().split(",")]
                o.write(json.dumps(dict(zip(cols, vals))) + "\n")


def error_cases(uswap, tmp, data):
    def expect_error(args, pattern, what):
        rc, out, err = report(uswap, *args)
        check(rc == 2 and re.fullmatch(pattern, err, re.S) and not out,
              "error %s: rc %d, %r" % (what, rc, err.strip()))

    missing = os.path.join(tmp, "no-such-run")
    expect_error([missing], r"uswap: report: cannot read %s/stats\.json: No such file or directory\n"
                 % re.escape(missing), "missing directory")

    d = fresh_run(tmp, data, "bad-json")
    text = json.dumps(json.load(open(os.path.join(data, "stats.json"))), indent=1).splitlines()
    text[4] = text[4].replace(": ", ": @", 1)     # a value that is no JSON, on line 5
    open(os.path.join(d, "stats.json"), "w").write("\n".join(text) + "\n")
    expect_error([d], r"uswap: report: \S+/stats\.json:5: malformed JSON: .+\n", "malformed stats JSON")

    open(os.path.join(d, "stats.json"), "w").write('{"pgfault": 1, "limit_bytes": ')
    expect_error([d], r"uswap: report: \S+/stats\.json: malformed JSON: unexpected end of file\n",
                 "truncated stats JSON")

    open(os.path.join(d, "stats.json"), "w").write("")
    expect_error([d], r"uswap: report: \S+/stats\.json: empty stats file .*\n", "empty stats file")

    open(os.path.join(d, "stats.json"), "w").write('{"faults": 1}\n')
    expect_error([d], r"uswap: report: \S+/stats\.json: not a uswap stats file \(no pgfault\)\n",
                 "not a stats file")

    d = fresh_run(tmp, data, "bad-trace")
    lines = open(os.path.join(d, "trace.csv")).read().splitlines(True)
    lines[56] = lines[56].replace(",", ",x", 1)     # line 57: a field that is not a number
    open(os.path.join(d, "trace.csv"), "w").writelines(lines)
    expect_error([d], r"uswap: report: \S+/trace\.csv:57: malformed trace line: field 2 "
                 r"\(limit_bytes\) is not a number\n", "malformed trace line")
    lines[56] = "1.0,2,3\n"
    open(os.path.join(d, "trace.csv"), "w").writelines(lines)
    expect_error([d], r"uswap: report: \S+/trace\.csv:57: malformed trace line: 3 fields, "
                 r"the header has 26\n", "short trace line")

    d = fresh_run(tmp, data, "bad-jsonl", trace=None)
    csv_to_jsonl(os.path.join(data, "trace.csv"), os.path.join(d, "trace.jsonl"))
    lines = open(os.path.join(d, "trace.jsonl")).read().splitlines(True)
    lines[9] = lines[9][:40] + "\n"
    open(os.path.join(d, "trace.jsonl"), "w").writelines(lines)
    expect_error([d], r"uswap: report: \S+/trace\.jsonl:10: malformed trace line: not a JSON object\n",
                 "malformed JSON lines trace")

    expect_error([fresh_run(tmp, data, "bad-opt"), "--bogus"],
                 r"uswap: report: unknown option '--bogus' .*\n", "unknown option")
    expect_error([], r"uswap: report: no run given .*\n", "no run")

    # A run killed while the monitor was writing leaves an unfinished last
    # line: a warning, and the rows before it.
    d = fresh_run(tmp, data, "cut-trace")
    body = open(os.path.join(d, "trace.csv")).read()
    open(os.path.join(d, "trace.csv"), "w").write(body + "30.100,100663296,9")
    rc, out, err = report(uswap, d)
    check(rc == 0 and "trace.csv:302: unfinished last line ignored" in err and ", 300 rows" in out,
          "unfinished last trace line: rc %d, %r" % (rc, err.strip()))


def optional_cases(uswap, tmp, data, stats):
    # No trace: the page still renders; the time plots say why they are empty.
    d = fresh_run(tmp, data, "no-trace", trace=None)
    rc, out, err = report(uswap, d)
    page = open(os.path.join(d, "report.html")).read() if rc == 0 else ""
    check(rc == 0 and "no trace recorded" in out and page.count("no trace recorded") == 5
          and page.count("<svg") == 1, "no trace: rc %d, %r" % (rc, err.strip()))

    # An older stats file: only the flat counters.
    d = fresh_run(tmp, data, "old-stats")
    old = {k: v for k, v in stats.items()
           if k not in ("run", "psi", "threads", "regions", "sites", "mrc", "auto", "children")}
    json.dump(old, open(os.path.join(d, "stats.json"), "w"))
    rc, out, err = report(uswap, d)
    page = open(os.path.join(d, "report.html")).read() if rc == 0 else ""
    check(rc == 0 and "no miss-ratio curve" in page and "no regions" in page and
          "no allocation sites" in page and "recommended size   n/a" in out and
          re.search(r"stall some/full +\d+\.\d%", out),   # from the trace's stall totals
          "old stats file: rc %d, %r" % (rc, err.strip()))

    # A stats file named by path, its trace by --trace, the page by -o.
    d = fresh_run(tmp, data, "by-path", trace=None)
    csv_to_jsonl(os.path.join(data, "trace.csv"), os.path.join(d, "t.jsonl"))
    out_html = os.path.join(d, "page.html")
    rc, out, err = report(uswap, os.path.join(d, "stats.json"), "--trace", os.path.join(d, "t.jsonl"),
                          "-o", out_html)
    check(rc == 0 and os.path.exists(out_html) and ", 300 rows" in out,
          "stats path + --trace JSON lines + -o: rc %d, %r" % (rc, err.strip()))
    return out_html


def real_run(uswap, tmp, argv):
    """A real program under uswap --run, then the report on it: the figures
    must be the stats file's, and every plot drawn from the trace."""
    d = os.path.join(tmp, "real")
    p = subprocess.run([uswap, "--limit", "32M", "--run", d, "--", *argv], capture_output=True,
                       text=True, timeout=600)
    if not check(p.returncode == 0, "real run: rc %d %s" % (p.returncode, p.stderr.strip()[-300:])):
        return None
    rc, out, err = report(uswap, d)
    print(out, end="")
    if not check(rc == 0 and not err, "real run report: rc %d %r" % (rc, err.strip())):
        return None
    stats = json.load(open(os.path.join(d, "stats.json")))
    rows = sum(1 for _ in open(os.path.join(d, "trace.csv"))) - 1
    check(re.search(r"^  major faults +%s " % f"{stats['pgmajfault']:,}", out, re.M) and
          re.search(r"^  trace +\S+, %d rows$" % rows, out, re.M) and rows >= 5,
          "real run summary: major faults and %d trace rows" % rows)
    return d, stats


def check_real_page(browser, tmp, real):
    d, stats = real
    p = chromium(browser, tmp, "--dump-dom", "file://" + os.path.join(d, "report.html"))
    dom = Dom()
    dom.feed(p.stdout)
    check(len(dom.svgs) == 6 and all(svg and all(len(points(l)) >= 2 for l in svg)
                                     for svg in dom.svgs),
          "real run page: 6 plots with lines (%s)" % [len(s) for s in dom.svgs])
    regions = [r[0] for r in dom.tables.get("regions-table", [])[1:]]
    check(regions == [r["name"] for r in stats.get("regions", [])][:25],
          "real run page: region rows %s" % regions)
    chromium(browser, tmp, "--window-size=1280,4800", "--screenshot=" + os.path.join(tmp, "real.png"),
             "file://" + os.path.join(d, "report.html"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--uswap", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--keep", help="work in this directory and keep it")
    ap.add_argument("--real", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="uswap-report-")
    os.makedirs(tmp, exist_ok=True)
    stats = json.load(open(os.path.join(a.data, "stats.json")))
    rows = sum(1 for _ in open(os.path.join(a.data, "trace.csv"))) - 1

    run = fresh_run(tmp, a.data, "run")
    rc, out, err = report(a.uswap, run)
    print(out, end="")
    check(rc == 0 and not err, "report on the sample run: rc %d, %r" % (rc, err.strip()))
    check(out.rstrip().endswith("report: %s/report.html" % run), "summary names the page")
    check_summary(out, stats, rows)
    error_cases(a.uswap, tmp, a.data)
    by_path = optional_cases(a.uswap, tmp, a.data, stats)
    real = real_run(a.uswap, tmp, a.real) if a.real else None

    browser = find_chromium()
    if browser:
        shot = os.path.join(tmp, "report.png")
        check_page(browser, tmp, os.path.join(run, "report.html"), stats, "page", shot)
        check_page(browser, tmp, by_path, stats, "page from JSON lines")
        if real:
            check_real_page(browser, tmp, real)
        print("screenshot: %s" % shot)
    if failures:
        print("%d check(s) failed" % len(failures))
        return 1
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    if not browser:
        if os.environ.get("CI"):
            print("chromium not found, and CI must render the page (.ci/run installs it)")
            return 1
        print("SKIP: chromium not found: the page was not rendered (apt-get install chromium)")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
