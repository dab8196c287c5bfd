"""Nothing is left behind.

USDT backend: however pybpf-prof -p ends (SIGINT, SIGTERM, --duration, or
killed with SIGKILL), the target's USDT semaphores, which the kernel raised
while the probes were attached, are back to 0, no perf event of a uprobe on
the interpreter remains, and the target runs on unharmed. While tracing,
both are checked to be non-zero, so the checks can fail.

Eval-frame backend, on interpreters where it sets the PEP 523 hook (3.11+):
however pybpf-prof ends (SIGINT, SIGTERM, --duration, the target's exit, or
SIGKILL, after which its guardian process `pybpf-guard` puts the hook back),
the target's eval_frame is NULL again (read from outside, targetmem.py), no
uprobe of pybpf-prof or its guardian remains, the guardian is gone and the
target runs on with the output and exit status of an untraced run. While
tracing, eval_frame is &_PyEval_EvalFrameDefault and the guardian and the
uprobes are there."""

import os
import select
import signal

import pytest

from conftest import TIMEOUT
import targetmem
from targetmem import EvalFrame
from test_usdt import attach, finish_target, start_target, untraced_attach_output

PROBES = targetmem.PROBES


def semaphore_values(interp, pid):
    return targetmem.semaphore_values(interp.host_binary, pid)


def uprobe_events(interp):
    """Perf events of uprobes on the interpreter, from any process."""
    binary = str(interp.host_binary)
    return [e for e in targetmem.perf_events() if e.get("filename") == binary]


ENDINGS = {
    "SIGINT": lambda tracer: tracer.send_signal(signal.SIGINT),
    "SIGTERM": lambda tracer: tracer.send_signal(signal.SIGTERM),
    "SIGKILL": lambda tracer: tracer.send_signal(signal.SIGKILL),
    "duration": lambda tracer: None,
}


@pytest.mark.parametrize("ending", sorted(ENDINGS))
def test_nothing_left_behind(prof, interp, ws, procs, ending):
    expected = untraced_attach_output(interp, ws, "recursion", 1)
    target = start_target(procs, interp, ws, "recursion")
    assert semaphore_values(interp, target.pid) == {p: 0 for p in PROBES}, \
        "semaphores raised before attaching"
    opts = ("-d", "1") if ending == "duration" else ()
    tracer = attach(prof, procs, target, *opts)
    live = semaphore_values(interp, target.pid)
    assert all(v >= 1 for v in live.values()), "semaphores not raised while tracing: %s" % live
    assert uprobe_events(interp), "no uprobe perf event seen while tracing"
    ENDINGS[ending](tracer)
    res = tracer.wait(timeout=TIMEOUT, what="pybpf-prof ended by %s" % ending)
    if ending == "SIGKILL":
        assert res.returncode == -signal.SIGKILL, res.describe()
    else:
        assert res.returncode == 0, res.describe()
    assert semaphore_values(interp, target.pid) == {p: 0 for p in PROBES}, \
        "semaphores left raised after %s" % ending
    assert uprobe_events(interp) == [], "uprobes left after %s" % ending
    finish_target(target, expected)


# ---------------------------------------------------------------- eval-frame hook


GUARD_NAME = "pybpf-guard"


def guardians_of(pid):
    """PIDs of the children of pid whose comm is pybpf-guard."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        if ppid == pid and comm == GUARD_NAME:
            found.append(int(entry))
    return found


def uprobes_held_by(pids):
    """bpftool's perf events of uprobes held by these processes."""
    return [e for e in targetmem.perf_events()
            if e.get("pid") in pids and e.get("fd_type") in ("uprobe", "uretprobe")]


def wait_exit(pidfd, what):
    """Until the process behind pidfd has exited (its pidfd turns readable)."""
    ready, _, _ = select.select([pidfd], [], [], TIMEOUT)
    assert ready, "%s still running %gs later" % (what, TIMEOUT)


HOOK_ENDINGS = ("SIGINT", "SIGTERM", "duration", "target-exit", "SIGKILL")


@pytest.mark.interps("hook")
@pytest.mark.parametrize("ending", HOOK_ENDINGS)
def test_hook_removed(prof, interp, ws, procs, ending):
    expected = untraced_attach_output(interp, ws, "recursion", 1)
    target = start_target(procs, interp, ws, "recursion")
    hook = EvalFrame(target.pid, interp.version)
    assert hook.value() == 0, "eval_frame is %s before attaching" % hook.describe(hook.value())
    opts = ("-d", "1") if ending == "duration" else ()
    tracer = attach(prof, procs, target, "--backend", "evalframe", *opts)
    live = hook.value()
    guards = guardians_of(tracer.pid)
    held = uprobes_held_by({tracer.pid})
    assert live == hook.default, "eval_frame is %s while tracing, expected &_PyEval_EvalFrameDefault" % (
        hook.describe(live))
    assert len(guards) == 1, "pybpf-prof (PID %d) has %d %s children while tracing" % (
        tracer.pid, len(guards), GUARD_NAME)
    assert any(e.get("filename") == hook.image for e in held), (
        "no uprobe on %s held by pybpf-prof while tracing: %s" % (hook.image, held))
    assert uprobes_held_by(set(guards)) == [], "the guardian holds uprobes"
    guard_fd = os.pidfd_open(guards[0])
    try:
        if ending in ("SIGINT", "SIGTERM", "SIGKILL"):
            tracer.send_signal(getattr(signal, ending))
        elif ending == "target-exit":
            finish_target(target, expected)
        res = tracer.wait(timeout=TIMEOUT, what="pybpf-prof ended by %s" % ending)
        status = -signal.SIGKILL if ending == "SIGKILL" else 0
        assert res.returncode == status, res.describe()
        # After SIGKILL the guardian restores the hook; otherwise
        # pybpf-prof did and reaped it before exiting.
        wait_exit(guard_fd, "the guardian (%s, PID %d) after pybpf-prof's %s" % (
            GUARD_NAME, guards[0], ending))
    finally:
        os.close(guard_fd)
    assert uprobes_held_by({tracer.pid, guards[0]}) == [], "uprobes left after %s" % ending
    if ending != "target-exit":
        assert hook.value() == 0, "eval_frame is %s after %s, expected NULL" % (
            hook.describe(hook.value()), ending)
        finish_target(target, expected)
