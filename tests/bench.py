#!/usr/bin/env python3
"""make bench: overhead of exact tracing, measured side by side in one run.

Two sections, each interpreter and workload with its modes run interleaved
BENCH_ROUNDS times (default 5), medians compared:

  usdt       bullseye 3.9 and the sid versions with USDT probes: untraced,
             cProfile, pybpf-prof --backend usdt, and --probe-floor (empty BPF
             programs on the same probes: the floor).
  evalframe  every interpreter found (pyenv 3.9-3.13, Debian's python3.11, sid
             3.13-3.15 in the chroot): untraced, cProfile, pybpf-prof --backend
             evalframe, --hook-only (3.11+: CPython's eval-frame hook, no
             probes) and --probe-floor (hook + bare uprobe/uretprobe); and on
             3.11+, hookcost.py (3M calls) untraced, under cProfile and with
             the hook alone, where the hook's cost rises above the noise.

Each workload times its own main() and prints BENCH_ELAPSED on stderr, so
interpreter start-up and attach time are not counted. Python calls are counted
by cProfile. A failing mode is reported (command and stderr) and skipped; the
rest goes on.

Environment: PYBPF_PROF (default ROOT/pybpf-prof), BENCH_ROUNDS, and
BENCH_ONLY, a comma-separated filter of sections (usdt, evalframe), versions
(3.12) and workloads (callheavy); each kind given must match, e.g.
BENCH_ONLY=evalframe,3.12,3.13.
"""
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import provisioned, pyenv_roots

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROF = os.environ.get("PYBPF_PROF") or os.path.join(ROOT, "pybpf-prof")
WORKLOADS = ["callheavy.py", "realistic.py"]
# The hook's own cost, measured alone on a longer run (3.11+, evalframe section).
HOOK_WORKLOAD, HOOK_MODES = "hookcost.py", ["untraced", "cProfile", "hook-only"]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PYENV_VERSIONS = ["3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0"]
SID_VERSIONS = "3.13 3.14 3.15"
SECTIONS = ("usdt", "evalframe")
TRACED = {"pybpf-prof": [], "hook-only": ["--hook-only"], "floor": ["--probe-floor"]}
FAILURES = []


class Interp:
    def __init__(self, label, python, chroot=None):
        self.label, self.python, self.chroot = label, python, chroot
        self.version = None  # "3.12.1", from the interpreter itself

    def minor(self):
        return tuple(int(x) for x in self.version.split(".")[:2])


def only_filter():
    """BENCH_ONLY as {kind: set of tokens}; a kind not given matches all."""
    spec = {}
    for tok in filter(None, (t.strip() for t in os.environ.get("BENCH_ONLY", "").split(","))):
        if tok in SECTIONS:
            kind = "section"
        elif re.fullmatch(r"3\.\d+(\.\d+)?", tok):
            kind = "version"
        else:
            kind, tok = "workload", tok[:-3] if tok.endswith(".py") else tok
        spec.setdefault(kind, set()).add(tok)
    return spec


def wanted(spec, section=None, interp=None, workload=None):
    if section and "section" in spec and section not in spec["section"]:
        return False
    if interp and "version" in spec and not any(
            interp.version == v or interp.version.startswith(v + ".") for v in spec["version"]):
        return False
    if workload and "workload" in spec and workload[:-3] not in spec["workload"]:
        return False
    return True


def sid_interp(sid, v):
    return Interp("%s (sid)" % v, ["chroot", sid, "/usr/bin/python" + v], sid)


def interpreters(vals):
    """(usdt list, evalframe list) of interpreters that exist."""
    usdt, evalframe = [], []
    py39 = vals.get("PYBPF_PY39", "")
    if py39 and os.path.exists(py39):
        usdt.append(Interp("3.9 (bullseye)", [py39]))
    else:
        print("bench: skip usdt 3.9 (bullseye): not provisioned")
    sid = vals.get("PYBPF_SID_ROOT", "")
    sid_all = vals.get("PYBPF_SID_PYTHONS", "").split() if sid else []
    for v in vals.get("PYBPF_SID_USDT_PYTHONS", "").split():
        usdt.append(sid_interp(sid, v))

    for v in PYENV_VERSIONS:
        for root in pyenv_roots():
            py = os.path.join(root, "versions", v, "bin", "python3")
            if os.access(py, os.X_OK):
                evalframe.append(Interp("%s (pyenv)" % v, [py]))
                break
        else:
            print("bench: skip evalframe %s (pyenv): not in %s" %
                  (v, " or ".join(os.path.join(r, "versions") for r in pyenv_roots())))
    if os.access("/usr/bin/python3.11", os.X_OK):
        evalframe.append(Interp("3.11 (debian)", ["/usr/bin/python3.11"]))
    else:
        print("bench: skip evalframe /usr/bin/python3.11: absent")
    for v in os.environ.get("PYBPF_SID_PYTHONS", SID_VERSIONS).split():
        if v in sid_all:
            evalframe.append(sid_interp(sid, v))
        else:
            print("bench: skip evalframe %s (sid): not in the chroot" % v)
    return usdt, evalframe


def probe_version(interp):
    code = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
    res = subprocess.run(interp.python + ["-c", code], capture_output=True, text=True)
    if res.returncode != 0:
        return False
    interp.version = res.stdout.strip()
    interp.label = re.sub(r"^3\.\d+(\.\d+)?", interp.version, interp.label)
    return True


def elapsed(stderr):
    m = re.search(r"BENCH_ELAPSED=([0-9.]+)", stderr)
    return float(m.group(1)) if m else None


def command(section, mode, python, script, out, host_out):
    if mode == "untraced":
        return python + [script]
    if mode == "cProfile":
        return python + ["-m", "cProfile", "-o", out, script]
    extra = ["-o", host_out] if mode == "pybpf-prof" else TRACED[mode]
    return [PROF, "--backend", section] + extra + ["--"] + python + [script]


def calls_in(python, script, out):
    """Python calls in main() (and what it calls), from cProfile's own counts."""
    subprocess.run(python + ["-m", "cProfile", "-o", out, script], check=True,
                   capture_output=True)
    code = ("import pstats,sys; s=pstats.Stats(sys.argv[1]); "
            "print(sum(v[1] for k,v in s.stats.items() if k[0]!='~'))")
    res = subprocess.run(python + ["-c", code, out], check=True,
                         capture_output=True, text=True)
    return int(res.stdout.strip())


def run_workload(section, interp, modes, script, scratch, host_scratch):
    """Medians per mode over the rounds that worked (None if none did), rounds
    that worked per mode, and the call count. A failed run is reported and the
    mode is tried again in the next round (no retries within a round)."""
    times = {m: [] for m in modes}
    out = os.path.join(scratch, "bench.prof")
    host_out = os.path.join(host_scratch, "bench.prof")
    for _ in range(ROUNDS):
        for mode in modes:
            cmd = command(section, mode, interp.python, script, out, host_out)
            try:
                res = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                t = elapsed(res.stderr) if res.returncode == 0 else None
                rc, err = res.returncode, res.stderr
            except subprocess.TimeoutExpired as e:
                t, rc, err = None, "timeout", (e.stderr or b"").decode(errors="replace")
            if t is None:
                FAILURES.append((section, interp.label, os.path.basename(script), mode,
                                 " ".join(shlex.quote(c) for c in cmd), rc, err.strip()))
                print("bench: FAILED (exit %s): %s\n%s" % (rc, " ".join(cmd), err.strip()),
                      flush=True)
                continue
            times[mode].append(t)
    med = {m: (statistics.median(v) if v else None) for m, v in times.items()}
    ok = {m: len(v) for m, v in times.items()}
    calls = calls_in(interp.python, script, out) if times["cProfile"] else None
    return med, ok, calls


def ratio(a, b):
    return a / b if a is not None and b else None


def ns_per_call(t, base, calls):
    return (t - base) / calls * 1e9 if None not in (t, base) and calls else None


def fmt(v, spec, none="-"):
    return none if v is None else spec % v


def row_of(section, interp, workload, med, calls):
    base, cp = med.get("untraced"), med.get("cProfile")
    pb, fl, hk = med.get("pybpf-prof"), med.get("floor"), med.get("hook-only")
    return {
        "section": section, "python": interp.label, "workload": workload[:-3],
        "calls": calls, "med": med,
        "pb/un": ratio(pb, base), "pb/cp": ratio(pb, cp), "pb/fl": ratio(pb, fl),
        "cp/un": ratio(cp, base), "hk/un": ratio(hk, base),
        "ns_pb": ns_per_call(pb, base, calls), "ns_fl": ns_per_call(fl, base, calls),
        "ns_hk": ns_per_call(hk, base, calls),
    }


def report(row, modes):
    med, base = row["med"], row["med"].get("untraced")
    print("%s, %s, %s: %s Python calls in main(), median of %d rounds" %
          (row["section"], row["python"], row["workload"], fmt(row["calls"], "%d", "?"), ROUNDS))
    for m in modes:
        if med[m] is None:
            print("  %-10s   FAILED" % m)
            continue
        print("  %-10s %8.3f s  %6sx untraced  %s ns/call%s" %
              (m, med[m], fmt(ratio(med[m], base), "%.2f"),
               fmt(ns_per_call(med[m], base, row["calls"]), "%+8.0f", "       -"),
               "" if row["ok"][m] == ROUNDS else "  (%d/%d rounds ran)" % (row["ok"][m], ROUNDS)))
    if "pybpf-prof" in modes:
        print("  pybpf-prof / cProfile:     %sx" % fmt(row["pb/cp"], "%.2f"))
        print("  pybpf-prof / floor (time): %sx   (target <= 1.15x)" % fmt(row["pb/fl"], "%.2f"))
    if row["ns_fl"] and row["ns_fl"] > 0 and row["ns_pb"] is not None:
        print("  added cost / floor's:      %.2fx" % (row["ns_pb"] / row["ns_fl"]))
    if "hook-only" in modes:
        print("  hook alone / untraced:     %sx" % fmt(row["hk/un"], "%.2f"))
    print(flush=True)


def secs(r, mode):
    m = r["med"]
    if mode not in m:
        return "-"
    if m[mode] is None:
        return "FAIL"
    part = "" if r["ok"][mode] == ROUNDS else " (%d/%d)" % (r["ok"][mode], ROUNDS)
    return "%.3f%s" % (m[mode], part)


def summary(rows, wall):
    print("## Summary (median of %d rounds; ns/call = added over untraced)\n" % ROUNDS)
    print("| backend | python | workload | calls | untraced s | cProfile s | pybpf s | floor s "
          "| hook s | pybpf/untr | pybpf/cProf | pybpf/floor | ns pybpf | ns floor | ns hook "
          "| hook/untr |")
    print("|" + "---|" * 16)
    for r in rows:
        pb_fl = fmt(r["pb/fl"], "%.2fx")
        if r["pb/fl"] is not None and r["pb/fl"] > 1.15:
            pb_fl += " !"
        cells = ([r["section"], r["python"], r["workload"], fmt(r["calls"], "%d")] +
                 [secs(r, m) for m in
                  ("untraced", "cProfile", "pybpf-prof", "floor", "hook-only")] +
                 [fmt(r["pb/un"], "%.2fx"), fmt(r["pb/cp"], "%.2fx"), pb_fl,
                  fmt(r["ns_pb"], "%.0f"), fmt(r["ns_fl"], "%.0f"), fmt(r["ns_hk"], "%.0f"),
                  fmt(r["hk/un"], "%.2fx")])
        print("| " + " | ".join(cells) + " |")
    print("\n`!` = pybpf/floor above the 1.15x target; (k/%d) = rounds that ran. "
          "Total wall time: %.0f s (%.1f min)." % (ROUNDS, wall, wall / 60))
    if FAILURES:
        print("\n## Failures (each distinct error once, with how many runs had it)\n")
        seen = {}
        for f in FAILURES:
            key = f[:4] + f[5:]
            seen.setdefault(key, [f, 0])[1] += 1
        for (section, label, w, mode, cmd, rc, err), n in seen.values():
            print("- %s %s %s %s, %d run(s), exit %s: `%s`" % (section, label, w, mode, n, rc, cmd))
            for line in err.splitlines()[-5:]:
                print("    " + line)


def main():
    t_start = time.monotonic()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (BPF)")
    if not os.access(PROF, os.X_OK):
        sys.exit("bench: no executable %s (make, or set PYBPF_PROF)" % PROF)
    spec = only_filter()
    usdt, evalframe = interpreters(provisioned(SID_VERSIONS))
    plan = []
    for section, found in (("usdt", usdt), ("evalframe", evalframe)):
        if not wanted(spec, section=section):
            continue
        for interp in found:
            if not probe_version(interp):
                print("bench: skip %s %s: %s does not run" %
                      (section, interp.label, " ".join(interp.python)))
                continue
            if not wanted(spec, interp=interp):
                continue
            modes = ["untraced", "cProfile", "pybpf-prof"]
            if section == "evalframe" and interp.minor() >= (3, 11):
                modes.append("hook-only")
            modes.append("floor")
            plan.append((section, interp, modes))
    work = [w for w in WORKLOADS if wanted(spec, workload=w)]
    if not plan or not (work or wanted(spec, workload=HOOK_WORKLOAD)):
        sys.exit("bench: nothing to run (BENCH_ONLY=%r; run tests/provision.sh?)"
                 % os.environ.get("BENCH_ONLY", ""))
    print("bench: %s, %d rounds: %s\n" % (PROF, ROUNDS, "; ".join(
        "%s %s" % (s, i.label) for s, i, _ in plan)), flush=True)

    rows = []
    for section, interp, modes in plan:
        scratch_root = interp.chroot or "/"
        scratch = tempfile.mkdtemp(prefix="pybpf-bench-", dir=os.path.join(scratch_root, "tmp"))
        inside = "/tmp/" + os.path.basename(scratch) if interp.chroot else scratch
        jobs = [(w, modes) for w in work]
        if "hook-only" in modes and wanted(spec, workload=HOOK_WORKLOAD):
            jobs.append((HOOK_WORKLOAD, HOOK_MODES))
        try:
            for w, wmodes in jobs:
                shutil.copy(os.path.join(ROOT, "tests", "bench", w), scratch)
                med, ok, calls = run_workload(section, interp, wmodes, os.path.join(inside, w),
                                              inside, scratch)
                if med["untraced"] is None:
                    continue
                row = row_of(section, interp, w, med, calls)
                row["ok"] = ok
                report(row, wmodes)
                rows.append(row)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    summary(rows, time.monotonic() - t_start)
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
