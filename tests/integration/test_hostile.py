"""Hostile targets (needs root): what a process under trace controls cannot
make pybpf-prof read files outside the target's root, probe another file
than the one the process maps, crash, hang, or print raw control sequences.

(a) A chroot whose interpreter and libpython paths are symlinks pointing
    outside it (absolute, and "../.." past its root), with decoys at the
    host-side end of those links: real CPythons of other versions, watched
    with fanotify. The profile must be of the file the process maps (3.12,
    exact counts) and no decoy may be opened by anyone.
(b) Garbled ELF files (truncated, bad section and program headers, bad
    notes, bad symbol tables) mapped executable by a real process under a
    libpython name: pybpf-prof falls back to the executable, which holds the
    interpreter, or refuses in one line; never a crash or a hang.
(c) libpython renamed over on disk after the process mapped it: the probes
    land on the mapped file, the counts are exact.
(d) A copy of a 3.13/3.14 libpython or interpreter whose _Py_DebugOffsets has
    a wrong cookie, version or sizes: one clear line, exit 1.
(e) Function and file names with control characters, escape sequences,
    C1 controls, bidi overrides, lone surrogates (bytes file names) and 100 KB
    lengths, in every output format: nothing raw reaches a terminal or a
    file, every line is bounded, the counts stay exact.
"""

import ctypes
import ctypes.util
import json
import os
import re
import shutil
import struct
import subprocess
import uuid
from pathlib import Path

import pytest

from conftest import TARGET_ENV, interp_checked, run, workspace_for

PYENV_LIB = "lib/libpython%s.so.1.0"

# ---------------------------------------------------------------- fanotify

FAN_CLASS_NOTIF = 0x0
FAN_CLOEXEC = 0x1
FAN_NONBLOCK = 0x2
FAN_MARK_ADD = 0x1
FAN_ACCESS = 0x1
FAN_OPEN = 0x20
FAN_OPEN_EXEC = 0x1000
EVENT_HEAD = struct.Struct("=IBBHQii")  # struct fanotify_event_metadata

_libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
_libc.fanotify_init.argtypes = [ctypes.c_uint, ctypes.c_uint]
_libc.fanotify_mark.argtypes = [ctypes.c_int, ctypes.c_uint, ctypes.c_uint64, ctypes.c_int,
                                ctypes.c_char_p]


class OpenWatch:
    """Every open, read or exec of the watched files, by any process."""

    def __init__(self, paths):
        self.fd = _libc.fanotify_init(FAN_CLASS_NOTIF | FAN_CLOEXEC | FAN_NONBLOCK, os.O_RDONLY)
        if self.fd < 0:
            pytest.skip("fanotify_init: %s" % os.strerror(ctypes.get_errno()))
        self.paths = [str(p) for p in paths]
        for p in self.paths:
            if _libc.fanotify_mark(self.fd, FAN_MARK_ADD, FAN_OPEN | FAN_ACCESS | FAN_OPEN_EXEC,
                                   -100, p.encode()) < 0:
                raise OSError(ctypes.get_errno(), "fanotify_mark " + p)

    def events(self):
        """[(pid, path)] of the events so far."""
        found = []
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return found
            off = 0
            while off + EVENT_HEAD.size <= len(data):
                length, _, _, _, _, fd, pid = EVENT_HEAD.unpack_from(data, off)
                if fd >= 0:
                    try:
                        found.append((pid, os.readlink("/proc/self/fd/%d" % fd)))
                    finally:
                        os.close(fd)
                off += length

    def close(self):
        os.close(self.fd)


def watch_checked(paths):
    """An OpenWatch seen to work: our own read of the first path is reported."""
    w = OpenWatch(paths)
    with open(paths[0], "rb") as f:
        f.read(1)
    ev = w.events()
    assert any(pid == os.getpid() for pid, _ in ev), "fanotify reports nothing: %r" % ev
    return w


# ---------------------------------------------------------------- helpers

def pyenv_interp(minor):
    it = interp_checked("pyenv-py%s" % minor)
    return it, Path(it.python).resolve().parents[1]


def check_clean_failure(res, what):
    """Exit 0 or 1, never a signal, and on failure one line on stderr (besides
    the "tracing/sampling PID" line: a short target may end while the
    perf events are being attached, which is said in that one line)."""
    assert res.returncode in (0, 1), "%s: exit %s\n%s" % (what, res.returncode, res.describe())
    if res.returncode == 1:
        lines = [ln for ln in res.stderr.splitlines()
                 if ln.strip() and not re.match(r"pybpf-prof: (tracing|sampling) PID \d+ ", ln)]
        assert len(lines) == 1 and lines[0].startswith("pybpf-prof: "), res.describe()


COUNTED_RX = r"^\s*(\d+)(?:/\d+)?\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+%s$"


def ncalls_of(stdout, label):
    """ncalls of the table row ending in label (exact mode table)."""
    for line in stdout.splitlines():
        m = re.match(COUNTED_RX % re.escape(label), line)
        if m:
            return int(m.group(1))
    return None


# A workload with known call counts: f() CALLS times, g() CALLS // 10.
CALLS = 3000
COUNTED_SRC = """\
import sys
def f(i):
    return i + 1
def g(i):
    return f(i) * 2
def main():
    s = 0
    for i in range(%d):
        s += f(i) if i %% 10 else g(i)
    print("sum", s)
if len(sys.argv) > 1:
    print("ready", flush=True)
    sys.stdin.readline()
main()
"""
COUNTED = COUNTED_SRC % CALLS
LONG_COUNTED = COUNTED_SRC % 1_000_000  # long enough to be sampled


def check_counted(stdout, file_label):
    assert ncalls_of(stdout, "%s:2(f)" % file_label) == CALLS, stdout
    assert ncalls_of(stdout, "%s:4(g)" % file_label) == CALLS // 10, stdout


# ---------------------------------------------------------------- (a) escaping symlinks

def copy_host_libs(root):
    """ld.so, libc and libm of the host, into root (pyenv's CPython needs no more)."""
    for lib in ("/lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/libc.so.6",
                "/lib/x86_64-linux-gnu/libm.so.6"):
        dst = root / lib.lstrip("/")
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(os.path.realpath(lib), dst)


@pytest.fixture
def hostile_root(tmp_path):
    """(base, root): a chroot at base/root holding pyenv's 3.12
    under /opt/py (stdlib hard-linked), whose real interpreter files are at
    <base>/decoy/ *inside* the root, while base/decoy/ on the host holds
    decoys: host python3.11 and pyenv 3.13's libpython."""
    it, py = pyenv_interp("3.12")
    base = Path("/tmp") / ("pybpf-hostile-" + uuid.uuid4().hex[:10])
    root = base / "root"
    inside = root / str(base / "decoy").lstrip("/")
    inside.mkdir(parents=True)
    (root / "opt/py/bin").mkdir(parents=True)
    (root / "opt/py/lib").mkdir(parents=True)
    (root / "work").mkdir()
    copy_host_libs(root)
    subprocess.run(["cp", "-al", str(py / "lib/python3.12"), str(root / "opt/py/lib/")], check=True)
    shutil.copy(py / "bin/python3.12", inside / "python3.12")
    shutil.copy(py / (PYENV_LIB % "3.12"), inside / "libpython3.12.so.1.0")
    decoys = base / "decoy"
    decoys.mkdir()
    shutil.copy("/usr/bin/python3.11", decoys / "python3.12")
    _, py313 = pyenv_interp("3.13")
    shutil.copy(py313 / (PYENV_LIB % "3.13"), decoys / "libpython3.12.so.1.0")
    (root / "work/counted.py").write_text(COUNTED)
    yield base, root
    shutil.rmtree(base, ignore_errors=True)


def link_out(root, where, kind, target):
    """root/where -> target, written absolute or as ../.. climbing past the root."""
    link = root / where
    if kind == "absolute":
        os.symlink(target, link)
    else:
        up = "/".join([".."] * (len(link.parent.parts) + 4))
        os.symlink(up + target, link)


@pytest.mark.parametrize("kind", ["absolute", "dotdot"])
def test_symlinks_out_of_root(prof, hostile_root, kind):
    base, root = hostile_root
    decoys = [base / "decoy/python3.12", base / "decoy/libpython3.12.so.1.0"]
    link_out(root, "opt/py/bin/python3.12", kind, str(base / "decoy/python3.12"))
    link_out(root, "opt/py/lib/libpython3.12.so.1.0", kind, str(base / "decoy/libpython3.12.so.1.0"))
    # On the host both links lead to the decoys.
    assert os.path.realpath(root / "opt/py/bin/python3.12") == str(decoys[0])
    assert os.path.realpath(root / "opt/py/lib/libpython3.12.so.1.0") == str(decoys[1])
    watch = watch_checked(decoys)
    env = dict(TARGET_ENV, LD_LIBRARY_PATH="/opt/py/lib", PYTHONHOME="/opt/py")
    try:
        res = run([prof, "--backend", "evalframe", "--", "chroot", str(root),
                   "/opt/py/bin/python3.12", "/work/counted.py"], env=env)
        events = watch.events()
    finally:
        watch.close()
    assert res.returncode == 0, res.describe()
    assert "CPython 3.12." in res.stdout and "(shared, " in res.stdout, res.describe()
    check_counted(res.stdout, "/work/counted.py")
    assert events == [], "decoys outside the root were opened: %r\n%s" % (events, res.describe())


def profile_to_end(prof, procs, target, mode):
    """Profiles the ready target (eval-frame hook, or sampled), lets it run its
    calls and end; returns pybpf-prof's result."""
    opts = ["--sample", "--hz", "999"] if mode == "sample" else ["--backend", "evalframe"]
    tracer = procs([prof, *opts, "-p", str(target.pid)])
    tracer.wait_line("stderr", r"pybpf-prof: (tracing|sampling) PID ")
    target.write("go\n")
    target.close_stdin()
    assert target.wait().returncode == 0
    return tracer.wait()


def profile_watched(prof, procs, target, mode, watched):
    """Profiles the ready 3.12 target (eval-frame hook, or sampled) to its end
    while fanotify watches the files `watched`; returns (result, open events)."""
    watch = watch_checked(watched)
    res = profile_to_end(prof, procs, target, mode)
    events = watch.events()
    watch.close()
    assert res.returncode == 0, res.describe()
    assert "CPython 3.12." in res.stdout, res.describe()
    return res, events


@pytest.mark.parametrize("mode", ["exact", "sample"])
def test_path_swapped_after_mapping(prof, procs, hostile_root, mode):
    """The chroot's libpython is replaced on disk by the decoy (another
    CPython's) after the process mapped it and before pybpf-prof attaches:
    the probes go on the mapped file, nothing outside the root is opened."""
    base, root = hostile_root
    real_lib = root / str(base / "decoy").lstrip("/") / "libpython3.12.so.1.0"
    os.symlink(str(base / "decoy/python3.12"), root / "opt/py/bin/python3.12")
    os.symlink(str(base / "decoy/libpython3.12.so.1.0"), root / "opt/py/lib/libpython3.12.so.1.0")
    env = dict(TARGET_ENV, LD_LIBRARY_PATH="/opt/py/lib", PYTHONHOME="/opt/py")
    target = procs(["chroot", str(root), "/opt/py/bin/python3.12", "/work/counted.py", "wait"], env=env)
    target.wait_line("stdout", r"ready$")
    swapped = real_lib.with_name("swap.tmp")
    shutil.copy(base / "decoy/libpython3.12.so.1.0", swapped)
    os.rename(swapped, real_lib)  # the name now holds pyenv 3.13's libpython
    watched = [base / "decoy/python3.12", base / "decoy/libpython3.12.so.1.0", real_lib]
    res, events = profile_watched(prof, procs, target, mode, watched)
    if mode == "exact":
        check_counted(res.stdout, "/work/counted.py")
    assert events == [], "files other than the mapped one were opened: %r" % events


# ---------------------------------------------------------------- (e) hostile names

HUGE = 100_000
# (co_name, co_filename or None for the default); a bytes file name becomes
# lone surrogates (surrogateescape), which no UTF-8 encoder accepts.
HOSTILE = [
    ("ctl\x01\x07\x08\x0b\x0c\r\x7fend", None),
    ("esc\x1b[31mRED\x1b[0m\x1b]0;pwned\x07\x1b[2J", None),
    ("nl\nsplit\tcol", None),
    ("c1\x9b2J\x85\x8dx", None),
    ("bidi\u202eevil\u202c\u2066x\u2069\u2028y", None),
    ("N" * HUGE + "\x1b[K", None),
    ("\u00e9" * (HUGE // 2), None),
    ("file_ctl", "/tmp/x\x1b[31m\n\x9b\u202e.py"),
    ("file_huge", "/" + "d" * HUGE + ".py"),
    ("file_bytes", b"/tmp/\xff\xfe\x9b\x1b.py"),
]
FIRST_LINE = 1000  # function i starts at FIRST_LINE + 10 * i, and is called 5 + i times

HOSTILE_WORKLOAD = """\
import sys
HOSTILE = %s
FIRST_LINE = %d
SPIN = int(sys.argv[1]) if len(sys.argv) > 1 else 0
SKIP_BYTES = len(sys.argv) > 2
SRC = "def f(n):\\n    s = 0\\n    for i in range(n):\\n        s += i\\n    return s\\n"
funcs = []
for i, (name, filename) in enumerate(HOSTILE):
    if SKIP_BYTES and isinstance(filename, bytes):
        continue
    code = compile("\\n" * (FIRST_LINE + 10 * i - 1) + SRC, filename or "hostile_default.py", "exec")
    ns = {}
    exec(code, ns)
    f = ns["f"]
    f.__code__ = f.__code__.replace(co_name=name)
    funcs.append((f, 5 + i))
def main():
    for f, calls in funcs:
        for _ in range(calls):
            f(SPIN)
main()
print("done")
""" % (ascii(HOSTILE), FIRST_LINE)

BIDI_RX = re.compile("[\u0080-\u009f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
RAW_CTL_RX = re.compile(rb"[\x00-\x08\x0b-\x1f\x7f]")


def check_text(what, data):
    """No raw control character, C1 control or bidi override; valid UTF-8.
    Returns the longest line's length in bytes."""
    assert not RAW_CTL_RX.search(data), "%s holds a raw control byte at %d: %r" % (
        what, RAW_CTL_RX.search(data).start(), data[max(0, RAW_CTL_RX.search(data).start() - 40):][:80])
    text = data.decode("utf-8")  # raises on invalid UTF-8
    m = BIDI_RX.search(text)
    assert not m, "%s holds U+%04X at %d: %r" % (what, ord(m.group()), m.start(), text[m.start() - 40:][:80])
    return max((len(line) for line in data.split(b"\n")), default=0)


def hostile_expected(skip_bytes):
    """{first line: calls} of the hostile functions."""
    return {FIRST_LINE + 10 * i: 5 + i for i, (_, fn) in enumerate(HOSTILE)
            if not (skip_bytes and isinstance(fn, bytes))}


@pytest.mark.parametrize("ident,mode", [("py3.9", "exact"), ("pyenv-py3.12", "exact"),
                                        ("sid-py3.15", "exact"), ("host-py3.11", "sample"),
                                        ("pyenv-py3.12", "sample")])
def test_hostile_names(prof, tmp_path, _workspace_registry, ident, mode):
    it = interp_checked(ident)
    # The USDT probes of 3.9 encode the names with PyUnicode_AsUTF8, which
    # fails (an exception left set in the target: SystemError) on lone
    # surrogates: a known gap (README), those are left out there.
    skip_bytes = it.usdt and it.vt < (3, 15)
    here, there = tmp_path, str(tmp_path)  # host and target paths of the files
    if it.root:
        ws = workspace_for(it, _workspace_registry)
        there = ws.mkdir("hostile")
        here = ws.host(there)
    script = here / "hostile.py"
    script.write_text(HOSTILE_WORKLOAD)
    out = {k: here / ("out." + k) for k in ("prof", "folded", "svg", "json")}
    args = [there + "/hostile.py", "200000" if mode == "sample" else "0"] + (["skip"] if skip_bytes else [])
    if mode == "sample":
        opts = ["--sample", "--hz", "999", "--threads", "--lines", "-o", out["prof"],
                "--folded", out["folded"], "--flamegraph", out["svg"], "--speedscope", out["json"]]
    else:
        opts = ["-o", out["prof"]]
    res = run([prof, *map(str, opts), "--", *it.cmd(*args)])
    assert res.returncode == 0, res.describe()
    assert "done" in res.stdout
    longest = {"stdout": check_text("stdout", res.stdout.encode()),
               "stderr": check_text("stderr", res.stderr.encode())}
    for k in ("folded", "svg", "json"):
        if mode == "sample":
            longest[k] = check_text(k, out[k].read_bytes())
    if mode == "sample":
        json.loads(out["json"].read_text())
        folded = out["folded"].read_text()
        assert "bidi?evil?" in folded and "esc?[31mRED" in folded, folded[:2000]
    shutil.copy(Path(__file__).with_name("pstats_dump.py"), here / "pstats_dump.py")
    dump = run(it.cmd(there + "/pstats_dump.py", there + "/out.prof"))
    assert dump.returncode == 0, dump.describe()
    entries = json.loads(dump.stdout)["entries"]
    got = {}
    for file, line, name, nc, _, _, _ in entries:
        # (exec() runs each compiled block's <module> once, seen at its def line by USDT)
        if line >= FIRST_LINE and "/lib/python3" not in file and not file.startswith("<frozen") and \
                name != "<module>":
            got[line] = got.get(line, 0) + nc
    if mode == "exact":
        assert got == hostile_expected(skip_bytes), got
    else:
        assert set(got) <= set(hostile_expected(skip_bytes)) and got, got
    print("\nlongest lines (bytes) %s %s: %s" % (ident, mode, longest))
    for k, v in longest.items():
        assert v < HUGE, "%s has a %d-byte line: not bounded" % (k, v)


# ---------------------------------------------------------------- (b) garbled ELF files

def _u(data, off, fmt, value):
    struct.pack_into(fmt, data, off, value)


def _sections(data):
    """[(header offset, sh_type)] of an intact ELF64's section headers."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, = struct.unpack_from("<H", data, 0x3c)
    return [(shoff + 64 * i, struct.unpack_from("<I", data, shoff + 64 * i + 4)[0])
            for i in range(shnum)]


def _patch_sections(data, types, field_off, fmt, value):
    for at, sh_type in _sections(data):
        if sh_type in types:
            _u(data, at + field_off, fmt, value)


SHT_SYMTAB, SHT_STRTAB, SHT_NOTE, SHT_DYNSYM = 2, 3, 7, 11


def _bad_notes(data):
    for at, sh_type in _sections(data):
        if sh_type == SHT_NOTE:
            off, = struct.unpack_from("<Q", data, at + 24)
            _u(data, off, "<I", 0xfffffff0)  # namesz
            _u(data, off + 4, "<I", 0xfffffff0)  # descsz
    for i in range(struct.unpack_from("<H", data, 0x38)[0]):  # PT_NOTE sizes too
        ph = struct.unpack_from("<Q", data, 0x20)[0] + 56 * i
        if struct.unpack_from("<I", data, ph)[0] == 4:
            _u(data, ph + 32, "<Q", 1 << 40)


GARBLES = {
    "empty_but_one_byte": lambda d: d[:1],
    "header_only": lambda d: d[:64],
    "first_page": lambda d: d[:4096],
    "first_half": lambda d: d[:len(d) // 2],
    "shoff_past_end": lambda d: (_u(d, 0x28, "<Q", 0xffffffff0000), d)[1],
    "shnum_huge": lambda d: (_u(d, 0x3c, "<H", 0xffff), d)[1],
    "shentsize_bad": lambda d: (_u(d, 0x3a, "<H", 7), d)[1],
    "shstrndx_bad": lambda d: (_u(d, 0x3e, "<H", 0xfffe), d)[1],
    "phoff_past_end": lambda d: (_u(d, 0x20, "<Q", 0xffffffff0000), d)[1],
    "phnum_huge": lambda d: (_u(d, 0x38, "<H", 0xffff), d)[1],
    "notes_bad": lambda d: (_bad_notes(d), d)[1],
    "symtab_size_huge": lambda d: (_patch_sections(d, (SHT_SYMTAB, SHT_DYNSYM), 32, "<Q", 1 << 44), d)[1],
    "symtab_entsize_zero": lambda d: (_patch_sections(d, (SHT_SYMTAB, SHT_DYNSYM), 56, "<Q", 0), d)[1],
    "symtab_link_bad": lambda d: (_patch_sections(d, (SHT_SYMTAB, SHT_DYNSYM), 40, "<I", 0xfff0), d)[1],
    "strtab_past_end": lambda d: (_patch_sections(d, (SHT_STRTAB,), 24, "<Q", 1 << 40), d)[1],
    "elf32_class": lambda d: (_u(d, 4, "B", 1), d)[1],
    "not_elf": lambda d: bytearray(b"MZ" + bytes(range(256)) * 64),
}

# Maps the file executable ("exec"), or executable and writable as the
# dynamic loader maps a library ("loaded"), then runs COUNTED.
MAPPER = """\
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
size = os.fstat(fd).st_size
m = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_EXEC)
if sys.argv[3] == "loaded":
    w = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE, prot=mmap.PROT_READ | mmap.PROT_WRITE)
exec(open(sys.argv[2]).read().replace("if len(sys.argv) > 1:", "if True:"))
"""


@pytest.fixture(scope="module")
def pristine_libpython():
    _, py = pyenv_interp("3.12")
    return (py / (PYENV_LIB % "3.12")).read_bytes()


@pytest.mark.parametrize("mapping", ["exec", "loaded"])
@pytest.mark.parametrize("mode", ["exact", "sample"])
@pytest.mark.parametrize("garble", sorted(GARBLES))
def test_garbled_libpython(prof, procs, tmp_path, pristine_libpython, garble, mode, mapping):
    """host python3.11 (static: the interpreter is in the executable) maps a
    garbled file named libpython3.12.so.1.0: executable only, pybpf-prof
    takes it for no interpreter and profiles the executable's 3.11; also
    writable (as loaded), it reads it as an ELF and then profiles 3.11,
    refuses in one line, or says on stderr that most samples failed.
    Never a crash or a hang."""
    it = interp_checked("host-py3.11")
    lib = tmp_path / "libpython3.12.so.1.0"
    lib.write_bytes(bytes(GARBLES[garble](bytearray(pristine_libpython))))
    (tmp_path / "counted.py").write_text(COUNTED)
    (tmp_path / "mapper.py").write_text(MAPPER)
    target = procs(it.cmd(tmp_path / "mapper.py", lib, tmp_path / "counted.py", mapping))
    target.wait_line("stdout", r"ready$")
    maps = Path("/proc/%d/maps" % target.pid).read_text()
    assert re.search(r"r-xp 00000000 .*/libpython3\.12\.so\.1\.0$", maps, re.M), maps
    opts = ["--sample", "--hz", "999"] if mode == "sample" else []
    tracer = procs([prof, *opts, "-p", str(target.pid)])
    tracer.wait_line("stderr", r"pybpf-prof: ", what="pybpf-prof's first line")
    target.write("go\n")
    target.close_stdin()
    assert target.wait().returncode == 0
    res = tracer.wait()
    check_clean_failure(res, garble)
    print("\n%s/%s %s: %s" % (mapping, mode, garble, outcome(res)))  # seen with -s
    if mapping == "exec":
        assert res.returncode == 0, res.describe()
    if res.returncode == 1:
        return
    if "CPython 3.11." in res.stdout:
        assert it.python in res.stdout, res.describe()
        if mode == "exact":
            check_counted(res.stdout, "<string>")  # run by exec() in MAPPER
        return
    # The garbled file was taken for the interpreter: what it reads is garbage.
    assert mode == "sample" and "most samples could not be read" in res.stderr, res.describe()


def outcome(res):
    if res.returncode:
        return "refused: " + res.stderr.strip()[len("pybpf-prof: "):][:90]
    m = re.search(r"CPython (3\.\d+)", res.stdout)
    return "profiled %s%s" % (m.group(1) if m else "?",
                              ", most samples lost" if "most samples" in res.stderr else "")


# ---------------------------------------------------------------- (c) library replaced on disk

@pytest.mark.parametrize("mode", ["exact", "sample"])
@pytest.mark.parametrize("minor,other", [("3.12", "3.13"), ("3.13", "3.12")])
def test_libpython_replaced_after_mapping(prof, procs, tmp_path, minor, other, mode):
    """A copy of pyenv's CPython runs from tmp_path; once it has mapped its
    libpython, the file's name is given to the other version's libpython
    (rename over it): pybpf-prof reads and probes the mapped (deleted) file,
    reports its version and counts exactly."""
    it, py = pyenv_interp(minor)
    _, other_py = pyenv_interp(other)
    (tmp_path / "bin").mkdir()
    (tmp_path / "lib").mkdir()
    shutil.copy(py / ("bin/python" + minor), tmp_path / "bin")
    lib = tmp_path / (PYENV_LIB % minor)
    shutil.copy(py / (PYENV_LIB % minor), lib)
    (tmp_path / "counted.py").write_text(LONG_COUNTED if mode == "sample" else COUNTED)
    env = dict(TARGET_ENV, LD_LIBRARY_PATH=str(tmp_path / "lib"), PYTHONHOME=str(py))
    target = procs([tmp_path / "bin" / ("python" + minor), tmp_path / "counted.py", "wait"], env=env)
    target.wait_line("stdout", r"ready$")
    shutil.copy(other_py / (PYENV_LIB % other), tmp_path / "lib/new")
    os.rename(tmp_path / "lib/new", lib)
    maps = Path("/proc/%d/maps" % target.pid).read_text()
    assert "%s (deleted)" % lib in maps, maps
    res = profile_to_end(prof, procs, target, mode)
    assert res.returncode == 0, res.describe()
    assert "CPython %s." % minor in res.stdout and str(lib) in res.stdout, res.describe()
    if mode == "exact":
        check_counted(res.stdout, str(tmp_path / "counted.py"))
    else:
        assert re.search(r"counted\.py:2\(f\)", res.stdout), res.describe()


# ---------------------------------------------------------------- (d) patched _Py_DebugOffsets

def runtime_file_offset(path):
    """File offset of _PyRuntime (the _Py_DebugOffsets block) in an ELF file."""
    syms = subprocess.run(["readelf", "-Ws", str(path)], capture_output=True, text=True, check=True)
    vaddr = next(int(f[1], 16) for f in (ln.split() for ln in syms.stdout.splitlines())
                 if len(f) >= 8 and f[7] == "_PyRuntime")
    loads = subprocess.run(["readelf", "-lW", str(path)], capture_output=True, text=True, check=True)
    for ln in loads.stdout.splitlines():
        f = ln.split()
        if f and f[0] == "LOAD":
            off, va, filesz = int(f[1], 16), int(f[2], 16), int(f[4], 16)
            if va <= vaddr < va + filesz:
                return vaddr - va + off
    raise AssertionError("_PyRuntime of %s is in no loaded file bytes" % path)


# Positions in the block (user/offsets.c's layouts): code_object.size,
# code_object.name, interpreter_frame.previous and .executable.
DEBUG_POS = {"3.13": (272, 288, 232, 240), "3.14": (312, 328, 256, 264)}


def patch_debug(data, at, minor, what):
    code_size, code_name, previous, executable = DEBUG_POS[minor]
    if what == "cookie":
        data[at:at + 8] = b"xdebugpz"
    elif what == "version":
        struct.pack_into("<Q", data, at + 8, 0x030c01f0)
    elif what == "free_threaded":
        struct.pack_into("<Q", data, at + 16, 2)
    elif what == "size_zero":
        struct.pack_into("<Q", data, at + code_size, 0)
    elif what == "offset_outside":
        struct.pack_into("<Q", data, at + code_name, 1 << 20)
    elif what == "executable_is_previous":  # passes every check of the block itself
        data[at + executable:at + executable + 8] = data[at + previous:at + previous + 8]
    return data


DEBUG_REFUSALS = {
    "cookie": r"debug offsets|_Py_DebugOffsets has the wrong cookie",
    "version": r"debug offsets|is for version",
    "free_threaded": r"free_threaded = 2",
    "size_zero": r"code_object\.size = 0, not a plausible size",
    "offset_outside": r"code_object\.name = 1048576, outside",
    "executable_is_previous": r"no code object",
}


def patched_interpreter(minor, tmp_path, what):
    """(argv, env, text to find in the pybpf-prof's output) of a CPython
    whose _Py_DebugOffsets is patched: pyenv 3.13's libpython, or sid's
    static 3.14 run in the sid chroot."""
    if minor == "3.13":
        it, py = pyenv_interp("3.13")
        lib = tmp_path / (PYENV_LIB % "3.13")
        lib.parent.mkdir()
        data = bytearray((py / (PYENV_LIB % "3.13")).read_bytes())
        lib.write_bytes(patch_debug(data, runtime_file_offset(py / (PYENV_LIB % "3.13")), minor, what))
        script = tmp_path / "counted.py"
        script.write_text(COUNTED)
        env = dict(TARGET_ENV, LD_LIBRARY_PATH=str(lib.parent))
        return [it.python, script, "wait"], env, None
    it = interp_checked("sid-py3.14")
    inside = "/tmp/pybpf-hostile-" + uuid.uuid4().hex[:10]
    host = it.root / inside.lstrip("/")
    host.mkdir()
    data = bytearray(Path(it.host_binary).read_bytes())
    (host / "python3.14").write_bytes(patch_debug(data, runtime_file_offset(it.host_binary), minor, what))
    os.chmod(host / "python3.14", 0o755)
    (host / "counted.py").write_text(COUNTED)
    env = dict(TARGET_ENV, PYTHONHOME="/usr")
    return ["chroot", it.root, inside + "/python3.14", inside + "/counted.py", "wait"], env, host


@pytest.mark.parametrize("mode", ["exact", "sample"])
@pytest.mark.parametrize("what", sorted(DEBUG_REFUSALS))
@pytest.mark.parametrize("minor", ["3.13", "3.14"])
def test_patched_debug_offsets(prof, procs, tmp_path, minor, what, mode):
    argv, env, cleanup = patched_interpreter(minor, tmp_path, what)
    try:
        target = procs(argv, env=env)
        target.wait_line("stdout", r"ready$")
        opts = ["--sample"] if mode == "sample" else []
        res = procs([prof, *opts, "-p", str(target.pid)]).wait()
        target.kill()
    finally:
        if cleanup:
            shutil.rmtree(cleanup, ignore_errors=True)
    assert res.returncode == 1, res.describe()
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pybpf-prof: "), res.describe()
    assert re.search(DEBUG_REFUSALS[what], lines[0]), res.describe()
    assert res.stdout == ""


# ---------------------------------------------------------------- (a') a mount namespace

@pytest.mark.parametrize("mode", ["exact", "sample"])
def test_mount_namespace_hides_decoy(prof, procs, tmp_path, mode):
    """The target runs in its own mount namespace, where a bind mount puts
    the real libpython 3.12 over the directory that, on the host, holds a
    decoy (pyenv 3.13's libpython under the same name): /proc/PID/maps names
    the decoy's host path. The profile is of the mapped 3.12, the decoy is
    never opened."""
    it, py = pyenv_interp("3.12")
    _, py313 = pyenv_interp("3.13")
    for d in ("bin", "real", "decoy"):
        (tmp_path / d).mkdir()
    shutil.copy(py / "bin/python3.12", tmp_path / "bin")
    shutil.copy(py / (PYENV_LIB % "3.12"), tmp_path / "real/libpython3.12.so.1.0")
    decoy = tmp_path / "decoy/libpython3.12.so.1.0"
    shutil.copy(py313 / (PYENV_LIB % "3.13"), decoy)
    (tmp_path / "counted.py").write_text(LONG_COUNTED if mode == "sample" else COUNTED)
    env = dict(TARGET_ENV, LD_LIBRARY_PATH=str(tmp_path / "decoy"), PYTHONHOME=str(py))
    script = 'mount --bind "$1/real" "$1/decoy" && exec "$1/bin/python3.12" "$1/counted.py" wait'
    target = procs(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                    tmp_path], env=env)
    target.wait_line("stdout", r"ready$")
    maps = Path("/proc/%d/maps" % target.pid).read_text()
    assert "%s\n" % decoy in maps, maps  # the host path of the decoy, as the maps say
    res, events = profile_watched(prof, procs, target, mode, [decoy])
    if mode == "exact":
        check_counted(res.stdout, str(tmp_path / "counted.py"))
    else:
        assert re.search(r"counted\.py:2\(f\)", res.stdout), res.describe()
    assert events == [], "the decoy was opened: %r" % events
