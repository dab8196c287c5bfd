"""A running CPython's memory, read from outside (as root), to check what
pybpf-prof does to it: the USDT semaphores and the PEP 523 hook.

eval_frame (cpython-internals.md §1b, §7): its offset in PyInterpreterState
is the disp of the first instruction of the exported
_PyInterpreterState_GetEvalFrameFunc (an optional endbr64, then
mov disp32(%rdi),%rax, or its disp8 form); the main interpreter is
_PyRuntime.interpreters.main, at +0x30 on 3.11/3.12 and at
runtime_state.interpreters_head + 8 on 3.13+, where _Py_DebugOffsets (at
_PyRuntime+0) gives interpreters_head. Nothing here comes from pybpf-prof.
"""

import functools
import json
import os
import re
import subprocess

TIMEOUT = 60
LIBPYTHON_RX = re.compile(r"/libpython3\.\d+[a-z]*\.so[.\d]*$")


@functools.lru_cache(maxsize=None)
def _readelf(*args):
    return subprocess.run(["readelf", *args], capture_output=True, text=True, check=True,
                          timeout=TIMEOUT).stdout


def dynamic_symbols(path):
    """{name: st_value} of the defined symbols in path's .dynsym."""
    syms = {}
    for line in _readelf("--dyn-syms", "-W", str(path)).splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) >= 8 and re.fullmatch(r"\d+:", f[0]) and f[6] != "UND":
            syms[f[7].split("@")[0]] = int(f[1], 16)
    return syms


def load_bias(path, pid):
    """Runtime address minus ELF address of path (a host path) mapped in pid."""
    header = _readelf("-hlW", str(path))
    if re.search(r"Type:\s+EXEC", header):
        return 0
    first_load = int(re.search(r"^\s*LOAD\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)", header, re.M).group(1), 16)
    inode = str(os.stat(path).st_ino)
    with open("/proc/%d/maps" % pid) as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and fields[4] == inode and int(fields[2], 16) == 0:
                return int(fields[0].split("-")[0], 16) - (first_load & ~0xfff)
    raise AssertionError("%s is not mapped in PID %d" % (path, pid))


def runtime_image(pid):
    """Host path of the file holding CPython's runtime in pid: its
    libpython3.X.so if one is mapped, else its executable."""
    with open("/proc/%d/maps" % pid) as maps:
        for line in maps:
            fields = line.split(maxsplit=5)
            if len(fields) == 6 and LIBPYTHON_RX.search(fields[5].strip()):
                return fields[5].strip()
    return os.path.realpath("/proc/%d/exe" % pid)


def read(pid, addr, size):
    with open("/proc/%d/mem" % pid, "rb") as mem:
        mem.seek(addr)
        data = mem.read(size)
    assert len(data) == size, "short read of %d bytes at %#x in PID %d" % (size, addr, pid)
    return data


def read_u64(pid, addr):
    return int.from_bytes(read(pid, addr, 8), "little")


PROBES = ("function__entry", "function__return")


def usdt_semaphores(binary):
    """{probe: semaphore vaddr} from the python provider's stapsdt notes."""
    out = _readelf("-nW", str(binary))
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


def semaphore_values(binary, pid):
    """{probe: value} of the USDT semaphores of binary (a host path) in pid."""
    bias = load_bias(binary, pid)
    return {probe: int.from_bytes(read(pid, addr + bias, 2), "little")
            for probe, addr in usdt_semaphores(binary).items()}


def eval_frame_offset(code):
    """offsetof(PyInterpreterState, eval_frame) from the first bytes of
    _PyInterpreterState_GetEvalFrameFunc."""
    if code[:4] == b"\xf3\x0f\x1e\xfa":  # endbr64
        code = code[4:]
    if code[:3] == b"\x48\x8b\x87":  # mov disp32(%rdi),%rax
        return int.from_bytes(code[3:7], "little", signed=True)
    if code[:3] == b"\x48\x8b\x47":  # mov disp8(%rdi),%rax
        return int.from_bytes(code[3:4], "little", signed=True)
    raise AssertionError("_PyInterpreterState_GetEvalFrameFunc does not start with "
                         "mov disp(%%rdi),%%rax: %s" % code.hex())


class EvalFrame:
    """The main interpreter's eval_frame field in a live CPython 3.11+."""

    def __init__(self, pid, version):
        self.pid = pid
        self.image = runtime_image(pid)
        syms = dynamic_symbols(self.image)
        bias = load_bias(self.image, pid)
        for name in ("_PyRuntime", "_PyInterpreterState_GetEvalFrameFunc",
                     "_PyEval_EvalFrameDefault"):
            assert name in syms, "%s does not export %s" % (self.image, name)
        runtime = syms["_PyRuntime"] + bias
        self.default = syms["_PyEval_EvalFrameDefault"] + bias
        self.offset = eval_frame_offset(
            read(pid, syms["_PyInterpreterState_GetEvalFrameFunc"] + bias, 16))
        vt = tuple(map(int, version.split(".")[:2]))
        if vt >= (3, 13):
            head = read(pid, runtime, 48)
            assert head[:8] == b"xdebugpy", "no _Py_DebugOffsets at _PyRuntime in %s: %r" % (
                self.image, head[:8])
            version_hex = int.from_bytes(head[8:16], "little")
            assert version_hex >> 16 == (vt[0] << 8 | vt[1]), (
                "_Py_DebugOffsets.version %#x is not %s" % (version_hex, version))
            # cookie, version, free_threaded, runtime_state {size, finalizing, interpreters_head}
            interpreters_head = int.from_bytes(head[40:48], "little")
            main_at = runtime + interpreters_head + 8
        elif vt >= (3, 11):
            main_at = runtime + 0x30
        else:
            raise AssertionError("CPython %s has no PEP 523 hook to set" % version)
        self.interp = read_u64(pid, main_at)
        assert self.interp, "interpreters.main is NULL in PID %d" % pid
        self.field = self.interp + self.offset

    def value(self):
        return read_u64(self.pid, self.field)

    def describe(self, value):
        if value == 0:
            return "NULL"
        if value == self.default:
            return "&_PyEval_EvalFrameDefault (%#x)" % value
        return "%#x (another hook)" % value


def perf_events():
    """bpftool's perf events (uprobes, perf counters) of every process. pybpf-prof
    attaches uprobes through a descriptor of the mapped file (/proc/self/fd/N,
    see user/mappedfile.c), which is what the kernel keeps as the file name:
    such a name is replaced by the path of the file its holder's descriptor N is."""
    out = subprocess.run(["bpftool", "-j", "perf", "show"], capture_output=True, text=True,
                         check=True, timeout=60).stdout
    events = json.loads(out or "[]")
    for e in events:
        m = re.fullmatch(r"/proc/self/fd/(\d+)", e.get("filename", ""))
        if m and "pid" in e:
            try:
                e["filename"] = os.readlink("/proc/%d/fd/%s" % (e["pid"], m.group(1)))
            except OSError:
                pass  # the holder is gone or closed it: left as the kernel names it
    return events
