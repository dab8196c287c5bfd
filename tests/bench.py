#!/usr/bin/env python3
"""make bench: overhead of exact USDT tracing, measured side by side in one run.

For each interpreter with working probes and each workload, the modes run
interleaved ROUNDS times: untraced, under cProfile, under pybpf-prof, and under
pybpf-prof --probe-floor (empty BPF programs on the same probes: the floor).
Each workload times its own main() and prints BENCH_ELAPSED on stderr, so
interpreter start-up and attach time are not counted. Medians are compared.
"""
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROF = os.path.join(ROOT, "pybpf-prof")
WORKLOADS = ["callheavy.py", "realistic.py"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MODES = ["untraced", "cProfile", "pybpf-prof", "floor"]


def interpreters():
    env = subprocess.run([os.path.join(ROOT, "tests", "provision.sh"), "--print-env"],
                         capture_output=True, text=True, check=True).stdout
    vals = dict(line.split("=", 1) for line in env.split() if "=" in line)
    found = []
    py39 = vals.get("PYBPF_PY39", "").strip("'\"")
    if py39 and os.path.exists(py39):
        found.append(("3.9 (bullseye)", [py39], None))
    sid = vals.get("PYBPF_SID_ROOT", "").strip("'\"")
    if sid and os.path.exists(os.path.join(sid, "usr/bin/python3.15")):
        found.append(("3.15 (sid chroot)", ["chroot", sid, "/usr/bin/python3.15"], sid))
    return found


def elapsed(stderr):
    m = re.search(r"BENCH_ELAPSED=([0-9.]+)", stderr)
    if not m:
        sys.exit("bench: workload printed no BENCH_ELAPSED:\n" + stderr)
    return float(m.group(1))


def command(mode, python, script, out, host_out):
    if mode == "untraced":
        return python + [script]
    if mode == "cProfile":
        return python + ["-m", "cProfile", "-o", out, script]
    extra = ["--probe-floor"] if mode == "floor" else ["-o", host_out]
    return [PROF] + extra + ["--"] + python + [script]


def calls_in(python, script, out):
    """Python calls in main() (and what it calls), from cProfile's own counts."""
    subprocess.run(python + ["-m", "cProfile", "-o", out, script], check=True,
                   capture_output=True)
    code = ("import pstats,sys; s=pstats.Stats(sys.argv[1]); "
            "print(sum(v[1] for k,v in s.stats.items() if k[0]!='~'))")
    res = subprocess.run(python + ["-c", code, out], check=True,
                         capture_output=True, text=True)
    return int(res.stdout.strip())


def run_workload(python, script, scratch, host_scratch):
    times = {m: [] for m in MODES}
    out = os.path.join(scratch, "bench.prof")
    host_out = os.path.join(host_scratch, "bench.prof")
    for _ in range(ROUNDS):
        for mode in MODES:
            res = subprocess.run(command(mode, python, script, out, host_out), capture_output=True,
                                 text=True, timeout=600)
            if res.returncode != 0:
                sys.exit("bench: %s failed (%d):\n%s" % (mode, res.returncode, res.stderr))
            times[mode].append(elapsed(res.stderr))
    med = {m: statistics.median(v) for m, v in times.items()}
    return med, calls_in(python, script, out)


def report(name, workload, med, calls):
    base = med["untraced"]
    ns = {m: (med[m] - base) / calls * 1e9 for m in MODES}
    print("%s, %s: %d Python calls in main(), median of %d rounds" %
          (name, workload, calls, ROUNDS))
    for m in MODES:
        print("  %-10s %8.3f s  %6.2fx untraced  %+8.0f ns/call" %
              (m, med[m], med[m] / base, ns[m]))
    print("  pybpf-prof / cProfile:     %.2fx" % (med["pybpf-prof"] / med["cProfile"]))
    print("  pybpf-prof / floor (time): %.2fx   (target <= 1.15x)" %
          (med["pybpf-prof"] / med["floor"]))
    if ns["floor"] > 0:
        print("  added cost / floor's:      %.2fx" % (ns["pybpf-prof"] / ns["floor"]))
    print()


def main():
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF)")
    if not os.access(PROF, os.X_OK):
        sys.exit("bench: build pybpf-prof first (make)")
    found = interpreters()
    if not found:
        sys.exit("bench: no interpreter with working probes (run tests/provision.sh)")
    for name, python, chroot in found:
        scratch_root = chroot or "/"
        scratch = tempfile.mkdtemp(prefix="pybpf-bench-", dir=os.path.join(scratch_root, "tmp"))
        inside = "/tmp/" + os.path.basename(scratch) if chroot else scratch
        try:
            for w in WORKLOADS:
                shutil.copy(os.path.join(ROOT, "tests", "bench", w), scratch)
                med, calls = run_workload(python, os.path.join(inside, w), inside, scratch)
                report(name, w, med, calls)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
