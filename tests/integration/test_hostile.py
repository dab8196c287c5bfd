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

from conftest import TARGET_ENV, TIMEOUT, interp_checked, run

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
    """Exit 0 or 1, never a signal, and on failure one line on stderr."""
    assert res.returncode in (0, 1), "%s: exit %s\n%s" % (what, res.returncode, res.describe())
    if res.returncode == 1:
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
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
COUNTED = """\
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
""" % CALLS


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
    watch = watch_checked([base / "decoy/python3.12", base / "decoy/libpython3.12.so.1.0", real_lib])
    opts = ["--sample", "--hz", "999"] if mode == "sample" else ["--backend", "evalframe"]
    tracer = procs([prof, *opts, "-p", str(target.pid)])
    tracer.wait_line("stderr", r"pybpf-prof: (tracing|sampling) PID ")
    target.write("go\n")
    target.close_stdin()
    assert target.wait().returncode == 0
    res = tracer.wait()
    events = watch.events()
    watch.close()
    assert res.returncode == 0, res.describe()
    assert "CPython 3.12." in res.stdout, res.describe()
    if mode == "exact":
        check_counted(res.stdout, "/work/counted.py")
    assert events == [], "files other than the mapped one were opened: %r" % events
