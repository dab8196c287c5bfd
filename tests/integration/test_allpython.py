"""pybpf-prof --all-python against a fleet of real processes (needs root).

The fleet (FLEET), started before pybpf-prof, every Python one blocked on
stdin with its workload imported (attach_target.py, or fork_target.py):
  host-3.11      Debian's /usr/bin/python3.11 (static; evalframe, hook set)
  pyenv-3.10     pyenv's 3.10 (shared libpython; evalframe, no hook)
  pyenv-3.12     pyenv's 3.12 (shared libpython; evalframe, hook set)
  bullseye-3.9   bullseye's 3.9 (static; usdt: semaphores raised)
  sid-3.15-ns    sid's 3.15 under `unshare --pid --mount --fork chroot ROOT`:
                 its own PID and mount namespace, PID 1 there (usdt)
  exits          a 3.11 that runs its round in the window and exits: its
                 section stays, "(exited)"
  forker         a 3.12 that runs its round, then forks (fork_target.py):
                 the child, which inherits the eval-frame hook, runs its
                 round once pybpf-prof has said "tracing new PID <child>
                 ...; forked by PID <forker>"
  late           a shell that execs a 3.11 when told to, after pybpf-prof's
                 summary line: the round runs once pybpf-prof has said
                 "tracing new PID <pid> ...; started by exec"
  not-python     `sleep`: in no section, not listed as not traced.
Each Python process runs its workload's main() once in the window: its
section's counts (its pstats file, read by its own interpreter) must equal
cProfile's on the same interpreter, as for -p in test_usdt/test_evalframe
(known gaps of the eval-frame hook included). Then nothing of pybpf-prof
may be left: no BPF program or link it held, no uprobe, no hook (every
3.11+ process's eval_frame NULL, the forked child's too), no raised USDT
semaphore, and every target runs a further round with the output of an
untraced run.

One fleet per ending (test_all_python[...]):
  SIGINT    --exclude-pid <pytest>: probes per process; -o DIR (index.tsv)
  duration  -d, no filter: probes per interpreter file, pytest itself is
            traced too (and its hook removed at the end); -o with {pid}
  SIGKILL   --exclude-pid <pytest>: the guardian restores every hook.
Other Python processes of the host (other test runs) get sections too:
they are ignored, never asserted absent.

test_fleet_alone runs the same choreography without pybpf-prof
(`pytest -k fleet`), to check the fleet itself. Everything synchronises on
lines the processes print, with deadlines; nothing sleeps.
"""

import collections
import difflib
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import (INTEGRATION, REPO, TIMEOUT, interp_checked, pstats_json, reference, run,
                      workspace_for)
from targetmem import EvalFrame, runtime_image
from test_cleanup import PROBES, guardians_of, semaphore_values, wait_exit
from test_evalframe import HEADER_RX, undercount_gaps
from test_sample import SampleReport, bpf_fds, bpf_objects
from test_usdt import (Report, assert_error, check_totals, compare_callers, compare_counts,
                       untraced_attach_output)

PYTEST_PID = os.getpid()
ALLPY_WORKLOADS = REPO / "tests" / "workloads" / "allpython"
# -d of the duration ending: long enough for the whole choreography in the
# window on a loaded 2-core machine (it takes a few seconds).
WINDOW = 15

# stderr
MAPS = r"(?:, BPF maps up to \d+ (?:[KMGT]i)?B)?"  # the bound on map memory, when said
START_RX = re.compile(r"^pybpf-prof: tracing PID (\d+) \((.*)\): CPython (\S+), (static|shared), "
                      r"backend (usdt|evalframe)$")
NEW_RX = re.compile(r"^pybpf-prof: tracing new PID (\d+) \((.*)\): CPython (\S+), (static|shared), "
                    r"backend (usdt|evalframe); (?:started by exec|forked by PID (\d+))$")
EXITED_RX = re.compile(r"^pybpf-prof: PID (\d+) exited after (\d+\.\d{3}) s traced$")
NOT_TRACING_RX = re.compile(r"^pybpf-prof: not (?:tracing|sampling) PID (\d+) \((.*)\): (.+)$")
SUMMARY_RX = re.compile(r"^pybpf-prof: tracing (\d+) Python process(?:es)? \(([^)]*)\), (\d+) not traced"
                        r"(?:, probes on (\d+) interpreter files?(?: and (\d+) process(?:es)?)?)?"
                        r"%s; (?:Ctrl-C to stop|stopping after --duration)$" % MAPS)
SAMPLING_START_RX = re.compile(r"^pybpf-prof: sampling PID (\d+) \((.*)\): CPython (\S+), (static|shared)")
SAMPLING_SUMMARY_RX = re.compile(r"^pybpf-prof: sampling (\d+) Python process(?:es)? in (wall|cpu|offcpu) "
                                 r"mode at (\d+) Hz, (\d+) not sampled%s; " % MAPS +
                                 r"(?:Ctrl-C to stop|stopping after --duration)$")
PROGRESS_RX = re.compile(r"\d+ s (?:left|so far)")

# stdout (allpython-spec.md)
RUN_RX = re.compile(r"^Python processes (traced|sampled): (\d+) for (\d+\.\d{3}) s, "
                    r"(\d+) not (traced|sampled)$")
SECTION_RX = re.compile(r"^======== PID (\d+)(?: \(PID (\d+) in its namespace\))?: (.*)$")
COVER_RX = re.compile(r"^(Traced|Sampled) from (\d+\.\d{3}) s to (\d+\.\d{3}) s of the run"
                      r"(?: \((exited|exec'ed another program)\))?(?:; forked by PID (\d+))?$")
HOT_ACROSS_RX = re.compile(r"^======== Hot spots across (\d+) processes$")
NOT_TRACED_RX = re.compile(r"^======== Not (traced|sampled) \((\d+)\)$")
REFUSAL_RX = re.compile(r"^PID (\d+) \((.*)\): (.+)$")
INDEX_HEADER = "file\tpid\tns_pid\tcommand\tversion\tbuild\tbackend\tfrom_s\tto_s\tend\tncalls"

# name, interpreter id, workload, kind. Kinds: "stay" runs a round in the
# window and one after; "ns" likewise, in its own PID and mount namespace;
# "exits" runs its round and exits; "forker" (fork_target.py); "late" is
# a shell that execs the Python in the window.
FLEET = (
    ("host-3.11", "host-py3.11", "methods", "stay"),
    ("pyenv-3.10", "pyenv-py3.10", "closures", "stay"),
    ("pyenv-3.12", "pyenv-py3.12", "recursion", "stay"),
    ("bullseye-3.9", "py3.9", "generators", "stay"),
    ("sid-3.15-ns", "sid-py3.15", "methods", "ns"),
    ("exits", "host-py3.11", "closures", "exits"),
    ("forker", "pyenv-py3.12", "closures", "forker"),
    ("late", "host-py3.11", "recursion", "late"),
)
# --sample: two busy (spin.py, until told to stop) and two idle.
SAMPLE_FLEET = (
    ("host-3.11", "host-py3.11", "allpython/spin", "spin"),
    ("bullseye-3.9", "py3.9", "allpython/spin", "spin"),
    ("pyenv-3.12", "pyenv-py3.12", "recursion", "idle"),
    ("sid-3.15-ns", "sid-py3.15", "recursion", "ns-idle"),
)
FORK_INPUT = "go\ngo\ngo\nexit\ngo\n"  # forker r0, child r0, child r1, child exits, forker r1


# ---------------------------------------------------------------- interpreters and workspaces


def interp_or_skip(ident):
    """The Interp of that id, checked as conftest's interp fixture does;
    skips the test when it is absent."""
    return interp_checked(ident, skip_prefix="--all-python fleet needs ")


def workspace(interp, registry):
    """conftest's workspace of interp (as its ws fixture makes it), with
    fork_target.py and tests/workloads/allpython/ copied in."""
    ws = workspace_for(interp, registry)
    if not (ws.host_dir / "fork_target.py").exists():
        shutil.copy(INTEGRATION / "fork_target.py", ws.host_dir / "fork_target.py")
        (ws.host_dir / "workloads" / "allpython").mkdir(exist_ok=True)
        for src in ALLPY_WORKLOADS.glob("*.py"):
            shutil.copy(src, ws.host_dir / "workloads" / "allpython" / src.name)
    return ws


# ---------------------------------------------------------------- the fleet


class Member:
    """One process of the fleet. pid is its host PID (for sid-3.15-ns the
    python's, the child of unshare), ns_pid its PID in its own namespace."""

    def __init__(self, name, interp, ws, workload, kind):
        self.name, self.interp, self.ws, self.workload, self.kind = name, interp, ws, workload, kind
        self.proc = self.pid = self.ns_pid = None
        self.hook = None  # EvalFrame, 3.11+
        self.argv = []  # the Python's command line once it runs

    @property
    def backend(self):
        return "usdt" if self.interp.usdt else "evalframe"

    @property
    def hooked(self):
        """Whether pybpf-prof sets the PEP 523 hook in it while tracing."""
        return self.backend == "evalframe" and self.interp.needs_hook

    @property
    def rounds(self):
        return 2 if self.kind in ("stay", "ns", "late") else 1

    def python_argv(self):
        script = "fork_target.py" if self.kind == "forker" else "attach_target.py"
        args = [self.ws.workload(self.workload)] + ([] if self.kind == "forker" else [str(self.rounds)])
        return [self.interp.python, self.ws.script(script), *args]

    def spawn_argv(self):
        argv = self.python_argv()
        if self.kind in ("ns", "ns-idle"):
            return ["unshare", "--pid", "--mount", "--fork", "chroot", str(self.interp.root), *argv]
        if self.interp.root:
            argv = ["chroot", str(self.interp.root), *argv]
        if self.kind == "late":
            return ["sh", "-c", 'read line && exec "$@"', "sh", *argv]
        return argv

    def untraced(self):
        """What it prints, and its status, when nothing traces it."""
        if self.kind == "forker":
            key = ("forker", self.interp.id, self.workload)
            if key not in _untraced:
                res = run(self.interp.cmd(*self.python_argv()[1:]), input=FORK_INPUT)
                assert res.returncode == 0 and not res.stderr, res.describe()
                _untraced[key] = res
            return _untraced[key]
        return untraced_attach_output(self.interp, self.ws, self.workload, self.rounds)

    def __repr__(self):
        return "%s (PID %s, %s)" % (self.name, self.pid, self.interp.id)


_untraced = {}


def mask_child(text):
    return re.sub(r"^child \d+ waiting$", "child N waiting", text, flags=re.M)


class Fleet:
    """The fleet's processes (procs fixture: killed at teardown), and the
    pybpf-prof tracing it, whose output is drained while the test waits on
    the fleet (a full pipe would stall it)."""

    def __init__(self, procs, registry, roles):
        self.procs = procs
        self.tracer = None
        self.members = []
        for name, ident, workload, kind in roles:
            interp = interp_or_skip(ident)
            self.members.append(Member(name, interp, workspace(interp, registry), workload, kind))
        self.child = None
        self.other = None  # the process that is not Python

    def get(self, name):
        return next(m for m in self.members if m.name == name)

    def pythons(self):
        return [m for m in self.members if m.pid]

    def prepare(self):
        """References and untraced outputs, before anything starts."""
        for m in self.members:
            if m.kind not in ("spin",):
                reference(m.interp, m.ws, m.workload)
            m.untraced()

    def start(self):
        """Every member up and blocked on stdin, the namespaced one's PIDs
        found, plus the process that is not Python."""
        for m in self.members:
            m.proc = self.procs(m.spawn_argv())
            if m.kind != "late":
                self.wait_line(m.proc, "stdout", r"ready$", "%s's 'ready'" % m.name)
                self.found(m)
        self.other = self.procs(["sleep", "1000"], stdin=False)

    def found(self, m):
        """Its PIDs, once its Python runs."""
        m.pid = m.proc.pid
        if m.kind in ("ns", "ns-idle"):
            m.pid = namespaced_child(m.proc.pid)
        m.ns_pid = nspid(m.pid)
        m.argv = read_cmdline(m.pid)
        assert m.argv == m.python_argv(), "%s's command line is %r, expected %r" % (
            m.name, m.argv, m.python_argv())
        if m.interp.needs_hook:
            m.hook = EvalFrame(m.pid, m.interp.version)

    # -- waiting on a member while draining pybpf-prof
    def wait_line(self, proc, stream, pattern, what):
        """proc's first line on stream matching pattern; pybpf-prof's output
        is read meanwhile. Fails at the deadline or once proc has closed
        its output without printing it."""
        deadline = time.monotonic() + TIMEOUT
        rx = re.compile(pattern)
        pumped = [proc] + ([self.tracer] if self.tracer and self.tracer is not proc else [])
        while True:
            for line in proc.text(stream).splitlines(keepends=True):
                if line.endswith("\n") and rx.match(line):
                    return line.rstrip("\n")
            left = deadline - time.monotonic()
            if not proc.sel.get_map():
                pytest.fail("%s closed its output without printing %s (a line matching %r on %s)\n%s%s" % (
                    proc.argv[0], what, pattern, stream, proc.describe(), self.tracer_text(proc)))
            if left <= 0:
                pytest.fail("timed out after %gs waiting for %s (a line matching %r on %s)\n%s%s" % (
                    TIMEOUT, what, pattern, stream, proc.describe(), self.tracer_text(proc)))
            select.select([k.fd for p in pumped for k in p.sel.get_map().values()], [], [], left)
            for p in pumped:
                p._pump(0)

    def tracer_text(self, proc):
        if not self.tracer or self.tracer is proc:
            return ""
        return "\n--- pybpf-prof ---\n" + self.tracer.describe()

    def tracer_line(self, pattern, what):
        return self.wait_line(self.tracer, "stderr", pattern, what)

    # -- the choreography
    def window(self):
        """What runs while pybpf-prof traces: each Python's round, the exit,
        the fork and the late exec, each waited for."""
        for m in self.members:
            if m.kind in ("stay", "ns", "exits", "forker"):
                m.proc.write("go\n")
        for m in self.members:
            if m.kind in ("stay", "ns", "exits", "forker"):
                self.wait_line(m.proc, "stdout", r"round 0 done$", "%s's round 0" % m.name)
        forker = self.get("forker")
        line = self.wait_line(forker.proc, "stdout", r"child \d+ waiting$", "the forked child's PID")
        self.child = Member("child", forker.interp, forker.ws, forker.workload, "child")
        self.child.pid = int(line.split()[1])
        self.child.ns_pid = nspid(self.child.pid)
        self.child.argv = read_cmdline(self.child.pid)
        self.child.hook = EvalFrame(self.child.pid, forker.interp.version)
        if self.tracer:
            self.tracer_line(r"pybpf-prof: tracing new PID %d \(.*; forked by PID %d$" % (
                self.child.pid, forker.pid), "pybpf-prof's 'tracing new PID %d ...; forked by PID %d'" % (
                self.child.pid, forker.pid))
            self.live_hook(self.child)
        forker.proc.write("go\n")
        self.wait_line(forker.proc, "stdout", r"child round 0 done$", "the child's round 0")
        late = self.get("late")
        late.proc.write("exec\n")
        self.wait_line(late.proc, "stdout", r"ready$", "the late Python's 'ready'")
        self.found(late)
        if self.tracer:
            self.tracer_line(r"pybpf-prof: tracing new PID %d \(.*; started by exec$" % late.pid,
                             "pybpf-prof's 'tracing new PID %d ...; started by exec'" % late.pid)
            self.live_hook(late)
        late.proc.write("go\n")
        self.wait_line(late.proc, "stdout", r"round 0 done$", "the late Python's round 0")
        exits = self.get("exits")
        self.exited = exits.proc.wait(what="the exiting Python")
        if self.tracer:
            self.tracer_line(r"pybpf-prof: PID %d exited after \d+\.\d{3} s traced$" % exits.pid,
                             "pybpf-prof's 'PID %d exited after ...'" % exits.pid)

    def live_hook(self, m):
        if m.hook:
            value = m.hook.value()
            assert value == m.hook.default, "%s: eval_frame is %s while traced, expected " \
                "&_PyEval_EvalFrameDefault" % (m, m.hook.describe(value))

    def finish(self):
        """A further round for every live Python: output and status those of
        an untraced run."""
        problems = []
        for m in self.members:
            if m.kind == "exits":
                res = self.exited
            elif m.kind == "forker":
                m.proc.write("go\n")
                self.wait_line(m.proc, "stdout", r"child round 1 done$", "the child's round 1")
                m.proc.write("exit\n")
                self.wait_line(m.proc, "stdout", r"child exited \d+$", "the child's exit")
                m.proc.write("go\n")
                self.wait_line(m.proc, "stdout", r"round 1 done$", "the forker's round 1")
                m.proc.close_stdin()
                res = m.proc.wait(what=m.name)
            else:
                m.proc.write("go\n")
                res = m.proc.wait(what=m.name)
            want = m.untraced()
            got_out, want_out = mask_child(res.stdout), mask_child(want.stdout)
            if (res.returncode, got_out, res.stderr) != (want.returncode, want_out, ""):
                problems.append("%s: exit %s, untraced %s; stderr %r; stdout diff:\n%s" % (
                    m, res.returncode, want.returncode, res.stderr, "\n".join(difflib.unified_diff(
                        want_out.splitlines(), got_out.splitlines(), "untraced", "after pybpf-prof",
                        lineterm=""))))
        assert not problems, "targets do not run on as untraced:\n" + "\n".join(problems)


def namespaced_child(unshare_pid):
    """Host PID of the one child of unshare --fork (the namespace's PID 1)."""
    kids = []
    for children in Path("/proc/%d/task" % unshare_pid).glob("*/children"):
        kids += [int(k) for k in children.read_text().split()]
    assert len(kids) == 1, "unshare (PID %d) has children %r, expected one" % (unshare_pid, kids)
    return kids[0]


def nspid(pid):
    """PID in its innermost PID namespace (the last NSpid field)."""
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    raise AssertionError("no NSpid line in /proc/%d/status" % pid)


def read_cmdline(pid):
    return Path("/proc/%d/cmdline" % pid).read_bytes().decode().split("\0")[:-1]


# ---------------------------------------------------------------- pybpf-prof's report


Section = collections.namedtuple("Section", "pid ns_pid command cover body")
Cover = collections.namedtuple("Cover", "start end ended forked_by")


class HostReport:
    """stdout of --all-python: the run line, one section per process, the
    merged hot spots, the processes not traced."""

    def __init__(self, stdout, sampling=False):
        self.text = stdout
        lines = stdout.split("\n")
        m = RUN_RX.match(lines[0])
        word = "sampled" if sampling else "traced"
        assert m and m.group(1) == word, (
            "first line is not 'Python processes %s: N for S s, M not %s': %r" % (word, word, lines[0]))
        self.count, self.seconds, self.not_traced = int(m.group(2)), float(m.group(3)), int(m.group(4))
        self.sections = collections.OrderedDict()
        self.hot_count = self.hot_text = None
        self.refusals = {}
        starts = [i for i, line in enumerate(lines) if line.startswith("======== ")] + [len(lines)]
        assert starts[0] == 2 and lines[1] == "", "the run line is not followed by a blank line and a " \
            "section:\n" + stdout[:2000]
        for a, b in zip(starts, starts[1:]):
            head, body = lines[a], lines[a + 1:b]
            sec, hot, nt = SECTION_RX.match(head), HOT_ACROSS_RX.match(head), NOT_TRACED_RX.match(head)
            if sec:
                assert not self.hot_text and not self.refusals, "a process section after the hot spots or " \
                    "the not-traced list: %r" % head
                pid = int(sec.group(1))
                assert pid not in self.sections, "two sections for PID %d" % pid
                c = COVER_RX.match(body[0]) if body else None
                assert c and c.group(1) == ("Sampled" if sampling else "Traced"), (
                    "section %r: the next line is not '%s from A s to B s of the run...': %r" % (
                        head, "Sampled" if sampling else "Traced", body[:1]))
                cover = Cover(float(c.group(2)), float(c.group(3)), c.group(4),
                              int(c.group(5)) if c.group(5) else None)
                self.sections[pid] = Section(pid, int(sec.group(2)) if sec.group(2) else None, sec.group(3),
                                             cover, "\n".join(body[1:]))
            elif hot:
                assert self.hot_count is None, "two hot-spot sections"
                self.hot_count, self.hot_text = int(hot.group(1)), "\n".join(body)
            elif nt:
                assert nt.group(1) == word, head
                refusals = [line for line in body if line]
                assert len(refusals) == int(nt.group(2)), "%r announces %s lines, found:\n%s" % (
                    head, nt.group(2), "\n".join(refusals))
                for line in refusals:
                    r = REFUSAL_RX.match(line)
                    assert r, "cannot parse %r under %r" % (line, head)
                    self.refusals[int(r.group(1))] = (r.group(2), r.group(3))
            else:
                raise AssertionError("unknown section line %r" % head)
        assert len(self.sections) == self.count, "the run line says %d processes, %d sections" % (
            self.count, len(self.sections))
        assert len(self.refusals) == self.not_traced, "the run line says %d not %s, %d listed" % (
            self.not_traced, word, len(self.refusals))
        assert self.hot_count == self.count, "'Hot spots across %s processes' for %d processes" % (
            self.hot_count, self.count)


def shown_as(shown, argv, cut=None):
    """Whether shown is argv joined by spaces (escaped: our argv has no
    control characters), possibly cut (to `cut` bytes, with '...')."""
    joined = " ".join(argv)
    if shown == joined:
        return True
    if not shown.endswith("..."):
        return False
    head = shown[:-3]
    return joined.startswith(head) and (cut is None or len(head) in (cut - 3, cut)) and len(head) >= 20


def check_stderr(stderr, fleet, initial, sampling=False):
    """A start line for each member traced at start, one 'tracing new' for
    the child and the late one, one 'exited' for the one that exits, nothing
    about the non-Python process, no progress line (not a terminal)."""
    lines = stderr.splitlines()
    problems = []
    start_rx = SAMPLING_START_RX if sampling else START_RX
    starts = {int(m.group(1)): m for m in map(start_rx.match, lines) if m}
    news = {int(m.group(1)): m for m in map(NEW_RX.match, lines) if m}
    refused = {int(m.group(1)) for m in map(NOT_TRACING_RX.match, lines) if m}
    exited = [int(m.group(1)) for m in map(EXITED_RX.match, lines) if m]
    for m in initial:
        line = starts.get(m.pid)
        if not line:
            problems.append("no 'tracing PID %d (...)' line for %s" % (m.pid, m))
            continue
        if not shown_as(line.group(2), m.argv, 100):
            problems.append("%s: command shown as %r, its command line is %r" % (m, line.group(2), m.argv))
        if line.group(3) != m.interp.micro:
            problems.append("%s: CPython %s, it is %s" % (m, line.group(3), m.interp.micro))
        build = "shared" if m.interp.origin == "pyenv" else "static"
        if line.group(4) != build:
            problems.append("%s: build %s, expected %s" % (m, line.group(4), build))
        if not sampling and line.group(5) != m.backend:
            problems.append("%s: backend %s, expected %s" % (m, line.group(5), m.backend))
    for m in [] if sampling else [fleet.child, fleet.get("late")]:
        line = news.get(m.pid)
        if not line:
            problems.append("no 'tracing new PID %d' line for %s" % (m.pid, m))
            continue
        if line.group(3) != m.interp.micro or line.group(5) != m.backend:
            problems.append("%s: %r, expected CPython %s, backend %s" % (m, line.group(0), m.interp.micro,
                                                                          m.backend))
        if not shown_as(line.group(2), m.argv, 100):
            problems.append("%s: command shown as %r, its command line is %r" % (m, line.group(2), m.argv))
        if m.kind == "child" and line.group(6) != str(fleet.get("forker").pid):
            problems.append("%s: %r does not say forked by PID %d" % (
                m, line.group(0), fleet.get("forker").pid))
    ours = {m.pid for m in fleet.pythons()} | ({fleet.child.pid} if fleet.child else set())
    for pid in (ours | {fleet.other.pid}) & refused:
        problems.append("PID %d is ours, and listed as not traced" % pid)
    if not sampling:
        want_exited = {fleet.get("exits").pid}
        if exited.count(fleet.get("exits").pid) != 1:
            problems.append("expected one 'PID %d exited after' line" % fleet.get("exits").pid)
        problems += ["PID %d said to have exited, it runs on" % pid
                     for pid in set(exited) & ours - want_exited]
    problems += ["a progress line although stderr is not a terminal: %r" % line
                 for line in lines if PROGRESS_RX.search(line) or "\r" in line]
    assert not problems, "stderr:\n  %s\n%s" % ("\n  ".join(problems), stderr[-6000:])


# ---------------------------------------------------------------- nothing left behind


class Held:
    """What pybpf-prof holds while tracing: BPF programs (named py_*/pys_*)
    and links, and its guardian processes."""

    def __init__(self, tracer_pid, expect_guardian):
        fds = bpf_fds(tracer_pid)
        progs = bpf_objects("prog")
        self.progs = {i for i in fds["prog"] if re.match(r"pys?_", progs.get(i, {}).get("name", ""))}
        assert self.progs, "pybpf-prof holds no BPF program named py_*/pys_* while tracing: %s" % {
            i: progs.get(i, {}).get("name") for i in fds["prog"]}
        self.links = fds["link"] | {i for i, e in bpf_objects("link").items()
                                    if e.get("prog_id") in self.progs}
        self.perf = perf_events_of(self.progs)
        assert self.perf or self.links, "no perf event or link runs pybpf-prof's programs %s while " \
            "tracing" % sorted(self.progs)
        self.guards = guardians_of(tracer_pid)
        if expect_guardian:
            assert self.guards, "pybpf-prof (PID %d) has no pybpf-guard child while hooks are set" % (
                tracer_pid)
        self.guard_fds = [os.pidfd_open(g) for g in self.guards]

    def check_gone(self, why):
        """Once pybpf-prof and its guardians have exited: no process holds a
        descriptor to its programs or links, none is pinned, no perf event
        runs them. (Their IDs may stay listed for a moment: the kernel frees
        some, links and uprobes, after an RCU grace period.)"""
        for fd, guard in zip(self.guard_fds, self.guards):
            wait_exit(fd, "the guardian (PID %d) after pybpf-prof's %s" % (guard, why))
            os.close(fd)
        self.guard_fds = []
        progs = self.progs & set(bpf_objects("prog"))
        links = self.links & set(bpf_objects("link"))
        left_perf = perf_events_of(self.progs)
        held, pinned = holders(progs, links)
        assert not (held or pinned or left_perf), (
            "after %s: pybpf-prof's programs/links held by PIDs %s, pinned %s, uprobe perf events %s" % (
                why, dict(held), pinned, left_perf))


def holders(progs, links):
    """({id: [PID, ...]} of the processes holding a descriptor to these
    programs or links, {id: pinned paths})."""
    held = collections.defaultdict(list)
    if progs or links:
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                fds = bpf_fds(int(pid))
            except OSError:  # gone meanwhile
                continue
            for i in (fds["prog"] & progs) | (fds["link"] & links):
                held[i].append(int(pid))
    pinned = {}
    for kind, ids in (("prog", progs), ("link", links)):
        if ids:
            out = subprocess.run(["bpftool", "-j", "-f", kind, "show"], capture_output=True, text=True,
                                 check=True, timeout=TIMEOUT).stdout
            pinned.update({e["id"]: e["pinned"] for e in json.loads(out or "[]")
                           if e["id"] in ids and e.get("pinned")})
    return held, pinned


def perf_events_of(prog_ids):
    out = subprocess.run(["bpftool", "-j", "perf", "show"], capture_output=True, text=True, check=True,
                         timeout=TIMEOUT).stdout
    return [e for e in json.loads(out or "[]") if e.get("prog_id") in prog_ids]


def check_targets_live(fleet):
    """While tracing: hooks set where the eval-frame backend runs on 3.11+,
    not where USDT does; semaphores raised in the USDT targets."""
    problems = []
    for m in fleet.pythons():
        if m.hook:
            value, want = m.hook.value(), (m.hook.default if m.hooked else 0)
            if value != want:
                problems.append("%s: eval_frame %s while tracing, expected %s" % (
                    m, m.hook.describe(value), m.hook.describe(want)))
        if m.backend == "usdt":
            sems = semaphore_values(m.interp, m.pid)
            if not all(v >= 1 for v in sems.values()):
                problems.append("%s: USDT semaphores %s while tracing" % (m, sems))
    assert not problems, "while tracing:\n  " + "\n  ".join(problems)


def check_targets_clean(fleet, why, include_self=False):
    """eval_frame NULL in every live 3.11+ process of ours, the forked
    child's too; USDT semaphores 0; every one still running."""
    problems = []
    members = [m for m in fleet.pythons() if m.kind != "exits"] + ([fleet.child] if fleet.child else [])
    for m in members:
        if not Path("/proc/%d" % m.pid).exists():
            problems.append("%s is gone" % m)
            continue
        if m.hook and m.hook.value() != 0:
            problems.append("%s: eval_frame is %s" % (m, m.hook.describe(m.hook.value())))
        if m.backend == "usdt":
            sems = semaphore_values(m.interp, m.pid)
            if sems != {p: 0 for p in PROBES}:
                problems.append("%s: USDT semaphores %s" % (m, sems))
    if include_self:
        me = EvalFrame(PYTEST_PID, "%d.%d" % sys.version_info[:2])
        if me.value() != 0:
            problems.append("pytest itself (PID %d): eval_frame is %s" % (
                PYTEST_PID, me.describe(me.value())))
    assert not problems, "after %s:\n  %s%s" % (why, "\n  ".join(problems), foreign_profilers())


def foreign_profilers():
    """For failure messages: pybpf-prof processes that are not this test's
    (another --all-python run traces this fleet too)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            comm = Path("/proc/%s/comm" % pid).read_text().strip()
            args = " ".join(read_cmdline(int(pid)))
            ppid = int(Path("/proc/%s/stat" % pid).read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if comm == "pybpf-prof" and ppid != PYTEST_PID:
            found.append("PID %s: %s" % (pid, args))
    return "\nother pybpf-prof processes running:\n  " + "\n  ".join(found) if found else ""


# ---------------------------------------------------------------- checks of the report


def check_sections(report, fleet, excluded):
    """One section per Python process of ours, with its PIDs, command and
    time covered; none for the process that is not Python; order by own time."""
    problems = []
    late, exits, forker = fleet.get("late"), fleet.get("exits"), fleet.get("forker")
    ours = fleet.pythons() + [fleet.child]
    for m in ours:
        sec = report.sections.get(m.pid)
        if sec is None:
            problems.append("no section for %s" % m)
            continue
        want_ns = m.ns_pid if m.ns_pid != m.pid else None
        if sec.ns_pid != want_ns:
            problems.append("%s: section says PID %s in its namespace, expected %s" % (
                m, sec.ns_pid, want_ns))
        if not shown_as(sec.command, m.argv):
            problems.append("%s: command shown as %r, its command line is %r" % (m, sec.command, m.argv))
        c = sec.cover
        if not 0 <= c.start <= c.end <= report.seconds:
            problems.append("%s: traced from %.3f to %.3f s of a %.3f s run" % (
                m, c.start, c.end, report.seconds))
        if c.ended != ("exited" if m is exits else None):
            problems.append("%s: ended %r" % (m, c.ended))
        if c.forked_by != (forker.pid if m is fleet.child else None):
            problems.append("%s: forked by %r" % (m, c.forked_by))
        if m not in (exits,) and c.end != report.seconds:
            problems.append("%s: traced to %.3f s, the run lasted %.3f s" % (m, c.end, report.seconds))
    first = [report.sections[m.pid].cover.start for m in fleet.pythons()
             if m is not late and m.pid in report.sections]
    for m in (late, fleet.child):
        if m.pid in report.sections and first and report.sections[m.pid].cover.start < max(first):
            problems.append("%s: traced from %.3f s, before the processes traced at start (%.3f s)" % (
                m, report.sections[m.pid].cover.start, max(first)))
    for pid, what in ((fleet.other.pid, "the process that is not Python"), (PYTEST_PID, "pytest (excluded)")):
        if pid in report.sections and (pid != PYTEST_PID or excluded):
            problems.append("a section for %s (PID %d)" % (what, pid))
        if pid in report.refusals:
            problems.append("%s (PID %d) is listed as not traced" % (what, pid))
    if not excluded and PYTEST_PID not in report.sections:
        problems.append("no section for pytest itself (PID %d), a CPython process not excluded" % PYTEST_PID)
    assert not problems, "sections:\n  %s\n%s" % ("\n  ".join(problems), report.text[:3000])


def check_order(report, totals):
    """Sections by total own time, largest first, ties by PID (ours: their
    files' total_tt)."""
    ordered = [pid for pid in report.sections if pid in totals]
    for a, b in zip(ordered, ordered[1:]):
        assert totals[a] > totals[b] - 1e-6 and (totals[a] != totals[b] or a < b), (
            "section of PID %d (own time %.6f s) before PID %d (%.6f s): not by own time, then PID" % (
                a, totals[a], b, totals[b]))


def load_profile(m, prof_host_path):
    """The member's pstats file as its own interpreter's pstats reads it."""
    dest = m.ws.mkdir("allpy-%s" % m.name) + "/ours.prof"
    shutil.copy(prof_host_path, m.ws.host(dest))
    return pstats_json(m.interp, m.ws, dest)


def check_member_profile(report, m, ours):
    """The member's profile against cProfile's on its interpreter; the
    section's header and totals agree with it."""
    ref = reference(m.interp, m.ws, m.workload)[0]
    sec = report.sections[m.pid]
    body = Report(sec.body)
    assert body.pid == m.pid, "%s: the section's report is 'Profile of PID %d'" % (m, body.pid)
    h = HEADER_RX.match(body.header)
    assert h, "%s: report header is not 'Profile of PID N: CPython V (BUILD, PATH), backend B, " \
        "S s traced': %r" % (m, body.header)
    assert (h.group(2), h.group(4), h.group(3).startswith("shared")) == (
        m.interp.micro, m.backend, m.interp.origin == "pyenv"), "%s: %r" % (m, body.header)
    check_totals(body, ours)
    unnamed = sorted(label for label in ours["stats"] if label.startswith("<unknown>:"))
    assert not unnamed, "%s: %d functions are not named (their names map entries are missing): %s" % (
        m, len(unnamed), unnamed[:5])
    gaps = undercount_gaps(m.interp) if m.backend == "evalframe" else []
    names = set().union(*(g.names for g in gaps))
    wl = m.ws.workload(m.workload)
    # traced from its exec: the workload's import (module body, class bodies) is seen too
    compare_counts(ours, ref, wl, m.workload, m.kind == "late", m.interp.version, may_undercount=names)
    compare_callers(ours, ref, wl, m.workload, m.interp.version, skip_names=names)


def read_index(path):
    lines = Path(path).read_text().split("\n")
    assert lines[0] == INDEX_HEADER, "index.tsv header %r, expected %r" % (lines[0], INDEX_HEADER)
    assert lines[-1] == "", "index.tsv does not end with a newline"
    rows = {}
    for line in lines[1:-1]:
        fields = line.split("\t")
        assert len(fields) == 11, "index.tsv line with %d fields: %r" % (len(fields), line)
        row = dict(zip(INDEX_HEADER.split("\t"), fields))
        assert row["pid"] not in rows, "index.tsv lists PID %s twice" % row["pid"]
        rows[int(row["pid"])] = row
    return rows


def check_index(outdir, report, fleet, profiles):
    """index.tsv: a line per section, with a file pid-<PID>.prof; ours
    described right."""
    rows = read_index(outdir / "index.tsv")
    assert set(rows) == set(report.sections), "index.tsv lists PIDs %s, the report has sections for %s" % (
        sorted(rows), sorted(report.sections))
    problems = []
    for pid, row in rows.items():
        name = "pid-%d.prof" % pid
        if os.path.basename(row["file"]) != name or not (outdir / name).is_file():
            problems.append("PID %d: file %r (expected pid-%d.prof in %s)" % (pid, row["file"], pid, outdir))
    for m in fleet.pythons() + [fleet.child]:
        row, cover = rows[m.pid], report.sections[m.pid].cover
        want = {"ns_pid": str(m.ns_pid), "command": " ".join(m.argv), "version": m.interp.micro,
                "build": "shared" if m.interp.origin == "pyenv" else "static", "backend": m.backend,
                "from_s": "%.3f" % cover.start, "to_s": "%.3f" % cover.end,
                "end": "exited" if m.kind == "exits" else "running",
                "ncalls": str(profiles[m.pid]["total_calls"])}
        got = {k: row[k] for k in want}
        if got != want:
            problems.append("%s: %s" % (m, {k: (got[k], want[k]) for k in want if got[k] != want[k]}))
    assert not problems, "index.tsv (got, expected):\n  " + "\n  ".join(problems)


def check_summary(summary, initial, stderr):
    """'tracing N Python processes (A usdt, B evalframe), M not traced,
    probes on F interpreter files[ and P processes]': ours among them."""
    m = SUMMARY_RX.match(summary)
    assert m, "summary line %r does not match /%s/" % (summary, SUMMARY_RX.pattern)
    n, backends, _, files, per_process = m.groups()
    by_backend = {b: int(k) for k, b in re.findall(r"(\d+) (\w+)", backends)}
    ours = collections.Counter(mm.backend for mm in initial)
    assert int(n) >= len(initial) and sum(by_backend.values()) == int(n) and all(
        by_backend.get(b, 0) >= k for b, k in ours.items()), "summary %r; ours: %s\n%s%s" % (
            summary, dict(ours), stderr, foreign_profilers())
    if files is not None:
        distinct = {runtime_image(mm.pid) for mm in initial}
        # a file mapped by a process left out has its probes per process instead
        assert int(files) + int(per_process or 0) >= len(distinct), (
            "summary %r; ours run %d interpreter files: %s" % (summary, len(distinct), sorted(distinct)))


# ---------------------------------------------------------------- the tests


@pytest.fixture
def fleet_of(procs, _workspace_registry):
    def make(roles):
        fleet = Fleet(procs, _workspace_registry, roles)
        fleet.prepare()
        return fleet
    return make


def test_fleet_alone(fleet_of):
    """The fleet without pybpf-prof: every process starts and reaches
    'ready', the namespaced one is PID 1 in its namespace, the choreography
    runs (fork, late exec, exit), nothing is hooked or raised, and every
    one's output is an untraced run's."""
    fleet = fleet_of(FLEET)
    fleet.start()
    ns = fleet.get("sid-3.15-ns")
    assert ns.ns_pid == 1 and ns.pid != 1, "%s: host PID %d, namespace PID %d" % (ns, ns.pid, ns.ns_pid)
    assert all(m.ns_pid == m.pid for m in fleet.pythons() if m is not ns)
    check_targets_clean(fleet, "starting")
    fleet.window()
    assert fleet.exited.returncode == 0
    assert fleet.child.argv == fleet.get("forker").argv and fleet.child.ns_pid == fleet.child.pid
    check_targets_clean(fleet, "the window")
    fleet.finish()


ENDINGS = ("SIGINT", "duration", "SIGKILL")


@pytest.mark.parametrize("ending", ENDINGS)
def test_all_python(prof, fleet_of, tmp_path, ending):
    """The whole fleet under pybpf-prof --all-python, ended by `ending`:
    the talk on stderr, one section per Python process of ours with its
    PIDs, command and time covered, the files (-o DIR with index.tsv, or
    -o with {pid}), each process's counts equal to cProfile's, and nothing
    left behind; every target runs on as if never traced."""
    fleet = fleet_of(FLEET)
    fleet.start()
    check_targets_clean(fleet, "starting")
    excluded = ending != "duration"
    if ending == "duration":
        out = tmp_path / "prof-{pid}.out"
        opts = ["-d", str(WINDOW), "-o", str(out)]
    else:
        out = tmp_path / "allpy"
        opts = ["--exclude-pid", str(PYTEST_PID), "-o", str(out)]
    initial = [m for m in fleet.pythons()]
    started = time.monotonic()
    fleet.tracer = fleet.procs([prof, "--all-python", *opts], stdin=False)
    summary = fleet.wait_line(fleet.tracer, "stderr", r"pybpf-prof: tracing \d+ Python process",
                              "pybpf-prof's summary line")
    check_summary(summary, initial, fleet.tracer.text("stderr"))
    check_targets_live(fleet)
    held = Held(fleet.tracer.pid, expect_guardian=True)
    fleet.window()
    if ending == "duration":
        assert fleet.tracer.alive(), "the -d %d window closed before the choreography ended (%.1f s after " \
            "start): raise WINDOW\n%s" % (WINDOW, time.monotonic() - started, fleet.tracer.describe())
    else:
        fleet.tracer.send_signal(getattr(signal, ending))
    res = fleet.tracer.wait(timeout=TIMEOUT + WINDOW, what="pybpf-prof ended by %s" % ending)
    assert res.returncode == (-signal.SIGKILL if ending == "SIGKILL" else 0), res.describe()
    held.check_gone(ending)
    check_targets_clean(fleet, ending, include_self=not excluded and sys.version_info >= (3, 11))
    fleet.finish()
    if ending != "SIGKILL":
        check_stderr(res.stderr, fleet, initial)
        report = HostReport(res.stdout)
        if ending == "duration":
            assert WINDOW - 0.01 <= report.seconds < WINDOW + 5, "a -d %d run lasted %.3f s" % (
                WINDOW, report.seconds)
        check_sections(report, fleet, excluded)
        profiles = {}
        for m in fleet.pythons() + [fleet.child]:
            path = out / ("pid-%d.prof" % m.pid) if excluded else Path(str(out).replace("{pid}", str(m.pid)))
            profiles[m.pid] = load_profile(m, path)
        check_order(report, {pid: p["total_tt"] for pid, p in profiles.items()})
        if excluded:
            mode = out.stat().st_mode & 0o777
            assert mode == 0o755, "-o DIR made with mode %o, expected 755" % mode
            check_index(out, report, fleet, profiles)
        else:
            made = {int(p.name[5:-4]) for p in tmp_path.glob("prof-*.out")}
            assert made == set(report.sections), "-o prof-{pid}.out wrote files for %s, sections are %s" % (
                sorted(made), sorted(report.sections))
        problems = []
        for m in fleet.pythons() + [fleet.child]:
            try:
                check_member_profile(report, m, profiles[m.pid])
            except AssertionError as exc:
                problems.append("%s:\n%s" % (m, exc))
        assert not problems, "profiles differ from cProfile's:\n" + "\n".join(problems)


def test_all_python_sample(prof, fleet_of):
    """--all-python --sample -d 2 on a smaller fleet: one section per Python
    process of ours, sampled; the two busy ones have on-CPU samples in
    spin.py; nothing for the process that is not Python."""
    fleet = fleet_of(SAMPLE_FLEET)
    fleet.start()
    fleet.tracer = fleet.procs([prof, "--all-python", "--sample", "-d", "2",
                                "--exclude-pid", str(PYTEST_PID)], stdin=False)
    summary = fleet.wait_line(fleet.tracer, "stderr", r"pybpf-prof: sampling \d+ Python process",
                              "pybpf-prof's summary line")
    m = SAMPLING_SUMMARY_RX.match(summary)
    assert m and int(m.group(1)) >= len(fleet.members), "summary line %r: expected /%s/ with at least " \
        "%d processes" % (summary, SAMPLING_SUMMARY_RX.pattern, len(fleet.members))
    busy = [m for m in fleet.members if m.kind == "spin"]
    for m in busy:
        m.proc.write("go\n")
    res = fleet.tracer.wait(what="pybpf-prof --sample -d 2")
    for m in busy:
        m.proc.write("stop\n")
        done = m.proc.wait(what=m.name)
        want = (0, "ready\nspin stopped\nround 0 done\n", "")
        assert (done.returncode, done.stdout, done.stderr) == want, done.describe()
    assert res.returncode == 0, res.describe()
    check_stderr(res.stderr, fleet, fleet.pythons(), sampling=True)
    report = HostReport(res.stdout, sampling=True)
    problems = []
    for m in fleet.pythons():
        sec = report.sections.get(m.pid)
        if sec is None:
            problems.append("no section for %s" % m)
            continue
        if sec.ns_pid != (m.ns_pid if m.ns_pid != m.pid else None):
            problems.append("%s: namespace PID %s, expected %d" % (m, sec.ns_pid, m.ns_pid))
        body = SampleReport(sec.body)
        if body.pid != m.pid or body.version != m.interp.micro:
            problems.append("%s: 'Sampled profile of PID %d ... CPython %s'" % (m, body.pid, body.version))
        if m.kind == "spin":
            spin = m.ws.workload("allpython/spin")
            rows = [r for r in body.rows if r.label.startswith(spin + ":")]
            if body.cpu == 0 or not any(r.label.endswith("(spin_step)") and r.own > 0 for r in rows):
                problems.append("%s is busy: %d on-CPU samples, rows of spin.py %s" % (m, body.cpu, rows))
    for pid in (fleet.other.pid, PYTEST_PID):
        if pid in report.sections or pid in report.refusals:
            problems.append("PID %d (not Python, or excluded) is in the report" % pid)
    assert not problems, "sampled sections:\n  %s\n%s" % ("\n  ".join(problems), res.stdout[:4000])
    for m in fleet.members:
        if m.kind != "spin":
            m.proc.write("go\n")
            done = m.proc.wait(what=m.name)
            want = m.untraced()
            assert (done.returncode, done.stdout, done.stderr) == (want.returncode, want.stdout, ""), (
                done.describe())


LEFT_OUT_FLEET = (
    ("kept", "host-py3.11", "recursion", "stay"),
    ("kept-3.9", "py3.9", "recursion", "stay"),
    ("unmatched", "host-py3.11", "methods", "stay"),
    ("excluded", "pyenv-py3.12", "recursion", "stay"),
    ("late-unmatched", "py3.9", "methods", "late"),
)


def check_untouched(m, when):
    """No hook (3.11+), no raised USDT semaphore (usdt interpreters)."""
    if m.hook and m.hook.value() != 0:
        pytest.fail("%s, left out, has eval_frame %s %s%s" % (
            m, m.hook.describe(m.hook.value()), when, foreign_profilers()))
    if m.backend == "usdt":
        sems = semaphore_values(m.interp, m.pid)
        assert sems == {p: 0 for p in PROBES}, "%s, left out, has USDT semaphores %s %s%s" % (
            m, sems, when, foreign_profilers())


def test_left_out_untouched(prof, fleet_of, tmp_path):
    """--match and --exclude-pid: a 3.11 whose command line does not match,
    a 3.12 excluded by PID, and a 3.9 (USDT) that does not match and
    starts during the run, on the interpreter file of a 3.9 that is traced,
    are left as they are (no hook, no raised semaphore, no section, not
    listed as not traced), while the ones kept are traced exactly."""
    fleet = fleet_of(LEFT_OUT_FLEET)
    fleet.start()
    kept, kept39, unmatched, excluded, late = fleet.members
    fleet.tracer = fleet.procs([prof, "--all-python", "--match", r"workloads/recursion\.py( |$)",
                                "--exclude-pid", "%d,%d" % (PYTEST_PID, excluded.pid),
                                "-o", str(tmp_path / "p-{pid}.prof")], stdin=False)
    fleet.wait_line(fleet.tracer, "stderr", r"pybpf-prof: tracing \d+ Python process",
                    "pybpf-prof's summary line")
    fleet.live_hook(kept)
    assert all(v >= 1 for v in semaphore_values(kept39.interp, kept39.pid).values()), (
        "%s: USDT semaphores not raised while traced" % kept39)
    for m in (unmatched, excluded):
        check_untouched(m, "while pybpf-prof runs")
    held = Held(fleet.tracer.pid, expect_guardian=True)
    late.proc.write("exec\n")
    fleet.wait_line(late.proc, "stdout", r"ready$", "the late 3.9's 'ready'")
    fleet.found(late)
    # the kernel raises the semaphores of a probe on the file when the file is mapped
    check_untouched(late, "once started while pybpf-prof runs")
    for m in fleet.members:
        m.proc.write("go\n")
    for m in fleet.members:
        fleet.wait_line(m.proc, "stdout", r"round 0 done$", "%s's round 0" % m.name)
    fleet.tracer.send_signal(signal.SIGINT)
    res = fleet.tracer.wait(what="pybpf-prof after SIGINT")
    assert res.returncode == 0, res.describe()
    held.check_gone("SIGINT")
    check_targets_clean(fleet, "SIGINT")
    fleet.finish()
    report = HostReport(res.stdout)
    for m in (unmatched, excluded, late):
        assert m.pid not in report.sections and m.pid not in report.refusals, (
            "%s, left out, is in the report:\n%s" % (m, res.stdout[:3000]))
        assert not re.search(r"PID %d\b" % m.pid, res.stderr), "%s, left out, is named on stderr:\n%s" % (
            m, res.stderr)
        assert not (tmp_path / ("p-%d.prof" % m.pid)).exists(), "a file written for %s, left out" % m
    for m in (kept, kept39):
        assert m.pid in report.sections, "no section for %s:\n%s" % (m, res.stdout[:3000])
        check_member_profile(report, m, load_profile(m, tmp_path / ("p-%d.prof" % m.pid)))


# ---------------------------------------------------------------- bad input


USAGE_ERRORS = {
    "with-pid": ["--all-python", "-p", "1"],
    "with-command": ["--all-python", "--", "python3", "-c", "pass"],
    "exclude-pid-not-a-number": ["--all-python", "--exclude-pid", "x"],
    "exclude-pid-trailing-junk": ["--all-python", "--exclude-pid", "12,x"],
    "exclude-pid-without-all-python": ["--exclude-pid", "1", "-p", "1"],
    "match-bad-regex": ["--all-python", "--match", "("],
    "match-without-all-python": ["--match", "python", "-p", "1"],
    "max-processes-zero": ["--all-python", "--max-processes", "0"],
    "max-threads-zero": ["--all-python", "--max-threads", "0"],
    "max-functions-zero": ["--all-python", "--max-functions", "0"],
}


@pytest.mark.parametrize("case", sorted(USAGE_ERRORS))
def test_usage_error(prof, case):
    """Exit 64, one 'pybpf-prof: what: why' line on stderr, nothing on stdout."""
    assert_error(run([prof, *USAGE_ERRORS[case]]), 64, what=" (usage error) for %s" % " ".join(
        USAGE_ERRORS[case]))
