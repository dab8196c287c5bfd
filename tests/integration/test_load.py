"""pybpf-prof under load and at its limits (needs root): issue 9, section 4.

1,000 threads, 100,000 distinct functions, recursion 10,000 deep, 10,000
short threads, and every BPF map capped at 8 entries by the test-only
PYBPF_TEST_MAP_ENTRIES. Each case checks the counts against what the target
(tests/workloads/load/load_target.py) says it called, that every call not
counted is counted as a loss and printed, that the report is printed and
that pybpf-prof exits 0. With PYBPF_TEST_PEAK_RSS=1 pybpf-prof prints its
peak RSS and its BPF maps' memory at exit: each case prints both (pytest -s
shows them) and checks that the RSS stays bounded.

PYBPF_LOAD_HEAVY=1 adds the heavier variants (recursion 100,000 deep, the
100,000 functions and the thread churn under the eval-frame backend too).
Known gaps of the eval-frame hook with deep recursion are strict xfails.
"""

import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from conftest import TARGET_ENV, TIMEOUT, WORKLOADS_DIR, interp_checked, workspace_for
from test_usdt import TRACING_RX, Report

LOAD_TARGET = WORKLOADS_DIR / "load" / "load_target.py"
HEAVY = os.environ.get("PYBPF_LOAD_HEAVY") == "1"
MEMORY_RX = re.compile(r"^pybpf-prof: test: peak RSS (-?\d+) kB, BPF maps (\d+) bytes \(memlock\)$", re.M)
EXPECTED_RX = re.compile(r"^expected (\S+) (\d+)(?: (\d+))?$", re.M)
ROW_NAME_RX = re.compile(r"^(.*):(-?\d+)\((.*)\)$")
SAMPLE_LOSS_RX = re.compile(r"; (\d+) lost: (\d+) no Python thread state, (\d+) unreadable memory, "
                            r"(\d+) stacks map full, (\d+) counts map full;")
# The bound on pybpf-prof's own memory in every case here.
MAX_RSS_KB = 256 * 1024
# Host 3.11 (eval-frame backend) and bullseye 3.9 (usdt).
EXACT_INTERPS = ("py3.9", "host-py3.11")
# 100,000 functions and thread churn: usdt; with PYBPF_LOAD_HEAVY=1 the eval-frame backend too.
FUNCTION_INTERPS = ("py3.9",) + (("host-py3.11",) if HEAVY else ())

FUNCS_FULL = "calls were not counted: the function map was full"
LATENCY_FULL = "call durations were left out of the --latency histograms: their map was full"
DEPTH_LOSS = "calls were deeper than the BPF shadow stack (256 calls) and not counted"


@pytest.fixture
def py(request):
    """The interpreter of the test's parameter (conftest's interp fixture
    would run every test on its whole list)."""
    return interp_checked(request.param)


@pytest.fixture
def target_of(_workspace_registry):
    """target_of(py): load_target.py's path as py sees it (copied into its workspace)."""
    def copy(py):
        ws = workspace_for(py, _workspace_registry)
        dest = ws.host_dir / "load_target.py"
        if not dest.exists():
            shutil.copy(LOAD_TARGET, dest)
        return ws.script("load_target.py")
    return copy


def env_with(**extra):
    env = dict(TARGET_ENV, PYBPF_TEST_PEAK_RSS="1")
    env.update(extra)
    return env


def memory(case, stderr):
    """pybpf-prof's (peak RSS kB, maps bytes), printed for the report and bounded."""
    m = MEMORY_RX.search(stderr)
    assert m, "no 'peak RSS' line on pybpf-prof's stderr (PYBPF_TEST_PEAK_RSS=1):\n" + stderr[-3000:]
    rss, maps = int(m.group(1)), int(m.group(2))
    print("\n[load] %s: pybpf-prof peak RSS %.1f MiB, BPF maps %.1f MiB (memlock)" % (
        case, rss / 1024, maps / 2**20))
    assert 0 < rss < MAX_RSS_KB, "pybpf-prof's peak RSS %d kB (bound %d kB)" % (rss, MAX_RSS_KB)
    return rss, maps


def expected_of(stdout):
    """{name or prefix*: (functions, calls each)} from the target's 'expected' lines."""
    found = {}
    for m in EXPECTED_RX.finditer(stdout):
        found[m.group(1)] = (int(m.group(2)), int(m.group(3))) if m.group(3) else (1, int(m.group(2)))
    assert found, "the target printed no 'expected' line:\n" + stdout[-3000:]
    return found


def calls_by_name(report):
    """{function name: total calls} over the report's rows."""
    calls = {}
    for row in report.rows:
        name = ROW_NAME_RX.match(row.func).group(3)
        calls[name] = calls.get(name, 0) + int(row.ncalls.split("/")[0])
    return calls


def prefixed(calls, prefix):
    return {name: n for name, n in calls.items() if re.fullmatch(re.escape(prefix) + r"\d+", name)}


def attach_run(prof, procs, py, target, args, *opts, env=None, timeout=TIMEOUT):
    """The target started with args and parked at its handshake, pybpf-prof
    -p attached, the target let go; (pybpf-prof's Result, the target's)."""
    tgt = procs(py.cmd(target, *args))
    tgt.wait_line("stdout", r"ready \d+$", timeout=timeout, what="the target's 'ready'")
    tracer = procs([prof, "-p", str(tgt.pid), *opts], env=env or env_with(), stdin=False)
    tracer.wait_line("stderr", TRACING_RX.pattern, timeout=timeout, what="pybpf-prof's 'tracing PID' line")
    tgt.write("go\n")
    tres = tgt.wait(timeout=timeout, what="the target")
    res = tracer.wait(timeout=timeout, what="pybpf-prof")
    return res, tres


def launch_run(prof, procs, py, target, args, *opts, env=None, timeout=TIMEOUT):
    """pybpf-prof [opts] -- the target with args; the handshake's line given
    on pybpf-prof's stdin, which the command inherits. Its Result."""
    tracer = procs([prof, *opts, "--", *py.cmd(target, *args)], env=env or env_with())
    tracer.wait_line("stdout", r"ready \d+$", timeout=timeout, what="the target's 'ready'")
    tracer.write("go\n")
    return tracer.wait(timeout=timeout, what="pybpf-prof")


def assert_ok(res):
    assert res.returncode == 0, res.describe()
    assert "Profile of PID" in res.stdout, "no report:\n" + res.describe()


def check_each_t_i(res, tres):
    """pybpf-prof's report (res) has every t_i the target (tres, exit 0)
    said it called, each with its calls: (report, functions, calls each)."""
    assert tres.returncode == 0, tres.describe()
    (nfuncs, each), = expected_of(tres.stdout).values()
    report = Report(res.stdout)
    calls = prefixed(calls_by_name(report), "t_")
    wrong = {n: c for n, c in calls.items() if c != each}
    assert len(calls) == nfuncs and not wrong, "%d of %d t_i counted, wrong counts %s\n%s" % (
        len(calls), nfuncs, dict(list(wrong.items())[:10]), report.text[-3000:])
    return report, nfuncs, each


def assert_no_loss(report, *texts):
    bad = {t: n for t, n in report.losses.items() if any(x in t for x in texts)}
    assert not bad, "losses reported: %s\n%s" % (bad, report.text[-3000:])


# ---------------------------------------------------------------- 1,000 threads


@pytest.mark.parametrize("py", EXACT_INTERPS, indirect=True)
def test_thousand_threads_exact(prof, procs, py, target_of):
    """1,000 threads, parked before attach, then thread i calls its own t_i
    20 times: every t_i has exactly 20 calls, nothing lost to full maps or
    to a thread state not found (the oldest threads are 1,000 entries down
    the interpreter's thread list)."""
    res, tres = attach_run(prof, procs, py, target_of(py), ["threads", "1000", "20"])
    assert_ok(res)
    report, nfuncs, each = check_each_t_i(res, tres)
    assert_no_loss(report, "map was full", "target memory")
    rss, maps = memory("1,000 threads exact, %s" % py.id, res.stderr)
    print("[load]   %d threads x %d calls counted exactly; losses: %s" % (nfuncs, each, report.losses))


@pytest.mark.parametrize("py", EXACT_INTERPS, indirect=True)
def test_thousand_threads_inside_calls_at_the_stop(prof, procs, py, target_of):
    """1,000 threads each inside its own t_i when pybpf-prof is stopped
    (SIGINT): it ends (the thread stacks share hash buckets, where the
    flush of open calls once walked forever), counts every open call (as
    cProfile's disable() does) and the target runs on to its end."""
    tgt = procs(py.cmd(target_of(py), "open", "1000"))
    tgt.wait_line("stdout", r"ready \d+$", what="the target's 'ready'")
    tracer = procs([prof, "-p", str(tgt.pid)], env=env_with(), stdin=False)
    tracer.wait_line("stderr", TRACING_RX.pattern, what="pybpf-prof's 'tracing PID' line")
    tgt.write("go\n")
    tgt.wait_line("stdout", r"inside 1000$", what="the target's 'inside 1000'")
    tracer.send_signal(signal.SIGINT)
    res = tracer.wait(what="pybpf-prof stopped with 1,000 calls open")
    assert_ok(res)
    tgt.write("go\n")
    check_each_t_i(res, tres=tgt.wait(what="the target"))
    memory("1,000 threads inside calls at the stop, %s" % py.id, res.stderr)


@pytest.mark.parametrize("py", EXACT_INTERPS, indirect=True)
def test_thousand_threads_sampled(prof, procs, py, target_of, tmp_path):
    """--sample, wall mode: 1,000 threads each blocked inside its own t_i
    while pybpf-prof samples for 2 s: every thread's stack is counted (its
    t_i in the folded output, under its own thread), nothing lost."""
    folded = tmp_path / "load.folded"
    tgt = procs(py.cmd(target_of(py), "parked", "1000"))
    tgt.wait_line("stdout", r"ready \d+$", what="the target's 'ready'")
    res = procs([prof, "--sample", "-p", str(tgt.pid), "-d", "2", "--folded", str(folded)],
                env=env_with(), stdin=False).wait(what="pybpf-prof")
    tgt.write("go\n")
    assert tgt.wait(what="the target").returncode == 0
    assert res.returncode == 0, res.describe()
    assert "Sampled profile of PID" in res.stdout, res.describe()
    lost = SAMPLE_LOSS_RX.search(res.stdout)
    assert lost and lost.group(4) == "0" and lost.group(5) == "0", (
        "samples lost to full maps:\n" + res.stdout[:3000])
    threads_of = {}
    for line in folded.read_text().splitlines():
        frames = line.rsplit(" ", 1)[0].split(";")
        for frame in frames[2:]:
            m = re.match(r"(t_\d+) \(", frame)
            if m:
                threads_of.setdefault(m.group(1), set()).add(frames[1])
    shared = {f: t for f, t in threads_of.items() if len(t) != 1}
    assert len(threads_of) == 1000 and not shared, (
        "%d of 1000 t_i seen in the folded stacks; in more than one thread: %s" % (
            len(threads_of), dict(list(shared.items())[:5])))
    names = {next(iter(t)) for t in threads_of.values()}
    assert len(names) == 1000 and all(re.fullmatch(r"load-\d+-\d+", n) for n in names), sorted(names)[:10]
    rss, maps = memory("1,000 threads sampled, %s" % py.id, res.stderr)
    print("[load]   all 1000 threads' t_i sampled; header: %s" % lost.group(0))


# ---------------------------------------------------------------- 100,000 functions


@pytest.mark.parametrize("py", FUNCTION_INTERPS, indirect=True)
def test_hundred_thousand_functions_default_limits(prof, procs, py, target_of):
    """100,000 distinct functions, each called once, with the default
    function map (65,536 entries) and --latency: those counted have 1 call
    each, and the rest are in the report as calls lost to the full function
    map; the durations beyond the histogram map's 16,384 functions too."""
    res = launch_run(prof, procs, py, target_of(py), ["functions", "100000", "1"], "--latency")
    assert_ok(res)
    report = Report(res.stdout)
    calls = prefixed(calls_by_name(report), "f_")
    lost = report.losses.get(FUNCS_FULL, 0)
    # 16,384 histograms: the durations of the other counted functions' calls are reported lost.
    no_hist = report.losses.get(LATENCY_FULL, 0)
    assert no_hist >= len(calls) - 16384, "%d durations reported left out of the histograms" % no_hist
    assert set(calls.values()) == {1}, "f_ counts other than 1: %s" % set(calls.values())
    assert 50000 < len(calls) < 100000 and lost > 0, (
        "%d f_ counted, %d lost to the full map\n%s" % (len(calls), lost, report.text[-3000:]))
    # Every f_ call not counted is a counted loss (other calls may be too).
    assert len(calls) + lost >= 100000, "%d counted + %d lost < 100,000" % (len(calls), lost)
    assert lost - (100000 - len(calls)) < 2000, "%d lost, %d f_ missing" % (lost, 100000 - len(calls))
    rss, maps = memory("100,000 functions, default limits, %s" % py.id, res.stderr)
    print("[load]   %d f_ counted, %d calls lost to the full function map, %d durations to the "
          "full histogram map" % (len(calls), lost, no_hist))


@pytest.mark.parametrize("py", FUNCTION_INTERPS, indirect=True)
def test_hundred_thousand_functions_raised_limit(prof, procs, py, target_of):
    """The same with --max-functions 131072: all 100,000 counted, no loss."""
    res = launch_run(prof, procs, py, target_of(py), ["functions", "100000", "1"],
                     "--max-functions", "131072")
    assert_ok(res)
    report = Report(res.stdout)
    calls = prefixed(calls_by_name(report), "f_")
    assert len(calls) == 100000 and set(calls.values()) == {1}, (
        "%d f_ counted, counts %s" % (len(calls), set(calls.values())))
    assert_no_loss(report, "map was full", "name")
    rss, maps = memory("100,000 functions, --max-functions 131072, %s" % py.id, res.stderr)
    print("[load]   100000 f_ counted exactly; losses: %s" % report.losses)


# ---------------------------------------------------------------- recursion


def check_deep_recursion(report, depth):
    """rec's calls within the shadow stack are counted, the deeper ones
    reported: counted + reported = depth."""
    calls = calls_by_name(report).get("rec", 0)
    lost = report.losses.get(DEPTH_LOSS, 0)
    assert 200 < calls <= 256 and calls + lost == depth, (
        "rec: %d counted, %d reported deeper than the shadow stack; expected a sum of %d\n%s" % (
            calls, lost, depth, report.text[-3000:]))
    return calls, lost


@pytest.mark.parametrize("py", EXACT_INTERPS, indirect=True)
def test_recursion_ten_thousand(prof, procs, py, target_of):
    """rec() 10,000 deep in a thread: counted up to the 256-entry shadow
    stack, the deeper calls reported as such, no crash of either side."""
    recursion_run(prof, procs, py, target_of, 10000)


def recursion_run(prof, procs, py, target_of, depth):
    res, tres = attach_run(prof, procs, py, target_of(py), ["recursion", str(depth)])
    assert_ok(res)
    assert tres.returncode == 0 and "expected rec %d" % depth in tres.stdout, tres.describe()
    calls, lost = check_deep_recursion(Report(res.stdout), depth)
    memory("recursion {:,}, {}".format(depth, py.id), res.stderr)
    print("[load]   rec: %d counted, %d reported deeper than the shadow stack" % (calls, lost))


HOOK_RECURSION_GAP = (
    "known gap: under the eval-frame hook (PEP 523) every Python call is a C-level call of "
    "_PyEval_EvalFrameDefault, which 3.12+ counts against its C recursion limit: RecursionError "
    "long before sys.getrecursionlimit() (measured with --hook-only, no BPF program: 746 nested "
    "calls on pyenv 3.12.1, 4,996 on pyenv 3.13.0; 100,000 untraced): CPython's own behaviour "
    "with any PEP 523 hook (the hook is CPython's own _PyEval_EvalFrameDefault, no code of ours "
    "is on the stack)")


@pytest.mark.xfail(strict=True, reason=HOOK_RECURSION_GAP)
@pytest.mark.parametrize("py", ["pyenv-py3.12", "sid-py3.13"], indirect=True)
def test_recursion_ten_thousand_hook_312_313(prof, procs, py, target_of):
    test_recursion_ten_thousand(prof, procs, py, target_of)


@pytest.mark.xfail(strict=True, reason=(
    "known gap: host 3.11 under the eval-frame hook dies with SIGSEGV at 20,000 nested calls on "
    "the main thread (8 MiB stack), --hook-only too, while untraced it reaches 100,000: with the "
    "hook every Python call nests a C call of _PyEval_EvalFrameDefault, and 3.11 has no C "
    "recursion limit to stop it; a thread with a big stack reaches 100,000 traced"))
@pytest.mark.parametrize("py", ["host-py3.11"], indirect=True)
def test_recursion_twenty_thousand_main_thread_hook_311(prof, procs, py, target_of):
    res, tres = attach_run(prof, procs, py, target_of(py), ["recursion", "20000", "0"])
    assert tres.returncode == 0, tres.describe()
    assert_ok(res)
    check_deep_recursion(Report(res.stdout), 20000)


@pytest.mark.skipif(not HEAVY, reason="heavy variant: PYBPF_LOAD_HEAVY=1")
@pytest.mark.parametrize("py", EXACT_INTERPS, indirect=True)
def test_recursion_hundred_thousand(prof, procs, py, target_of):
    """rec() 100,000 deep in a thread with a 512 MiB stack."""
    recursion_run(prof, procs, py, target_of, 100000)


# ---------------------------------------------------------------- thread churn


@pytest.mark.parametrize("py", FUNCTION_INTERPS, indirect=True)
def test_thread_churn(prof, procs, py, target_of):
    """10,000 short threads one after another, with the thread map limited
    to 64 entries: churn_task has exactly 10,000 calls and no call was lost
    to a full thread map, so each ended thread's entry was freed (the map
    returns to small)."""
    res, tres = attach_run(prof, procs, py, target_of(py), ["churn", "10000"],
                           "--max-threads", "64")
    assert_ok(res)
    assert tres.returncode == 0, tres.describe()
    report = Report(res.stdout)
    calls = calls_by_name(report).get("churn_task", 0)
    assert calls == 10000, "churn_task: %d calls\n%s" % (calls, report.text[-3000:])
    assert_no_loss(report, "map was full", "target memory")
    rss, maps = memory("thread churn 10,000 (--max-threads 64), %s" % py.id, res.stderr)
    print("[load]   churn_task: %d calls; losses: %s" % (calls, report.losses))


# ---------------------------------------------------------------- every map full


@pytest.mark.parametrize("py", ["py3.9"], indirect=True)
def test_every_map_full_exact(prof, procs, py, target_of):
    """Every map capped at 8 entries (PYBPF_TEST_MAP_ENTRIES=8): 5 functions
    calling each other (10 caller/callee pairs), then 20 threads alive at
    once, with --latency. The thread, function, pair and name maps fill up,
    each loss is printed, the report still is, exit 0. (The histogram map
    cannot fill here: a call the function map has no room for gets no
    histogram; the 100,000-function case fills it.)"""
    res, tres = attach_run(prof, procs, py, target_of(py), ["mesh", "5", "20"], "--latency",
                           env=env_with(PYBPF_TEST_MAP_ENTRIES="8"))
    assert_ok(res)
    assert tres.returncode == 0, tres.describe()
    report = Report(res.stdout)
    wanted = ("the thread map was full", "the function map was full", "the pair map was full",
              "the name map was full")
    missing = [w for w in wanted if not any(w in t for t in report.losses)]
    assert not missing, "losses not printed: %s\n%s" % (missing, report.text[-4000:])
    calls = calls_by_name(report)
    assert calls.get("m_0") == 1 and calls.get("m_3") == 4, "m_i counts: %s" % calls
    rss, maps = memory("every map capped at 8, exact, %s" % py.id, res.stderr)
    print("[load]   losses printed: %s" % report.losses)


@pytest.mark.parametrize("py", ["py3.9"], indirect=True)
def test_every_map_full_sampled(prof, procs, py, target_of):
    """The same cap with --sample on 20 parked threads: samples lost to the
    full stacks and counts maps are counted in the header, the report is
    printed, exit 0; --max-threads is said to be ignored with --sample."""
    tgt = procs(py.cmd(target_of(py), "parked", "20"))
    tgt.wait_line("stdout", r"ready \d+$", what="the target's 'ready'")
    res = procs([prof, "--sample", "-p", str(tgt.pid), "-d", "1", "--max-threads", "64"],
                env=env_with(PYBPF_TEST_MAP_ENTRIES="8"), stdin=False).wait(what="pybpf-prof")
    tgt.write("go\n")
    assert tgt.wait(what="the target").returncode == 0
    assert res.returncode == 0, res.describe()
    assert "Sampled profile of PID" in res.stdout, res.describe()
    assert "--max-threads and --max-functions size exact tracing's maps: ignored with --sample" in (
        res.stderr), "no word that --max-threads is ignored:\n" + res.stderr
    lost = SAMPLE_LOSS_RX.search(res.stdout)
    assert lost and (int(lost.group(4)) > 0 or int(lost.group(5)) > 0), (
        "no sample lost to a full map:\n" + res.stdout[:3000])
    rss, maps = memory("every map capped at 8, sampled, %s" % py.id, res.stderr)
    print("[load]   header: %s" % lost.group(0))
