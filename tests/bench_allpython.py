#!/usr/bin/env python3
"""make bench (--all-python): what tracing every Python process of a host
costs, against tracing one with -p, measured side by side in one run.

The host: 20 idle Python processes (tests/bench/allpython_idle.py: imports a
few modules, then blocks reading stdin, so no Python code runs while they
wait), cycling over the interpreters present (/usr/bin/python3.11, pyenv
3.9-3.13, bullseye's 3.9 and the sid chroot's 3.13-3.15 from
tests/provision.sh), and 2 busy ones (tests/bench/allpython_busy.py, the
small calls of callheavy.py): the host's python3.11 (evalframe backend) and
bullseye's python3.9 (usdt). A busy one does a fixed amount of work when
asked (a line on its stdin) and times it itself, so neither its start-up nor
the profiler's attaching is counted. All 22 are started once and live for
the whole run; the two busy ones work one after the other, never at once.

Configurations, run BENCH_ROUNDS times (default 5), the order rotating each
round, medians compared:
  untraced
  -p floor         pybpf-prof -p BUSY --probe-floor, one run per busy process:
                   empty programs on the same probes, the bare cost floor
  -p               pybpf-prof -p BUSY, one run per busy process
  all              pybpf-prof --all-python
  all --match      pybpf-prof --all-python --match <this benchmark's scripts>
                   (other Python processes untouched)
  all floor        pybpf-prof --all-python --probe-floor (n/a if refused)
  all --sample     pybpf-prof --all-python --sample
Every --all-python run excludes this script's own PID (--exclude-pid); all
but --match trace whatever other Python processes the host runs: their
number is shown. USDT probes go on each interpreter file once, except on a
file that an excluded process maps (a probe on the file would fire in it too)
and under --match: there pybpf-prof attaches per process, as it always does
for the eval-frame backend. This script is excluded, so when it runs on one
of the targets' interpreters (make bench: /usr/bin/python3, the host's 3.11),
that file's processes get probes of their own. The profiler table's last
column shows how many files and processes were probed.

Figures: the busy processes' work time, slowdown against untraced and against
-p, added ns per call and that cost against the floor's (as tests/bench.py
quotes it); per profiler run: attach time (from its start to its "tracing
PID"/"tracing N Python processes" line on stderr), stop time (SIGINT to exit,
the report included), its CPU time (/proc/PID/stat: at attach and at the
end), peak RSS (VmHWM, read just before it is stopped), the memory of its BPF
maps (memlock of the maps it holds, from /proc/PID/fdinfo: the same bytes as
bpftool's bytes_memlock, whose map listing has no owner PIDs here; read while
it runs), its eval_frame guardians (children named pybpf-guard: how many, and
their proportional set size) and the processes it reported (at start on
stderr, in the report).

Environment: PYBPF_PROF (default ROOT/pybpf-prof), BENCH_ROUNDS (5),
BENCH_ALLPY_SCALE (1: the busy processes' amount of work, about 300k calls;
0.05 makes a smoke run), BENCH_ALLPY_IDLE (20), BENCH_ALLPY_MATCH_ONLY=1
(every --all-python run gets --match, so no other process on the host is
touched: for trying the benchmark on a shared machine), BENCH_ALLPY_JSON=FILE
(the raw numbers). A configuration this pybpf-prof does not have is shown as
"n/a"; the exit status is 1 when a pybpf-prof run fails or a benchmark
process dies.
"""
import collections
import json
import os
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import provisioned, pyenv_roots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROF = os.environ.get("PYBPF_PROF") or os.path.join(ROOT, "pybpf-prof")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SCALE = os.environ.get("BENCH_ALLPY_SCALE", "1")
IDLE_COUNT = int(os.environ.get("BENCH_ALLPY_IDLE", "20"))
MATCH_ONLY = os.environ.get("BENCH_ALLPY_MATCH_ONLY", "0") == "1"
JSON_OUT = os.environ.get("BENCH_ALLPY_JSON", "")
PYENV_VERSIONS = ["3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
SID_VERSIONS = ["3.13", "3.14", "3.15"]
BUSY, IDLE = "allpython_busy.py", "allpython_idle.py"
MATCH = r"allpython_(busy|idle)\.py"
START_TIMEOUT, WORK_TIMEOUT, ATTACH_TIMEOUT, STOP_TIMEOUT = 60, 900, 300, 120
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
             "BENCH_ALLPY_SCALE": SCALE}
CHROOT = shutil.which("chroot", path=CLEAN_ENV["PATH"]) or "/usr/sbin/chroot"
CLK_TCK = os.sysconf("SC_CLK_TCK")

# kind: none (untraced), pid (one pybpf-prof -p run per busy process), all (one
# --all-python run for both). optional: a usage refusal (exit 64) is n/a, not a failure.
Config = collections.namedtuple("Config", "name kind args optional")
CONFIGS = [
    Config("untraced", "none", [], False),
    Config("-p floor", "pid", ["--probe-floor"], False),
    Config("-p", "pid", [], False),
    Config("all", "all", [], False),
    Config("all --match", "all", ["--match", MATCH], False),
    Config("all floor", "all", ["--probe-floor"], True),
    Config("all --sample", "all", ["--sample"], False),
]
FAILURES = []


class Interp:
    """An interpreter: host path, and the chroot it runs in (or None)."""

    def __init__(self, label, python, chroot=None):
        self.label, self.python, self.chroot = label, python, chroot

    def argv(self, *args):
        return ([CHROOT, self.chroot] if self.chroot else []) + [self.python, *args]

    def runs(self):
        try:
            return subprocess.run(self.argv("-c", "pass"), capture_output=True,
                                  timeout=START_TIMEOUT).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            return False


def interpreters(vals):
    """{label: Interp} of the interpreters that exist and run, in a fixed order."""
    found = collections.OrderedDict()
    candidates = [Interp("3.11 host", "/usr/bin/python3.11")]
    for v in PYENV_VERSIONS:
        for root in pyenv_roots():
            py = os.path.join(root, "versions", v, "bin", "python3")
            if os.access(py, os.X_OK):
                candidates.append(Interp("%s pyenv" % v, py))
                break
        else:
            print("bench_allpython: no pyenv %s in %s" % (v, " or ".join(pyenv_roots())))
    py39 = vals.get("PYBPF_PY39", "")
    candidates.append(Interp("3.9 bullseye", py39) if py39 else None)
    sid, sid_all = vals.get("PYBPF_SID_ROOT", ""), vals.get("PYBPF_SID_PYTHONS", "").split()
    for v in SID_VERSIONS:
        if sid and v in sid_all:
            candidates.append(Interp("%s sid" % v, "/usr/bin/python" + v, sid))
        else:
            print("bench_allpython: no sid %s (tests/provision.sh sid)" % v)
    if not py39:
        print("bench_allpython: no bullseye 3.9 (tests/provision.sh bullseye)")
    for interp in filter(None, candidates):
        if interp.runs():
            found[interp.label] = interp
        else:
            print("bench_allpython: %s does not run: left out" % " ".join(interp.argv()))
    return found


# ---------------------------------------------------------------- the host's processes


def read_line(f, timeout):
    """One line of a child's stdout within timeout seconds, or None (EOF or
    timeout). Children write whole lines and nothing between them."""
    ready, _, _ = select.select([f], [], [], timeout)
    if not ready:
        return None
    line = f.readline()
    return line.rstrip("\n") if line else None


class Child:
    """An idle or busy benchmark process: started, then waits on its stdin."""

    def __init__(self, label, interp, dirs):
        self.label, self.interp = label, interp
        self.dirs = dirs  # {chroot or None: the scripts' directory as seen inside}
        self.proc = None

    def start(self, script):
        argv = self.interp.argv(os.path.join(self.dirs[self.interp.chroot], script))
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=CLEAN_ENV)
        if read_line(self.proc.stdout, START_TIMEOUT) != "ready":
            raise RuntimeError("%s (%s) did not start" % (self.label, shlex.join(argv)))

    @property
    def pid(self):
        return self.proc.pid

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class BusyGone(Exception):
    pass


def work(busy):
    """(seconds, calls) of one timed run of busy's work."""
    try:
        busy.proc.stdin.write("run\n")
        busy.proc.stdin.flush()
    except OSError:
        raise BusyGone("%s (PID %d) is gone" % (busy.label, busy.pid))
    line = read_line(busy.proc.stdout, WORK_TIMEOUT)
    m = re.fullmatch(r"elapsed=([0-9.]+) calls=(\d+)", line or "")
    if not m:
        raise BusyGone("%s (PID %d) answered %r (exit status %s)" %
                       (busy.label, busy.pid, line, busy.proc.poll()))
    return float(m.group(1)), int(m.group(2))


# ---------------------------------------------------------------- the profiler


def proc_cpu_seconds(pid):
    """utime + stime of pid (all its threads) in seconds, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def vm_hwm_kib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def maps_memlock(pid):
    """Bytes of memlock (bpftool's bytes_memlock) of the distinct BPF maps
    pid holds, from /proc/PID/fdinfo, or None if it holds none."""
    base = "/proc/%d/fdinfo" % pid
    maps = {}
    try:
        names = os.listdir(base)
    except OSError:
        return None
    for name in names:
        fields = {}
        try:
            with open(os.path.join(base, name)) as f:
                for line in f:
                    key, sep, value = line.partition(":")
                    if sep:
                        fields[key.strip()] = value.strip()
        except OSError:
            continue
        if "map_id" in fields:
            maps[fields["map_id"]] = int(fields.get("memlock", "0"))
    return sum(maps.values()) if maps else None


def guardians(pid):
    """(number, summed Pss in KiB) of pid's children named pybpf-guard (the
    processes that restore eval_frame if pybpf-prof dies)."""
    kids = set()
    for text in proc_texts("/proc/%d/task" % pid, "children"):
        kids.update(int(k) for k in text.split())
    n, pss = 0, 0
    for kid in kids:
        comm = proc_texts("/proc/%d" % kid, None, "comm")
        if comm != ["pybpf-guard\n"]:
            continue
        n += 1
        for line in "".join(proc_texts("/proc/%d" % kid, None, "smaps_rollup")).splitlines():
            if line.startswith("Pss:"):
                pss += int(line.split()[1])
    return n, pss


def proc_texts(base, leaf, name=None):
    """Texts of base/ENTRY/leaf for each entry of base (or of base/name alone)
    that could be read."""
    paths = [os.path.join(base, name)] if name else []
    if not name:
        try:
            paths = [os.path.join(base, e, leaf) for e in os.listdir(base)]
        except OSError:
            return []
    texts = []
    for path in paths:
        try:
            with open(path) as f:
                texts.append(f.read())
        except OSError:
            pass
    return texts


def other_profilers():
    """PIDs of pybpf-prof processes (and guardians) running now: between
    rounds none is ours, and another one's probes and hooks skew the figures
    (or refuse ours: one eval-frame hook per process)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and proc_texts("/proc/" + entry, None, "comm") in (
                ["pybpf-prof\n"], ["pybpf-guard\n"]):
            found.append(int(entry))
    return sorted(found)


class ProfRun:
    """One pybpf-prof run: started, attached (its summary line read), then
    stopped with SIGINT; what it cost on the way."""

    READY = {"pid": re.compile(r"^pybpf-prof: (?:tracing|sampling) PID \d+ "),
             "all": re.compile(r"^pybpf-prof: (?:tracing|sampling) (\d+) Python processes"
                               r"(?:.*?, (\d+) not (?:traced|sampled))?")}
    PER_PID = re.compile(r"^pybpf-prof: (?:tracing|sampling) PID (\d+) (?:.*backend (\w+))?")
    PROBES = re.compile(r"probes on (\d+) interpreter files? and (\d+) process")
    REPORTED = re.compile(r"^Python processes (?:traced|sampled): (\d+) for [0-9.]+ s, (\d+) not",
                          re.M)

    def __init__(self, kind, argv, scratch):
        self.kind, self.argv = kind, argv
        self.attach = self.stop_s = self.cpu_attach = self.cpu_end = self.hwm = self.maps = None
        self.guards = self.guards_pss = self.probe_files = self.probe_procs = None
        self.at_start = self.refused = self.reported = self.reported_refused = None
        self.backends, self.error, self.na, self.ours = {}, None, None, None
        self.lines, self.ready = [], threading.Event()
        self.out_path = os.path.join(scratch, "prof.out")
        self.t0 = time.monotonic()
        with open(self.out_path, "w") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.PIPE, text=True, env=CLEAN_ENV,
                                         start_new_session=True)
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self):
        for line in self.proc.stderr:
            line = line.rstrip("\n")
            self.lines.append(line)
            m = self.PER_PID.match(line)
            if m:
                self.backends[int(m.group(1))] = m.group(2) or "sample"
            m = self.READY[self.kind].match(line)
            if m and not self.ready.is_set():
                self.attach = time.monotonic() - self.t0
                if self.kind == "all":
                    self.at_start = int(m.group(1))
                    self.refused = int(m.group(2)) if m.group(2) else None
                    probes = self.PROBES.search(line)
                    if probes:
                        self.probe_files, self.probe_procs = int(probes.group(1)), int(probes.group(2))
                self.ready.set()
        self.ready.set()  # exited (or closed stderr) without it: wait_attached() tells

    def wait_attached(self):
        """True once attached; else stops it and sets error or na."""
        if self.ready.wait(ATTACH_TIMEOUT) and self.attach is not None and self.proc.poll() is None:
            self.cpu_attach = proc_cpu_seconds(self.proc.pid)
            return True
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self._finish(self.proc.wait())
        return False

    def stop(self):
        """Reads its figures while it runs, then SIGINT and waits."""
        pid = self.proc.pid
        self.maps = maps_memlock(pid)
        self.guards, self.guards_pss = guardians(pid)
        self.hwm = vm_hwm_kib(pid)
        self.cpu_end = proc_cpu_seconds(pid)
        t = time.monotonic()
        os.kill(pid, signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
            self.stop_s = time.monotonic() - t
        except subprocess.TimeoutExpired:
            os.killpg(pid, signal.SIGKILL)
            rc = "killed after %d s" % STOP_TIMEOUT
            self.proc.wait()
        self._finish(rc)

    def _finish(self, rc):
        self.reader.join(timeout=10)
        with open(self.out_path, errors="replace") as f:
            m = self.REPORTED.search(f.read())
        if m:
            self.reported, self.reported_refused = int(m.group(1)), int(m.group(2))
        if rc == 0 and self.attach is not None:
            return
        text = [ln for ln in self.lines if ln.strip()]
        tail = " | ".join(text[-3:]) or "(no stderr)"
        if rc == 64 and any("unknown option" in ln for ln in text):
            self.na = "this pybpf-prof does not have it: %s" % tail
        elif rc == 64:
            self.na = "refused: %s" % tail
        else:
            self.error = "exit %s%s: %s" % (rc, "" if self.attach is not None else
                                           " before it was attached", tail)


# ---------------------------------------------------------------- one round


class Results:
    def __init__(self):
        self.work = collections.defaultdict(list)     # (config, busy label) -> [seconds]
        self.calls = {}                               # busy label -> calls per run
        self.runs = collections.defaultdict(list)     # (config, target) -> [ProfRun]
        self.na = {}                                  # (config, target) -> reason
        self.backend = collections.defaultdict(set)   # (config, busy label) -> {backend}


def prof_argv(c, target_pid):
    if c.kind == "pid":
        return [PROF, "-p", str(target_pid), *c.args]
    match = ["--match", MATCH] if MATCH_ONLY and "--match" not in c.args else []
    return [PROF, "--all-python", "--exclude-pid", str(os.getpid()), *match, *c.args]


def run_busy(busies):
    """[(busy label, seconds, calls)], one timed run of each."""
    return [(b.label, *work(b)) for b in busies]


def record(c, done, res):
    for label, t, calls in done:
        res.work[(c.name, label)].append(t)
        res.calls[label] = calls


def profile_while(c, target, busies, scratch, res, rnd):
    """One pybpf-prof run of configuration c, the busy processes working while
    it is attached. Returns False if it failed (the work is then not counted)."""
    pid = busies[0].pid if c.kind == "pid" else None
    run = ProfRun(c.kind, prof_argv(c, pid), scratch)
    done = []
    if run.wait_attached():
        try:
            done = run_busy(busies)
        finally:
            run.stop()
    for b in busies:
        if b.pid in run.backends:
            res.backend[(c.name, b.label)].add(run.backends[b.pid])
    if run.na:
        res.na[(c.name, target)] = run.na
        return False
    if run.error:
        FAILURES.append((c.name, target, shlex.join(run.argv), run.error))
        print("bench_allpython: round %d, %s, %s: FAILED %s" % (rnd + 1, c.name, target, run.error),
              flush=True)
        return False
    run.ours = sum(1 for p in run.backends if p in OUR_PIDS)
    res.runs[(c.name, target)].append(run)
    record(c, done, res)
    return True


def run_config(c, busies, scratch, res, rnd):
    if c.kind == "none":
        record(c, run_busy(busies), res)
    elif c.kind == "pid":
        for b in busies:
            if (c.name, b.label) not in res.na:
                profile_while(c, b.label, [b], scratch, res, rnd)
    elif (c.name, "host") not in res.na:
        profile_while(c, "host", busies, scratch, res, rnd)


OUR_PIDS = set()
OTHERS = set()  # other pybpf-prof processes seen at the start of a round


# ---------------------------------------------------------------- tables


def fmt(v, spec, none="-"):
    return none if v is None else spec % v


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    """(max - min) / median in %: how noisy the rounds were."""
    return 100.0 * (max(values) - min(values)) / statistics.median(values) if len(values) > 1 else None


def added_ns(t, base, calls):
    return (t - base) / calls * 1e9 if None not in (t, base) and calls else None


def busy_table(res, busies, missing):
    print("\n## Busy processes: work time (median of %d rounds, BENCH_ALLPY_SCALE=%s)\n" % (ROUNDS, SCALE))
    print("| busy process | configuration | backend | work s | spread | vs untraced | vs -p | vs -p floor "
          "| ns/call added | added / floor's |")
    print("|" + "---|" * 10)
    for label, why in missing:
        print("| %s | - | - | n/a (%s) |%s" % (label, why, " |" * 6))
    for b in busies:
        times = {c.name: res.work.get((c.name, b.label), []) for c in CONFIGS}
        m = {name: med(v) for name, v in times.items()}
        calls = res.calls.get(b.label)
        base, pid_t, floor_t = m["untraced"], m["-p"], m["-p floor"]
        floor_ns = added_ns(floor_t, base, calls)
        for c in CONFIGS:
            key = (c.name, "host" if c.kind == "all" else b.label)
            cells = [b.label, c.name, "/".join(sorted(res.backend.get((c.name, b.label), []))) or "-"]
            if not times[c.name]:
                why = res.na.get(key) or ("failed every round" if c.kind != "none" else "no run")
                print("| " + " | ".join(cells + ["n/a (%s)" % why.replace("|", "/")] + [""] * 6) + " |")
                continue
            t = m[c.name]
            ns = added_ns(t, base, calls)
            # Against the floor: exact tracing only (sampling has no such floor).
            exact = c.kind != "none" and c.name != "-p floor" and "--sample" not in c.args
            part = "" if len(times[c.name]) == ROUNDS else " (%d/%d)" % (len(times[c.name]), ROUNDS)
            cells += ["%.4f%s" % (t, part), fmt(spread(times[c.name]), "%.0f%%"),
                      fmt(t / base if base and c.name != "untraced" else None, "%.2fx"),
                      fmt(t / pid_t if pid_t and c.kind == "all" else None, "%.2fx"),
                      fmt(t / floor_t if floor_t and exact else None, "%.2fx"),
                      fmt(ns if c.kind != "none" else None, "%.0f"),
                      fmt(ns / floor_ns if ns is not None and floor_ns and floor_ns > 0 and exact else None,
                          "%.2fx")]
            print("| " + " | ".join(cells) + " |")
    print("\nspread: (max - min) / median of the rounds' times. vs -p: against the same process traced "
          "alone with -p; ns/call added: over untraced, per Python call of the work (%s)." %
          ", ".join("%s %d calls" % (b.label, res.calls[b.label]) for b in busies if b.label in res.calls))


def prof_table(res, busies):
    print("\n## The profiler (median of %d rounds)\n" % ROUNDS)
    print("| configuration | traced | attach s | stop s | CPU s to attach | CPU s in all | peak RSS MiB "
          "| BPF maps MiB | guardians (Pss MiB) | processes at start (ours) | not traced | in the report "
          "| probes: files + processes |")
    print("|" + "---|" * 13)
    for c in CONFIGS:
        if c.kind == "none":
            continue
        targets = [b.label for b in busies] if c.kind == "pid" else ["host"]
        for target in targets:
            runs = res.runs.get((c.name, target), [])
            cells = [c.name, target if c.kind == "pid" else "all (%d ours)" % len(OUR_PIDS)]
            if not runs:
                why = res.na.get((c.name, target)) or "failed every round"
                print("| " + " | ".join(cells + ["n/a (%s)" % why.replace("|", "/")] + [""] * 10) + " |")
                continue

            def m(attr, div=1.0, spec="%.3f"):
                return fmt(med([getattr(r, attr) / div for r in runs if getattr(r, attr) is not None]), spec)

            probes = "%s + %s" % (m("probe_files", spec="%g"), m("probe_procs", spec="%g"))
            if c.kind == "pid":
                start, refused, reported, probes = "1", "-", m("reported", spec="%g"), "1 process"
            else:
                start = "%s (%s)" % (m("at_start", spec="%g"), m("ours", spec="%g"))
                refused = m("refused", spec="%g")
                reported = m("reported", spec="%g")
            part = "" if len(runs) == ROUNDS else " (%d/%d)" % (len(runs), ROUNDS)
            cells += [m("attach") + part, m("stop_s"), m("cpu_attach", spec="%.2f"), m("cpu_end", spec="%.2f"),
                      m("hwm", 1024.0, "%.1f"), m("maps", 1048576.0, "%.1f"),
                      "%s (%s)" % (m("guards", spec="%g"), m("guards_pss", 1024.0, "%.1f")),
                      start, refused, reported, probes if probes != "- + -" else "-"]
            print("| " + " | ".join(cells) + " |")
    print("\nattach: from pybpf-prof's start to its tracing line (loading the BPF programs included); "
          "stop: SIGINT to its exit, the report included; CPU: utime + stime of all its threads; "
          "BPF maps: memlock of the maps it holds (bpftool's bytes_memlock), read before it is stopped; "
          "guardians: its children that restore eval_frame if it dies (proportional set size). "
          "-p runs trace one busy process; the busy work runs while the profiler is attached, so its "
          "CPU time includes reading the events of that work.")


def write_json(res, busies, interps, idle_mix):
    raw = {"rounds": ROUNDS, "scale": SCALE, "idle": idle_mix, "interpreters": list(interps),
           "busy": {b.label: {"pid": b.pid, "calls": res.calls.get(b.label)} for b in busies},
           "work": {"%s | %s" % k: v for k, v in res.work.items()},
           "profiler": {"%s | %s" % k: [{f: getattr(r, f) for f in (
               "attach", "stop_s", "cpu_attach", "cpu_end", "hwm", "maps", "guards", "guards_pss", "probe_files", "probe_procs", "at_start", "ours",
               "refused", "reported", "reported_refused")} for r in runs] for k, runs in res.runs.items()},
           "na": {"%s | %s" % k: v for k, v in res.na.items()}, "failures": FAILURES}
    with open(JSON_OUT, "w") as f:
        json.dump(raw, f, indent=1)


# ---------------------------------------------------------------- the run


def scratch_dirs(interps):
    """{chroot or None: directory as seen inside}, with both scripts (and
    callheavy.py, whose functions the busy one calls) copied in."""
    dirs, host = {}, []
    for chroot in {i.chroot for i in interps.values()}:
        base = os.path.join(chroot, "tmp") if chroot else None
        d = tempfile.mkdtemp(prefix="pybpf-bench-allpy-", dir=base)
        os.chmod(d, 0o755)
        for s in (BUSY, IDLE, "callheavy.py"):
            shutil.copy(os.path.join(ROOT, "tests", "bench", s), d)
        host.append(d)
        dirs[chroot] = "/tmp/" + os.path.basename(d) if chroot else d
    return dirs, host


def start_children(interps, dirs):
    """(busy processes, [(label, why) of busy ones missing], idle processes)."""
    busies, missing = [], []
    for label, why in (("3.11 host", "no /usr/bin/python3.11"),
                       ("3.9 bullseye", "not provisioned: tests/provision.sh bullseye")):
        if label in interps:
            b = Child("busy %s" % label, interps[label], dirs)
            b.start(BUSY)
            busies.append(b)
        else:
            missing.append(("busy %s" % label, why))
    order = list(interps.values())
    idle = []
    for i in range(IDLE_COUNT):
        interp = order[i % len(order)]
        c = Child("idle %s #%d" % (interp.label, i + 1), interp, dirs)
        c.start(IDLE)
        idle.append(c)
    return busies, missing, idle


def main():
    if os.geteuid() != 0:
        sys.exit("bench_allpython: needs root (BPF)")
    if not os.access(PROF, os.X_OK):
        sys.exit("bench_allpython: no executable %s (make, or set PYBPF_PROF)" % PROF)
    t0 = time.monotonic()
    interps = interpreters(provisioned(" ".join(SID_VERSIONS)))
    if not interps:
        sys.exit("bench_allpython: no interpreter runs")
    dirs, host_dirs = scratch_dirs(interps)
    res, busies, idle, gone = Results(), [], [], None
    try:
        try:
            busies, missing, idle = start_children(interps, dirs)
        except RuntimeError as e:
            print("bench_allpython: %s" % e)
            return 1
        if not busies:
            sys.exit("bench_allpython: no busy process: %s" % "; ".join("%s: %s" % m for m in missing))
        OUR_PIDS.update(c.pid for c in busies + idle)
        idle_mix = dict(collections.Counter(c.interp.label for c in idle))
        print("bench_allpython: %s; %d rounds, BENCH_ALLPY_SCALE=%s%s\n  busy: %s\n"
              "  idle (blocked reading stdin): %s\n" % (
            PROF, ROUNDS, SCALE, ", BENCH_ALLPY_MATCH_ONLY=1" if MATCH_ONLY else "",
            ", ".join("%s (PID %d)" % (b.label, b.pid) for b in busies),
            ", ".join("%d x %s" % (n, label) for label, n in idle_mix.items())), flush=True)
        scratch = tempfile.mkdtemp(prefix="pybpf-bench-allpy-out-")
        host_dirs.append(scratch)
        try:
            for rnd in range(ROUNDS):
                others = other_profilers()
                if others:
                    OTHERS.update(others)
                    print("bench_allpython: warning: other pybpf-prof processes run (PIDs %s): they trace "
                          "these processes too" % " ".join(map(str, others)), flush=True)
                # Each round starts one configuration later, and the busy processes
                # take turns going first.
                order = CONFIGS[rnd % len(CONFIGS):] + CONFIGS[:rnd % len(CONFIGS)]
                turn = busies[rnd % len(busies):] + busies[:rnd % len(busies)]
                for c in order:
                    run_config(c, turn, scratch, res, rnd)
                dead = [c for c in idle if not c.alive()]
                if dead:
                    raise BusyGone("idle processes died: %s" % ", ".join(
                        "%s (PID %d, exit %s)" % (c.label, c.pid, c.proc.returncode) for c in dead))
                print("bench_allpython: round %d of %d done (%.0f s)" % (rnd + 1, ROUNDS, time.monotonic() - t0),
                      flush=True)
        except BusyGone as e:
            gone = str(e)
            FAILURES.append(("-", "-", "-", gone))
            print("bench_allpython: stopped: %s" % gone, flush=True)
        busy_table(res, busies, missing)
        prof_table(res, busies)
        if any(k[1] == "host" for k in res.na) or MATCH_ONLY:
            print("\nNote: %s" % ("BENCH_ALLPY_MATCH_ONLY=1: every --all-python run had --match, probes "
                                  "per process" if MATCH_ONLY else
                                  "n/a rows: configurations this pybpf-prof refused or does not have."))
        shared = [i.label for i in interps.values() if not i.chroot and
                  os.path.realpath(i.python) == os.path.realpath(sys.executable)]
        if shared:
            print("\nNote: this script runs on %s, the interpreter of %s: left out with --exclude-pid, "
                  "it makes --all-python probe that file's processes one by one." %
                  (sys.executable, ", ".join(shared)))
        if OTHERS:
            print("\nWarning: other pybpf-prof processes ran during this benchmark (PIDs %s): figures "
                  "and failures may be theirs; run it on a quiet host." % " ".join(map(str, sorted(OTHERS))))
        print("\nNoise: this VM has 2 cores shared with other work; figures are medians of %d interleaved "
              "rounds, and spread shows how far apart the rounds were." % ROUNDS)
        if JSON_OUT:
            write_json(res, busies, interps, idle_mix)
    finally:
        for c in busies + idle:
            c.stop()
        for d in host_dirs:
            shutil.rmtree(d, ignore_errors=True)
    print("\nTotal wall time: %.0f s." % (time.monotonic() - t0))
    if FAILURES:
        print("\n## Failures\n")
        for name, target, argv, err in FAILURES:
            print("- %s, %s: %s\n    %s" % (name, target, argv, err))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
