#!/usr/bin/env python3
"""make bench (sampling): what pybpf-prof --sample costs, and its peers'
cost, measured side by side in one interleaved run.

Target: sid's python3.13 in the chroot (tests/provision.sh), so that Austin
(sid's, tests/provision.sh austin) runs against the same interpreter; the
host's python3.11 when there is no chroot (Austin is then n/a). Workloads
(tests/bench/): sample_callheavy.py (small Python calls, ~3 s) and
sample_loopback.py (request/response between two threads over a loopback
TCP connection: tens of thousands of context switches per second; the rate
measured under each profiler is printed). Each workload times its own main()
(BENCH_ELAPSED on stderr), so start-up, attaching and the report are not
counted.

Configurations, run BENCH_ROUNDS times (default 5) in turn, medians compared:
  untraced
  pybpf-prof --sample --hz 99|999 --mode cpu|offcpu|wall, and offcpu/wall with
             --offcpu-method switch (the alternative off-CPU design)
  austin     -i 10101|1001 us: wall time (default) and CPU time (-s), in the chroot
  bpftrace   -e 'profile:hz:99|999 /pid == cpid/ { @[ustack] = count(); }'
For each: the target's slowdown; the profiler's own CPU time while the
workload's main() ran, in % of one core (its threads' schedstat), and before
it (loading and attaching); the memory of the BPF maps it holds (memlock, from
/proc/PID/fdinfo); the top function by own samples, and whether it agrees
with pybpf-prof's at the same rate (bpftrace's user stacks have native frames
only: its top frame is shown as it is). Then one more run per BPF
configuration with kernel.bpf_stats_enabled=1 (restored afterwards) gives
each BPF program's cost per run: the cost of one sample.

Environment: PYBPF_PROF (default ROOT/pybpf-prof), BENCH_ROUNDS (5),
BENCH_SAMPLE_SCALE (1: the workloads' amount of work; 0.05 makes a smoke run
of a few seconds in all), BENCH_SAMPLE_PEERS=0 to leave the peers out.
A peer that is missing or fails is shown as "n/a (reason)"; the exit status
is 1 only when a pybpf-prof run fails.
"""
import collections
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import provisioned

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROF = os.environ.get("PYBPF_PROF") or os.path.join(ROOT, "pybpf-prof")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
SCALE = os.environ.get("BENCH_SAMPLE_SCALE", "1")
PEERS = os.environ.get("BENCH_SAMPLE_PEERS", "1") != "0"
WORKLOADS = ["sample_callheavy.py", "sample_loopback.py"]
RATES = (99, 999)
DEADLINE = 900  # seconds for one run, then its process group is killed
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
             "BENCH_SAMPLE_SCALE": SCALE}

# bpftrace -c wants a path that names one file (with a merged /usr, "chroot"
# is /usr/sbin/chroot and /sbin/chroot).
CHROOT = shutil.which("chroot", path=CLEAN_ENV["PATH"]) or "/usr/sbin/chroot"

Config = collections.namedtuple("Config", "tool mode hz method")


def label(c):
    if c.tool == "untraced":
        return "untraced"
    method = " (%s)" % c.method if c.method else ""
    return "%s %s%s %d Hz" % (c.tool, c.mode, method, c.hz)


class Target:
    """The interpreter the workloads run on: argv prefix, chroot (or None),
    and a scratch directory both sides see."""

    def __init__(self, name, python, chroot=None):
        self.name, self.python, self.chroot = name, python, chroot
        base = os.path.join(chroot, "tmp") if chroot else None
        self.host_dir = tempfile.mkdtemp(prefix="pybpf-bench-sample-", dir=base)
        self.inside_dir = "/tmp/" + os.path.basename(self.host_dir) if chroot else self.host_dir

    def argv(self, *args):
        return ([CHROOT, self.chroot] if self.chroot else []) + [self.python, *args]

    def inside(self, name):
        return os.path.join(self.inside_dir, name)

    def host(self, name):
        return os.path.join(self.host_dir, name)


def pick_target(vals):
    """(Target, reason Austin cannot run or None)."""
    root = vals.get("PYBPF_SID_ROOT", "")
    if root and "3.13" in vals.get("PYBPF_SID_PYTHONS", "").split():
        target = Target("CPython 3.13 (sid chroot)", "/usr/bin/python3.13", root)
        austin = vals.get("PYBPF_SID_AUSTIN", "")
        return target, None if austin else "not in the sid chroot (run: sudo tests/provision.sh austin)"
    if os.access("/usr/bin/python3.11", os.X_OK):
        return Target("CPython 3.11 (host)", "/usr/bin/python3.11"), "needs the sid chroot's python3.13"
    sys.exit("bench_sample: no interpreter: neither sid's python3.13 (tests/provision.sh) nor /usr/bin/python3.11")


def configs(austin_why, bpftrace_why):
    out = [Config("untraced", None, 0, None)]
    for hz in RATES:
        for mode in ("cpu", "offcpu", "wall"):
            out.append(Config("pybpf-prof", mode, hz, None))
        for mode in ("offcpu", "wall"):
            out.append(Config("pybpf-prof", mode, hz, "switch"))
    if PEERS:
        for hz in RATES:
            out += [Config("austin", "wall", hz, None), Config("austin", "cpu", hz, None),
                    Config("bpftrace", "cpu", hz, None)]
    unavailable = {"austin": austin_why, "bpftrace": bpftrace_why}
    return out, unavailable


# ---------------------------------------------------------------- one run


def command(c, target, script, out):
    """argv of one run; out is the profile file's base name in the scratch dir."""
    if c.tool == "untraced":
        return target.argv(target.inside(script))
    if c.tool == "pybpf-prof":
        method = ["--offcpu-method", c.method] if c.method else []
        return [PROF, "--sample", "--mode", c.mode, "--hz", str(c.hz), *method,
                "--folded", target.host(out), "--", *target.argv(target.inside(script))]
    if c.tool == "austin":
        cpu = ["-s"] if c.mode == "cpu" else []
        return [CHROOT, target.chroot, AUSTIN, "-i", str(round(1e6 / c.hz)), *cpu, "-o", target.inside(out),
                target.python, target.inside(script)]
    prog = "profile:hz:%d /pid == cpid/ { @[ustack] = count(); }" % c.hz
    return ["bpftrace", "-o", target.host(out), "-e", prog, "-c", shlex.join(target.argv(target.inside(script)))]


def proc_dir_texts(pid, subdir, leaf=None):
    """The text of /proc/pid/subdir/NAME (/proc/pid/subdir/NAME/leaf with a
    leaf) for each entry that could be read, or None if pid is gone."""
    base = "/proc/%d/%s" % (pid, subdir)
    try:
        names = os.listdir(base)
    except OSError:
        return None
    texts = []
    for name in names:
        path = os.path.join(base, name, leaf) if leaf else os.path.join(base, name)
        try:
            with open(path) as f:
                texts.append(f.read())
        except OSError:
            pass
    return texts


def task_cpu_ns(pid):
    """CPU time of pid's own threads so far (not its children's), in ns."""
    texts = proc_dir_texts(pid, "task", "schedstat")
    if texts is None:
        return None
    total = 0
    for text in texts:
        try:
            total += int(text.split()[0])
        except (ValueError, IndexError):
            pass
    return total


def fdinfo(pid):
    """[{field: value}] of pid's file descriptors (BPF maps, programs and
    links among them: map_id, prog_id, link_id, memlock, run_time_ns...)."""
    found = []
    for text in proc_dir_texts(pid, "fdinfo") or []:
        fields = {}
        for line in text.splitlines():
            key, sep, value = line.partition(":")
            if sep:
                fields[key.strip()] = value.strip()
        found.append(fields)
    return found


def maps_memlock(pid):
    """Bytes of memlock of the distinct BPF maps pid holds, or None if none."""
    maps = {e["map_id"]: int(e.get("memlock", "0")) for e in fdinfo(pid) if "map_id" in e}
    return sum(maps.values()) if maps else None


def prog_ids(pid):
    """{prog id: (run_time_ns, run_cnt)} of the BPF programs pid holds (the
    kernel counts while kernel.bpf_stats_enabled is 1), from its fdinfo."""
    progs = {}
    for e in fdinfo(pid):
        if "prog_id" in e and "link_id" not in e and "run_cnt" in e:
            progs[int(e["prog_id"])] = (int(e.get("run_time_ns", "0")), int(e["run_cnt"]))
    return progs


def prog_names(pid):
    """{prog id: name} of the BPF programs pid holds (bpftool, one by one:
    a listing of all fails when another program goes meanwhile)."""
    names = {}
    for prog_id in prog_ids(pid):
        res = subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)], capture_output=True,
                             text=True)
        try:
            names[prog_id] = json.loads(res.stdout)["name"]
        except (ValueError, KeyError, TypeError):
            pass
    return names


def prog_stats(pid, names):
    """{program name: (run_time_ns, run_cnt)}, read just before the end
    (programs go with the profiler)."""
    out = {}
    for prog_id, (ns, cnt) in prog_ids(pid).items():
        name = names.get(prog_id, "prog %d" % prog_id)
        old = out.get(name, (0, 0))
        out[name] = (old[0] + ns, old[1] + cnt)
    return out


class Run:
    def __init__(self):
        self.elapsed = self.switches = self.cpu_setup = self.cpu_run = self.maps = None
        self.progs, self.error, self.rc, self.stderr = {}, None, None, []


def run_one(c, target, script, out, want_progs=False):
    """Runs one configuration, reading the workload's BENCH_* lines (through
    the profiler's stderr, which the workload inherits) as they come."""
    r = Run()
    argv = command(c, target, script, out)
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=CLEAN_ENV, start_new_session=True)
    timer = threading.Timer(DEADLINE, lambda: os.killpg(proc.pid, signal.SIGKILL))
    timer.start()
    started_cpu = t_start = None
    names = {}
    try:
        for line in proc.stderr:
            line = line.rstrip("\n")
            if line == "BENCH_START":
                t_start = time.monotonic()
                if c.tool != "untraced":
                    started_cpu = task_cpu_ns(proc.pid)
                    r.maps = maps_memlock(proc.pid)
                    r.cpu_setup = started_cpu / 1e9 if started_cpu is not None else None
                    if want_progs:
                        names = prog_names(proc.pid)
            elif line.startswith("BENCH_ELAPSED="):
                r.elapsed = float(line.split("=", 1)[1])
                if c.tool != "untraced" and started_cpu is not None and t_start is not None:
                    now = task_cpu_ns(proc.pid)
                    wall = time.monotonic() - t_start
                    if now is not None and wall > 0:
                        r.cpu_run = 100.0 * (now - started_cpu) / 1e9 / wall
                    if want_progs:
                        r.progs = prog_stats(proc.pid, names)
            elif line.startswith("BENCH_SWITCHES="):
                r.switches = int(line.split("=", 1)[1])
            else:
                r.stderr.append(line)
                m = re.match(r"^pybpf-prof: sampler maps: (\d+) bytes", line)
                if m:
                    r.maps = int(m.group(1))
        r.rc = proc.wait()
    finally:
        timer.cancel()
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if r.rc != 0 or r.elapsed is None:
        tail = " | ".join(r.stderr[-3:])
        r.error = "exit %s%s: %s" % (r.rc, "" if r.elapsed else ", no BENCH_ELAPSED", tail or "(no stderr)")
    return r


# ---------------------------------------------------------------- top functions


def top_folded(path, offcpu_too):
    """Leaf function with the most samples in a pybpf-prof folded file."""
    weights = collections.Counter()
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")[2:]
            off = bool(frames) and frames[-1] == "[off-CPU]"
            frames = [fr for fr in frames if fr not in ("[off-CPU]", "[truncated]")]
            if frames and (offcpu_too or not off):
                weights[re.sub(r" \(.*\)$", "", frames[-1])] += int(count)
    return weights.most_common(1)[0][0] if weights else None


def top_austin(path):
    """Leaf function (last part of its qualified name) with the most time in
    an Austin file: 'P<pid>;T<iid>:<tid>;file:qualname:line;... METRIC'."""
    weights = collections.Counter()
    with open(path, errors="replace") as f:
        for line in f:
            if not line.startswith("P"):
                continue
            stack, _, metric = line.rstrip("\n").rpartition(" ")
            frames = stack.split(";")[2:]
            if frames and metric.isdigit():
                parts = frames[-1].rsplit(":", 2)
                if len(parts) == 3:
                    weights[parts[1].rsplit(".", 1)[-1]] += int(metric)
    return weights.most_common(1)[0][0] if weights else None


def top_bpftrace(path):
    """Top (innermost) frame of the commonest user stacks in bpftrace's map
    output: '@[\\n  sym+off\\n ...\\n]: COUNT' (native frames only)."""
    weights = collections.Counter()
    with open(path, errors="replace") as f:
        text = f.read()
    for m in re.finditer(r"@\[\n(.*?)\]: (\d+)", text, re.S):
        frames = [ln.strip() for ln in m.group(1).splitlines() if ln.strip()]
        leaf = re.sub(r"\+\d+$", "", frames[0]) if frames else "(empty stack)"
        weights[leaf] += int(m.group(2))
    return weights.most_common(1)[0][0] if weights else None


def top_function(c, target, out):
    path = target.host(out)
    if c.tool == "untraced" or not os.path.exists(path):
        return None
    if c.tool == "pybpf-prof":
        return top_folded(path, offcpu_too=c.mode != "cpu")
    return top_austin(path) if c.tool == "austin" else top_bpftrace(path)


# ---------------------------------------------------------------- the run


def mount_proc(chroot):
    """Mounts /proc in the chroot for Austin; returns whether it did."""
    if os.path.exists(os.path.join(chroot, "proc", "self")):
        return False
    subprocess.run(["mount", "-t", "proc", "proc", os.path.join(chroot, "proc")], check=True)
    return True


def fmt(v, spec, none="-"):
    return none if v is None else spec % v


def main():
    if os.geteuid() != 0:
        sys.exit("bench_sample: needs root (BPF)")
    if not os.access(PROF, os.X_OK):
        sys.exit("bench_sample: no executable %s (make, or set PYBPF_PROF)" % PROF)
    t0 = time.monotonic()
    vals = provisioned()
    target, austin_why = pick_target(vals)
    global AUSTIN
    AUSTIN = vals.get("PYBPF_SID_AUSTIN", "")
    bpftrace_why = None if shutil.which("bpftrace") else "not installed (apt-get install bpftrace)"
    plan, unavailable = configs(austin_why, bpftrace_why)
    mounted = False
    rows = {}
    failures = []
    try:
        if PEERS and not austin_why:
            mounted = mount_proc(target.chroot)
        for w in WORKLOADS:
            shutil.copy(os.path.join(ROOT, "tests", "bench", w), target.host_dir)
        print("bench_sample: %s, %s; %d rounds, BENCH_SAMPLE_SCALE=%s; %d configurations per workload\n" % (
            PROF, target.name, ROUNDS, SCALE, len(plan)), flush=True)
        for rnd in range(ROUNDS):
            # Each round starts one configuration later: no configuration always runs first
            # (right after the other workload), where this VM is often slower.
            order = plan[rnd % len(plan):] + plan[:rnd % len(plan)]
            for w in WORKLOADS:
                for c in order:
                    if unavailable.get(c.tool):
                        continue
                    out = "%s-%s-%s-%s-%d.out" % (w[:-3], c.tool, c.mode, c.method, c.hz)
                    r = run_one(c, target, w, out)
                    row = rows.setdefault((w, c), {"runs": [], "errors": [], "top": None})
                    if r.error:
                        row["errors"].append(r.error)
                        print("bench_sample: round %d, %s, %s: FAILED %s" % (rnd + 1, w, label(c), r.error),
                              flush=True)
                        if c.tool == "pybpf-prof":
                            failures.append((w, label(c), r.error))
                        continue
                    row["runs"].append(r)
                    row["top"] = top_function(c, target, out) or row["top"]
            print("bench_sample: round %d of %d done (%.0f s)" % (rnd + 1, ROUNDS, time.monotonic() - t0),
                  flush=True)
        costs = bpf_costs(plan, unavailable, target)
    finally:
        if mounted:
            subprocess.run(["umount", os.path.join(target.chroot, "proc")])
        shutil.rmtree(target.host_dir, ignore_errors=True)
    print_tables(plan, unavailable, rows, costs, target)
    print("\nTotal wall time: %.0f s." % (time.monotonic() - t0))
    if failures:
        print("\n## pybpf-prof failures\n")
        for w, lab, err in failures:
            print("- %s, %s: %s" % (w, lab, err))
    return 1 if failures else 0


def bpf_costs(plan, unavailable, target):
    """One run of each BPF configuration on the call-heavy workload with
    kernel.bpf_stats_enabled=1: {config: {program: (ns, runs)}}."""
    costs = {}
    path = "/proc/sys/kernel/bpf_stats_enabled"
    with open(path) as f:
        was = f.read().strip()
    try:
        with open(path, "w") as f:
            f.write("1")
        for c in plan:
            if c.tool in ("pybpf-prof", "bpftrace") and not unavailable.get(c.tool):
                r = run_one(c, target, WORKLOADS[0], "stats.out", want_progs=True)
                costs[c] = r.progs if not r.error else r.error
    finally:
        with open(path, "w") as f:
            f.write(was)
    return costs


def print_tables(plan, unavailable, rows, costs, target):
    print("\n## Sampling overhead (%s, median of %d rounds)\n" % (target.name, ROUNDS))
    print("| workload | profiler | mode | Hz | target s | slowdown | switches/s | profiler CPU "
          "(% of a core) | profiler CPU before main() | BPF maps | top function | agrees with pybpf-prof |")
    print("|" + "---|" * 12)
    for w in WORKLOADS:
        base = rows.get((w, plan[0]), {}).get("runs", [])
        base_t = statistics.median(r.elapsed for r in base) if base else None
        ours_top = {(c.mode, c.hz): rows.get((w, c), {}).get("top") for c in plan
                    if c.tool == "pybpf-prof" and not c.method}
        for c in plan:
            cells = [w[:-3], c.tool, c.mode + (" (%s)" % c.method if c.method else "") if c.mode else "-",
                     str(c.hz) if c.hz else "-"]
            row = rows.get((w, c))
            why = unavailable.get(c.tool)
            if why or not row or not row["runs"]:
                reason = why or (row["errors"][-1] if row and row["errors"] else "did not run")
                print("| " + " | ".join(cells + ["n/a (%s)" % reason.replace("|", "/")] + [""] * 7) + " |")
                continue
            runs = row["runs"]
            t = statistics.median(r.elapsed for r in runs)
            sw = [r.switches / r.elapsed for r in runs if r.switches is not None]
            cpu = [r.cpu_run for r in runs if r.cpu_run is not None]
            setup = [r.cpu_setup for r in runs if r.cpu_setup is not None]
            maps = [r.maps for r in runs if r.maps is not None]
            slow = None if c.tool == "untraced" or not base_t else 100.0 * (t / base_t - 1)
            if c.tool == "untraced" or c.tool == "pybpf-prof":
                agree = "-"
            elif c.tool == "bpftrace":
                agree = "n/a (native frames only)"
            else:
                mine = ours_top.get(("cpu" if c.mode == "cpu" else "wall", c.hz))
                agree = "n/a" if not (mine and row["top"]) else ("yes" if mine == row["top"] else
                                                                  "no (ours: %s)" % mine)
            partial = "" if len(runs) == ROUNDS else " (%d/%d)" % (len(runs), ROUNDS)
            cells += ["%.3f%s" % (t, partial), fmt(slow, "%+.1f%%"),
                      fmt(statistics.median(sw) if sw else None, "%.0f"),
                      fmt(statistics.median(cpu) if cpu else None, "%.2f%%"),
                      fmt(statistics.median(setup) if setup else None, "%.3f s"),
                      fmt(statistics.median(maps) / 1024 if maps else None, "%.0f KiB"),
                      row["top"] or "-", agree]
            print("| " + " | ".join(cells) + " |")
    print("\nTargets (issue 7): slowdown <= 1% at 99 Hz and <= 5% at 999 Hz in every mode, no more than any "
          "peer at the same rate; profiler CPU <= 1% of one core at 99 Hz.")
    print("\n## Cost of one sample (kernel.bpf_stats_enabled, one call-heavy run each)\n")
    print("| profiler | mode | Hz | BPF program | runs | ns per run |")
    print("|---|---|---|---|---|---|")
    for c, progs in costs.items():
        head = [c.tool, c.mode + (" (%s)" % c.method if c.method else ""), str(c.hz)]
        if isinstance(progs, str) or not progs:
            print("| " + " | ".join(head + ["n/a (%s)" % (progs or "no program seen"), "", ""]) + " |")
            continue
        for name, (ns, cnt) in sorted(progs.items()):
            print("| " + " | ".join(head + [name, str(cnt), fmt(ns / cnt if cnt else None, "%.0f")]) + " |")


AUSTIN = ""

if __name__ == "__main__":
    sys.exit(main())
