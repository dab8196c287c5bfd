"""-p when the traced process forks or execs (needs root).

A fork of a process with the eval-frame hook set (3.11+) holds a copy of
the hook: pybpf-prof -p does not trace the child, so it puts the child's
copy back to NULL at once, and says so at the end; after the run both
parent and child have NULL (read from outside, targetmem.py) and run on.
An exec of the traced (or, with --sample, sampled) process ends the run by
itself, with one line that says why, exit status 0, and the new program
runs on unharmed."""

import signal

import pytest

from targetmem import EvalFrame

INTERPS = "all"

FORKER = '''
import os, sys
def work(n):
    return sum(i * i for i in range(n))
print("ready", flush=True)
sys.stdin.readline()
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(w)
    os.read(r, 1)
    print("child %d" % work(1000), flush=True)
    os._exit(0)
os.close(r)
print("child pid %d" % pid, flush=True)
sys.stdin.readline()
os.write(w, b"g")
os.waitpid(pid, 0)
print("parent %d" % work(1000), flush=True)
sys.stdin.readline()
'''

EXECER = '''
import os, sys
print("ready", flush=True)
sys.stdin.readline()
os.execv(sys.executable, [sys.executable, "-c",
         "import sys; sys.stdin.readline(); print('new program', sum(range(10)))"])
'''


def write_script(ws, name, text):
    d = ws.mkdir(name)
    ws.host(d + "/" + name).write_text(text)
    return d + "/" + name


def test_fork_gets_its_hook_back(interp, ws, prof, procs):
    if not interp.needs_hook:
        pytest.skip("CPython %s: the eval-frame backend sets no hook before 3.11" % interp.version)
    target = procs(interp.cmd(write_script(ws, "forker.py", FORKER)))
    target.wait_line("stdout", r"ready$", what="the target's readiness")
    p = procs([prof, "--backend", "evalframe", "-p", str(target.pid)])
    p.wait_line("stderr", r"pybpf-prof: tracing PID", what="the tracing line")
    parent_hook = EvalFrame(target.pid, interp.version)
    assert parent_hook.value() == parent_hook.default, "the hook is not set in the traced process"
    target.write("go\n")
    child = int(target.wait_line("stdout", r"child pid \d+$").split()[-1])
    p.send_signal(signal.SIGINT)
    res = p.wait(what="pybpf-prof after SIGINT")
    assert res.returncode == 0, res.describe()
    assert "forked 1 process while traced" in res.stderr, res.describe()
    child_hook = EvalFrame(child, interp.version)
    assert parent_hook.value() == 0, "parent's eval_frame: %s" % parent_hook.describe(parent_hook.value())
    assert child_hook.value() == 0, "child's eval_frame: %s" % child_hook.describe(child_hook.value())
    target.write("go\n")
    target.wait_line("stdout", r"child 332833500$", what="the child's result")
    target.wait_line("stdout", r"parent 332833500$", what="the parent's result")
    target.write("end\n")
    assert target.wait().returncode == 0


def exec_ends_the_run(interp, ws, prof, procs, opts, verb, header):
    """The target execs a new program while pybpf-prof (opts) runs on it: the
    run ends, saying so, with the report of what it saw; the new program runs on."""
    target = procs(interp.cmd(write_script(ws, "execer.py", EXECER)))
    target.wait_line("stdout", r"ready$", what="the target's readiness")
    p = procs([prof, *opts, "-p", str(target.pid)])
    p.wait_line("stderr", r"pybpf-prof: %s PID" % verb, what="the %s line" % verb)
    target.write("go\n")
    res = p.wait(what="pybpf-prof after the target's exec")
    assert res.returncode == 0, res.describe()
    assert "PID %d exec'ed another program: stopping" % target.pid in res.stderr, res.describe()
    assert res.stdout.startswith("%s of PID %d" % (header, target.pid)), res.describe()
    target.write("x\n")
    target.wait_line("stdout", r"new program 45$", what="the new program's output")
    assert target.wait().returncode == 0


def test_exec_ends_the_run(interp, ws, prof, procs):
    exec_ends_the_run(interp, ws, prof, procs, [], "tracing", "Profile")


@pytest.mark.interps("all", versions=("3.9", "3.12", "3.14"))
def test_exec_ends_the_sampling(interp, ws, prof, procs):
    """--sample -p: the exec is seen (the target's old memory reads nothing
    any more) and ends the run as for tracing, not sampling another program."""
    exec_ends_the_run(interp, ws, prof, procs, ["--sample"], "sampling", "Sampled profile")
