"""Nothing is left behind. However pybpf-prof -p ends (SIGINT, SIGTERM,
--duration, or killed with SIGKILL), the target's USDT semaphores, which the
kernel raised while the probes were attached, are back to 0, no perf event
of a uprobe on the interpreter remains, and the target runs on unharmed.
While tracing, both are checked to be non-zero, so the checks can fail."""

import json
import re
import signal
import subprocess

import pytest

from conftest import TIMEOUT
from test_usdt import attach, finish_target, start_target, untraced_attach_output

PROBES = ("function__entry", "function__return")


def elf_semaphores(binary):
    """{probe: semaphore vaddr} from the python provider's stapsdt notes."""
    out = subprocess.run(["readelf", "-nW", str(binary)], capture_output=True, text=True,
                         check=True, timeout=TIMEOUT).stdout
    sems, provider, name = {}, None, None
    for line in out.splitlines():
        m = re.search(r"Provider: (\S+)", line)  # on the note's own line with -W
        if m:
            provider = m.group(1)
        m = re.search(r"Name: (\S+)", line)
        if m:
            name = m.group(1)
        m = re.search(r"Semaphore: (0x[0-9a-f]+)", line)
        if m and provider == "python" and name in PROBES:
            sems[name] = int(m.group(1), 16)
    assert set(sems) == set(PROBES), "no python semaphores in %s:\n%s" % (binary, out)
    return sems


def load_bias(binary, pid):
    """Runtime address minus ELF address for the interpreter in pid."""
    header = subprocess.run(["readelf", "-hlW", str(binary)], capture_output=True, text=True,
                            check=True, timeout=TIMEOUT).stdout
    if re.search(r"Type:\s+EXEC", header):
        return 0
    first_load = int(re.search(r"^\s*LOAD\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)", header, re.M).group(1), 16)
    inode = str(binary.stat().st_ino)
    with open("/proc/%d/maps" % pid) as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[4] == inode and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16) - (first_load & ~0xfff)
    raise AssertionError("%s is not mapped in PID %d" % (binary, pid))


def semaphore_values(interp, pid):
    binary = interp.host_binary
    bias = load_bias(binary, pid)
    values = {}
    with open("/proc/%d/mem" % pid, "rb") as mem:
        for probe, addr in elf_semaphores(binary).items():
            mem.seek(addr + bias)
            values[probe] = int.from_bytes(mem.read(2), "little")
    return values


def uprobe_events(interp):
    """Perf events of uprobes on the interpreter, from any process."""
    out = subprocess.run(["bpftool", "-j", "perf", "show"], capture_output=True, text=True,
                         check=True, timeout=TIMEOUT).stdout
    binary = str(interp.host_binary)
    return [e for e in json.loads(out or "[]") if e.get("filename") == binary]


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
