"""The eval-frame backend against real interpreters (needs root).

--backend evalframe on every interpreter of the matrix (conftest.py: pyenv
3.9-3.13, Debian's 3.11, bullseye's 3.9, sid's 3.13-3.15): a uprobe and a
uretprobe on _PyEval_EvalFrameDefault, with the PEP 523 hook set on 3.11+.
As for the USDT backend, cProfile(builtins=False) on the same interpreter
is the reference for every count, both profiles are read back by that
interpreter's own pstats, and the printed table is pstats' print_stats text
(once the offcpu column is taken out).

Every workload is checked in launch mode and in -p mode, from two
pybpf-prof runs per interpreter that run them all (run_workloads.py): one
run costs about a second of BPF loading, so a run per workload would make
this file take several minutes; each workload still has its own tests,
test_launch_counts[...] and test_attach_counts[...], which read its part of
the shared run, and test_launch_all/test_attach_all check the runs
themselves.

Known gaps, asserted as such (Gap, INIT_GAP_313): CPython 3.11.0-3.11.3
push a Python __getitem__'s frame inline without looking at the hook, 3.13
does so for __init__ in a specialized `C(...)`; 3.12+ cProfile records no
caller for a Python call made through a C function, so callers are compared
on <=3.11 only (compare_callers).
"""

import difflib
import re
import signal

import pytest

from conftest import TARGET_ENV, WORKLOADS, Proc, pstats_json, reference, run
from targetmem import EvalFrame
from test_usdt import (LATENCY_OPTS, TRACING_RX, Report, assert_error, attach, check_latency, check_offcpu, check_totals,
                       check_tracing_line, compare_callers, compare_counts, launch, pstats_text_lines,
                       start_target, untraced_attach_output)

INTERPS = "all"
BACKEND = ("--backend", "evalframe")

# CPython 3.13's __init__ calls through CALL_ALLOC_AND_ENTER_INIT never reach
# _PyEval_EvalFrameDefault. What pybpf-prof does about them:
#   "untimed": they are counted (exact ncalls) with no time, and a line under
#       "Events not counted exactly" matching INIT_GAP_NOTE_RX says how many
#       (init_calls.py makes some in every run);
#   "undercounted": they are missed, and the report says so: __init__ counts
#       may be lower than cProfile's (never higher), init_calls.py must show
#       the gap, and such a line must be there whenever a count is lower;
#   "exact": they are counted and timed like every other call.
INIT_GAP_313 = "untimed"
INIT_GAP_NOTE_RX = re.compile(r"__init__")

# What may be listed under "Events not counted exactly" after a launch-mode
# run (nothing straddles an attach or a detach there): the calls nested
# deeper than the kernel's 64 pending return probes, counted exactly (and on
# 3.13 the __init__ line above).
LAUNCH_LOSSES_OK = re.compile(r"\b64\b")
NORET_RX = re.compile(r"\b64\b.*return probe|return probe.*\b64\b")


class Gap:
    """A known undercount: calls of the functions named `names` that the
    eval-frame hook cannot see. It must show in workload `shows_in`, and be
    said on stderr (a line matching stderr_rx) or in the report (a line
    under "Events not counted exactly" matching loss_rx)."""

    def __init__(self, names, shows_in, stderr_rx=None, loss_rx=None):
        self.names, self.shows_in = set(names), shows_in
        self.stderr_rx = re.compile(stderr_rx) if stderr_rx else None
        self.loss_rx = loss_rx


def undercount_gaps(interp):
    micro = tuple(int(x) for x in interp.micro.split("."))
    gaps = []
    if (3, 11) <= micro < (3, 11, 4):
        # BINARY_SUBSCR_GETITEM pushes __getitem__'s frame without checking
        # for a PEP 523 hook before 3.11.4 (Debian bookworm has 3.11.2).
        gaps.append(Gap({"__getitem__"}, "specialized",
                        stderr_rx=r"^pybpf-prof: known gap: .*__getitem__.*undercounted"))
    if interp.version == "3.13" and INIT_GAP_313 == "undercounted":
        gaps.append(Gap({"__init__"}, "init_calls", loss_rx=INIT_GAP_NOTE_RX))
    return gaps


def init_untimed(interp):
    return interp.version == "3.13" and INIT_GAP_313 == "untimed"


HEADER_RX = re.compile(r"^Profile of PID (\d+): CPython (\S+) \((.+)\), backend (\S+), \d+\.\d{3} s traced$")


# ---------------------------------------------------------------- helpers


def check_stderr(stderr, interp, pid, backend="evalframe"):
    """The tracing line, and one line per known gap said on stderr; nothing else."""
    check_tracing_line(stderr, interp, pid, only=False, backend=backend)
    others = [line for line in stderr.splitlines() if not TRACING_RX.match(line)]
    said = [g.stderr_rx for g in undercount_gaps(interp) if g.stderr_rx] if backend == "evalframe" else []
    for rx in said:
        hits = [line for line in others if rx.search(line)]
        assert len(hits) == 1, "expected one line matching /%s/ on stderr for %s:\n%s" % (
            rx.pattern, interp.micro, stderr)
        others.remove(hits[0])
    assert not others, "stderr has more than the tracing line%s:\n%s" % (
        " and the known-gap line" if said else "", stderr)


def check_header(report, interp, backend="evalframe"):
    """'Profile of PID N: CPython 3.12.1 (shared, /path/libpython3.12.so.1.0),
    backend evalframe, 1.234 s traced'."""
    m = HEADER_RX.match(report.header)
    assert m, "report header is not 'Profile of PID N: CPython V (BUILD, PATH), backend B, S s traced': %r" % (
        report.header)
    assert m.group(2) == interp.micro, "header names CPython %s, the target is %s: %s" % (
        m.group(2), interp.micro, report.header)
    assert m.group(4) == backend, "header names backend %s, expected %s" % (m.group(4), backend)
    where = m.group(3)
    if interp.origin == "pyenv":
        assert re.match(r"shared, \S*/libpython%s\.so" % re.escape(interp.version), where), (
            "header does not say (shared, .../libpython%s.so...): %s" % (interp.version, report.header))
    else:
        assert "python%s" % interp.version in where and not where.startswith("shared"), (
            "header does not name the static binary python%s: %s" % (interp.version, report.header))


def check_counts(interp, report, ours, ref, ws, workload, launched):
    """Counts equal cProfile's but for the known gaps (undercount_gaps), which
    must show where expected and be said; callers where cProfile records them."""
    wl_path = ws.workload(workload)
    gaps = undercount_gaps(interp)
    under = compare_counts(ours, ref, wl_path, workload, launched, interp.version,
                           may_undercount=set().union(*(g.names for g in gaps)))
    for gap in gaps:
        mine = {k: v for k, v in under.items() if k[1] in gap.names}
        text = ", ".join("%d(%s): %s < %s" % (k + tuple(v)) for k, v in mine.items())
        if mine and gap.loss_rx:
            assert any(gap.loss_rx.search(t) for t in report.losses), (
                "%s undercounted on %s (%s) and the report does not say so under 'Events not "
                "counted exactly':\n%s" % ("/".join(sorted(gap.names)), interp.micro, text,
                                            report.text[-4000:]))
        if workload == gap.shows_in and not mine:
            pytest.fail("no %s count of %s.py is lower than cProfile's on %s: the known gap is "
                        "closed; update undercount_gaps()" % ("/".join(sorted(gap.names)), workload,
                                                              interp.micro))
    compare_callers(ours, ref, wl_path, workload, interp.version,
                    skip_names=set().union(*(g.names for g in gaps)))


def check_init_note(report, interp):
    """3.13 with INIT_GAP_313 "untimed": init_calls.py's specialized C(...)
    calls are listed as counted with no time."""
    if init_untimed(interp):
        assert any(INIT_GAP_NOTE_RX.search(t) for t in report.losses), (
            "no line about 3.13's inline __init__ calls under 'Events not counted exactly' "
            "(init_calls.py makes them):\n" + report.text[-4000:])


def check_table(report, ours):
    """The table, offcpu column included; without it, pstats' own text."""
    assert report.has_offcpu, "the table has no offcpu column:\n" + report.text[:3000]
    expect = pstats_text_lines(ours["orders"]["cumulative"]["text"])
    if report.pstats_lines != expect:
        diff = "\n".join(difflib.unified_diff(expect, report.pstats_lines, "pstats print_stats()",
                                              "pybpf-prof without offcpu", lineterm="", n=1))
        pytest.fail("report text differs from pstats' print_stats of the -o file:\n" + diff[:8000])


# ---------------------------------------------------------------- all workloads, one run each


class Run:
    """One pybpf-prof run over every workload on one interpreter
    (run_workloads.py; exit_status.py last, as it exits), shared by the
    per-workload tests; `error` holds why it could not be made."""
    error = None
    res = report = ours = untraced = target = pid = hook_live = None


_runs = {}


def runner_cmd(interp, ws, *opts):
    firsts = [ws.workload(w) for w in WORKLOADS if w != "exit_status"]
    return interp.cmd(ws.script("run_workloads.py"), *opts, "--last", ws.workload("exit_status"), *firsts)


def shared_run(kind, make, interp):
    key = (kind, interp.id)
    if key not in _runs:
        run_ = Run()
        try:
            make(run_)
        except (Exception, pytest.fail.Exception) as exc:
            run_.error = "%s: %s" % (type(exc).__name__, exc)
        _runs[key] = run_
    run_ = _runs[key]
    if run_.error:
        pytest.fail("the %s run over all workloads on %s failed:\n%s" % (kind, interp.id, run_.error))
    return run_


def launch_all(prof, interp, ws):
    """pybpf-prof --backend evalframe -o F -- <python> run_workloads.py ..."""

    def make(r):
        r.untraced = run(runner_cmd(interp, ws))
        assert r.untraced.returncode == 3 and not r.untraced.stderr, (
            "the workloads do not run untraced as expected:\n" + r.untraced.describe())
        out = ws.mkdir("ef-launch-all") + "/ours.prof"
        r.res = run([prof, *BACKEND, "-o", str(ws.host(out)), "--", *runner_cmd(interp, ws)])
        r.report = Report(r.res.stdout)
        r.ours = pstats_json(interp, ws, out, "cumulative")

    return shared_run("launch", make, interp)


def attach_all(prof, interp, ws):
    """run_workloads.py --wait --rounds 2: the first round runs untraced (so
    CPython 3.11+ has specialized its call sites: inline frame pushes that
    only a PEP 523 hook turns back into evaluations), then pybpf-prof
    --backend evalframe -p attaches, the second round runs traced, ends with
    exit_status.py and the target exits 3."""

    def make(r):
        cmd = runner_cmd(interp, ws, "--wait", "--rounds", "2")
        r.untraced = run(cmd, input="go\ngo\n")
        assert r.untraced.returncode == 3 and not r.untraced.stderr, (
            "the workloads do not run untraced as expected:\n" + r.untraced.describe())
        out = ws.mkdir("ef-attach-all") + "/ours.prof"
        target = Proc(cmd)
        tracer = None
        try:
            target.wait_line("stdout", r"ready$", what="the target's 'ready'")
            target.write("go\n")
            target.wait_line("stdout", r"round 0 done$", what="the target's untraced first round")
            r.pid = target.pid
            tracer = Proc([prof, *BACKEND, "-o", str(ws.host(out)), "-p", str(target.pid)], stdin=False)
            tracer.wait_line("stderr", TRACING_RX.pattern, what="pybpf-prof's 'tracing PID' line")
            if interp.needs_hook:
                hook = EvalFrame(target.pid, interp.version)
                r.hook_live = (hook.value(), hook.default, hook.describe(hook.value()))
            target.write("go\n")
            r.target = target.wait(what="the target")
            r.res = tracer.wait(what="pybpf-prof after the target exited")
        finally:
            for proc in (target, tracer):
                if proc:
                    proc.kill()
                    for f in (proc.p.stdout, proc.p.stderr):
                        if not f.closed:
                            f.close()
        r.report = Report(r.res.stdout)
        r.ours = pstats_json(interp, ws, out, "cumulative")

    return shared_run("attach", make, interp)


def test_launch_all(prof, interp, ws):
    """-- CMD over all workloads: CMD's output is its own and its exit status
    (3) passes through; the tracing line, the header and the table (pstats'
    text plus the offcpu column) are right; nothing is listed as not counted
    exactly but calls nested beyond the kernel's 64 pending return probes
    (which deep_recursion.py makes)."""
    r = launch_all(prof, interp, ws)
    assert r.res.returncode == 3, "exit status %d, CMD's is 3\n%s" % (r.res.returncode, r.res.describe())
    assert r.report.preamble == r.untraced.stdout, (
        "the workloads' output (before the report) differs from their untraced output:\n"
        + "\n".join(difflib.unified_diff(r.untraced.stdout.splitlines(), r.report.preamble.splitlines(),
                                         "untraced", "under pybpf-prof", lineterm="")))
    check_stderr(r.res.stderr, interp, r.report.pid)
    check_header(r.report, interp)
    check_totals(r.report, r.ours)
    check_table(r.report, r.ours)
    check_init_note(r.report, interp)
    unexpected = {text: n for text, n in r.report.losses.items()
                  if not LAUNCH_LOSSES_OK.search(text)
                  and not (interp.version == "3.13" and INIT_GAP_NOTE_RX.search(text))}
    assert not unexpected, "events not counted exactly in a launch-mode run:\n" + r.report.text[-4000:]
    assert any(NORET_RX.search(text) for text in r.report.losses), (
        "deep_recursion.py nests past 64 evaluations, but the report lists no call beyond the "
        "kernel's 64 pending return probes:\n" + r.report.text[-4000:])


def test_attach_all(prof, interp, ws):
    """-p PID over all workloads, attached after an untraced round: the
    target's output and exit status are those of an untraced run, the hook
    is set while tracing (3.11+), pybpf-prof exits 0 with the target, the
    tracing line, header and table are right."""
    r = attach_all(prof, interp, ws)
    assert (r.target.returncode, r.target.stdout, r.target.stderr) == (
        r.untraced.returncode, r.untraced.stdout, ""), (
        "the traced target's output or status differs from an untraced run's:\nuntraced:\n%s\ntraced:\n%s"
        % (r.untraced.describe(), r.target.describe()))
    if interp.needs_hook:
        value, default, text = r.hook_live
        assert value == default, "eval_frame is %s while tracing, expected &_PyEval_EvalFrameDefault" % text
    assert r.res.returncode == 0, "pybpf-prof did not exit 0 on target exit\n" + r.res.describe()
    assert r.report.pid == r.pid and r.report.preamble == "", r.res.describe()
    check_stderr(r.res.stderr, interp, r.report.pid)
    check_header(r.report, interp)
    check_totals(r.report, r.ours)
    check_table(r.report, r.ours)
    check_init_note(r.report, interp)


def test_launch_counts(prof, interp, ws, workload):
    """ncalls of every function of the workload equal cProfile's (launch)."""
    ref = reference(interp, ws, workload)[0]
    r = launch_all(prof, interp, ws)
    check_counts(interp, r.report, r.ours, ref, ws, workload, True)


def test_attach_counts(prof, interp, ws, workload):
    """ncalls of every function of the workload equal cProfile's (-p, after
    an untraced round: specialized call sites)."""
    ref = reference(interp, ws, workload)[0]
    r = attach_all(prof, interp, ws)
    check_counts(interp, r.report, r.ours, ref, ws, workload, False)


@pytest.mark.interps("all", versions=("3.13",))
def test_init_gap_313(prof, interp, ws):
    """init_calls.py alone on CPython 3.13, whose specialized `C(...)`
    (CALL_ALLOC_AND_ENTER_INIT) runs __init__ past the hook: what pybpf-prof
    makes of it is what INIT_GAP_313 says."""
    ref = reference(interp, ws, "init_calls")[0]
    res, out = launch(prof, interp, ws, "init_calls", *BACKEND)
    assert res.returncode == 0, res.describe()
    report = Report(res.stdout)
    check_stderr(res.stderr, interp, report.pid)
    check_counts(interp, report, pstats_json(interp, ws, out), ref, ws, "init_calls", True)
    check_init_note(report, interp)
    if INIT_GAP_313 == "exact":
        assert not any(INIT_GAP_NOTE_RX.search(t) for t in report.losses), report.text[-4000:]


# ---------------------------------------------------------------- backend choice


def test_auto_launch(prof, interp, ws):
    """No --backend: usdt where the probes fire fully (bullseye 3.9, sid
    3.15), evalframe everywhere else; exact either way."""
    ref = reference(interp, ws, "recursion")[0]
    res, out = launch(prof, interp, ws, "recursion")
    assert res.returncode == 0, res.describe()
    report = Report(res.stdout)
    backend = "usdt" if interp.usdt else "evalframe"
    check_stderr(res.stderr, interp, report.pid, backend=backend)
    compare_counts(pstats_json(interp, ws, out), ref, ws.workload("recursion"), "recursion", True,
                   interp.version)


def test_auto_attach(prof, interp, ws, procs):
    """--backend auto -p: the same choice as in launch mode."""
    expected = untraced_attach_output(interp, ws, "recursion", 1)
    target = start_target(procs, interp, ws, "recursion")
    tracer = attach(prof, procs, target, "--backend", "auto")
    target.write("go\n")
    done = target.wait(what="the target")
    assert (done.returncode, done.stdout) == (expected.returncode, expected.stdout), done.describe()
    res = tracer.wait(what="pybpf-prof after the target exited")
    assert res.returncode == 0, res.describe()
    check_stderr(res.stderr, interp, target.pid, backend="usdt" if interp.usdt else "evalframe")


# ---------------------------------------------------------------- off-CPU, latency, limits


def test_offcpu(prof, interp, ws):
    """sleeper() is off the CPU for most of its own time, spinlock() for
    little of it (the USDT backend's twin is in test_usdt.py)."""
    res, out = launch(prof, interp, ws, "offcpu", *BACKEND)
    assert res.returncode == 0, res.describe()
    check_offcpu(Report(res.stdout), pstats_json(interp, ws, out), ws.workload("offcpu"))


@pytest.mark.parametrize("wl", ["offcpu", "deep_recursion"])
def test_latency(prof, interp, ws, wl):
    """--latency: every function called has a histogram summing to its
    ncalls (deep_recursion.py: calls ended past the 64 pending return
    probes too; on 3.13 the __init__ calls counted with no time are in no
    histogram); offcpu.py's 2 ms calls have p50 in [1, 8) ms."""
    res, out = launch(prof, interp, ws, wl, *BACKEND, *LATENCY_OPTS)
    assert res.returncode == 0, res.describe()
    untimed = None
    if init_untimed(interp):
        untimed = sum(n for t, n in Report(res.stdout).losses.items() if INIT_GAP_NOTE_RX.search(t))
    check_latency(res.stdout, pstats_json(interp, ws, out), ws.workload(wl),
                  offcpu=wl == "offcpu", untimed_inits=untimed)


def test_duration_in_launch_mode(prof, interp, ws):
    """-d stops tracing while CMD runs on (the hook goes, 3.11+): the calls
    active then (the module and one f()) are closed at that moment, as
    cProfile's disable() does, and counted; no call or return straddling the
    detach shows up as a phantom recursion or an unpaired return; CMD then
    ends normally with its own output."""
    d = ws.mkdir("ef-duration")
    script = d + "/sleepy.py"
    ws.host(script).write_text("import time\n\n\ndef f():\n    time.sleep(0.01)\n\n\n"
                               "for i in range(150):\n    f()\nprint('sleepy done')\n")
    res, out = launch(prof, interp, ws, "duration", *BACKEND, "-d", "0.5", argv=interp.cmd(script))
    assert res.returncode == 0, res.describe()
    report = Report(res.stdout)
    # CMD's line comes before or after the report (printed at the stop): both share stdout.
    assert res.stdout.count("sleepy done\n") == 1, res.describe()
    stats = pstats_json(interp, ws, out)["stats"]
    nc, cc = stats.get(script + ":4(f)", [0, 0])[:2]
    assert nc == cc and 10 <= nc < 150, "f() counted %d/%d in 0.5 s of 1.5 s\n%s" % (nc, cc, res.describe())
    assert stats.get(script + ":1(<module>)", [0, 0])[:2] == [1, 1], (
        "the module, active at detach, is not counted once:\n" + res.describe())
    assert any("still active at detach" in t for t in report.losses), res.describe()
    assert not any(re.search(r"no traced call|return was never seen", t) for t in report.losses), (
        res.describe())


WAITER = """import sys


def f(i):
    return i * 2


def waiter():
    print("waiting", flush=True)
    return sys.stdin.readline()


def main():
    total = 0
    for i in range(50):
        total += f(i)
    waiter()
    return total


print("ready", flush=True)
sys.stdin.readline()
main()
print("done", flush=True)
"""


def sigint_during(prof, interp, ws, procs, name, filename, text, line_rx, what):
    """Runs text as a target that prints 'ready' and waits for a line, attaches
    pybpf-prof, lets the target go, sends SIGINT once the target prints a line
    matching line_rx: (script, target, result, Report, pstats stats)."""
    d = ws.mkdir(name)
    script = d + "/" + filename
    ws.host(script).write_text(text)
    target = procs(interp.cmd(script))
    target.wait_line("stdout", r"ready$", what="the target's 'ready'")
    out = d + "/ours.prof"
    tracer = attach(prof, procs, target, *BACKEND, "-o", str(ws.host(out)))
    target.write("go\n")
    target.wait_line("stdout", line_rx, what=what)
    tracer.send_signal(signal.SIGINT)
    res = tracer.wait(what="pybpf-prof after SIGINT")
    assert res.returncode == 0, res.describe()
    return script, target, res, Report(res.stdout), pstats_json(interp, ws, out)["stats"]


def test_sigint_while_calls_active(prof, interp, ws, procs):
    """-p, SIGINT while the target is blocked inside main() -> waiter(): both
    are closed at the stop and counted once (as cProfile's disable() does),
    listed as still active at detach, nothing dropped; the hook is gone
    (3.11+) and the target carries on."""
    script, target, res, report, stats = sigint_during(
        prof, interp, ws, procs, "ef-sigint-active", "waiter.py", WAITER,
        r"waiting$", "the target inside waiter()")
    got = {name: stats.get("%s:%d(%s)" % (script, line, name), [0, 0])[:2]
           for line, name in ((4, "f"), (8, "waiter"), (13, "main"))}
    assert got == {"f": [50, 50], "waiter": [1, 1], "main": [1, 1]}, (
        "calls of f, waiter, main: %r\n%s" % (got, res.describe()))
    assert report.losses.get(
        "calls were still active at detach (counted up to detach, as cProfile does)") == 2, res.describe()
    assert not any(re.search(r"no traced call|return was never seen", t) for t in report.losses), (
        res.describe())
    if interp.needs_hook:
        hook = EvalFrame(target.pid, interp.version)
        assert hook.value() == 0, "eval_frame is %s after SIGINT" % hook.describe(hook.value())
    target.write("\n")
    done = target.wait(what="the target")
    assert (done.returncode, done.stdout, done.stderr) == (0, "ready\nwaiting\ndone\n", ""), done.describe()


TICKER = """import sys
import time


def f(i):
    time.sleep(0.01)
    if i == 20:
        print("tick", flush=True)


def main():
    for i in range(150):
        f(i)


print("ready", flush=True)
sys.stdin.readline()
main()
print("done", flush=True)
"""


def test_sigint_while_running(prof, interp, ws, procs):
    """-p, SIGINT while the target runs on, calling f() every 10 ms: main()
    and the f() in flight (if any) are closed at the stop and counted once,
    listed as still active at detach, nothing dropped and no return unpaired
    although calls and returns go on during the detach; the target finishes
    as it would have."""
    script, target, res, report, stats = sigint_during(
        prof, interp, ws, procs, "ef-sigint-running", "ticker.py", TICKER,
        r"tick$", "the target's 21st f()")
    main = stats.get(script + ":11(main)", [0, 0])[:2]
    f = stats.get(script + ":5(f)", [0, 0])[:2]
    active = report.losses.get("calls were still active at detach (counted up to detach, as cProfile "
                               "does)", report.losses.get("call was still active at detach (counted up "
                                                          "to detach, as cProfile does)"))
    assert main == [1, 1] and f[0] == f[1] and 21 <= f[0] <= 150 and active in (1, 2), (
        "main %r, f %r, %r still active at detach: expected 1, 21-150 and 1 or 2\n%s" % (
            main, f, active, res.describe()))
    assert not any(re.search(r"no traced call|return was never seen", t) for t in report.losses), (
        res.describe())
    done = target.wait(what="the target")
    assert (done.returncode, done.stdout, done.stderr) == (0, "ready\ntick\ndone\n", ""), done.describe()


def test_deeper_than_shadow_stack(prof, interp, ws):
    """Recursion to depth 300, 3 times: the calls beyond pybpf-prof's
    256-frame shadow stack are not counted, and the report says how many,
    so counted + reported = the 903 calls made (301 per f(300))."""
    code = "def f(n):\n    return f(n - 1) if n else 0\nfor _ in range(3):\n    f(300)\n"
    res, out = launch(prof, interp, ws, "deep300", *BACKEND, argv=interp.cmd("-c", code))
    assert res.returncode == 0, res.describe()
    report = Report(res.stdout)
    nc, cc = pstats_json(interp, ws, out)["stats"]["<string>:1(f)"][:2]
    lost = sum(n for text, n in report.losses.items() if re.search(r"deeper than .*shadow stack", text))
    assert cc == 3 and lost > 0 and nc + lost == 903, (
        "f: ncalls %d/%d, %d reported deeper than the shadow stack; expected n/3 with n + reported = "
        "903\n%s" % (nc, cc, lost, report.text[-3000:]))


# ---------------------------------------------------------------- another PEP 523 hook


@pytest.mark.interps("all", min_version="3.12")
def test_refuses_beside_another_hook(prof, interp, ws, procs):
    """A target run with -X perf has its own PEP 523 hook (the perf
    trampoline): --backend evalframe refuses with one line, exit 1, and
    leaves that hook in place; the target runs on as without pybpf-prof."""
    expected = untraced_attach_output(interp, ws, "recursion", 1)
    target = procs(interp.cmd("-X", "perf", ws.script("attach_target.py"), ws.workload("recursion")))
    target.wait_line("stdout", r"ready$", what="the target's 'ready'")
    hook = EvalFrame(target.pid, interp.version)
    before = hook.value()
    assert before not in (0, hook.default), "-X perf set no hook of its own: eval_frame is %s" % (
        hook.describe(before))
    res = run([prof, *BACKEND, "-p", str(target.pid)])
    assert_error(res, 1, r"PEP 523|eval.?frame|hook", " beside -X perf's hook")
    assert hook.value() == before, "-X perf's hook %s was replaced by %s" % (
        hook.describe(before), hook.describe(hook.value()))
    assert target.alive(), "the target died:\n" + target.describe()
    target.write("go\n")
    done = target.wait(what="the target")
    assert (done.returncode, done.stdout, done.stderr) == (expected.returncode, expected.stdout, ""), (
        done.describe())



@pytest.mark.interps("all", min_version="3.12")
@pytest.mark.parametrize("how", ["-X perf", "PYTHONPERFSUPPORT=1"])
def test_launch_refuses_perf_trampoline(prof, interp, how):
    """-- CMD where CMD asks for the perf trampoline (its own PEP 523 hook):
    --backend evalframe refuses before CMD runs (exit 1, one line)."""
    env = dict(TARGET_ENV)
    if how == "-X perf":
        argv = interp.cmd("-X", "perf", "-c", "print('the command ran')")
    else:
        env["PYTHONPERFSUPPORT"] = "1"
        argv = interp.cmd("-c", "print('the command ran')")
    res = run([prof, *BACKEND, "--", *argv], env=env)
    assert_error(res, 1, r"PEP 523|eval.?frame|hook|perf", " for a CMD with %s" % how)
