"""Sampling mode (pybpf-prof --sample) against real interpreters (needs root).

Runs on the eval-frame matrix (conftest.py: bullseye's 3.9, pyenv 3.9-3.13,
Debian's 3.11, sid's 3.13-3.15 in the chroot); a few tests on a subset, said
where they are. The workloads are in tests/workloads/sampling/ (outside
tests/workloads/*.py, which the exact tests run whole under cProfile); their
lines of interest carry "# LINE:<marker>" comments, so the expected line
numbers are read from the files, never written here.

What is checked, per interpreter, from one run each:
  sample_chain.py     (launch, wall mode, --lines and every output file):
                      the stacks are exactly <module> -> main -> a -> b -> c
                      with the call-site lines and c's hot line; the --lines
                      table; the folded file sums to the samples recorded;
                      the SVG is well-formed and renders; the speedscope
                      file validates; the -o file loads with the target's
                      own pstats; the target's output and exit status are
                      those of an untraced run.
  sample_threads21.py (launch, cpu mode, --threads): the same function run
                      2:1 by two threads comes out 2:1 within 5 points.
  sample_sleep_spin.py (-p, wall mode, --threads): the sleeping thread is
                      off the CPU, the spinning one on it, and the --threads
                      sections name them with their Python names.
  sample_asyncio.py   (launch, wall mode): a real TCP server and client on
                      the loopback; the coroutine chain handler -> process ->
                      compute is sampled under the event loop's frames.
And on a subset: sampled own-time shares against the exact backend's
tottime shares (3.9, 3.12, 3.15: both exact backends), nothing left
attached however pybpf-prof ends (3.12, 3.15); and the usage errors and the
refusal of a process that is not Python.

Each sample run lasts SAMPLE_SECONDS (2 s) of the workload.
"""

import collections
import difflib
import json
import os
import re
import shutil
import signal
import subprocess
import time
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import INTEGRATION, REPO, TIMEOUT, pstats_json, run
from test_usdt import assert_error

INTERPS = "all"
SAMPLING_DIR = REPO / "tests" / "workloads" / "sampling"
SECONDS = "2"
HZ = "199"
HZ_RATIO = "499"  # the share tests want more samples in the same time

SAMPLING_LINE_RX = re.compile(r"^pybpf-prof: sampling PID (\d+) \(CPython (\S+), (.+)\) in (cpu|offcpu|wall) "
                              r"mode at (\d+) Hz; (Ctrl-C to stop|reporting when it exits)$")
MARKER_RX = re.compile(r"#\s*LINE:(\S+)")


# ---------------------------------------------------------------- workloads


def sampling_workload(ws, name):
    """Target-side path of tests/workloads/sampling/<name>.py, copied into
    the interpreter's workspace on first use."""
    dest = ws.host_dir / "workloads" / "sampling"
    if not dest.is_dir():
        dest.mkdir(parents=True)
        for src in SAMPLING_DIR.glob("*.py"):
            shutil.copy(src, dest / src.name)
    return "%s/workloads/sampling/%s.py" % (ws.target_dir, name)


def def_lines(name):
    """{function name: line of its def} in the workload (pstats' labels)."""
    found = {}
    for n, line in enumerate((SAMPLING_DIR / (name + ".py")).read_text().splitlines(), 1):
        m = re.match(r"(?:async )?def (\w+)\(", line)
        if m:
            found[m.group(1)] = n
    return found


def markers(name):
    """{marker: line number} of the workload's '# LINE:marker' comments."""
    found = {}
    for n, line in enumerate((SAMPLING_DIR / (name + ".py")).read_text().splitlines(), 1):
        m = MARKER_RX.search(line)
        if m:
            assert m.group(1) not in found, "marker %s twice in %s.py" % (m.group(1), name)
            found[m.group(1)] = n
    return found


# ---------------------------------------------------------------- the report


Row = collections.namedtuple("Row", "own cum tottime tot_pct cumtime cum_pct offcpu off_pct label")

HEADER_RX = re.compile(r"^Sampled profile of PID (\d+) \((.*)\) \u2014 CPython (\S+), (static|shared), (.+)$")
MODE_RX = re.compile(
    r"^Mode (cpu|offcpu|wall) at (\d+) Hz for (\d+\.\d{3}) s: (\d+) samples? recorded"
    r"(?: \(cpu (\d+), off-CPU (\d+)\))?; (\d+) lost: (\d+) no Python thread state, (\d+) unreadable memory, "
    r"(\d+) stacks map full, (\d+) counts map full; (\d+) frames? unresolved; (\d+) stacks? truncated at "
    r"(\d+) frames$")
NOTE_RX = re.compile(r"^ncalls is not measured when sampling: nsamples and times are estimates "
                     r"\(each sample stands for 1/(\d+) s\)\.$")
ROW_RX = re.compile(r"^ *(\d+)(?:/(\d+))? +(\d+\.\d{3}) +(\d+\.\d)% +(\d+\.\d{3}) +(\d+\.\d)%"
                    r"(?: +(\d+\.\d{3}) +(\d+\.\d)%)?  (\S.*)$")
# "Hot spots (on-CPU, N samples):", or "Hot spots (off-CPU): no off-CPU samples were recorded."
HOT_RX = re.compile(r"^Hot spots \((on-CPU|off-CPU)(?:, (\d+) samples?\):| ?\): no .* samples were recorded\.)$")
THREAD_RX = re.compile(r'^--- Thread (\d+) "(.*)": (\d+) samples? \(cpu (\d+), off-CPU (\d+)\) ---$')


def parse_table(lines, start, what):
    """(title, rows, index after the table) of the table whose title line is
    at or after lines[start]."""
    i = start
    while i < len(lines) and not lines[i].lstrip().startswith("nsamples"):
        i += 1
    assert i < len(lines), "no 'nsamples ...' title line in %s:\n%s" % (what, "\n".join(lines[start:][:40]))
    title, rows = lines[i], []
    with_offcpu = "offcpu" in title
    i += 1
    while i < len(lines) and lines[i]:
        m = ROW_RX.match(lines[i])
        assert m and (m.group(7) is not None) == with_offcpu, "cannot parse table row %r in %s (title %r)" % (
            lines[i], what, title)
        own = int(m.group(1))
        cum = int(m.group(2)) if m.group(2) else own
        off = (float(m.group(7)), float(m.group(8))) if with_offcpu else (None, None)
        rows.append(Row(own, cum, float(m.group(3)), float(m.group(4)), float(m.group(5)), float(m.group(6)),
                        off[0], off[1], m.group(9)))
        i += 1
    return title, rows, i


class SampleReport:
    """pybpf-prof --sample's stdout: [CMD's own output], the three header
    lines, the table, the hot spots and (--threads) one section per thread."""

    def __init__(self, stdout):
        start = stdout.find("Sampled profile of PID ")
        while start > 0 and stdout[start - 1] != "\n":
            start = stdout.find("Sampled profile of PID ", start + 1)
        assert start >= 0, "no 'Sampled profile of PID' line on stdout:\n" + stdout[-4000:]
        self.preamble, self.text = stdout[:start], stdout[start:]
        lines = self.text.split("\n")
        self.lines = lines
        m = HEADER_RX.match(lines[0])
        assert m, "report header is not 'Sampled profile of PID N (COMM) \u2014 CPython V, BUILD, PATH': %r" % (
            lines[0])
        self.pid, self.comm, self.version, self.build, self.binary = (
            int(m.group(1)), m.group(2), m.group(3), m.group(4), m.group(5))
        m = MODE_RX.match(lines[1])
        assert m, "second line is not 'Mode M at N Hz for S s: N samples recorded (cpu A, off-CPU B); " \
            "N lost: ...': %r" % lines[1]
        self.mode, self.hz, self.seconds = m.group(1), int(m.group(2)), float(m.group(3))
        self.recorded = int(m.group(4))
        if m.group(5) is not None:
            self.cpu, self.offcpu = int(m.group(5)), int(m.group(6))
        else:
            assert self.mode != "wall", "wall mode must split the samples into cpu and off-CPU: %r" % lines[1]
            self.cpu, self.offcpu = (self.recorded, 0) if self.mode == "cpu" else (0, self.recorded)
        self.lost = int(m.group(7))
        self.lost_by_cause = dict(zip(("no tstate", "unreadable", "stacks full", "counts full"),
                                      map(int, m.group(8, 9, 10, 11))))
        self.unresolved, self.truncated, self.depth = map(int, m.group(12, 13, 14))
        m = NOTE_RX.match(lines[2])
        assert m, "third line is not the 'ncalls is not measured when sampling' note: %r" % lines[2]
        self.note_hz = int(m.group(1))
        self.title, self.rows, end = parse_table(lines, 3, "the report")
        self.hot = {}
        self.threads = []
        i = end
        while i < len(lines):
            hot = HOT_RX.match(lines[i])
            thread = THREAD_RX.match(lines[i])
            if hot:  # the whole profile's, or (after its title) a thread's
                where = self.threads[-1]["hot"] if self.threads else self.hot
                assert hot.group(1) not in where, "two '%s' sections in a row" % lines[i]
                where[hot.group(1)] = int(hot.group(2) or 0)
            elif thread:
                title, rows, i = parse_table(lines, i + 1, lines[i])
                self.threads.append({"tid": int(thread.group(1)), "name": thread.group(2),
                                     "samples": int(thread.group(3)), "cpu": int(thread.group(4)),
                                     "offcpu": int(thread.group(5)), "title": title, "rows": rows, "hot": {}})
                continue
            i += 1

    def row(self, label, rows=None):
        found = [r for r in (self.rows if rows is None else rows) if r.label == label]
        assert len(found) == 1, "expected one row labelled %r, found %d:\n%s" % (
            label, len(found), self.text[:5000])
        return found[0]

    def thread(self, name):
        found = [t for t in self.threads if t["name"] == name]
        assert len(found) == 1, "expected one --threads section for thread %r, found %d: %s\n%s" % (
            name, len(found), [(t["tid"], t["name"]) for t in self.threads], self.text[-5000:])
        return found[0]


# ---------------------------------------------------------------- the folded file


Frame = collections.namedtuple("Frame", "func file line")
Stack = collections.namedtuple("Stack", "comm pid thread tid truncated frames offcpu count")
FRAME_RX = re.compile(r"^(.*) \((.*):(\d+)\)$")


def parse_folded(text):
    """[Stack] of a folded file: 'COMM-PID;THREAD-TID;[truncated];func
    (file:line);...;[off-CPU] COUNT' lines, root first."""
    stacks = []
    assert text.endswith("\n") or not text, "the folded file does not end with a newline"
    for line in text.splitlines():
        m = re.match(r"^(.+) (\d+)$", line)
        assert m, "folded line is not 'STACK COUNT': %r" % line
        parts = m.group(1).split(";")
        assert len(parts) >= 2, "folded line has no COMM-PID;THREAD-TID: %r" % line
        comm, _, pid = parts[0].rpartition("-")
        thread, _, tid = parts[1].rpartition("-")
        assert comm and pid.isdigit() and thread and tid.isdigit(), (
            "folded line does not start with COMM-PID;THREADNAME-TID: %r" % line)
        rest = parts[2:]
        truncated = bool(rest) and rest[0] == "[truncated]"
        rest = rest[1:] if truncated else rest
        offcpu = bool(rest) and rest[-1] == "[off-CPU]"
        rest = rest[:-1] if offcpu else rest
        frames = []
        for part in rest:
            f = FRAME_RX.match(part)
            assert f, "folded frame is not 'function (file:line)': %r in %r" % (part, line)
            frames.append(Frame(f.group(1), f.group(2), int(f.group(3))))
        count = int(m.group(2))
        assert count > 0, "folded line with a zero count: %r" % line
        stacks.append(Stack(comm, int(pid), thread, int(tid), truncated, tuple(frames), offcpu, count))
    return stacks


def check_folded_totals(stacks, report):
    """Counts sum to the samples recorded, off-CPU ones to the off-CPU
    samples, and every line names the target's PID."""
    total = sum(s.count for s in stacks)
    off = sum(s.count for s in stacks if s.offcpu)
    assert total == report.recorded, "folded counts sum to %d, the report says %d samples recorded:\n%s" % (
        total, report.recorded, report.lines[1])
    assert (total - off, off) == (report.cpu, report.offcpu), (
        "folded file: %d on-CPU and %d off-CPU samples, the report %d and %d" % (
            total - off, off, report.cpu, report.offcpu))
    assert {s.pid for s in stacks} <= {report.pid}, "folded lines name other PIDs than %d: %s" % (
        report.pid, sorted({s.pid for s in stacks}))


# ---------------------------------------------------------------- running


def check_stderr(res_stderr, interp, pid, mode, hz, launched):
    """One line on stderr: 'pybpf-prof: sampling PID N (CPython V, PATH) in
    MODE mode at HZ Hz; ...'."""
    lines = res_stderr.splitlines()
    assert len(lines) == 1, "expected only the 'sampling PID' line on stderr:\n" + res_stderr
    m = SAMPLING_LINE_RX.match(lines[0])
    assert m, "stderr is not 'pybpf-prof: sampling PID N (CPython V, PATH) in M mode at N Hz; ...': %r" % (
        lines[0])
    assert int(m.group(1)) == pid and m.group(2) == interp.micro, lines[0]
    assert "python%s" % interp.version in m.group(3), "the sampling line does not name the binary: " + lines[0]
    assert (m.group(4), m.group(5)) == (mode, hz), lines[0]
    assert m.group(6) == ("reporting when it exits" if launched else "Ctrl-C to stop"), lines[0]


def check_header(report, interp, pid, mode, hz):
    assert report.pid == pid and report.version == interp.micro, report.text[:400]
    assert (report.mode, str(report.hz), str(report.note_hz)) == (mode, hz, hz), report.text[:400]
    shared = interp.origin == "pyenv"
    assert report.build == ("shared" if shared else "static"), (
        "header says %s, %s is a %s build: %s" % (report.build, interp.id, "shared" if shared else "static",
                                                  report.lines[0]))
    assert ("libpython%s" % interp.version if shared else "python%s" % interp.version) in report.binary, (
        report.lines[0])
    assert report.lost == sum(report.lost_by_cause.values()), report.lines[1]
    assert report.cpu + report.offcpu == report.recorded, report.lines[1]
    assert report.depth == 128, report.lines[1]
    assert ("offcpu" in report.title) == (mode == "wall"), "title %r in %s mode" % (report.title, mode)
    if mode != "offcpu":
        assert report.hot.get("on-CPU") == report.cpu, (
            "no 'Hot spots (on-CPU, %d samples):' section:\n%s" % (report.cpu, report.text[-3000:]))
    if mode != "cpu":
        assert report.hot.get("off-CPU") == report.offcpu, (
            "no 'Hot spots (off-CPU, %d samples):' section:\n%s" % (report.offcpu, report.text[-3000:]))


def sample_launch(prof, interp, ws, name, opts, wl_args=()):
    """pybpf-prof --sample OPTS -- <python> <workload> [wl_args]: Result."""
    argv = interp.cmd(sampling_workload(ws, name), "--seconds", SECONDS, *wl_args)
    return run([prof, "--sample", *opts, "--", *argv])


def go_and_wait(target, tracer):
    """Lets a --wait target run; (target's Result, pybpf-prof's Result)."""
    target.write("go\n")
    done = target.wait(what="the target")
    return done, tracer.wait(what="pybpf-prof after the target exited")


def sample_attach(prof, procs, interp, ws, name, opts, seconds=SECONDS):
    """The workload started with --wait, pybpf-prof --sample OPTS -p PID
    attached; returns (target, tracer) once the tracer says it samples."""
    target = procs(interp.cmd(sampling_workload(ws, name), "--wait", "--seconds", seconds))
    target.wait_line("stdout", r"ready$", what="the target's 'ready'")
    tracer = procs([prof, "--sample", *opts, "-p", str(target.pid)], stdin=False)
    tracer.wait_line("stderr", r"pybpf-prof: sampling PID ", what="pybpf-prof's 'sampling PID' line")
    return target, tracer


_runs = {}


def shared(key, make):
    """A run several tests read, made once; its failure fails each of them."""
    if key not in _runs:
        try:
            _runs[key] = (make(), None)
        except (Exception, pytest.fail.Exception) as exc:
            _runs[key] = (None, "%s: %s" % (type(exc).__name__, exc))
    value, error = _runs[key]
    if error:
        pytest.fail("the shared run %s failed:\n%s" % (key[0], error))
    return value


# ---------------------------------------------------------------- the chain, every output


class ChainRun:
    pass


CHAIN_STATUS = 5


def chain_run(prof, interp, ws):
    """sample_chain.py --status 5 launched under --sample --lines with all
    output files (wall mode by default), and untraced."""

    def make():
        r = ChainRun()
        d = ws.mkdir("sample-chain")
        r.files = {ext: "%s/chain.%s" % (d, ext) for ext in ("folded", "svg", "json", "prof")}
        host = {k: str(ws.host(v)) for k, v in r.files.items()}
        r.path = sampling_workload(ws, "sample_chain")
        r.untraced = run(interp.cmd(r.path, "--seconds", SECONDS, "--status", str(CHAIN_STATUS)))
        assert r.untraced.returncode == CHAIN_STATUS and not r.untraced.stderr, r.untraced.describe()
        r.res = sample_launch(prof, interp, ws, "sample_chain",
                              ["--hz", HZ, "--lines", "--folded", host["folded"], "--flamegraph", host["svg"],
                               "--speedscope", host["json"], "-o", host["prof"]],
                              ["--status", str(CHAIN_STATUS)])
        r.report = SampleReport(r.res.stdout)
        r.host = {k: ws.host(v) for k, v in r.files.items()}
        for kind, path in r.host.items():
            assert path.is_file() and path.stat().st_size > 0, "no %s file written at %s\n%s" % (
                kind, path, r.res.describe())
        r.stacks = parse_folded(r.host["folded"].read_text())
        return r

    return shared(("chain", interp.id), make)


def chain_expected(path):
    m = markers("sample_chain")
    return (Frame("<module>", path, m["module-calls-main"]), Frame("main", path, m["main-calls-a"]),
            Frame("a", path, m["a-calls-b"]), Frame("b", path, m["b-calls-c"]), Frame("c", path, m["c-hot"]))


def test_chain_run(prof, interp, ws):
    """Launch mode: CMD's output and exit status are its own; one stderr
    line; the header, mode line and hot-spot sections are right; about HZ
    samples per second of a single-threaded target were recorded (wall
    mode: on or off the CPU, one per tick), nearly none lost."""
    r = chain_run(prof, interp, ws)
    assert r.res.returncode == CHAIN_STATUS, "exit status %d, CMD's is %d\n%s" % (
        r.res.returncode, CHAIN_STATUS, r.res.describe())
    assert r.report.preamble == r.untraced.stdout, "CMD's output differs from its untraced output:\n" + "\n".join(
        difflib.unified_diff(r.untraced.stdout.splitlines(), r.report.preamble.splitlines(), "untraced",
                             "under pybpf-prof --sample", lineterm=""))
    check_stderr(r.res.stderr, interp, r.report.pid, "wall", HZ, launched=True)
    check_header(r.report, interp, r.report.pid, "wall", HZ)
    expect = int(HZ) * r.report.seconds
    assert 0.75 * expect <= r.report.recorded <= 1.25 * expect, (
        "%d samples of one thread in %.3f s at %s Hz\n%s" % (r.report.recorded, r.report.seconds, HZ,
                                                            r.report.text[:600]))
    # (frames unresolved are frames, not samples: code objects freed before
    # they were read, such as imported modules' bodies; not bounded here)
    assert r.report.lost <= 0.05 * r.report.recorded, r.report.lines[1]
    assert r.report.truncated == 0, r.report.lines[1]


def test_chain_stacks(prof, interp, ws):
    """The folded file: the main thread's commonest stack is exactly
    <module> -> main -> a -> b -> c, root first, with the lines of the call
    sites and of c's hot loop, and at least 85% of its samples (on or off
    the CPU: a preempted spinner is still in c) are that stack; the thread
    is named MainThread with the PID as TID; counts sum to the samples
    recorded."""
    r = chain_run(prof, interp, ws)
    check_folded_totals(r.stacks, r.report)
    main = [s for s in r.stacks if s.tid == r.report.pid]
    assert main and {s.thread for s in main} == {"MainThread"}, (
        "the main thread (TID %d) is not named MainThread in the folded file: %s" % (
            r.report.pid, sorted({(s.thread, s.tid) for s in r.stacks})))
    by_frames = collections.Counter()
    for s in main:
        by_frames[s.frames] += s.count
    expected = chain_expected(r.path)
    top, top_count = by_frames.most_common(1)[0]
    total = sum(by_frames.values())
    show = "\n".join("%6d  %s" % (n, " ; ".join("%s:%d" % (f.func, f.line) for f in fr))
                     for fr, n in by_frames.most_common(8))
    assert top == expected, "the commonest stack is not the chain:\nexpected %s\ngot      %s\n%s" % (
        expected, top, show)
    assert top_count >= 0.85 * total, "only %d of the main thread's %d samples are the chain:\n%s" % (
        top_count, total, show)


def test_chain_lines(prof, interp, ws):
    """--lines: rows per running line, 'file:LINE(function)': c's hot line
    has most own samples, and a's call site (a -> b) is under nearly all
    of them."""
    r = chain_run(prof, interp, ws)
    m = markers("sample_chain")
    hot = r.report.row("%s:%d(c)" % (r.path, m["c-hot"]))
    call = r.report.row("%s:%d(a)" % (r.path, m["a-calls-b"]))
    assert hot.own == max(row.own for row in r.report.rows), r.report.text[:3000]
    assert hot.own >= 0.85 * r.report.recorded and call.cum >= hot.own, (
        "hot line %d own samples, a's call site %d cumulative, of %d:\n%s" % (
            hot.own, call.cum, r.report.recorded, r.report.text[:3000]))
    # tot% is a share of time: the few off-CPU samples weigh the time since
    # the previous tick, not 1/Hz, so it may stray a little from the share of
    # samples (0.25 points seen on a loaded machine).
    assert abs(hot.tot_pct - 100.0 * hot.own / r.report.recorded) <= 0.5, hot
    assert abs(hot.tottime - hot.own / int(HZ)) <= 0.001 + 0.01 * hot.tottime, (
        "tottime is not own samples / Hz: %r" % (hot,))
    assert all(row.own <= row.cum for row in r.report.rows), r.report.text[:3000]


def test_chain_pstats(prof, interp, ws):
    """-o: the target's own pstats loads the file; c has the most own time,
    the callers are built from the stacks (c <- b <- a <- main)."""
    r = chain_run(prof, interp, ws)
    data = pstats_json(interp, ws, r.files["prof"], "tottime")
    first = def_lines("sample_chain")
    label = {name: "%s:%d(%s)" % (r.path, first[name], name) for name in ("main", "a", "b", "c")}
    stats = data["stats"]
    for name in ("c", "b", "a", "main"):
        assert label[name] in stats, "%s not in the -o file: %s" % (label[name], sorted(stats)[:30])
    assert max(stats, key=lambda k: stats[k][2]) == label["c"], data["orders"]["tottime"]["text"][:3000]
    assert stats[label["c"]][2] >= 0.85 * data["total_tt"], data["orders"]["tottime"]["text"][:3000]
    for callee, caller in (("c", "b"), ("b", "a"), ("a", "main")):
        assert label[caller] in data["callers"][label[callee]], "%s has no caller %s: %s" % (
            label[callee], label[caller], data["callers"][label[callee]])


def test_chain_flamegraph(prof, interp, ws):
    """--flamegraph: well-formed XML, an <svg> root whose text holds the
    chain's frames; tests/integration/svg_screenshot.py renders it in
    headless Chromium (frames visible, its script ran)."""
    r = chain_run(prof, interp, ws)
    svg = r.host["svg"]
    root = ET.parse(svg).getroot()
    assert root.tag in ("svg", "{http://www.w3.org/2000/svg}svg"), "root element is <%s>" % root.tag
    text = "\n".join(root.itertext())
    for frame in chain_expected(r.path)[1:]:
        label = "%s (%s:%d)" % frame
        assert label in text, "the flame graph's text does not hold the frame %r" % label
    script = INTEGRATION / "svg_screenshot.py"
    if not script.exists():
        pytest.skip("no %s (the screenshot check)" % script)
    png = svg.with_suffix(".png")
    res = run([sys.executable, str(script), str(svg), str(png)], env=dict(os.environ))
    assert res.returncode == 0, res.describe()
    assert png.is_file() and png.stat().st_size > 0, res.describe()


def test_chain_speedscope(prof, interp, ws):
    """--speedscope: validates (tests/integration/validate_speedscope.py);
    one sampled profile per thread; weights in ns adding up to the samples
    recorded times 1/Hz; frames name the chain."""
    r = chain_run(prof, interp, ws)
    doc = json.loads(r.host["json"].read_text())
    profiles = doc.get("profiles", [])
    threads = {(s.thread, s.tid) for s in r.stacks}
    assert len(profiles) == len(threads), "%d profiles for threads %s" % (len(profiles), sorted(threads))
    assert all(p.get("type") == "sampled" and p.get("unit") == "nanoseconds" for p in profiles), (
        [(p.get("type"), p.get("unit")) for p in profiles])
    weight = sum(sum(p["weights"]) for p in profiles)
    expect = r.report.recorded * 1e9 / int(HZ)
    assert abs(weight - expect) <= 0.02 * expect, "weights sum to %d ns, %d samples at %s Hz are %d ns" % (
        weight, r.report.recorded, HZ, expect)
    names = [str(f.get("name")) for f in doc.get("shared", {}).get("frames", [])]
    for func in ("main", "a", "b", "c"):
        assert any(n == func or n.startswith(func + " ") for n in names), (
            "no speedscope frame named %s: %s" % (func, names[:40]))
    script = INTEGRATION / "validate_speedscope.py"
    if not script.exists():
        pytest.skip("no %s (the schema check)" % script)
    res = run([sys.executable, str(script), str(r.host["json"])], env=dict(os.environ))
    if res.returncode == 77:  # the script's "python3-jsonschema is missing"
        pytest.skip("validate_speedscope.py: " + (res.stderr.strip() or "python3-jsonschema is missing"))
    assert res.returncode == 0, res.describe()


@pytest.mark.interps("all", versions=("3.12",))
def test_wall_counts_waiting_for_a_cpu(prof, procs, interp, ws):
    """Wall mode, the spinning chain pinned to one CPU beside a busy loop
    pinned to the same CPU: the target runs about half the time and waits
    for the CPU the other half. Waiting to run is off the CPU: the samples
    still number about one per tick (HZ per second), a good part of them
    off-CPU, in the same chain."""
    cpu = str(min(os.sched_getaffinity(0)))
    procs(["taskset", "-c", cpu, "sh", "-c", "while :; do :; done"], stdin=False)
    d = ws.mkdir("sample-wall-busy")
    folded = d + "/w.folded"
    path = sampling_workload(ws, "sample_chain")
    res = run([prof, "--sample", "--hz", HZ, "--folded", str(ws.host(folded)), "--",
               "taskset", "-c", cpu, *interp.cmd(path, "--seconds", SECONDS)])
    assert res.returncode == 0, res.describe()
    report = SampleReport(res.stdout)
    expect = int(HZ) * report.seconds
    assert report.recorded >= 0.75 * expect and report.offcpu >= 0.25 * report.recorded, (
        "%d samples (%d off-CPU) in %.3f s at %s Hz of a thread that shares its CPU with a busy loop: "
        "expected about %d, half of them off-CPU (waiting to run)\n%s" % (
            report.recorded, report.offcpu, report.seconds, HZ, expect, report.lines[1]))
    chain = chain_expected(path)
    off_chain = sum(s.count for s in parse_folded(ws.host(folded).read_text()) if s.offcpu and s.frames == chain)
    assert off_chain >= 0.8 * report.offcpu, "%d of %d off-CPU samples in the chain" % (off_chain, report.offcpu)


# ---------------------------------------------------------------- threads


def test_threads_2_to_1(prof, interp, ws):
    """cpu mode, --threads: worker-2x runs work() for twice the CPU time of
    worker-1x (lockstep rounds, same CPU); its share of work()'s samples is
    66.7% +- 5 points. The --threads sections agree with the folded file.
    (The CPU times the workload measured itself are in the message.)"""
    d = ws.mkdir("sample-threads21")
    folded, cpu_file = d + "/t.folded", d + "/cpu.json"
    res = sample_launch(prof, interp, ws, "sample_threads21",
                        ["--mode", "cpu", "--hz", HZ_RATIO, "--threads", "--folded", str(ws.host(folded))],
                        ["--cpu-file", cpu_file])
    assert res.returncode == 0, res.describe()
    report = SampleReport(res.stdout)
    assert re.fullmatch(r"ready\nthreads21 \d+ 2:1\n", report.preamble), res.describe()
    check_stderr(res.stderr, interp, report.pid, "cpu", HZ_RATIO, launched=True)
    check_header(report, interp, report.pid, "cpu", HZ_RATIO)
    stacks = parse_folded(ws.host(folded).read_text())
    check_folded_totals(stacks, report)
    path, hot = sampling_workload(ws, "sample_threads21"), markers("sample_threads21")["work-hot"]
    in_work = collections.Counter()
    for s in stacks:
        if any(f.func == "work" and f.file == path for f in s.frames):
            in_work[s.thread] += s.count
    a, b = in_work["worker-2x"], in_work["worker-1x"]
    assert a + b >= 200, "only %d samples in work() on the two workers: %s" % (a + b, dict(in_work))
    cpu = json.loads(ws.host(cpu_file).read_text())
    measured = 100.0 * cpu["worker-2x"] / (cpu["worker-2x"] + cpu["worker-1x"])
    share = 100.0 * a / (a + b)
    assert abs(share - 200.0 / 3) <= 5, (
        "worker-2x has %.1f%% of work()'s samples (%d vs %d), expected 66.7 (its share of the CPU time in "
        "work() by time.thread_time: %.1f%%)" % (share, a, b, measured))
    leaf_hot = sum(s.count for s in stacks if s.thread.startswith("worker-") and s.frames
                   and s.frames[-1] == Frame("work", path, hot))
    assert leaf_hot >= 0.85 * (a + b), "%d of %d samples in work() on its hot line %d" % (leaf_hot, a + b, hot)
    per_thread = collections.Counter()
    for s in stacks:
        per_thread[(s.thread, s.tid)] += s.count
    sections = {(t["name"], t["tid"]): t["samples"] for t in report.threads}
    assert sections == dict(per_thread), "--threads sections %s, folded file %s" % (sections, dict(per_thread))
    for t in report.threads:
        assert t["offcpu"] == 0 and t["cpu"] == t["samples"], t


def test_sleep_and_spin(prof, procs, interp, ws):
    """-p, wall mode, --threads: the thread sleeping in sleeper() is off the
    CPU for >= 90% of its samples, the one spinning in spinner() on it for
    >= 90%; the sections carry the threads' Python names (longer than an OS
    thread name can be); the target's output is its own."""
    target, tracer = sample_attach(prof, procs, interp, ws, "sample_sleep_spin", ["--hz", HZ, "--threads"])
    done, res = go_and_wait(target, tracer)
    assert (done.returncode, done.stdout, done.stderr) == (0, "ready\nsleep_spin done\n", ""), done.describe()
    assert res.returncode == 0, res.describe()
    report = SampleReport(res.stdout)
    assert report.preamble == "", res.describe()
    check_stderr(res.stderr, interp, target.pid, "wall", HZ, launched=False)
    check_header(report, interp, target.pid, "wall", HZ)
    sleeper, spinner = report.thread("sleeper-of-the-test"), report.thread("spinner-of-the-test")
    assert sleeper["samples"] >= 100 and spinner["samples"] >= 100, (sleeper, spinner)
    assert sleeper["offcpu"] >= 0.9 * sleeper["samples"], "sleeper: %r" % {
        k: sleeper[k] for k in ("samples", "cpu", "offcpu")}
    assert spinner["cpu"] >= 0.9 * spinner["samples"], "spinner: %r" % {
        k: spinner[k] for k in ("samples", "cpu", "offcpu")}
    path = sampling_workload(ws, "sample_sleep_spin")
    first = def_lines("sample_sleep_spin")
    sl = report.row("%s:%d(sleeper)" % (path, first["sleeper"]))
    sp = report.row("%s:%d(spinner)" % (path, first["spinner"]))
    assert sl.offcpu >= 0.9 * sl.tottime and sp.offcpu <= 0.1 * sp.tottime, (sl, sp)
    assert report.row("%s:%d(sleeper)" % (path, first["sleeper"]), sleeper["rows"]).own >= 0.9 * sleeper["samples"]
    assert report.row("%s:%d(spinner)" % (path, first["spinner"]), spinner["rows"]).own >= 0.9 * spinner["samples"]


# ---------------------------------------------------------------- asyncio


def test_asyncio_chain(prof, interp, ws):
    """A real asyncio TCP server and client on 127.0.0.1: the samples in
    compute()'s hot line sit under handler() -> process() -> compute(), at
    their call-site lines, under the event loop's run_forever, _run_once
    (asyncio/base_events.py) and Handle._run (asyncio/events.py)."""
    d = ws.mkdir("sample-asyncio")
    folded = d + "/a.folded"
    res = sample_launch(prof, interp, ws, "sample_asyncio", ["--hz", HZ, "--folded", str(ws.host(folded))])
    assert res.returncode == 0, res.describe()
    report = SampleReport(res.stdout)
    assert re.fullmatch(r"ready\nasyncio \d+\n", report.preamble), res.describe()
    stacks = parse_folded(ws.host(folded).read_text())
    check_folded_totals(stacks, report)
    path, m = sampling_workload(ws, "sample_asyncio"), markers("sample_asyncio")
    tail = (Frame("handler", path, m["handler-calls-process"]), Frame("process", path, m["process-calls-compute"]),
            Frame("compute", path, m["compute-hot"]))
    hot = [s for s in stacks if s.frames and s.frames[-1] == tail[-1]]
    n_hot = sum(s.count for s in hot)
    assert n_hot >= 20, "only %d samples on compute()'s hot line %d" % (n_hot, tail[-1].line)
    loop = (("run_forever", "asyncio/base_events.py"), ("_run_once", "asyncio/base_events.py"),
            ("_run", "asyncio/events.py"))

    def good(s):
        if s.frames[-3:] != tail:
            return False
        where = [next((i for i, f in enumerate(s.frames) if f.func == func and f.file.endswith("/" + file)), None)
                 for func, file in loop]
        return None not in where and where == sorted(where) and where[-1] < len(s.frames) - 3

    n_good = sum(s.count for s in hot if good(s))
    show = "\n".join("%5d %s" % (s.count, " ; ".join("%s (%s:%d)" % (f.func, os.path.basename(f.file), f.line)
                                                     for f in s.frames)) for s in hot[:6])
    assert n_good >= 0.9 * n_hot, "%d of %d samples on compute()'s hot line are under run_forever -> _run_once " \
        "-> _run -> handler -> process -> compute:\n%s" % (n_good, n_hot, show)


# ---------------------------------------------------------------- sampled vs exact


def own_shares(pairs, path):
    """{function name: share in % of the own time of the workload file's functions}."""
    mine = {name: value for (file, name), value in pairs if file == path}
    total = sum(mine.values())
    assert total > 0, "no own time in %s: %s" % (path, pairs)
    return {name: 100.0 * value / total for name, value in mine.items()}


@pytest.mark.interps("all", versions=("3.9", "3.12", "3.15"))
def test_cpu_shares_match_exact(prof, interp, ws):
    """The same CPU-bound workload, sampled (cpu mode) and traced exactly
    (the default backend: usdt on bullseye's 3.9 and sid's 3.15, evalframe
    on pyenv's): each function's share of the own time of the workload's
    functions agrees within 5 points wherever the exact share is above 10%
    (big, medium, small: about 50/30/20)."""
    path = sampling_workload(ws, "sample_cpu_share")
    d = ws.mkdir("sample-cpu-share")
    exact_out = d + "/exact.prof"
    exact = run([prof, "-o", str(ws.host(exact_out)), "--", *interp.cmd(path, "--seconds", SECONDS)])
    assert exact.returncode == 0, exact.describe()
    sampled = sample_launch(prof, interp, ws, "sample_cpu_share", ["--mode", "cpu", "--hz", HZ_RATIO])
    assert sampled.returncode == 0, sampled.describe()
    report = SampleReport(sampled.stdout)
    assert report.preamble == exact.stdout[:exact.stdout.index("Profile of PID")], (exact.stdout, sampled.stdout)
    entries = pstats_json(interp, ws, exact_out)["entries"]
    want = own_shares((((e[0], e[2]), e[5]) for e in entries), path)
    rows = []
    for row in report.rows:
        m = re.match(r"^(.*):(\d+)\((.*)\)$", row.label)
        assert m, "row label is not file:line(function): %r" % row.label
        rows.append(((m.group(1), m.group(3)), row.own))
    got = own_shares(rows, path)
    table = "\n".join("  %-10s exact %5.1f%%  sampled %5.1f%%" % (k, want.get(k, 0), got.get(k, 0))
                      for k in sorted(set(want) | set(got)))
    assert {"big", "medium", "small"} <= {k for k, v in want.items() if v > 10}, table
    bad = [k for k, v in want.items() if v > 10 and abs(got.get(k, 0) - v) > 5]
    assert not bad, "own-time shares differ by more than 5 points for %s:\n%s" % (bad, table)


# ---------------------------------------------------------------- nothing left behind


def bpf_fds(pid):
    """{"prog": ids, "link": ids, "map": ids} of the BPF objects pid holds
    file descriptors to (from /proc/PID/fdinfo)."""
    held = {"prog": set(), "link": set(), "map": set()}
    fdinfo = Path("/proc/%d/fdinfo" % pid)
    for entry in fdinfo.iterdir():
        try:
            text = entry.read_text()
        except OSError:
            continue
        for kind in held:
            m = re.search(r"^%s_id:\s*(\d+)$" % kind, text, re.M)
            if m:
                held[kind].add(int(m.group(1)))
    return held


def bpf_objects(kind):
    """{id: entry} of every BPF program or link (bpftool)."""
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True, check=True,
                         timeout=TIMEOUT).stdout
    return {e["id"]: e for e in json.loads(out or "[]")}


def samples_counted(held_maps):
    """The samples the sampler holding these map ids has counted so far (its
    per-CPU samples_counted array, read with bpftool)."""
    maps = {e["id"]: e for e in json.loads(subprocess.run(
        ["bpftool", "-j", "map", "show"], capture_output=True, text=True, check=True, timeout=TIMEOUT).stdout
        or "[]")}
    ids = [i for i in held_maps if maps.get(i, {}).get("name", "").startswith("samples_counte")]
    assert ids, "pybpf-prof holds no samples_counted map: %s" % sorted(
        maps.get(i, {}).get("name") for i in held_maps)
    dump = json.loads(subprocess.run(["bpftool", "-j", "map", "dump", "id", str(ids[0])], capture_output=True,
                                     text=True, check=True, timeout=TIMEOUT).stdout)
    return sum(int(v["value"]) for e in dump for v in e.get("formatted", {}).get("values", []))


def wait_first_sample(tracer, held_maps):
    """Returns once the sampler has counted a sample: a signal sent before
    the first one rightly ends the run with "No samples were recorded"."""
    deadline = time.monotonic() + TIMEOUT
    while not samples_counted(held_maps):
        assert time.monotonic() < deadline and tracer.alive(), (
            "no sample counted within %ss\n%s" % (TIMEOUT, tracer.describe()))
        tracer.wait_output(0.02)


ENDINGS = ("SIGINT", "SIGTERM", "duration", "target-exit", "SIGKILL")


@pytest.mark.interps("all", versions=("3.12", "3.15"))
@pytest.mark.parametrize("ending", ENDINGS)
def test_nothing_left_attached(prof, procs, interp, ws, ending):
    """-p in wall mode (the on-CPU perf events and the wall-clock ticks):
    while sampling, pybpf-prof holds programs named pys_* and links to
    them; once it has ended (SIGINT, SIGTERM, -d 1, the target's exit, or
    SIGKILL) none of those programs and links exist any more, and the
    target runs on to its own end."""
    if not shutil.which("bpftool"):
        pytest.skip("no bpftool")
    opts = ["--hz", HZ] + (["-d", "1"] if ending == "duration" else [])
    target, tracer = sample_attach(prof, procs, interp, ws, "sample_chain", opts, seconds="120")
    target.write("go\n")
    held = bpf_fds(tracer.pid)
    progs = bpf_objects("prog")
    ours = {i for i in held["prog"] if progs.get(i, {}).get("name", "").startswith("pys_")}
    assert ours, "pybpf-prof holds no program named pys_* while sampling: %s" % {
        i: progs.get(i, {}).get("name") for i in held["prog"]}
    links = {i for i, e in bpf_objects("link").items() if e.get("prog_id") in ours} | held["link"]
    assert links, "no link to pybpf-prof's programs %s while sampling" % sorted(ours)
    if ending != "SIGKILL":
        wait_first_sample(tracer, held["map"])
    if ending in ("SIGINT", "SIGTERM", "SIGKILL"):
        tracer.send_signal(getattr(signal, ending))
    elif ending == "target-exit":
        target.p.send_signal(signal.SIGUSR1)
    res = tracer.wait(what="pybpf-prof ended by %s" % ending)
    assert res.returncode == (-signal.SIGKILL if ending == "SIGKILL" else 0), res.describe()
    if ending != "SIGKILL":
        SampleReport(res.stdout)
    left = (ours & set(bpf_objects("prog"))) | (links & set(bpf_objects("link")))
    assert not left, "programs/links %s still exist after %s" % (sorted(left), ending)
    if ending != "target-exit":
        assert target.alive(), "the target died:\n" + target.describe()
        target.p.send_signal(signal.SIGUSR1)
    done = target.wait(what="the target")
    assert done.returncode == 0 and re.fullmatch(r"ready\nchain \d+\n", done.stdout) and not done.stderr, (
        done.describe())


# ---------------------------------------------------------------- bad input


USAGE_ERRORS = {
    "hz-zero": ["--sample", "--hz", "0", "-p", "1"],
    "hz-too-high": ["--sample", "--hz", "20000", "-p", "1"],
    "hz-not-a-number": ["--sample", "--hz", "fast", "-p", "1"],
    "bogus-mode": ["--sample", "--mode", "bogus", "-p", "1"],
    "lines-without-sample": ["--lines", "-p", "1"],
    "threads-without-sample": ["--threads", "-p", "1"],
    "folded-without-sample": ["--folded", "{tmp}/x.folded", "-p", "1"],
    "flamegraph-without-sample": ["--flamegraph", "{tmp}/x.svg", "-p", "1"],
    "speedscope-without-sample": ["--speedscope", "{tmp}/x.json", "-p", "1"],
    "sample-with-latency": ["--sample", "--latency", "-p", "1"],
    "sample-with-backend": ["--sample", "--backend", "evalframe", "-p", "1"],
    "sample-no-target": ["--sample"],
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_error(prof, case, tmp_path):
    """Exit 64, one line on stderr, nothing on stdout, no file written."""
    argv = [a.replace("{tmp}", str(tmp_path)) for a in USAGE_ERRORS[case]]
    res = run([prof, *argv])
    assert_error(res, 64, what=" (usage error) for %s" % " ".join(argv))
    assert list(tmp_path.iterdir()) == [], "files written: %s" % list(tmp_path.iterdir())


def test_not_python(prof, procs):
    """--sample -p on a process that is not Python: exit 1, one line, the
    process untouched."""
    target = procs(["sleep", "30"], stdin=False)
    res = run([prof, "--sample", "-p", str(target.pid)])
    assert_error(res, 1, r"python", " for a process that is not Python (sleep)")
    assert target.alive(), "pybpf-prof killed the process it refused"
