"""Faults: pybpf-prof against a target that dies under it, a reader that
goes away, a full filesystem, and its own SIGKILL (needs root).

- The target killed while pybpf-prof attaches, writes the eval-frame hook
  or drains the maps: PYBPF_TEST_PAUSE=attach|hook|drain (user/testpoint.h)
  makes pybpf-prof stop itself there; the test sees the stop (waitid), kills
  the target and resumes it. pybpf-prof then says in one line that the
  target exited and exits 1 (or, at the drain, prints the report it has),
  and nothing of it is left: none of the BPF programs, maps and links it
  held (their ids, read from its /proc/PID/fdinfo at the pause), no uprobe
  held by it or its guardian, no guardian.
- pybpf-prof killed (SIGKILL) at the same three points: the same checks,
  and the hook is NULL, the target's output that of an untraced run.
- Launch mode (-- CMD), the same three points: the command killed there
  (before it runs: one line saying it exited while pybpf-prof attached,
  exit 1; at the drain: the report and the command's status), or
  pybpf-prof killed there (before it runs the held command dies with it,
  PTRACE_O_EXITKILL; at the drain it runs on untraced, hook NULL, output
  unchanged); nothing of pybpf-prof left either way.
- stdout closed early: the reader takes the report's first line and closes
  the pipe (shrunk to one page, so the rest cannot be buffered in it):
  one line "cannot print the report: Broken pipe", exit 1, -o still written.
- A full filesystem (a 16 KiB tmpfs, filled): -o, --folded, --flamegraph,
  --speedscope each fail in one "No space left on device" line, exit 1,
  the report is printed whole and no partial or temporary file remains.
- The hook under load: 4 threads calling at full speed while pybpf-prof
  attaches and detaches PYBPF_HOOK_ROUNDS times (10): the target's own
  counts stay exact and the hook is NULL after each run.
- SIGKILL at random moments (PYBPF_FAULT_KILLS, 50; PYBPF_FAULT_SEED):
  over usdt, evalframe and --sample runs on live targets; after each kill
  nothing of that run's BPF objects or uprobes remains, the guardian has
  put the hook back to NULL, and the target runs on with exact output.

"Ours" is told apart from other pybpf-prof runs on the host by identity,
not by name: the BPF object ids the process held (awaited gone: the kernel
frees them in deferred work), the uprobes held by its PIDs, libbpf's tracefs
event names, which carry its PID, and, in the kill tests, every uprobe on
the target's runtime image, a private copy of it (PrivateInterp).
"""

import fcntl
import json
import os
import random
import re
import select
import signal
import subprocess
import shutil
import tempfile
import threading
import time
import types
from pathlib import Path

import pytest

from conftest import TARGET_ENV, TIMEOUT, Interp, interp_checked, pstats_json, workspace_for
from targetmem import EvalFrame
from test_cleanup import (guardians_of, semaphore_values, uprobe_events, uprobes_held_by,
                          wait_exit)
from test_usdt import finish_target, start_target, untraced_attach_output

USDT, EVALFRAME, SAMPLE = "usdt", "evalframe", "sample"
# The interpreter each kind of run is tested on, and pybpf-prof's options for it.
MODE_INTERP = {USDT: "py3.9", EVALFRAME: "pyenv-py3.12", SAMPLE: "py3.9"}
MODE_OPTS = {USDT: ("--backend", "usdt"), EVALFRAME: ("--backend", "evalframe"),
             SAMPLE: ("--sample", "--hz", "999")}
STARTED_RX = r"pybpf-prof: (tracing|sampling) PID \d+"
F_SETPIPE_SZ = 1031


@pytest.fixture
def interp_of(_workspace_registry):
    """(Interp, Workspace) of a mode, skipped when its interpreter is absent."""
    def get(mode_or_id):
        interp = interp_checked(MODE_INTERP.get(mode_or_id, mode_or_id))
        return interp, workspace_for(interp, _workspace_registry)
    return get


class PrivateInterp(Interp):
    """An interpreter whose runtime image (its static executable, or its
    libpython) is a private copy: a file of its own that no other run on
    the host probes, so every uprobe on it is ours."""

    def __init__(self, base, directory):
        super().__init__(base.id, base.version, base.python, base.root, base.usdt, base.origin)
        self.micro = base.micro
        self.lib_dir = None
        python = Path(base.python)
        libpython = python.parent.parent / "lib" / ("libpython%s.so.1.0" % base.version)
        lib = directory / "lib"
        lib.mkdir()
        if libpython.exists():  # shared: the copy comes first (RUNPATH, not RPATH)
            shutil.copy2(libpython, lib / libpython.name)
            self.lib_dir = str(lib)
            self.image = str(lib / libpython.name)
        else:  # static: a copy beside its stdlib (found from the executable's place)
            (directory / "bin").mkdir()
            self.python = str(directory / "bin" / python.name)
            shutil.copy2(python, self.python)
            (lib / ("python%s" % base.version)).symlink_to(
                python.parent.parent / "lib" / ("python%s" % base.version))
            self.image = self.python

    def cmd(self, *args):
        argv = super().cmd(*args)
        return ["env", "LD_LIBRARY_PATH=" + self.lib_dir, *argv] if self.lib_dir else argv

    def uprobes(self):
        """Every uprobe on the private image, whoever holds it."""
        return uprobe_events(types.SimpleNamespace(host_binary=self.image))


@pytest.fixture(scope="module")
def private_of(tmp_path_factory, _workspace_registry):
    """(PrivateInterp, Workspace) of a mode (host interpreters only)."""
    made = {}

    def get(mode):
        interp = interp_checked(MODE_INTERP[mode])
        assert not interp.root, "%s runs in a chroot: no private copy" % interp.id
        if interp.id not in made:
            made[interp.id] = PrivateInterp(interp, tmp_path_factory.mktemp("private-" + interp.id))
        return made[interp.id], workspace_for(interp, _workspace_registry)
    return get


def write_script(ws, name, text):
    d = ws.mkdir(name)
    ws.host(d + "/" + name).write_text(text)
    return d + "/" + name


# ---------------------------------------------------------------- what is ours


def held_bpf_ids(pid):
    """{"prog": ids, "map": ids, "link": ids} of the BPF fds pid holds."""
    ids = {"prog": set(), "map": set(), "link": set()}
    fddir = "/proc/%d/fdinfo" % pid
    for fd in os.listdir(fddir):
        try:
            with open("%s/%s" % (fddir, fd)) as f:
                info = f.read()
        except OSError:
            continue  # closed meanwhile
        link = re.search(r"^link_id:\s*(\d+)", info, re.M)
        if link:
            ids["link"].add(int(link.group(1)))
            continue
        for kind in ("prog", "map"):
            m = re.search(r"^%s_id:\s*(\d+)" % kind, info, re.M)
            if m:
                ids[kind].add(int(m.group(1)))
    return ids


def live_bpf_ids(kind):
    out = subprocess.run(["bpftool", "-j", kind, "show"], capture_output=True, text=True,
                         check=True, timeout=TIMEOUT).stdout
    return {o["id"] for o in json.loads(out or "[]")}


# The kernel frees a closed program, link or map in deferred work, after RCU
# grace periods (about 0.1 s for uprobes here): what a dead process held is
# awaited gone; one still there after this long is left behind.
BPF_FREE_DEADLINE = 10.0
BPF_FREE_POLL = 0.02


def bpf_left(ids):
    """{kind: ids still loaded} once the deadline has passed, or {}."""
    deadline = time.monotonic() + BPF_FREE_DEADLINE
    while True:
        left = {kind: ids[kind] & live_bpf_ids(kind) for kind in ids if ids[kind]}
        left = {kind: found for kind, found in left.items() if found}
        if not left or time.monotonic() >= deadline:
            return left
        select.select([], [], [], BPF_FREE_POLL)  # nothing to wait on: the kernel's deferred free


def tracefs_uprobes(pid):
    """libbpf's legacy uprobe events of pid (named libbpf_PID_...), where tracefs is mounted."""
    for path in ("/sys/kernel/tracing/uprobe_events", "/sys/kernel/debug/tracing/uprobe_events"):
        try:
            with open(path) as f:
                return [line for line in f if re.search(r"libbpf_%d_" % pid, line)]
        except OSError:
            continue
    return []


class Snapshot:
    """What a pybpf-prof process holds at one moment (it is stopped)."""

    def __init__(self, pid):
        self.pid = pid
        self.ids = held_bpf_ids(pid)
        self.guards = guardians_of(pid)
        self.guard_fds = [os.pidfd_open(g) for g in self.guards]

    def check_gone(self, what):
        """After pybpf-prof exited: its guardian, programs, links, maps and
        uprobes gone."""
        try:
            for g, fd in zip(self.guards, self.guard_fds):
                wait_exit(fd, "the guardian (PID %d) of pybpf-prof %s" % (g, what))
        finally:
            for fd in self.guard_fds:
                os.close(fd)
        left = bpf_left(self.ids)
        assert not left, "BPF objects of pybpf-prof (PID %d) left %gs after %s: %s" % (
            self.pid, BPF_FREE_DEADLINE, what, {k: sorted(v) for k, v in left.items()})
        pids = {self.pid, *self.guards}
        assert uprobes_held_by(pids) == [], "uprobes held by %s after %s" % (pids, what)
        assert tracefs_uprobes(self.pid) == [], "tracefs uprobes of PID %d after %s" % (
            self.pid, what)


def wait_stopped(proc):
    """True once proc is in a stop (its SIGSTOP at the pause point), False
    if it exited instead; it is killed if neither happens within TIMEOUT."""
    watchdog = threading.Timer(TIMEOUT, lambda: os.kill(proc.pid, signal.SIGKILL))
    watchdog.start()
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WSTOPPED | os.WEXITED | os.WNOWAIT)
    finally:
        watchdog.cancel()
    return info.si_code == os.CLD_STOPPED


# ---------------------------------------------------------------- the target killed


def error_lines(stderr):
    """pybpf-prof's lines on stderr but the start line and known-gap notes."""
    return [l for l in stderr.splitlines() if l.startswith("pybpf-prof: ")
            and not re.match(STARTED_RX, l) and "known gap" not in l]


CASES = [(USDT, "attach"), (USDT, "drain"), (EVALFRAME, "attach"), (EVALFRAME, "hook"),
         (EVALFRAME, "drain"), (SAMPLE, "attach"), (SAMPLE, "drain")]


@pytest.mark.parametrize("mode,point", CASES, ids=["%s-%s" % c for c in CASES])
def test_target_killed(prof, procs, private_of, mode, point):
    interp, ws = private_of(mode)
    target = start_target(procs, interp, ws, "recursion")
    env = dict(TARGET_ENV, PYBPF_TEST_PAUSE=point)
    tracer = procs([prof, "-p", str(target.pid), *MODE_OPTS[mode]], env=env, stdin=False)
    if point == "drain":
        tracer.wait_line("stderr", STARTED_RX, what="the tracing line")
        target.write("go\n")
        target.wait_line("stdout", r"round 0 done$", what="the target's round")
        tracer.send_signal(signal.SIGINT)
    assert wait_stopped(tracer), "pybpf-prof did not pause at %s\n%s" % (point, tracer.describe())
    held = Snapshot(tracer.pid)
    assert held.ids["prog"], "pybpf-prof holds no BPF program at %s" % point
    target.kill()
    os.kill(tracer.pid, signal.SIGCONT)
    res = tracer.wait(what="pybpf-prof resumed after its target's death")
    talk = error_lines(res.stderr)
    if point == "drain":
        # Everything was collected before the death: the report, or one
        # line saying what could not be read from the dead target.
        assert res.stdout.startswith(("Profile of PID %d" % target.pid,
                                      "Sampled profile of PID %d" % target.pid)), res.describe()
        assert res.returncode in (0, 1), res.describe()
        if res.returncode == 1:
            assert len(talk) == 1 and re.search(r"PID %d.*exited" % target.pid, talk[0]), (
                res.describe())
    else:
        assert res.returncode == 1, res.describe()
        assert res.stdout == "", res.describe()
        assert len(talk) == 1, "expected one line of error\n" + res.describe()
        assert re.search(r"PID %d\b.*\bexited\b" % target.pid, talk[0]), (
            "the error does not say the target exited\n" + res.describe())
    held.check_gone("its target's death at %s" % point)
    assert interp.uprobes() == [], "uprobes left on %s" % interp.image


@pytest.mark.parametrize("mode,point", CASES, ids=["%s-%s" % c for c in CASES])
def test_profiler_killed_at(prof, procs, private_of, mode, point):
    """SIGKILL of pybpf-prof at the pause point: nothing of it stays, the
    hook is NULL (put back by the guardian, or never written), the target
    runs on as if untraced."""
    interp, ws = private_of(mode)
    expected = untraced_attach_output(interp, ws, "recursion", 1)
    target = start_target(procs, interp, ws, "recursion")
    hook = EvalFrame(target.pid, interp.version) if mode == EVALFRAME else None
    assert hook is None or hook.image == interp.image, (hook.image, interp.image)
    env = dict(TARGET_ENV, PYBPF_TEST_PAUSE=point)
    tracer = procs([prof, "-p", str(target.pid), *MODE_OPTS[mode]], env=env, stdin=False)
    if point == "drain":
        tracer.wait_line("stderr", STARTED_RX, what="the tracing line")
        tracer.send_signal(signal.SIGINT)
    assert wait_stopped(tracer), "pybpf-prof did not pause at %s\n%s" % (point, tracer.describe())
    held = Snapshot(tracer.pid)
    if point == "hook":  # probes first, then the hook: the check below can fail
        assert interp.uprobes(), "no uprobe on %s at the hook's write" % interp.image
    os.kill(tracer.pid, signal.SIGKILL)
    res = tracer.wait(what="pybpf-prof killed at %s" % point)
    assert res.returncode == -signal.SIGKILL, res.describe()
    held.check_gone("its SIGKILL at %s" % point)
    assert interp.uprobes() == [], "uprobes left on %s" % interp.image
    if hook:
        assert hook.value() == 0, "eval_frame is %s after a SIGKILL at %s" % (
            hook.describe(hook.value()), point)
    if mode == USDT:
        sems = semaphore_values(interp, target.pid)
        assert set(sems.values()) == {0}, "USDT semaphores left raised: %s" % sems
    finish_target(target, expected)


# ---------------------------------------------------------------- launch mode (-- CMD)

LAUNCH_POINTS = ("attach", "hook", "drain")


def launched_paused(prof, procs, interp, ws, point):
    """pybpf-prof --backend evalframe -- attach_target.py (2 rounds), paused
    at point: at the drain, after the command's round 0 and a SIGINT to
    pybpf-prof alone. (tracer, the command's PID)."""
    argv = [prof, *MODE_OPTS[EVALFRAME], "--",
            *interp.cmd(ws.script("attach_target.py"), ws.workload("recursion"), 2)]
    tracer = procs(argv, env=dict(TARGET_ENV, PYBPF_TEST_PAUSE=point))
    if point == "drain":
        line = tracer.wait_line("stderr", STARTED_RX, what="the tracing line")
        tracer.wait_line("stdout", r"ready$", what="the command's 'ready'")
        tracer.write("go\n")
        tracer.wait_line("stdout", r"round 0 done$", what="the command's round 0")
        tracer.send_signal(signal.SIGINT)
    assert wait_stopped(tracer), "pybpf-prof did not pause at %s\n%s" % (point, tracer.describe())
    if point == "drain":
        return tracer, int(re.match(STARTED_RX.replace(r"\d+", r"(\d+)"), line).group(2))
    children = [c for c in Path("/proc/%d/task/%d/children" % (tracer.pid, tracer.pid)).read_text().split()
                if int(c) not in guardians_of(tracer.pid)]
    assert len(children) == 1, "pybpf-prof has children %s besides its guardian at %s (one command " \
        "expected)" % (children, point)
    return tracer, int(children[0])


@pytest.mark.parametrize("point", LAUNCH_POINTS)
def test_launched_command_killed(prof, procs, private_of, point):
    """-- CMD, the command SIGKILLed while pybpf-prof is paused at point:
    before it runs (attach, hook), one line saying it exited, exit 1, no
    report; at the drain, the report of what it ran and the command's own
    status (128+9). Nothing of pybpf-prof is left."""
    interp, ws = private_of(EVALFRAME)
    tracer, child = launched_paused(prof, procs, interp, ws, point)
    held = Snapshot(tracer.pid)
    os.kill(child, signal.SIGKILL)
    os.kill(tracer.pid, signal.SIGCONT)
    res = tracer.wait(what="pybpf-prof resumed after its command's death")
    talk = error_lines(res.stderr)
    if point == "drain":
        assert res.returncode == 128 + signal.SIGKILL, res.describe()
        assert "Profile of PID %d" % child in res.stdout and not talk, res.describe()
    else:
        assert res.returncode == 1 and "Profile of PID" not in res.stdout, res.describe()
        assert len(talk) == 1 and re.search(r"\(PID %d\): it exited while pybpf-prof was attaching$" % child,
                                            talk[0]), "expected one line saying the command exited\n" + (
            res.describe())
    held.check_gone("its command's death at %s" % point)
    assert interp.uprobes() == [], "uprobes left on %s" % interp.image


@pytest.mark.parametrize("point", LAUNCH_POINTS)
def test_profiler_killed_in_launch(prof, procs, private_of, point):
    """-- CMD, pybpf-prof SIGKILLed at point: nothing of it stays. Before
    the command runs (attach, hook) it is killed too (PTRACE_O_EXITKILL: it
    never ran a line of its program); at the drain it runs on, its hook
    NULL again (the guardian), to the output of an untraced run."""
    interp, ws = private_of(EVALFRAME)
    expected = untraced_attach_output(interp, ws, "recursion", 2)
    tracer, child = launched_paused(prof, procs, interp, ws, point)
    hook = EvalFrame(child, interp.version) if point == "drain" else None
    held = Snapshot(tracer.pid)
    child_fd = os.pidfd_open(child)
    try:
        os.kill(tracer.pid, signal.SIGKILL)
        held.check_gone("its SIGKILL at %s" % point)
        assert interp.uprobes() == [], "uprobes left on %s" % interp.image
        if point == "drain":
            assert hook.value() == 0, "eval_frame is %s after a SIGKILL at the drain" % (
                hook.describe(hook.value()))
            tracer.write("go\n")
        else:
            wait_exit(child_fd, "the held command (PID %d) of pybpf-prof killed at %s" % (child, point))
        res = tracer.wait(what="pybpf-prof killed at %s, and its command" % point)
    finally:
        os.close(child_fd)
    assert res.returncode == -signal.SIGKILL, res.describe()
    if point == "drain":
        assert res.stdout == expected.stdout, "the command's output differs from an untraced run:\n" + (
            res.describe())


# ---------------------------------------------------------------- stdout closed early

# 400 functions, each called once; WORK iterations in each, so that sampling
# sees most of them: either way a report far above the 4 KiB pipe.
MANY = '''
import sys
WORK = int(sys.argv[1])
NAMES = ["f%d" % i for i in range(400)]
for name in NAMES:
    exec("def %s(x):\\n    for _ in range(WORK):\\n        x += 1\\n    return x + 1\\n" % name)
FUNCS = [globals()[n] for n in NAMES]
print("ready", flush=True)
sys.stdin.readline()
total = 0
for f in FUNCS:
    total = f(total)
print("called %d" % total, flush=True)
sys.stdin.readline()
'''
MANY_WORK = {USDT: 0, SAMPLE: 50000}


def traced_many(prof, procs, interp, ws, mode, opts):
    """pybpf-prof -p in mode on a target that has called its 400 functions
    once each: (tracer, target); the tracer is still running."""
    work = MANY_WORK[mode]
    target = procs(interp.cmd(write_script(ws, "many.py", MANY), work))
    target.wait_line("stdout", r"ready$", what="the target's readiness")
    tracer = procs([prof, "-p", str(target.pid), *MODE_OPTS[mode], *opts], stdin=False)
    tracer.wait_line("stderr", STARTED_RX, what="the tracing line")
    target.write("go\n")
    target.wait_line("stdout", r"called %d$" % (400 * (work + 1)), what="the target's calls")
    return tracer, target


def finish_many(target):
    target.write("end\n")
    res = target.wait(what="the target")
    assert res.returncode == 0 and res.stderr == "", res.describe()


@pytest.mark.parametrize("mode", [USDT, SAMPLE])
def test_stdout_closed_early(prof, procs, interp_of, mode):
    interp, ws = interp_of(mode)
    d = ws.mkdir("closed-" + mode)
    out = d + "/out.prof"
    tracer, target = traced_many(prof, procs, interp, ws, mode, ("-o", out))
    # One page of pipe: the report (>12 KiB) cannot all sit in it, so
    # pybpf-prof is still writing when the reader goes.
    stdout = tracer.p.stdout
    fcntl.fcntl(stdout.fileno(), F_SETPIPE_SZ, 4096)
    tracer.send_signal(signal.SIGINT)
    first = b""
    while b"\n" not in first:
        ready, _, _ = select.select([stdout], [], [], TIMEOUT)
        assert ready, "no report line within %gs\n%s" % (TIMEOUT, tracer.describe())
        chunk = os.read(stdout.fileno(), 4096)
        assert chunk, "stdout closed before a line\n" + tracer.describe()
        first += chunk
    assert first.startswith(b"Profile of PID" if mode == USDT else b"Sampled profile of PID")
    tracer.sel.unregister(stdout)
    stdout.close()
    res = tracer.wait(what="pybpf-prof after its reader left")
    assert res.returncode == 1, res.describe()
    talk = error_lines(res.stderr)
    assert talk == ["pybpf-prof: cannot print the report: Broken pipe"], res.describe()
    # -o is written whole all the same: every function the report has.
    written = set(re.findall(r"\((f\d+)\)", json.dumps(pstats_json(interp, ws, out))))
    if mode == USDT:
        assert written == {"f%d" % i for i in range(400)}, "-o has %d of the 400 functions" % (
            len(written))
    else:
        assert len(written) >= 150, "-o has %d of the 400 functions" % len(written)
    finish_many(target)


# ---------------------------------------------------------------- full filesystem


@pytest.fixture
def full_fs():
    """A 16 KiB tmpfs with no space left, unmounted afterwards."""
    d = tempfile.mkdtemp(prefix="pybpf-full-")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=0755", "pybpf-full", d],
                   check=True, timeout=TIMEOUT)
    try:
        with open(os.path.join(d, "filler"), "wb") as f:
            with pytest.raises(OSError) as exc:
                f.write(b"x" * 65536)
                f.flush()
            assert exc.value.errno == 28, exc.value
        yield d
    finally:
        subprocess.run(["umount", d], check=True, timeout=TIMEOUT)
        os.rmdir(d)


FILE_OPTS = {USDT: {"-o": "out.prof"},
             SAMPLE: {"-o": "out.prof", "--folded": "out.folded",
                      "--flamegraph": "out.svg", "--speedscope": "out.json"}}


@pytest.mark.parametrize("mode", [USDT, SAMPLE])
def test_full_filesystem(prof, procs, interp_of, full_fs, mode):
    interp, ws = interp_of(mode)
    if interp.root:
        pytest.skip("%s runs in a chroot that does not see %s" % (interp.id, full_fs))
    opts = [a for opt, name in FILE_OPTS[mode].items() for a in (opt, os.path.join(full_fs, name))]
    tracer, target = traced_many(prof, procs, interp, ws, mode, opts)
    tracer.send_signal(signal.SIGINT)
    res = tracer.wait(what="pybpf-prof writing to a full filesystem")
    assert res.returncode == 1, res.describe()
    # The report is printed whole all the same.
    if mode == USDT:
        shown = set(re.findall(r"\((f\d+)\)$", res.stdout, re.M))
        assert res.stdout.startswith("Profile of PID") and len(shown) == 400, res.describe()
    else:
        assert res.stdout.startswith("Sampled profile of PID") and "Hot spots" in res.stdout, (
            res.describe())
    talk = error_lines(res.stderr)
    for opt, name in FILE_OPTS[mode].items():
        path = os.path.join(full_fs, name)
        said = [l for l in talk if path in l]
        assert len(said) == 1 and said[0].startswith("pybpf-prof: cannot write") and \
            said[0].endswith(": No space left on device"), "%s %s:\n%s" % (opt, path, res.describe())
    assert len(talk) == len(FILE_OPTS[mode]), res.describe()
    assert sorted(os.listdir(full_fs)) == ["filler"], "files left: %s" % os.listdir(full_fs)
    finish_many(target)


# ---------------------------------------------------------------- the hook under load

BUSY = '''
import sys, threading
NTHREADS = int(sys.argv[1])
def leaf(x):
    return x + 1
def mid(x):
    return leaf(x) + leaf(x)
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
stop = threading.Event()
started = threading.Barrier(NTHREADS + 1)
results = [None] * NTHREADS
done = [0] * NTHREADS  # loops done by each thread
progress = threading.Condition()
watched = False  # a "mark" waits: the workers notify it
def worker(k):
    loops = bad = acc = 0
    started.wait()
    while not stop.is_set():
        if fib(10) != 55:
            bad += 1
        acc = mid(acc) - acc - 1  # acc + 1, through 3 calls
        loops += 1
        done[k] = loops
        if watched:
            with progress:
                progress.notify_all()
    results[k] = (loops, acc, bad)
threads = [threading.Thread(target=worker, args=(k,)) for k in range(NTHREADS)]
for t in threads:
    t.start()
started.wait()
print("ready", flush=True)
# "mark": answers "marked N" (N: 0, 1, ...) once every thread has run 2
# more loops (so 1 whole one).
marks = 0
while sys.stdin.readline() == "mark\\n":
    want = [n + 2 for n in done]
    watched = True
    with progress:
        progress.wait_for(lambda: all(n >= w for n, w in zip(done, want)))
    watched = False
    print("marked %d" % marks, flush=True)
    marks += 1
stop.set()
for t in threads:
    t.join()
for k, (loops, acc, bad) in enumerate(results):
    print("thread %d exact %s errors %d" % (k, loops > 0 and acc == loops, bad))
sys.stdout.flush()
'''


def busy_target(procs, interp, ws, nthreads):
    target = procs(interp.cmd(write_script(ws, "busy.py", BUSY), nthreads))
    target.wait_line("stdout", r"ready$", what="the busy target's threads")
    return target


def finish_busy(target, nthreads, marks=0):
    target.write("stop\n")
    res = target.wait(what="the busy target")
    want = "ready\n" + "".join("marked %d\n" % n for n in range(marks)) + "".join("thread %d exact True errors 0\n" % k for k in range(nthreads))
    assert res.returncode == 0 and res.stdout == want and res.stderr == "", res.describe()


@pytest.mark.parametrize("ident", ["pyenv-py3.11", "pyenv-py3.12", "pyenv-py3.13"])
def test_hook_under_load(prof, procs, interp_of, ident):
    interp, ws = interp_of(ident)
    rounds = int(os.environ.get("PYBPF_HOOK_ROUNDS", "10"))
    target = busy_target(procs, interp, ws, 4)
    hook = EvalFrame(target.pid, interp.version)
    for n in range(rounds):
        assert hook.value() == 0, "round %d: eval_frame is %s before attaching" % (
            n, hook.describe(hook.value()))
        tracer = procs([prof, "-p", str(target.pid), "--backend", "evalframe"], stdin=False)
        tracer.wait_line("stderr", STARTED_RX, what="the tracing line")
        assert hook.value() == hook.default, "round %d: eval_frame is %s while tracing" % (
            n, hook.describe(hook.value()))
        target.write("mark\n")
        target.wait_line("stdout", r"marked %d$" % n, what="a whole loop of every thread")
        tracer.send_signal(signal.SIGINT)
        res = tracer.wait(what="pybpf-prof after SIGINT")
        assert res.returncode == 0, res.describe()
        # A whole loop of each of the 4 threads was traced: mid() 4 times at least.
        row = re.search(r"^\s*(\d+)(/\d+)?\s.*busy\.py:\d+\(mid\)$", res.stdout, re.M)
        assert row and int(row.group(1)) >= 4, "round %d: mid() not seen 4 times\n%s" % (
            n, res.describe())
        assert hook.value() == 0, "round %d: eval_frame is %s after detaching" % (
            n, hook.describe(hook.value()))
    finish_busy(target, 4, rounds)


# ---------------------------------------------------------------- random SIGKILL


KILL_RUN = ("-d", "0.3")  # each run killed, or its own end


def kill_phase(tracer):
    """Where a stopped pybpf-prof was, from what it printed."""
    tracer._pump(0)
    if tracer.text("stdout"):
        return "report"
    if re.search(STARTED_RX, tracer.text("stderr")):
        return "run"
    return "start"


def test_random_sigkill(prof, procs, private_of):
    kills = int(os.environ.get("PYBPF_FAULT_KILLS", "50"))
    seed = int(os.environ.get("PYBPF_FAULT_SEED", str(random.SystemRandom().randrange(1 << 30))))
    rng = random.Random(seed)
    modes = []
    for mode in (USDT, EVALFRAME, SAMPLE):
        try:
            modes.append((mode, *private_of(mode)))
        except pytest.skip.Exception as exc:
            print("random SIGKILL: no %s runs: %s" % (mode, exc))
    if not modes:
        pytest.skip("none of %s is available" % sorted(set(MODE_INTERP.values())))
    targets = {mode: busy_target(procs, interp, ws, 2) for mode, interp, ws in modes}
    hooks = {mode: EvalFrame(targets[mode].pid, interp.version)
             for mode, interp, ws in modes if mode == EVALFRAME}
    # One whole run per mode first: its length, and that of its part after
    # the start line, are the ranges of the kill moments.
    lengths, traced = {}, {}
    for mode, interp, ws in modes:
        t0 = time.monotonic()
        run = procs([prof, "-p", str(targets[mode].pid), *KILL_RUN, *MODE_OPTS[mode]], stdin=False)
        run.wait_line("stderr", STARTED_RX, what="the start line of a whole %s run" % mode)
        t1 = time.monotonic()
        res = run.wait(what="a whole %s run" % mode)
        lengths[mode], traced[mode] = time.monotonic() - t0, time.monotonic() - t1
        assert res.returncode == 0, res.describe()
    killed, ended, n, probed = [], 0, 0, 0
    # A run that ends before its moment is not a kill: run on until `kills`
    # kills (a bound on the runs, should pybpf-prof end too soon each time).
    while len(killed) < kills and n < 3 * kills:
        mode, interp, ws = modes[n % len(modes)]
        n += 1
        target = targets[mode]
        what = "kill %d of %d (seed %d, run %d, %s)" % (len(killed) + 1, kills, seed, n, mode)
        tracer = procs([prof, "-p", str(target.pid), *KILL_RUN, *MODE_OPTS[mode]], stdin=False)
        # The kill's moment is the stimulus, not a synchronisation (the
        # checks wait on exits): anywhere in the run, or, every other time,
        # anywhere after its start line (probes live, hook set: start-up is
        # most of a run).
        after_start = rng.random() < 0.5
        if after_start:
            tracer.wait_line("stderr", STARTED_RX, what="the start line")
            delay = rng.uniform(0.0, traced[mode])
        else:
            delay = rng.uniform(0.0, lengths[mode])
        deadline = time.monotonic() + delay
        while tracer.alive() and time.monotonic() < deadline:
            tracer._pump(deadline - time.monotonic())
        if not tracer.alive():
            res = tracer.wait(what=what)
            assert res.returncode == 0, res.describe()
            ended += 1
            continue
        os.kill(tracer.pid, signal.SIGSTOP)  # held still while its holdings are read
        if not wait_stopped(tracer):  # it ended on its own just before the stop
            res = tracer.wait(what=what)
            assert res.returncode == 0, res.describe()
            ended += 1
            continue
        held = Snapshot(tracer.pid)
        phase = kill_phase(tracer)
        probed += bool(interp.uprobes())
        os.kill(tracer.pid, signal.SIGKILL)
        res = tracer.wait(what=what)
        assert res.returncode == -signal.SIGKILL, res.describe()
        killed.append("%s/%s@%s%.2fs" % (mode, phase, "start+" if after_start else "", delay))
        held.check_gone(what)
        assert interp.uprobes() == [], "%s: uprobes left on %s" % (what, interp.image)
        if mode == USDT:
            sems = semaphore_values(interp, target.pid)
            assert set(sems.values()) == {0}, "%s: USDT semaphores left raised: %s" % (what, sems)
        if mode in hooks:
            assert hooks[mode].value() == 0, "%s: eval_frame is %s" % (
                what, hooks[mode].describe(hooks[mode].value()))
    assert len(killed) == kills, "only %d kills in %d runs (seed %d)" % (len(killed), n, seed)
    for mode, interp, ws in modes:
        finish_busy(targets[mode], 2)
    print("random SIGKILL (mode/phase@moment): %d kills in %d runs (%d ended first), "
          "%d with uprobes live, seed %d, "
          "whole runs %s: %s" % (len(killed), n, ended, probed, seed,
                                 {m: round(t, 2) for m, t in lengths.items()}, " ".join(killed)))
