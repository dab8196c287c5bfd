#!/usr/bin/env python3
"""The soak run (`make soak`, root): SOAK_SECONDS of `pybpf-prof -p PID
--duration` rounds against busy multi-threaded targets, checking after every
round that the counts are exact and that nothing of pybpf-prof is left, and
at the end that its memory and descriptors stayed flat.

The targets run tests/soak_target.py (SOAK_THREADS threads calling outer(),
which calls a() 3 times and b() 5 times, at full speed; a batch of exactly
SOAK_BATCH calls of one() on request) under the host's python3.11 (exact
with the eval-frame backend, which sets the PEP 523 hook) and bullseye's
python3.9 (exact with its USDT probes), each from a private copy of its
interpreter binary: uprobes on that file, BPF objects held by our processes
and guardians holding our targets' memory are ours, whatever other
pybpf-prof runs on the machine at the same time. Rounds go round-robin over
(target, mode), modes exact and --sample; the target not profiled is held
stopped (SIGSTOP) meanwhile.

Each round checks: pybpf-prof exits 0; exact mode: one() counted exactly
SOAK_BATCH times, batch() once, and a, b within the calls in flight at the
window's edges of 3 and 5 times outer (3 and 5 per thread); sampling mode:
outer() sampled. While tracing: the probes, BPF objects, guardian and hook
(or semaphores) are there, so the checks after can fail. After it: no perf
event on our interpreter copy or held by pybpf-prof or its guardian, no BPF
object pybpf-prof held still held by any process (and none still existing a
round later), the eval-frame hook NULL, the USDT semaphores 0, no guardian
left, the target's descriptors and threads as before. At the end, per
(target, mode), the median peak RSS of pybpf-prof (GNU time's %M) over the
last rounds is within SOAK_RSS_TOLERANCE_KB of that over the first rounds,
and so is the number of its descriptors while tracing (SOAK_FD_TOLERANCE;
its run loop's, made after it says it traces, left out).

Knobs (environment): SOAK_SECONDS (3600), SOAK_ROUND_SECONDS (5),
SOAK_THREADS (4), SOAK_BATCH (10000), SOAK_RSS_TOLERANCE_KB (1024),
SOAK_FD_TOLERANCE (0), PYBPF_PROF (./pybpf-prof), PYBPF_PY39 (else what
tests/provision.sh --print-env reports). Exit status 1 if any check failed;
after GIVE_UP_AFTER failed rounds in a row it stops there.
"""

import ctypes
import json
import os
import pstats
import re
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "integration"))
# The integration tests' process handling, interpreters and environment, and
# their reader of a target's memory from outside.
from conftest import HOST_PYTHON311, PROVISIONED, PYBPF_PROF, REPO, TIMEOUT, Proc, run  # noqa: E402
import targetmem  # noqa: E402


def knob(name, default, kind=int):
    value = os.environ.get(name, "")
    try:
        return kind(value) if value else default
    except ValueError:
        sys.exit("soak: %s=%r is not a number" % (name, value))


SECONDS = knob("SOAK_SECONDS", 3600.0, float)
ROUND_SECONDS = knob("SOAK_ROUND_SECONDS", 5)
THREADS = knob("SOAK_THREADS", 4)
BATCH = knob("SOAK_BATCH", 10000)
RSS_TOLERANCE_KB = knob("SOAK_RSS_TOLERANCE_KB", 1024)
FD_TOLERANCE = knob("SOAK_FD_TOLERANCE", 0)
GNU_TIME = "/usr/bin/time"
SOAK_TARGET = REPO / "tests" / "soak_target.py"
GUARD_NAME = "pybpf-guard"
MODES = ("exact", "sample")
BPF_KINDS = ("prog", "map", "link")
PR_SET_CHILD_SUBREAPER = 36
GIVE_UP_AFTER = 10  # failed rounds in a row: something is broken for good


class RoundError(Exception):
    """A check of the round failed: the round fails, the soak goes on."""


class Fatal(Exception):
    """The soak cannot go on (a target died)."""


# ---------------------------------------------------------------- processes


def comm_and_ppid(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None, None
    return stat[stat.index("(") + 1:stat.rindex(")")], int(stat[stat.rindex(")") + 2:].split()[1])


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def fd_links(pid):
    """{fd: link target} of pid's descriptors ({} once it is gone)."""
    links = {}
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return links
    for fd in names:
        try:
            links[int(fd)] = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            pass
    return links


# pybpf-prof opens its run loop's descriptors after the line saying it traces,
# so these are left out of the count taken while it traces (they are made once
# per run: nothing of them can pile up).
RUNLOOP_FDS = {"anon_inode:[eventpoll]", "anon_inode:[timerfd]", "anon_inode:[signalfd]",
               "anon_inode:[pidfd]"}


def tracing_fds(pid):
    return sum(link not in RUNLOOP_FDS for link in fd_links(pid).values())


def threads_of(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^Threads:\s+(\d+)", f.read(), re.M).group(1))


def vm_rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"^VmRSS:\s+(\d+)", f.read(), re.M).group(1))


def all_pids():
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def run_json(*argv):
    res = run(argv)
    if res.returncode != 0:
        raise Fatal("cannot list the kernel's objects:\n" + res.describe())
    return json.loads(res.stdout or "[]")


# ---------------------------------------------------------------- BPF objects and probes


BPF_FD_KINDS = {"anon_inode:bpf-prog": "prog", "anon_inode:bpf-map": "map",
                "anon_inode:bpf_link": "link"}


def bpf_ids_held(pid):
    """{kind: {id}} of the BPF programs, maps and links pid holds descriptors of
    (their ids from /proc/PID/fdinfo: attributed by holder, not by name)."""
    held = {kind: set() for kind in BPF_KINDS}
    for fd, link in fd_links(pid).items():
        kind = BPF_FD_KINDS.get(link)
        if not kind:
            continue
        try:
            with open("/proc/%d/fdinfo/%d" % (pid, fd)) as f:
                m = re.search(r"^%s_id:\s+(\d+)" % kind, f.read(), re.M)
        except OSError:
            continue
        if m:
            held[kind].add(int(m.group(1)))
    return held


def bpf_ids_existing():
    return {kind: {obj["id"] for obj in run_json("bpftool", "-j", kind, "show")}
            for kind in BPF_KINDS}


def bpf_holders(ids):
    """{(kind, id): [pid]} of every process holding one of ids."""
    found = {}
    for pid in all_pids():
        for kind, held in bpf_ids_held(pid).items():
            for obj in held & ids[kind]:
                found.setdefault((kind, obj), []).append(pid)
    return found


def perf_events():
    """bpftool's perf events with a BPF program (uprobes, perf counters), from every process."""
    return targetmem.perf_events()


def uprobe_events_on(path):
    """Lines of tracefs' uprobe_events naming path (None: tracefs is not mounted).
    libbpf makes its uprobes through perf_event_open, so they are seen by
    bpftool perf; this catches the legacy (tracefs) kind too."""
    for base in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        try:
            with open(base + "/uprobe_events") as f:
                return [line for line in f if str(path) in line]
        except OSError:
            continue
    return None


def stray_guardians(target_pids):
    """pybpf-guard processes that are ours: orphans reparented to us (we are
    a child subreaper) or holding one of our targets' memory."""
    mems = {"/proc/%d/mem" % pid for pid in target_pids}
    found = []
    for pid in all_pids():
        comm, ppid = comm_and_ppid(pid)
        if comm != GUARD_NAME:
            continue
        if ppid == os.getpid() or mems & set(fd_links(pid).values()):
            found.append(pid)
    return found


# ---------------------------------------------------------------- targets


class Target:
    """tests/soak_target.py under a private copy of an interpreter binary."""

    def __init__(self, name, python, version, backend, workdir):
        self.name, self.version, self.backend = name, version, backend
        source = Path(python).resolve()
        home = workdir / name
        (home / "bin").mkdir(parents=True)
        (home / "lib").mkdir()
        # Its standard library next to the copy, where the copy's sys.prefix
        # search looks for it (bin/../lib/pythonX.Y/os.py).
        (home / "lib" / ("python" + version)).symlink_to(
            source.parent.parent / "lib" / ("python" + version))
        self.binary = home / "bin" / ("python" + version)
        shutil.copy2(source, self.binary)
        self.proc = Proc([self.binary, SOAK_TARGET, THREADS])
        self.pid = self.proc.pid
        self.stopped = False
        self.batches = 0
        try:
            self.proc.wait_line("stdout", r"ready$", what="the target's 'ready'")
        except pytest.fail.Exception as exc:
            raise Fatal("target %s: %s" % (name, exc))
        self.hook = targetmem.EvalFrame(self.pid, version) if backend == "evalframe" else None
        self.fds = len(fd_links(self.pid))
        self.threads = threads_of(self.pid)
        self.rss = []
        problems = self.residue()
        if problems:
            raise Fatal("target %s before any round: %s" % (name, "; ".join(problems)))

    def residue(self):
        """What pybpf-prof may have left in this target ([] if nothing)."""
        problems = []
        if self.hook is not None and self.hook.value() != 0:
            problems.append("eval_frame is %s, expected NULL" % self.hook.describe(self.hook.value()))
        if self.backend == "usdt":
            sems = targetmem.semaphore_values(self.binary, self.pid)
            if any(sems.values()):
                problems.append("USDT semaphores left raised: %s" % sems)
        fds = len(fd_links(self.pid))
        if fds != self.fds:
            problems.append("the target has %d descriptors, %d at its start" % (fds, self.fds))
        threads = threads_of(self.pid)
        if threads != self.threads:
            problems.append("the target has %d threads, %d at its start" % (threads, self.threads))
        return problems

    def live_checks(self, mode, tracer_pid):
        """While tracing: what the checks after the round look for is there."""
        problems = []
        if mode == "exact" and self.hook is not None and self.hook.value() != self.hook.default:
            problems.append("eval_frame is %s while tracing" % self.hook.describe(self.hook.value()))
        if mode == "exact" and self.backend == "usdt":
            sems = targetmem.semaphore_values(self.binary, self.pid)
            if not all(sems.values()):
                problems.append("USDT semaphores not raised while tracing: %s" % sems)
        if mode == "exact" and not any(e.get("pid") == tracer_pid and e.get("filename") == str(self.binary)
                                       for e in perf_events()):
            problems.append("no uprobe on %s held by pybpf-prof while tracing" % self.binary)
        return problems

    def _wait_state(self, flag, check, what):
        _, status = os.waitpid(self.pid, flag)
        if not check(status):
            raise Fatal("target %s (PID %d) %s instead of being %s (wait status %#x)" % (
                self.name, self.pid, "ended" if os.WIFEXITED(status) or os.WIFSIGNALED(status)
                else "changed state", what, status))

    def stop(self):
        if not self.stopped:
            os.kill(self.pid, signal.SIGSTOP)
            self._wait_state(os.WUNTRACED, os.WIFSTOPPED, "stopped")
            self.stopped = True

    def cont(self):
        if self.stopped:
            os.kill(self.pid, signal.SIGCONT)
            self._wait_state(os.WCONTINUED, os.WIFCONTINUED, "continued")
            self.stopped = False

    def batch(self, n):
        """Runs a batch of n calls of one(); a target that does not answer is killed."""
        self.batches += 1
        self.proc.write("%d\n" % n)
        try:
            self.proc.wait_line("stdout", r"done %d #%d$" % (n, self.batches),
                                timeout=ROUND_SECONDS + TIMEOUT, what="the end of batch %d" % self.batches)
        except pytest.fail.Exception as exc:
            raise Fatal("target %s: %s" % (self.name, exc))

    def quit(self):
        """Ends the target; '' if it ended as it should, else what went wrong."""
        self.cont()
        try:
            self.proc.write("quit\n")
            self.proc.close_stdin()
            res = self.proc.wait(what="the target %s" % self.name)
        except (OSError, pytest.fail.Exception) as exc:
            self.proc.kill()
            return str(exc)
        if res.returncode != 0 or res.stderr or not res.stdout.endswith("bye\n"):
            return "did not end as it should:\n" + res.describe()
        return ""


# ---------------------------------------------------------------- rounds


class Soak:
    def __init__(self, targets, workdir):
        self.targets = targets
        self.workdir = workdir
        self.rounds = self.failed = 0
        self.one_checked = self.busy_checked = 0
        self.rss = {}  # (target, mode) -> [KB]
        self.fds = {}  # (target, mode) -> [descriptors while tracing]
        self.leftovers = {"uprobes": 0, "BPF objects": 0, "hooks/semaphores/target": 0,
                          "guardians": 0}
        self.pending = {kind: set() for kind in BPF_KINDS}  # unheld ids of the last round
        self.elapsed = 0.0
        self.freed_late = 0  # objects no process held, not yet freed by the kernel at a round's end

    def run(self):
        start = time.monotonic()
        self.elapsed = 0.0
        kinds = [(t, m) for m in MODES for t in self.targets]
        in_a_row = 0
        while time.monotonic() - start < SECONDS:
            if in_a_row == GIVE_UP_AFTER:
                print("soak: %d rounds failed in a row: stopping" % in_a_row, flush=True)
                break
            target, mode = kinds[self.rounds % len(kinds)]
            for other in self.targets:
                if other is not target:
                    other.stop()
            target.cont()
            self.rounds += 1
            began = time.monotonic()
            try:
                note = self.round(target, mode)
                status, in_a_row = "ok", 0
            except RoundError as exc:
                self.failed += 1
                in_a_row += 1
                status, note = "FAILED", str(exc)
            print("round %d [%4.0f s] %s %s: %s (%.1f s) %s" % (
                self.rounds, began - start, target.name, mode, status,
                time.monotonic() - began, note), flush=True)
            self.elapsed = time.monotonic() - start

    def round(self, target, mode):
        prof_file = self.workdir / ("%s-%s.prof" % (target.name, mode))
        rss_file = self.workdir / "rss"
        for f in (prof_file, rss_file):
            if f.exists():
                f.unlink()
        opts = ["--sample"] if mode == "sample" else ["--backend", target.backend]
        # GNU time runs pybpf-prof and writes its peak RSS (%M, KB) to rss_file.
        timer = Proc([GNU_TIME, "-f", "%M", "-o", rss_file, PYBPF_PROF, "-p", target.pid,
                      "-d", ROUND_SECONDS, "-o", prof_file, *opts], stdin=False)
        try:
            seen = self.while_tracing(target, mode, timer)
            res = timer.wait(timeout=ROUND_SECONDS + TIMEOUT, what="pybpf-prof's end")
        except pytest.fail.Exception as exc:  # Proc's deadlines: it killed pybpf-prof
            raise RoundError(str(exc))
        finally:
            timer.kill()
        if not target.proc.alive():
            raise Fatal("target %s died during the round:\n%s" % (target.name, target.proc.describe()))
        problems = list(seen["problems"])
        if res.returncode != 0:
            problems.append("pybpf-prof failed:\n" + res.describe())
        rss = self.peak_rss(rss_file, problems)
        counts = self.check_profile(prof_file, mode, problems) if res.returncode == 0 else ""
        problems += self.check_leftovers(target, seen)
        target.rss.append(vm_rss_kb(target.pid))
        if problems:
            raise RoundError("; ".join(problems))
        self.rss.setdefault((target.name, mode), []).append(rss)
        self.fds.setdefault((target.name, mode), []).append(seen["fds"])
        return "%s, rss %d KB, fds %d, held %s" % (
            counts, rss, seen["fds"], " ".join("%d %ss" % (len(seen["ids"][k]), k) for k in BPF_KINDS))

    def while_tracing(self, target, mode, timer):
        """Waits until pybpf-prof traces, runs the batch, looks at what it holds."""
        word = "sampling" if mode == "sample" else "tracing"
        timer.wait_line("stderr", r"pybpf-prof: %s PID %d\b" % (word, target.pid),
                        what="pybpf-prof's '%s PID' line" % word)
        kids = [pid for pid in children(timer.pid) if comm_and_ppid(pid)[0] == "pybpf-prof"]
        if len(kids) != 1:
            raise RoundError("%s has no pybpf-prof child: %s" % (GNU_TIME, children(timer.pid)))
        tracer = kids[0]
        target.batch(BATCH)
        # Looked at now, while pybpf-prof runs (the batch takes well under a round).
        seen = {"tracer": tracer, "fds": tracing_fds(tracer), "ids": bpf_ids_held(tracer),
                "guards": [pid for pid in children(tracer) if comm_and_ppid(pid)[0] == GUARD_NAME]}
        problems = target.live_checks(mode, tracer)
        if not all(seen["ids"][k] for k in ("prog", "map")):
            problems.append("pybpf-prof holds no BPF program or map while tracing: %s" % seen["ids"])
        wanted = 1 if mode == "exact" and target.hook is not None else 0
        if len(seen["guards"]) != wanted:
            problems.append("pybpf-prof has %d %s children while tracing, expected %d" % (
                len(seen["guards"]), GUARD_NAME, wanted))
        if not timer.alive():
            problems.append("pybpf-prof ended before the checks while tracing were done")
        seen["problems"] = problems
        return seen

    @staticmethod
    def peak_rss(rss_file, problems):
        try:
            return int(rss_file.read_text().split()[-1])
        except (OSError, ValueError, IndexError) as exc:
            problems.append("no peak RSS from %s: %s" % (GNU_TIME, exc))
            return 0

    def check_profile(self, prof_file, mode, problems):
        try:
            stats = pstats.Stats(str(prof_file)).stats
        except Exception as exc:  # pstats raises whatever marshal/TypeError gives
            problems.append("cannot read %s with pstats: %s" % (prof_file, exc))
            return ""
        ncalls = {}
        for (filename, _, name), (_, nc, _, _, _) in stats.items():
            if Path(filename).name == SOAK_TARGET.name:
                ncalls[name] = ncalls.get(name, 0) + nc
        outer, a, b = (ncalls.get(k, 0) for k in ("outer", "a", "b"))
        if mode == "sample":
            if outer <= 0:
                problems.append("no sample of outer() in %d s: %s" % (ROUND_SECONDS, ncalls))
            return "samples outer %d a %d b %d" % (outer, a, b)
        if ncalls.get("one") != BATCH or ncalls.get("batch") != 1:
            problems.append("one() counted %s times, batch() %s, expected %d and 1" % (
                ncalls.get("one"), ncalls.get("batch"), BATCH))
        else:
            self.one_checked += BATCH
        if outer <= 0 or abs(a - 3 * outer) > 3 * THREADS or abs(b - 5 * outer) > 5 * THREADS:
            problems.append("outer %d a %d b %d are not 1:3:5 give or take %d calls in flight" % (
                outer, a, b, THREADS))
        else:
            self.busy_checked += outer + a + b
        return "one %s/%d, outer %d a %+d b %+d" % (ncalls.get("one"), BATCH, outer,
                                                    a - 3 * outer, b - 5 * outer)

    def check_leftovers(self, target, seen):
        problems = []
        ours = {seen["tracer"], *seen["guards"], *(t.pid for t in self.targets)}
        probes = [e for e in perf_events()
                  if e.get("pid") in ours or e.get("filename") in {str(t.binary) for t in self.targets}]
        tracefs = [line for t in self.targets for line in (uprobe_events_on(t.binary) or [])]
        if probes or tracefs:
            self.leftovers["uprobes"] += len(probes) + len(tracefs)
            problems.append("perf events left: %s %s" % (probes, tracefs))
        problems += self.bpf_leftovers(seen["ids"])
        residue = target.residue()
        if residue:
            self.leftovers["hooks/semaphores/target"] += len(residue)
            problems += residue
        guards = [pid for pid in seen["guards"] if comm_and_ppid(pid)[0] == GUARD_NAME]
        guards += [pid for pid in stray_guardians([t.pid for t in self.targets]) if pid not in guards]
        if guards:
            self.leftovers["guardians"] += len(guards)
            problems.append("%s processes left: %s" % (GUARD_NAME, guards))
        return problems

    def bpf_leftovers(self, held):
        """The objects pybpf-prof held must be held by nobody now; those the
        kernel has not freed yet (no holder) must be gone a round later."""
        existing = bpf_ids_existing()
        problems = []
        late = {k: self.pending[k] & existing[k] for k in BPF_KINDS}
        if any(late.values()):
            problems.append("BPF objects of the previous round still exist: %s" % late)
        still = {k: held[k] & existing[k] for k in BPF_KINDS}
        holders = bpf_holders(still)
        if holders:
            problems.append("BPF objects of pybpf-prof still held: %s" % ", ".join(
                "%s %d by %s" % (kind, obj, pids) for (kind, obj), pids in sorted(holders.items())))
        self.leftovers["BPF objects"] += sum(map(len, late.values())) + len(holders)
        self.pending = {k: still[k] - {obj for kind, obj in holders if kind == k} for k in BPF_KINDS}
        self.freed_late += sum(map(len, self.pending.values()))
        return problems

    def unfreed_at_end(self):
        """How many objects of the last round, held by nobody, the kernel has
        not freed yet (said, not failed: there is no round after it to wait;
        every earlier round's were checked gone a round later)."""
        existing = bpf_ids_existing()
        return sum(len(self.pending[k] & existing[k]) for k in BPF_KINDS)

    def trends(self):
        """(lines, failures): per kind, the last rounds' medians against the first rounds'."""
        lines, failures = [], 0
        for label, series, tolerance in (("peak RSS (KB)", self.rss, RSS_TOLERANCE_KB),
                                         ("fds while tracing", self.fds, FD_TOLERANCE)):
            for (name, mode), values in sorted(series.items()):
                k = max(1, min(5, len(values) // 3))
                first, last = statistics.median(values[:k]), statistics.median(values[-k:])
                flat = last - first <= tolerance
                failures += not flat
                lines.append("soak: pybpf-prof %s, %s %s: min %d max %d over %d rounds; median "
                             "of the first %d %g, of the last %d %g (tolerance %d): %s" % (
                                 label, name, mode, min(values), max(values), len(values),
                                 k, first, k, last, tolerance, "flat" if flat else "GROWS"))
        return lines, failures


# ---------------------------------------------------------------- setup


def interpreters():
    """[(name, python, version, backend)] of the targets, and notes on those missing."""
    found, notes = [], []
    if os.access(HOST_PYTHON311, os.X_OK):
        found.append(("host-3.11", HOST_PYTHON311, "3.11", "evalframe"))
    else:
        notes.append("no %s: no eval-frame target" % HOST_PYTHON311)
    py39 = PROVISIONED.get("PYBPF_PY39")
    if py39 and os.access(py39, os.X_OK):
        found.append(("bullseye-3.9", py39, "3.9", "usdt"))
    else:
        notes.append("no bullseye python3.9 (%s; run tests/provision.sh): no USDT target" % py39)
    return found, notes


def preflight():
    if os.geteuid() != 0:
        sys.exit("soak: needs root (BPF, /proc/PID/mem of the targets)")
    for path, hint in ((PYBPF_PROF, "make"), (GNU_TIME, "sudo make deps"),
                       (shutil.which("bpftool") or "bpftool", "sudo make deps")):
        if not os.access(path, os.X_OK):
            sys.exit("soak: no %s (hint: %s)" % (path, hint))
    # Orphaned guardians come to us, where they are seen (and reaped by nobody else).
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        sys.exit("soak: prctl(PR_SET_CHILD_SUBREAPER): %s" % os.strerror(ctypes.get_errno()))


def summary(soak, targets):
    """The final lines; the number of failed checks outside the rounds."""
    trend_lines, trend_failures = soak.trends()
    print("soak: %d rounds in %.0f s (%s), %d failed" % (
        soak.rounds, soak.elapsed, ", ".join("%s %s" % (t.name, m) for m in MODES for t in targets),
        soak.failed))
    print("soak: calls checked: one() %d exact; outer/a/b 1:3:5 over %d calls" % (
        soak.one_checked, soak.busy_checked))
    for line in trend_lines:
        print(line)
    for t in targets:
        print("soak: target %s RSS min %d max %d KB" % (t.name, min(t.rss or [0]), max(t.rss or [0])))
    print("soak: leftovers: %s (BPF objects held by nobody but not yet freed at a round's end, "
          "checked gone a round later: %d; of the last round, not yet freed at the end: %d)" % (
              ", ".join("%s %d" % kv for kv in soak.leftovers.items()), soak.freed_late,
              soak.unfreed_at_end()))
    return trend_failures


def main():
    preflight()
    specs, notes = interpreters()
    for note in notes:
        print("soak: " + note, flush=True)
    if not specs:
        sys.exit("soak: no target interpreter")
    workdir = Path(tempfile.mkdtemp(prefix="pybpf-soak-"))
    targets, problems, soak = [], [], None
    try:
        for spec in specs:
            targets.append(Target(*spec, workdir))
        print("soak: %d s of %d s rounds, %d busy threads per target, batches of %d calls; "
              "targets: %s" % (SECONDS, ROUND_SECONDS, THREADS, BATCH, ", ".join(
                  "%s (PID %d, %s)" % (t.name, t.pid, t.binary) for t in targets)), flush=True)
        soak = Soak(targets, workdir)
        soak.run()
        for t in targets:
            problem = t.quit()
            if problem:
                problems.append("target %s: %s" % (t.name, problem))
    except Fatal as exc:
        problems.append("FATAL: %s" % exc)
    finally:
        for t in targets:
            t.proc.kill()
        shutil.rmtree(workdir, ignore_errors=True)
    failures = summary(soak, targets) if soak else 0
    for problem in problems:
        print("soak: %s" % problem)
    ok = soak and not (soak.failed or failures or problems)
    print("soak: %s" % ("PASS" if ok else "FAIL"), flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
