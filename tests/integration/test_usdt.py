"""pybpf-prof against real interpreters with USDT probes (needs root).

The reference for every count is cProfile on the same interpreter
(cprofile_ref.py); both profiles are read back by that interpreter's own
pstats (pstats_dump.py). For each function of the workload file, ncalls,
total and primitive, must be exactly equal.
"""

import collections
import difflib
import os
import re
import shlex
import signal
import subprocess
import time

import pytest

from conftest import (INTERP_SPECS, REPO, TIMEOUT, WORKLOADS_DIR, expected_status, is_root,
                      module_level_code, pstats_json, reference, run, threaded, unseen_closes)
from targetmem import EvalFrame

TRACING_RX = re.compile(r"^pybpf-prof: tracing PID (\d+)\b")
PROFILE_RX = re.compile(r"^Profile of PID (\d+)\b.*$", re.M)
TOTAL_RX = re.compile(r"^ +(\d+) function calls(?: \((\d+) primitive calls\))? in \d+\.\d{3} seconds$")
TITLE = "   ncalls  tottime  percall  cumtime  percall filename:lineno(function)"
# The table with the off-CPU column: pstats' own, plus "%8.3f " before the label.
TITLE_OFFCPU = "   ncalls  tottime  percall  cumtime  percall   offcpu filename:lineno(function)"
ROW_RX = re.compile(r"^ *(\d+(?:/\d+)?) ( *\d+\.\d{3}) (?: *\d+\.\d{3}| {8}) ( *\d+\.\d{3}) "
                    r"(?: *\d+\.\d{3}| {8}) (.+)$")
ROW_OFFCPU_RX = re.compile(r"^( *(\d+(?:/\d+)?) ( *\d+\.\d{3}) (?: *\d+\.\d{3}| {8}) ( *\d+\.\d{3}) "
                           r"(?: *\d+\.\d{3}| {8}) )( *\d+\.\d{3}) (.+)$")
ERROR_RX = re.compile(r"^pybpf-prof: .+: .+$")
LOSS_RX = re.compile(r"^  (\d+) (.+)$")

Row = collections.namedtuple("Row", "ncalls tottime cumtime offcpu func")


# ---------------------------------------------------------------- helpers


class Report:
    """pybpf-prof's stdout: [CMD's own output] "Profile of PID N ..." "" and
    then pstats' print_stats text (and pybpf-prof's notes after the table).
    The table may have an offcpu column (after the second percall): rows
    then carry its value, and pstats_lines are the text without it, as
    pstats prints it."""

    def __init__(self, stdout):
        m = PROFILE_RX.search(stdout)
        assert m, "no 'Profile of PID' line on stdout:\n" + stdout[-4000:]
        self.pid = int(m.group(1))
        self.header = m.group(0)
        self.preamble = stdout[:m.start()]
        lines = stdout[m.end():].split("\n")[1:]
        assert lines and lines[0] == "", (
            "the 'Profile of PID' line is not followed by a blank line:\n" + stdout[m.start():][:2000])
        total = next((i for i, line in enumerate(lines) if TOTAL_RX.match(line)), None)
        assert total is not None, "no 'N function calls ... in S seconds' line:\n" + stdout[m.start():][:3000]
        self.total_calls = int(TOTAL_RX.match(lines[total]).group(1))
        prim = TOTAL_RX.match(lines[total]).group(2)
        self.prim_calls = int(prim) if prim else self.total_calls
        self.rows, self.pstats_lines, self.has_offcpu = [], lines[total:], False
        end = total + 1
        title = next((i for i, line in enumerate(lines) if line in (TITLE, TITLE_OFFCPU)), None)
        if title is not None:
            self.has_offcpu = lines[title] == TITLE_OFFCPU
            end = lines.index("", title) if "" in lines[title:] else len(lines)
            plain = lines[total:title] + [TITLE]
            for line in lines[title + 1:end]:
                if self.has_offcpu:
                    row = ROW_OFFCPU_RX.match(line)
                    assert row, "cannot parse table row %r (with an offcpu column)" % line
                    self.rows.append(Row(row.group(2), float(row.group(3)), float(row.group(4)),
                                         float(row.group(5)), row.group(6)))
                    plain.append(row.group(1) + row.group(6))
                else:
                    row = ROW_RX.match(line)
                    assert row, "cannot parse table row %r" % line
                    self.rows.append(Row(row.group(1), float(row.group(2)), float(row.group(3)),
                                         None, row.group(4)))
                    plain.append(line)
            self.pstats_lines = plain
        self.text = stdout[m.start():]
        # "Events not counted exactly:" then "  N what" lines, up to a blank line.
        self.losses = {}
        if "Events not counted exactly:" in lines[end:]:
            i = lines.index("Events not counted exactly:", end) + 1
            while i < len(lines) and lines[i]:
                loss = LOSS_RX.match(lines[i])
                assert loss, "cannot parse %r under 'Events not counted exactly'" % lines[i]
                self.losses[loss.group(2)] = int(loss.group(1))
                i += 1

    def row(self, func_suffix):
        """The one row whose label ends with func_suffix (":12(name)")."""
        found = [r for r in self.rows if r.func.endswith(func_suffix)]
        assert len(found) == 1, "expected one row ending with %r, found %d:\n%s" % (
            func_suffix, len(found), self.text[:4000])
        return found[0]


def pstats_text_lines(text):
    """print_stats output from its 'function calls' line to the table's end."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if TOTAL_RX.match(line))
    if TITLE not in lines:
        return lines[start:start + 1]
    title = lines.index(TITLE)
    end = lines.index("", title) if "" in lines[title:] else len(lines)
    return lines[start:end]


def version_rx(version):
    return r"(?<![\d.])%s(?!\d)" % re.escape(version)


def check_tracing_line(stderr, interp, pid, only=True, backend="usdt"):
    """The one 'pybpf-prof: tracing PID <pid>' line naming the full version,
    the binary (or libpython) and the backend."""
    lines = stderr.splitlines()
    tracing = [line for line in lines if TRACING_RX.match(line)]
    assert len(tracing) == 1, "expected one 'pybpf-prof: tracing PID' line on stderr, got:\n" + stderr
    line = tracing[0]
    assert int(TRACING_RX.match(line).group(1)) == pid, "tracing line names PID %s, expected %d" % (
        line, pid)
    version = interp.micro or interp.version
    assert re.search(r"\(CPython %s, " % version_rx(version), line), (
        "tracing line does not name CPython %s: %s" % (version, line))
    assert "python%s" % interp.version in line, "tracing line does not name the binary: " + line
    assert re.search(r", backend %s\)" % re.escape(backend), line), (
        "tracing line does not name the backend (%s): %s" % (backend, line))
    if only:
        assert lines == tracing, "stderr has more than the tracing line:\n" + stderr


def assert_error(res, status, must_match=None, what=""):
    """Exit status, nothing on stdout, exactly one 'pybpf-prof: what: why' line on stderr."""
    context = "\n" + res.describe()
    assert res.returncode == status, "expected exit status %d%s%s" % (status, what, context)
    assert res.stdout == "", "expected nothing on stdout" + context
    assert res.stderr.count("\n") == 1 and res.stderr.endswith("\n"), (
        "expected exactly one line on stderr" + context)
    assert ERROR_RX.match(res.stderr.rstrip("\n")), (
        "stderr is not 'pybpf-prof: <what failed>: <why>'" + context)
    if must_match:
        assert re.search(must_match, res.stderr, re.I), (
            "the message does not match /%s/%s" % (must_match, context))


def fmt_calls(nc_cc):
    nc, cc = nc_cc
    return str(nc) if nc == cc else "%d/%d" % (nc, cc)


def compare_counts(ours, ref, wl_path, workload, launch, version, may_undercount=()):
    """ncalls (total and primitive) of every function of the workload file.
    Functions named in may_undercount (a known gap of a backend) may have
    fewer calls than expected, never more: returns those that do,
    {(line, name): (ours, expected)}."""

    def pick(data):
        return {(e[1], e[2]): (e[3], e[4]) for e in data["entries"] if e[0] == wl_path}

    o, r = pick(ours), pick(ref)
    alternatives = {key: [calls] for key, calls in r.items()}
    # Closes of suspended generators that only cProfile's presence makes
    # run (see tests/workloads/generators_abandoned.py).
    vt = tuple(map(int, version.split(".")))
    for key, calls in r.items():
        unseen = unseen_closes(workload).get(key[1], 0)
        if unseen and vt >= (3, 13):
            seen_by_usdt = (calls[0] - unseen, calls[1] - unseen)
            alternatives[key] = [seen_by_usdt] if vt >= (3, 14) else [calls, seen_by_usdt]
    assert any(name == "main" and calls == (1, 1) for (line, name), calls in r.items()), (
        "the cProfile reference has no main() called once for %s: %r" % (wl_path, r))
    extra_ok = module_level_code(workload) if launch else set()
    problems, under = [], {}

    def fewer(key, calls):
        return key[1] in may_undercount and any(
            calls[0] <= want[0] and calls[1] <= want[1] for want in alternatives[key])

    for key in sorted(r.keys() - o.keys()):
        if fewer(key, (0, 0)):
            under[key] = ((0, 0), r[key])
            continue
        problems.append("  missing from pybpf-prof: %d(%s)  cProfile ncalls %s" % (
            key[0], key[1], fmt_calls(r[key])))
    for key in sorted(o.keys() - r.keys()):
        line, name = key
        if launch and (name == "<module>" or (name, line) in extra_ok) and o[key] == (1, 1):
            continue
        problems.append("  only in pybpf-prof: %d(%s)  ncalls %s" % (line, name, fmt_calls(o[key])))
    for key in sorted(o.keys() & r.keys()):
        if o[key] not in alternatives[key] and fewer(key, o[key]):
            under[key] = (o[key], r[key])
        elif o[key] not in alternatives[key]:
            expect = " or ".join(fmt_calls(c) for c in alternatives[key])
            note = "" if alternatives[key] == [r[key]] else " (cProfile %s less %d unseen closes)" % (
                fmt_calls(r[key]), unseen_closes(workload)[key[1]])
            problems.append("  %d(%s): pybpf-prof ncalls %s, expected %s%s" % (
                key[0], key[1], fmt_calls(o[key]), expect, note))
    assert not problems, "call counts of %s differ from cProfile's (%d of %d functions):\n%s" % (
        wl_path, len(problems), len(r), "\n".join(problems))
    times = ["  %d(%s): tottime %.9f > cumtime %.9f" % (e[1], e[2], e[5], e[6])
             for e in ours["entries"] if e[0] == wl_path and e[5] > e[6] + 1e-9]
    negative = ["  %s:%d(%s): %r" % tuple(e[:3] + [e[3:]]) for e in ours["entries"]
                if min(e[5], e[6]) < 0 or e[4] > e[3] or e[4] < 0]
    assert not times, "pybpf-prof's own time exceeds its cumulative time:\n" + "\n".join(times)
    assert not negative, "impossible figures (cc > nc or negative) in pybpf-prof's file:\n" + "\n".join(
        negative)
    return under


def compare_callers(ours, ref, wl_path, workload, version, skip_names=()):
    """Per (caller, callee) ncalls, total and primitive, for the workload's
    functions called by the workload's functions (pstats' callers table).
    The reference is cProfile with builtins=False, whose caller for a call
    made through a C function (repr(), next(), map()) is the Python function
    below it, as for pybpf-prof, on <=3.11 only: cProfile 3.12+ (on
    sys.monitoring) records no caller for such calls, so there is nothing to
    compare with. The threaded workload's reference runs the thread bodies
    from main(), which the real threads do not. Functions named in
    skip_names (a backend's known gap) are left out, as callees and as
    callers: what they call shows up under their caller."""
    if tuple(map(int, version.split("."))) >= (3, 12) or threaded(workload):
        return
    in_ref = {lab for lab in ref["stats"] if lab.startswith(wl_path + ":")}
    unseen = unseen_closes(workload)

    def name(label):
        return re.search(r"\((.*)\)$", label).group(1)

    skipped = set(unseen) | set(skip_names)
    # callees of a skipped function: their caller differs when it is not seen
    skipped_callees = {callee for callee, callers in ref["callers"].items()
                       if any(name(c) in skip_names for c in callers)}

    def pick(data):
        return {callee: {c: tuple(v) for c, v in callers.items() if c in in_ref}
                for callee, callers in data["callers"].items()
                if callee in in_ref and name(callee) not in skipped and callee not in skipped_callees}

    o, r = pick(ours), pick(ref)
    problems = ["  %s: pybpf-prof %s, cProfile %s" % (callee, o.get(callee), r[callee])
                for callee in sorted(r) if o.get(callee, {}) != r[callee]]
    assert not problems, "callers of %s's functions differ from cProfile's:\n%s" % (
        wl_path, "\n".join(problems))


# ---- off-CPU time and --latency (tests/workloads/offcpu.py)

OFFCPU_CALLS, OFFCPU_SECONDS = 50, 0.002  # as in offcpu.py: 50 calls of 2 ms each
UNIT = {"ns": 1e-9, "us": 1e-6, "\u00b5s": 1e-6, "ms": 1e-3, "s": 1.0}
DURATION = r"(?:>= )?[\d.]+ (?:ns|us|\u00b5s|ms|s)"
LATENCY_TITLE_RX = re.compile(r"^  (?P<func>\S.*?)  (?P<calls>\d+) calls?, p50 (?P<p50>%s), "
                              r"p99 (?P<p99>%s)$" % (DURATION, DURATION))
LATENCY_BUCKET_RX = re.compile(r"^ +(?P<lo>[\d.]+ \S+) -> (?P<hi>[\d.]+ \S+|longer) +: +(?P<count>\d+) "
                               r"\|[* ]*\|$")


def seconds(text):
    """'>= 2.13 ms' -> (0.00213, True): value and whether it is only a lower bound."""
    bound = text.startswith(">= ")
    value, unit = text[3 if bound else 0:].split()
    return float(value) * UNIT[unit], bound


def parse_latency(stdout):
    """The "Latency per call" section: {func: {"calls", "p50", "p99", "buckets"}},
    p50/p99 as '(seconds, lower-bound-only)', buckets as [count, ...]."""
    lines = stdout.split("\n")
    start = next((i for i, line in enumerate(lines) if line.startswith("Latency per call")), None)
    assert start is not None, "no 'Latency per call' section with --latency:\n" + stdout[-5000:]
    found, current = {}, None
    for line in lines[start + 1:]:
        if line and not line.startswith(" "):
            break  # the next section
        title = LATENCY_TITLE_RX.match(line)
        if title:
            current = found.setdefault(title.group("func"), {
                "calls": int(title.group("calls")), "p50": seconds(title.group("p50")),
                "p99": seconds(title.group("p99")), "buckets": []})
            continue
        bucket = LATENCY_BUCKET_RX.match(line)
        if bucket:
            assert current is not None, "latency bucket row before any title: %r" % line
            current["buckets"].append(int(bucket.group("count")))
            continue
        assert not line.strip() or "distribution" in line, (
            "unexpected line in the latency section: %r\n%s" % (line, "\n".join(lines[start:])))
    return found


# --latency prints a histogram for each of the first --limit rows: all of them.
LATENCY_OPTS = ("--latency", "--limit", "1000000")


def check_latency(stdout, ours, wl_path, offcpu=True, untimed_inits=None):
    """Every function called has a histogram whose counts sum to its ncalls
    (recursive calls included), and (offcpu.py) the 2 ms functions have
    their p50 in [1, 8) ms. untimed_inits: calls of functions named __init__
    counted with no time (the eval-frame backend on 3.13), so in no
    histogram: the __init__ histograms then fall short of their ncalls by
    exactly that many calls in all."""
    hists = parse_latency(stdout)
    problems, short = [], 0
    for func, st in sorted(ours["stats"].items()):
        h = hists.get(func)
        counted = sum(h["buckets"]) if h else 0
        if h and counted != h["calls"]:
            problems.append("  %s: buckets sum to %d, title says %d calls" % (func, counted, h["calls"]))
        if untimed_inits is not None and func.endswith("(__init__)") and counted <= st[0]:
            short += st[0] - counted
        elif st[0] and h is None:
            problems.append("  %s: ncalls %d, no histogram" % (func, st[0]))
        elif h and counted != st[0]:
            problems.append("  %s: buckets sum to %d, ncalls is %d" % (func, counted, st[0]))
    problems += ["  %s: has a histogram but is not in the -o file" % func
                 for func in sorted(set(hists) - set(ours["stats"]))]
    if untimed_inits is not None and short != untimed_inits:
        problems.append("  __init__ histograms are %d calls short of ncalls, %d were counted with no "
                        "time" % (short, untimed_inits))
    for name in ("sleeper", "spinlock") if offcpu else ():
        func = next((f for f in hists if f.startswith(wl_path + ":") and f.endswith("(%s)" % name)), None)
        if func is None:
            problems.append("  %s:?(%s): no histogram" % (wl_path, name))
            continue
        p50, bound = hists[func]["p50"]
        if bound or not 1e-3 <= p50 < 8e-3:
            problems.append("  %s: p50 %s%.6f s for calls of %g s, expected in [1 ms, 8 ms)" % (
                func, ">= " if bound else "", p50, OFFCPU_SECONDS))
    assert not problems, "latency histograms (%d of %d functions):\n%s\n%s" % (
        len(problems), len(ours["stats"]), "\n".join(problems[:40]), stdout[-6000:])


def check_offcpu(report, ours, wl_path):
    """sleeper() sleeps 50 x 2 ms and spinlock() burns 50 x 2 ms of its
    thread's CPU time: sleeper's own time is nearly all off the CPU (what is
    on it is a few microseconds per call), and spinlock's on-CPU part
    (tottime - offcpu) is its 100 ms. Its off-CPU part is the time it was
    preempted: about nothing on an idle machine, and real off-CPU time on a
    busy one, which is why spinlock is held to its on-CPU time and not to a
    share. No function is off the CPU for longer than its own time."""
    assert report.has_offcpu, "the table has no offcpu column:\n" + report.text[:3000]
    too_long = ["  %s: offcpu %.3f > tottime %.3f" % (r.func, r.offcpu, r.tottime)
                for r in report.rows if r.offcpu > r.tottime + 0.0015]
    assert not too_long, "off-CPU time longer than own time:\n" + "\n".join(too_long)
    wall = OFFCPU_CALLS * OFFCPU_SECONDS
    figures = {}
    for name in ("sleeper", "spinlock"):
        func = next(f for f in ours["stats"] if f.startswith(wl_path + ":") and f.endswith("(%s)" % name))
        nc, cc, tt, ct = ours["stats"][func]
        assert nc == OFFCPU_CALLS, "%s: ncalls %d, expected %d" % (func, nc, OFFCPU_CALLS)
        assert tt >= 0.95 * wall, "%s: tottime %.6f for %d calls of %g s" % (func, tt, nc, OFFCPU_SECONDS)
        figures[name] = (report.row(func[len(wl_path):]).offcpu, tt)
    (s_off, s_tt), (b_off, b_tt) = figures["sleeper"], figures["spinlock"]
    assert s_off >= 0.9 * wall and s_tt - s_off <= 0.2 * wall, (
        "sleeper: %.3f s of its %.3f s own time off the CPU, expected at least %.3f s and all but "
        "%.3f s\n%s" % (s_off, s_tt, 0.9 * wall, 0.2 * wall, report.text[:3000]))
    assert 0.9 * wall <= b_tt - b_off <= 1.5 * wall, (
        "spinlock: %.3f s of its %.3f s own time off the CPU, so %.3f s on it; it burned %.3f s "
        "of CPU\n%s" % (b_off, b_tt, b_tt - b_off, wall, report.text[:3000]))


def check_totals(report, ours):
    assert (report.total_calls, report.prim_calls) == (ours["total_calls"], ours["prim_calls"]), (
        "printed totals %d (%d primitive) differ from the -o file's %d (%d primitive)" % (
            report.total_calls, report.prim_calls, ours["total_calls"], ours["prim_calls"]))


def launch(prof, interp, ws, workload, *opts, argv=None):
    """pybpf-prof [opts] -o DIR/ours.prof -- <python> <workload>; (Result, ours.prof)."""
    d = ws.mkdir("launch-" + workload)
    out = d + "/ours.prof"
    cmd = argv if argv is not None else interp.cmd(ws.workload(workload))
    res = run([prof, "-o", str(ws.host(out)), *opts, "--", *cmd])
    return res, out


_attach_expected = {}


def untraced_attach_output(interp, ws, workload, rounds):
    """What attach_target.py prints, and its status, when nothing traces it."""
    key = (interp.id, workload, rounds)
    if key not in _attach_expected:
        res = run(interp.cmd(ws.script("attach_target.py"), ws.workload(workload), rounds),
                  input="go\n" * rounds)
        assert res.returncode == expected_status(workload) and not res.stderr, res.describe()
        _attach_expected[key] = res
    return _attach_expected[key]


def start_target(procs, interp, ws, workload, rounds=1):
    """attach_target.py, blocked on stdin after printing 'ready'."""
    target = procs(interp.cmd(ws.script("attach_target.py"), ws.workload(workload), rounds))
    target.wait_line("stdout", r"ready$", what="the target's 'ready'")
    return target


def attach(prof, procs, target, *opts):
    """pybpf-prof -p PID [opts], returned once its probes are live."""
    tracer = procs([prof, "-p", str(target.pid), *opts], stdin=False)
    tracer.wait_line("stderr", TRACING_RX.pattern, what="pybpf-prof's 'tracing PID' line")
    return tracer


def finish_target(target, expected, rounds=1):
    """Let the target run its remaining rounds; its output must be intact."""
    target.write("go\n" * rounds)
    res = target.wait(what="the target")
    assert res.returncode == expected.returncode, "target exit status %d, untraced %d\n%s" % (
        res.returncode, expected.returncode, res.describe())
    assert res.stdout == expected.stdout, "target output differs from an untraced run:\n" + "\n".join(
        difflib.unified_diff(expected.stdout.splitlines(), res.stdout.splitlines(), "untraced",
                             "after pybpf-prof", lineterm=""))
    assert res.stderr == "", "target wrote on stderr:\n" + res.stderr


# ---------------------------------------------------------------- launch mode


def test_counts_match_cprofile(prof, interp, ws, workload):
    """-- CMD: per-function ncalls of the workload file equal cProfile's."""
    ref, ref_stdout, ref_status = reference(interp, ws, workload)
    res, out = launch(prof, interp, ws, workload)
    assert res.returncode == expected_status(workload), (
        "exit status %d, CMD's is %d\n%s" % (res.returncode, expected_status(workload), res.describe()))
    report = Report(res.stdout)
    assert report.preamble == ref_stdout, (
        "the workload's output (before the report) differs from its untraced output:\n"
        + res.describe())
    check_tracing_line(res.stderr, interp, report.pid)
    ours = pstats_json(interp, ws, out)
    compare_counts(ours, ref, ws.workload(workload), workload, True, interp.version)
    compare_callers(ours, ref, ws.workload(workload), workload, interp.version)
    check_totals(report, ours)


@pytest.mark.parametrize("status", [0, 42])
def test_exit_status_passed_through(prof, interp, ws, status):
    res, out = launch(prof, interp, ws, "inline",
                      argv=interp.cmd("-c", "import sys\ndef f(): sys.exit(%d)\nf()" % status))
    assert res.returncode == status, "CMD exited %d, pybpf-prof %d\n%s" % (
        status, res.returncode, res.describe())
    report = Report(res.stdout)
    check_tracing_line(res.stderr, interp, report.pid)
    ours = pstats_json(interp, ws, out)
    assert ours["stats"].get("<string>:2(f)", [0])[0] == 1, (
        "f() of the -c program is not in the profile once: %r" % ours["stats"].get("<string>:2(f)"))


def test_duration_in_launch_mode(prof, interp, ws):
    """-d stops tracing while CMD runs on: the calls active then are closed
    (module and one f), and no call or return straddling the detach shows up
    as a phantom recursion or an unpaired return; CMD then ends normally."""
    code = "import time\ndef f():\n    time.sleep(0.01)\nfor i in range(150):\n    f()\n"
    res, out = launch(prof, interp, ws, "duration", "-d", "0.5", argv=interp.cmd("-c", code))
    assert res.returncode == 0, res.describe()
    ours = pstats_json(interp, ws, out)
    nc, cc = ours["stats"]["<string>:2(f)"][:2]
    assert nc == cc and 10 <= nc < 150, "f() counted %d/%d in 0.5 s of 1.5 s\n%s" % (
        nc, cc, res.describe())
    assert ours["stats"]["<string>:1(<module>)"][:2] == [1, 1], res.describe()
    assert "calls were still active at detach" in res.stdout, res.describe()
    assert "had no traced call" not in res.stdout, res.describe()


SORT_KEYS = [None, "calls", "tottime", "pcalls", "filename", "name", "line", "nfl", "stdname"]


@pytest.mark.parametrize("key", SORT_KEYS, ids=[k or "default" for k in SORT_KEYS])
def test_sort_order(prof, interp, ws, key):
    """-s KEY: rows in pstats.Stats(file).sort_stats(KEY) order, and the text
    from 'function calls' to the table's end is what pstats prints."""
    res, out = launch(prof, interp, ws, "methods", *(["-s", key] if key else []))
    assert res.returncode == 0, res.describe()
    report = Report(res.stdout)
    pkey = key or "cumulative"
    ours = pstats_json(interp, ws, out, pkey)
    want = ours["orders"][pkey]
    got = [row.func for row in report.rows]
    assert got, "no table rows in the report:\n" + res.stdout[-3000:]
    if got != want["rows"]:
        diff = "\n".join(difflib.unified_diff(want["rows"], got, "pstats sort_stats(%r)" % pkey,
                                              "pybpf-prof -s %s" % key, lineterm="", n=2))
        pytest.fail("row order differs from pstats' for %r:\n%s" % (pkey, diff[:8000]))
    assert ("   Ordered by: " + want["title"]) in report.pstats_lines, (
        "no '   Ordered by: %s' line:\n%s" % (want["title"], "\n".join(report.pstats_lines[:6])))
    expect = pstats_text_lines(want["text"])
    if report.pstats_lines != expect:
        diff = "\n".join(difflib.unified_diff(expect, report.pstats_lines, "pstats print_stats()",
                                              "pybpf-prof", lineterm="", n=1))
        pytest.fail("report text differs from pstats' print_stats of the -o file:\n" + diff[:8000])


def test_limit(prof, interp, ws):
    """--limit N: the first N rows of the sorted table, as print_stats(N)."""
    res, out = launch(prof, interp, ws, "methods", "-s", "calls", "--limit", "5")
    assert res.returncode == 0, res.describe()
    report = Report(res.stdout)
    ours = pstats_json(interp, ws, out, "calls@5")
    want = ours["orders"]["calls@5"]
    assert len(want["rows"]) > 5, "the profile has too few functions for the test"
    got = [row.func for row in report.rows]
    assert got == want["rows"][:5], "rows %r, expected %r" % (got, want["rows"][:5])
    expect = pstats_text_lines(want["text"])
    assert report.pstats_lines == expect, "report text differs from pstats' print_stats(5):\n" + "\n".join(
        difflib.unified_diff(expect, report.pstats_lines, "pstats", "pybpf-prof", lineterm=""))


def test_offcpu(prof, interp, ws):
    """The offcpu column: sleeper() (time.sleep) is off the CPU for most of
    its own time, spinlock() (a busy loop) for a small part of it."""
    res, out = launch(prof, interp, ws, "offcpu")
    assert res.returncode == 0, res.describe()
    check_offcpu(Report(res.stdout), pstats_json(interp, ws, out), ws.workload("offcpu"))


def test_sort_offcpu(prof, interp, ws):
    """-s offcpu: rows by off-CPU time, largest first (sleeper() on top);
    the same rows as pstats' table."""
    res, out = launch(prof, interp, ws, "offcpu", "-s", "offcpu")
    assert res.returncode == 0, res.describe()
    report = Report(res.stdout)
    assert report.has_offcpu, "the table has no offcpu column:\n" + res.stdout[:3000]
    values = [row.offcpu for row in report.rows]
    assert values == sorted(values, reverse=True), "rows not by offcpu, largest first:\n" + report.text[:4000]
    assert report.rows[0].func.endswith("(sleeper)"), "sleeper() is not first:\n" + report.text[:4000]
    assert any(line.startswith("   Ordered by: ") for line in report.pstats_lines), report.text[:2000]
    want = pstats_json(interp, ws, out, "cumulative")["orders"]["cumulative"]["rows"]
    assert sorted(row.func for row in report.rows) == sorted(want), report.text[:4000]


def test_latency(prof, interp, ws):
    """--latency: histogram counts sum to ncalls; 2 ms calls have p50 in [1, 8) ms."""
    res, out = launch(prof, interp, ws, "offcpu", *LATENCY_OPTS)
    assert res.returncode == 0, res.describe()
    check_latency(res.stdout, pstats_json(interp, ws, out), ws.workload("offcpu"))


# ---------------------------------------------------------------- -p mode


def test_attach_counts_match_cprofile(prof, interp, ws, procs, workload):
    """-p PID: attach while the target waits on stdin, let it run main();
    pybpf-prof exits 0 when the target exits, counts equal cProfile's."""
    ref = reference(interp, ws, workload)[0]
    expected = untraced_attach_output(interp, ws, workload, 1)
    out = ws.mkdir("attach-" + workload) + "/ours.prof"
    target = start_target(procs, interp, ws, workload)
    tracer = attach(prof, procs, target, "-o", str(ws.host(out)))
    finish_target(target, expected)
    res = tracer.wait(what="pybpf-prof after the target exited")
    assert res.returncode == 0, "pybpf-prof did not exit 0 on target exit\n" + res.describe()
    report = Report(res.stdout)
    assert report.pid == target.pid and report.preamble == "", res.describe()
    check_tracing_line(res.stderr, interp, target.pid)
    ours = pstats_json(interp, ws, out)
    compare_counts(ours, ref, ws.workload(workload), workload, False, interp.version)
    compare_callers(ours, ref, ws.workload(workload), workload, interp.version)
    check_totals(report, ours)


def test_duration(prof, interp, ws, procs):
    """-p PID -d 2 against a target blocked on stdin: stops after 2 s, exit 0,
    report printed; the target is unharmed."""
    expected = untraced_attach_output(interp, ws, "recursion", 1)
    target = start_target(procs, interp, ws, "recursion")
    spawned = time.monotonic()
    tracer = attach(prof, procs, target, "-d", "2")
    live = time.monotonic()
    res = tracer.wait(timeout=2 + TIMEOUT, what="pybpf-prof -d 2")
    done = time.monotonic()
    assert res.returncode == 0, res.describe()
    assert done - spawned >= 1.9, "pybpf-prof -d 2 stopped after %.2f s\n%s" % (done - spawned,
                                                                                 res.describe())
    assert done - live <= 2 + 10, "pybpf-prof -d 2 ran %.2f s after its probes were live" % (done - live)
    report = Report(res.stdout)
    assert report.pid == target.pid and report.preamble == "", res.describe()
    check_tracing_line(res.stderr, interp, target.pid)
    assert target.alive(), "the target died:\n" + target.describe()
    finish_target(target, expected)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_tracing(prof, interp, ws, procs, sig):
    """SIGINT/SIGTERM to pybpf-prof -p: exit 0 with a report of what ran so
    far (one main(), counts equal cProfile's); the target keeps running."""
    ref = reference(interp, ws, "recursion")[0]
    expected = untraced_attach_output(interp, ws, "recursion", 2)
    out = ws.mkdir("signal-%d" % sig) + "/ours.prof"
    target = start_target(procs, interp, ws, "recursion", rounds=2)
    tracer = attach(prof, procs, target, "-o", str(ws.host(out)))
    target.write("go\n")
    target.wait_line("stdout", r"round 0 done$", what="the target's first round")
    tracer.send_signal(sig)
    res = tracer.wait(what="pybpf-prof after %s" % sig.name)
    assert res.returncode == 0, "pybpf-prof did not exit 0 on %s\n%s" % (sig.name, res.describe())
    report = Report(res.stdout)
    assert report.pid == target.pid and report.preamble == "", res.describe()
    check_tracing_line(res.stderr, interp, target.pid)
    ours = pstats_json(interp, ws, out)
    compare_counts(ours, ref, ws.workload("recursion"), "recursion", False, interp.version)
    assert target.alive(), "the target died with pybpf-prof:\n" + target.describe()
    # The first round's output is already in; the second runs untraced now.
    finish_target(target, expected, rounds=1)


# ---------------------------------------------------------------- bad input


def test_no_such_pid(prof):
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert not os.path.exists("/proc/%d" % gone.pid), "PID %d was reused" % gone.pid
    assert_error(run([prof, "-p", str(gone.pid)]), 1)


def test_not_python(prof, procs):
    target = procs(["sleep", "100"], stdin=False)
    res = run([prof, "-p", str(target.pid)])
    assert_error(res, 1, r"python", " for a process that is not Python (sleep)")
    assert target.alive(), "pybpf-prof killed the process it refused"


@pytest.mark.interps("nousdt")
def test_usdt_refused_attach(prof, interp, procs):
    """--backend usdt -p on an interpreter whose probes do not fire fully
    (3.11: the entry probe is dead; 3.12-3.14: no probes; pyenv: built
    without dtrace): exit 1 with the reason, naming the version; the target
    is left as it was (no PEP 523 hook set) and runs on."""
    target = procs(interp.cmd("-c", "import sys; print('ready', flush=True); sys.stdin.readline()"))
    target.wait_line("stdout", r"ready$", what="the target's 'ready'")
    hook = EvalFrame(target.pid, interp.version) if interp.needs_hook else None
    res = run([prof, "--backend", "usdt", "-p", str(target.pid)])
    assert_error(res, 1, version_rx(interp.version), " for Python %s (%s)" % (
        interp.micro, interp.python))
    assert target.alive(), "pybpf-prof killed the process it refused"
    if hook:
        assert hook.value() == 0, "eval_frame is %s after a refusal" % hook.describe(hook.value())
    target.write("\n")
    assert target.wait().returncode == 0


@pytest.mark.interps("nousdt")
def test_usdt_refused_launch(prof, interp):
    """--backend usdt -- CMD on such an interpreter: exit 1 with the reason,
    and CMD does not run."""
    res = run([prof, "--backend", "usdt", "--", *interp.cmd("-c", "print('the command ran')")])
    assert_error(res, 1, version_rx(interp.version), " for Python %s (%s)" % (
        interp.micro, interp.python))


USAGE_ERRORS = {
    "unknown-long-option": ["--no-such-option", "-p", "1"],
    "unknown-short-option": ["-Z", "-p", "1"],
    "pid-and-command": ["-p", "1", "--", "/bin/true"],
    "pid-not-a-number": ["-p", "abc"],
    "pid-trailing-junk": ["-p", "12x"],
    "pid-missing-argument": ["-p"],
    "negative-duration": ["--duration", "-1", "-p", "1"],
    "duration-not-a-number": ["-d", "soon", "-p", "1"],
    "bogus-sort-key": ["-s", "bogus", "-p", "1"],
    "limit-not-a-number": ["--limit", "many", "-p", "1"],
    "bogus-backend": ["--backend", "bogus", "-p", "1"],
    "no-target": [],
    "empty-command": ["--"],
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_error(prof, case):
    assert_error(run([prof, *USAGE_ERRORS[case]]), 64, what=" (usage error) for %s" % shlex.join(
        USAGE_ERRORS[case]))


def _as_nobody(argv):
    if not is_root():
        return list(argv)
    return ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]


def _py39_or_skip():
    spec = INTERP_SPECS[0]
    if spec.why:
        pytest.skip("py3.9: " + spec.why)
    return spec.python


@pytest.mark.nonroot
def test_not_root_launch(prof):
    """Without root: exit 1 naming root/capabilities, before running CMD."""
    python = _py39_or_skip()
    res = run(_as_nobody([prof, "--", python, str(WORKLOADS_DIR / "recursion.py")]))
    assert_error(res, 1, r"root|capabilit|CAP_", " without root")


@pytest.mark.nonroot
def test_not_root_attach(prof, procs):
    python = _py39_or_skip()
    target = procs(_as_nobody([python, str(REPO / "tests/integration/attach_target.py"),
                               str(WORKLOADS_DIR / "recursion.py")]))
    target.wait_line("stdout", r"ready$", what="the target's 'ready'")
    res = run(_as_nobody([prof, "-p", str(target.pid)]))
    assert_error(res, 1, r"root|capabilit|CAP_", " without root")
    target.write("go\n")
    assert target.wait().returncode == 0
