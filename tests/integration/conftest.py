"""Fixtures for pybpf-prof's integration tests.

The interpreters (ids as in the test names):
  py3.9         Debian bullseye's python3.9 unpacked on the host (static, USDT
                probes that fire), from tests/provision.sh
  sid-py3.X     python3.X (3.13, 3.14, 3.15) in a Debian sid chroot made by
                tests/provision.sh, run as `chroot ROOT /usr/bin/python3.X ...`;
                the files it reads are copied into ROOT/tmp/pybpf-tests/<session>/.
                3.15's probes fire; 3.13/3.14 have none.
  pyenv-py3.X   pyenv's 3.9.18, 3.10.13, 3.11.7, 3.12.1, 3.13.0 (another patch
                release of the same minor if that one is missing) under
                $(pyenv root)/versions, /root/.pyenv/versions without pyenv:
                shared libpython, no probes
  host-py3.11   Debian bookworm's /usr/bin/python3.11 (static; its entry probe
                never fires)
Tests run on the USDT ones (py3.9, sid-py3.15) unless their module sets
INTERPS or they carry an interps(...) marker (see select_interps()). The
provisioned ones come from tests/provision.sh --print-env --no-provision
(this never downloads anything; `make integration` provisions first);
PYBPF_PY39, PYBPF_SID_ROOT and PYBPF_SID_PYTHONS in the environment override
what it reports. An interpreter that is not there SKIPS its tests with a
message saying so; one that is there but does not run FAILS.

Everything runs with a deadline: child processes are read without blocking
and killed (their process group, by id) when a deadline passes. Nothing
waits by sleeping: tests synchronise on lines the processes print.
"""

import ast
import collections
import json
import os
import re
import selectors
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
INTEGRATION = REPO / "tests" / "integration"
WORKLOADS_DIR = REPO / "tests" / "workloads"
PYBPF_PROF = Path(os.environ.get("PYBPF_PROF") or REPO / "pybpf-prof")
DEFAULT_INTERP_DIR = Path("/var/lib/pybpf-prof/interp")
CHROOT_WORK = "/tmp/pybpf-tests"
# Deadline for one pybpf-prof or interpreter run (the workloads take well
# under a second; attaching takes about one).
TIMEOUT = float(os.environ.get("PYBPF_TEST_TIMEOUT", "120"))

# The environment of every target interpreter and of pybpf-prof (whose CMD
# inherits it): nothing of the host's PYTHON* variables, fixed hash seed.
TARGET_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "LC_ALL": "C.UTF-8",
    "PYTHONHASHSEED": "0",
    "PYTHONDONTWRITEBYTECODE": "1",
}

HELPER_SCRIPTS = ("cprofile_ref.py", "pstats_dump.py", "attach_target.py", "run_workloads.py")
WORKLOADS = sorted(p.stem for p in WORKLOADS_DIR.glob("*.py"))


def is_root():
    return os.geteuid() == 0


# ---------------------------------------------------------------- interpreters


def _provisioned_env():
    """(variables, note): what tests/provision.sh --print-env reports."""
    found, note = {}, ""
    script = REPO / "tests" / "provision.sh"
    if script.exists():
        try:
            res = subprocess.run(["bash", str(script), "--print-env", "--no-provision"],
                                 capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            note = "tests/provision.sh --print-env failed: %s" % exc
        else:
            if res.returncode == 0:
                for line in res.stdout.splitlines():
                    key, sep, value = line.partition("=")
                    if sep and re.fullmatch(r"[A-Z0-9_]+", key):
                        found[key] = " ".join(shlex.split(value)) if value else ""
            else:
                note = "tests/provision.sh --print-env: %s" % (res.stderr.strip() or res.returncode)
    else:
        note = "no tests/provision.sh"
    for key in ("PYBPF_PY39", "PYBPF_SID_ROOT", "PYBPF_SID_PYTHONS"):
        if os.environ.get(key):
            found[key] = os.environ[key]
    return found, note


PROVISIONED, PROVISION_NOTE = _provisioned_env()


class Interp:
    """One interpreter under test. `python` is its path as the target sees it;
    `root` is the chroot it runs in (None: the host); `usdt` says whether its
    USDT probes fire fully (what --backend auto then picks); `micro` is its
    full version ("3.12.1"), set once it has been seen to run."""

    def __init__(self, ident, version, python, root=None, usdt=False, origin=""):
        self.id = ident
        self.version = version  # "3.9"
        self.python = python
        self.root = Path(root) if root else None
        self.usdt = usdt
        self.origin = origin
        self.micro = None

    @property
    def vt(self):
        return tuple(map(int, self.version.split(".")))

    @property
    def needs_hook(self):
        """3.11+: only a PEP 523 hook sends every frame through _PyEval_EvalFrameDefault."""
        return self.vt >= (3, 11)

    @property
    def host_binary(self):
        """The interpreter's path on the host (where pybpf-prof finds it)."""
        return self.host_path(self.python)

    def cmd(self, *args):
        """argv running this interpreter with args (target-side paths)."""
        if self.root:
            return ["chroot", str(self.root), self.python, *map(str, args)]
        return [self.python, *map(str, args)]

    def host_path(self, target_path):
        target_path = str(target_path)
        if self.root:
            return self.root / target_path.lstrip("/")
        return Path(target_path)

    def __repr__(self):
        return "Interp(%s)" % self.id


# One interpreter of the matrix, present (why is None) or not (why says so).
Spec = collections.namedtuple("Spec", "id version python root why usdt origin")

# The eval-frame matrix besides the provisioned ones: pyenv builds (shared
# libpython, no dtrace), newest patch release first when the one named here
# is not installed.
PYENV_VERSIONS = ("3.9.18", "3.10.13", "3.11.7", "3.12.1", "3.13.0")
HOST_PYTHON311 = "/usr/bin/python3.11"  # Debian bookworm: static, dtrace, entry probe dead


def _vkey(version):
    return tuple(int(x) if x.isdigit() else -1 for x in re.split(r"[.]", version))


def _probes_fire(version):
    """Whether a --with-dtrace build's function__entry/return probes fire for
    every call: not on 3.11 (entry dead), and 3.12-3.14 have none."""
    return not (3, 11) <= _vkey(version)[:2] <= (3, 14)


def _pyenv_root():
    """(root, how it was found)."""
    try:
        res = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        res = None
    if res is not None and res.returncode == 0 and res.stdout.strip():
        return res.stdout.strip(), "the root `pyenv root` names"
    return "/root/.pyenv", "pyenv is not on PATH: its default root"


def _pyenv_specs():
    root, how = _pyenv_root()
    specs = []
    for wanted in PYENV_VERSIONS:
        minor = ".".join(wanted.split(".")[:2])
        rel = "bin/python%s" % minor
        candidates = [Path(root, "versions", wanted)] + sorted(
            (p for p in Path(root, "versions").glob(minor + ".*")
             if re.fullmatch(r"\d+\.\d+\.\d+", p.name) and p.name != wanted),
            key=lambda p: _vkey(p.name), reverse=True)
        found = next((p / rel for p in candidates if os.access(p / rel, os.X_OK)), None)
        why = None
        if found is None:
            why = "pyenv has no CPython %s (no %s/versions/%s/%s; %s; install: pyenv install %s)" % (
                minor, root, wanted, rel, how, wanted)
        specs.append(Spec("pyenv-py%s" % minor, minor, str(found or Path(root, "versions", wanted, rel)),
                          None, why, False, "pyenv"))
    return specs


def _interp_specs():
    """(USDT specs, all specs): every interpreter the tests run on, present or not."""
    usdt_specs, specs = [], []
    py39 = PROVISIONED.get("PYBPF_PY39")
    if py39 is None:  # no provision.sh answer: its default location
        py39 = str(DEFAULT_INTERP_DIR / "bullseye/usr/bin/python3.9")
    why = None
    if not py39:
        why = "bullseye python3.9 is not provisioned (run: sudo tests/provision.sh bullseye)"
    elif not os.access(py39, os.X_OK):
        why = "bullseye python3.9 not found at %s (run: sudo tests/provision.sh bullseye)" % py39
    if why and PROVISION_NOTE:
        why += "; " + PROVISION_NOTE
    usdt_specs.append(Spec("py3.9", "3.9", py39, None, why, True, "bullseye"))

    root = PROVISIONED.get("PYBPF_SID_ROOT")
    if root is None:
        root = str(DEFAULT_INTERP_DIR / "sid")
    listed = set(PROVISIONED.get("PYBPF_SID_PYTHONS", "").split())
    usdt_listed = set(PROVISIONED.get("PYBPF_SID_USDT_PYTHONS", "").split())
    sid = []
    for version in sorted(listed | usdt_listed | set(SID_VERSIONS), key=_vkey):
        python = "/usr/bin/python%s" % version
        why = None
        if not root:
            why = "the sid chroot is not provisioned (run: sudo tests/provision.sh sid)"
        elif not os.access(os.path.join(root, python.lstrip("/")), os.X_OK):
            why = "sid chroot %s has no %s (run: sudo PYBPF_SID_PYTHONS=%s tests/provision.sh sid)" % (
                root, python, version)
        if why and PROVISION_NOTE:
            why += "; " + PROVISION_NOTE
        sid.append(Spec("sid-py%s" % version, version, python, root, why,
                        _probes_fire(version), "sid"))
    usdt_specs += [s for s in sid if s.usdt]

    why = None if os.access(HOST_PYTHON311, os.X_OK) else (
        "no %s on this host (Debian bookworm's python3.11 package)" % HOST_PYTHON311)
    host = Spec("host-py3.11", "3.11", HOST_PYTHON311, None, why, False, "host")
    specs = sorted(usdt_specs[:1] + _pyenv_specs() + [host] + sid, key=lambda s: _vkey(s.version))
    return usdt_specs, specs


# The sid chroot's interpreters: 3.15 has the probes, 3.13/3.14 need the hook.
SID_VERSIONS = ("3.13", "3.14", "3.15")
INTERP_SPECS, ALL_SPECS = _interp_specs()
_checked = {}


def select_interps(kind="usdt", min_version=None, max_version=None, versions=None):
    """Ids of the interpreters a test runs on. kind: "usdt" (probes that fire:
    bullseye 3.9, sid 3.15), "all" (the eval-frame matrix: every one),
    "nousdt" (those the USDT backend refuses), "hook" (3.11+: the eval-frame
    backend sets the PEP 523 hook)."""
    specs = {
        "usdt": INTERP_SPECS,
        "all": ALL_SPECS,
        "nousdt": [s for s in ALL_SPECS if not s.usdt],
        "hook": [s for s in ALL_SPECS if _vkey(s.version) >= (3, 11)],
    }[kind]
    if min_version:
        specs = [s for s in specs if _vkey(s.version) >= _vkey(min_version)]
    if max_version:
        specs = [s for s in specs if _vkey(s.version) <= _vkey(max_version)]
    if versions:
        specs = [s for s in specs if s.version in versions]
    return [s.id for s in specs]


def pytest_configure(config):
    config.addinivalue_line("markers", "nonroot: runs without root (drops privileges itself)")
    config.addinivalue_line("markers", "interps(kind, min_version=, max_version=, versions=): "
                            "the interpreters the test runs on (conftest.select_interps); "
                            "default: the module's INTERPS, else usdt")


def pytest_generate_tests(metafunc):
    if "interp" in metafunc.fixturenames:
        marker = metafunc.definition.get_closest_marker("interps")
        if marker:
            ids = select_interps(*marker.args, **marker.kwargs)
        else:
            ids = select_interps(getattr(metafunc.module, "INTERPS", "usdt"))
        metafunc.parametrize("interp", ids, indirect=True)
    if "workload" in metafunc.fixturenames:
        metafunc.parametrize("workload", WORKLOADS)


@pytest.fixture(autouse=True)
def _require_root(request):
    if request.node.get_closest_marker("nonroot") is None and not is_root():
        pytest.skip("pybpf-prof integration tests need root (eBPF, uprobes, chroot); "
                    "run: sudo make integration")


@pytest.fixture
def interp(request):
    return interp_checked(request.param)


def interp_checked(ident, skip_prefix=""):
    """The Interp of that id, its full version checked once per session;
    skips (the reason after skip_prefix) when it is absent, fails when it
    does not run."""
    spec = next(s for s in ALL_SPECS + INTERP_SPECS if s.id == ident)
    if spec.why:
        pytest.skip("%s%s: %s" % (skip_prefix, spec.id, spec.why))
    it = Interp(spec.id, spec.version, spec.python, spec.root, spec.usdt, spec.origin)
    if it.id not in _checked:
        res = run(it.cmd("-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"), timeout=60)
        _checked[it.id] = res
    res = _checked[it.id]
    micro = res.stdout.strip()
    if res.returncode != 0 or ".".join(micro.split(".")[:2]) != spec.version:
        pytest.fail("%s does not run as expected: %s\nexit %s, stdout %r, stderr %r" % (
            it.id, " ".join(it.cmd("-c", "...")), res.returncode, res.stdout, res.stderr))
    it.micro = micro
    return it


@pytest.fixture(scope="session")
def prof():
    """Path of the pybpf-prof binary under test."""
    if not os.access(PYBPF_PROF, os.X_OK):
        pytest.fail("pybpf-prof is not built at %s (run: make)" % PYBPF_PROF)
    return str(PYBPF_PROF)


# ---------------------------------------------------------------- workspaces


class Workspace:
    """A directory both the host and the target interpreter see, holding
    copies of the helper scripts and workloads. Paths handed out are
    target-side strings; host() maps them to host paths."""

    def __init__(self, interp, host_dir, target_dir):
        self.interp = interp
        self.host_dir = Path(host_dir)
        self.target_dir = target_dir
        (self.host_dir / "workloads").mkdir(parents=True, exist_ok=True)
        for name in HELPER_SCRIPTS:
            shutil.copy(INTEGRATION / name, self.host_dir / name)
        for src in WORKLOADS_DIR.glob("*.py"):
            shutil.copy(src, self.host_dir / "workloads" / src.name)
        self._n = 0

    def script(self, name):
        return "%s/%s" % (self.target_dir, name)

    def workload(self, name):
        return "%s/workloads/%s.py" % (self.target_dir, name)

    def host(self, target_path):
        target_path = str(target_path)
        assert target_path.startswith(self.target_dir + "/"), target_path
        return self.host_dir / target_path[len(self.target_dir) + 1:]

    def mkdir(self, prefix):
        """A fresh directory for one test's files (target-side path)."""
        self._n += 1
        name = "%s-%d" % (re.sub(r"[^A-Za-z0-9_.-]+", "_", prefix)[:60], self._n)
        (self.host_dir / name).mkdir()
        return "%s/%s" % (self.target_dir, name)


_workspaces = {}


@pytest.fixture(scope="session")
def _workspace_registry(tmp_path_factory):
    made = []
    yield tmp_path_factory, made
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def ws(interp, _workspace_registry):
    return workspace_for(interp, _workspace_registry)


def workspace_for(interp, registry):
    """interp's Workspace, made the first time (registry: _workspace_registry)."""
    factory, made = registry
    if interp.id not in _workspaces:
        if interp.root:
            host_dir = interp.root / CHROOT_WORK.lstrip("/") / uuid.uuid4().hex[:12]
            host_dir.mkdir(parents=True)
            made.append(host_dir)
            target_dir = "%s/%s" % (CHROOT_WORK, host_dir.name)
        else:
            host_dir = factory.mktemp(interp.id)
            target_dir = str(host_dir)
        _workspaces[interp.id] = Workspace(interp, host_dir, target_dir)
    return _workspaces[interp.id]


# ---------------------------------------------------------------- processes


class Result:
    def __init__(self, argv, returncode, stdout, stderr):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr

    def describe(self):
        return "command: %s\nexit status: %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            shlex.join(map(str, self.argv)), self.returncode, _clip(self.stdout), _clip(self.stderr))


def _clip(text, limit=6000):
    if len(text) <= limit:
        return text
    return text[:limit // 2] + "\n[... %d characters ...]\n" % (len(text) - limit) + text[-limit // 2:]


def _read_proc(path, limit=4000):
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace").strip()
    except OSError as exc:
        return "(%s)" % exc.strerror


def _descendants(pid):
    """pid and every live process below it (the kernel's task children lists)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        for children in Path("/proc/%d/task" % p).glob("*/children"):
            todo.extend(int(c) for c in _read_proc(str(children)).split() if c.isdigit())
    return found


def hang_report(pid):
    """Where pid and its descendants are stuck: each thread's state, wchan
    and kernel stack, the threads of the host in a ptrace or uninterruptible
    stop with their tracer, and gdb's user-space backtrace of pid when gdb is
    installed. Printed by a timed-out wait, before the kill."""
    out = ["--- where it hangs ---"]
    for p in _descendants(pid):
        for tid in sorted(os.listdir("/proc/%d/task" % p) if os.path.isdir("/proc/%d/task" % p) else []):
            base = "/proc/%d/task/%s" % (p, tid)
            out.append("PID %d TID %s %s: state %s, wchan %s" % (
                p, tid, _read_proc(base + "/comm"), _read_proc(base + "/stat").split(") ")[-1][:1],
                _read_proc(base + "/wchan")))
            out.extend("    " + line for line in _read_proc(base + "/stack").splitlines()[:16])
    for d in os.listdir("/proc"):
        if d.isdigit():
            status = _read_proc("/proc/%s/status" % d)
            state = re.search(r"^State:\s+(\S)", status, re.M)
            tracer = re.search(r"^TracerPid:\s+(\d+)", status, re.M)
            if state and (state.group(1) in "tD" or (tracer and tracer.group(1) != "0")):
                out.append("host PID %s %s: state %s, tracer %s" % (
                    d, _read_proc("/proc/%s/comm" % d), state.group(1), tracer and tracer.group(1)))
    if shutil.which("gdb"):
        try:
            bt = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex", "thread apply all bt"],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
            out.extend(line for line in bt.stdout.splitlines() if line.startswith(("#", "Thread")))
        except subprocess.TimeoutExpired:
            out.append("(gdb timed out)")
    return "\n".join(out)


class Proc:
    """A child process (in its own process group) whose stdout and stderr are
    collected without blocking; every wait has a deadline, after which the
    group is killed and the test fails with what the process printed."""

    def __init__(self, argv, env=None, stdin=True):
        self.argv = [str(a) for a in argv]
        self.p = subprocess.Popen(self.argv, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  env=TARGET_ENV if env is None else env, start_new_session=True)
        self.pid = self.p.pid
        self.started = time.monotonic()
        self.buf = {"stdout": bytearray(), "stderr": bytearray()}
        self.sel = selectors.DefaultSelector()
        for name in ("stdout", "stderr"):
            f = getattr(self.p, name)
            os.set_blocking(f.fileno(), False)
            self.sel.register(f, selectors.EVENT_READ, name)

    # -- reading
    def _pump(self, timeout):
        """Read what is available within timeout. False once both pipes are at EOF."""
        if not self.sel.get_map():
            return False
        for key, _ in self.sel.select(max(0.0, timeout)):
            try:
                data = os.read(key.fd, 65536)
            except BlockingIOError:
                continue
            if data:
                self.buf[key.data] += data
            else:
                self.sel.unregister(key.fileobj)
                key.fileobj.close()
        return True

    def wait_output(self, timeout):
        """Collects output for up to timeout seconds (less when some arrives)."""
        self._pump(timeout)

    def text(self, stream):
        return self.buf[stream].decode("utf-8", "replace")

    def describe(self):
        self._pump(0)
        return "command: %s\nexit status: %s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            shlex.join(self.argv), self.p.poll(), _clip(self.text("stdout")), _clip(self.text("stderr")))

    def wait_line(self, stream, pattern, timeout=TIMEOUT, what=None):
        """The first complete line on stream matching the regex pattern."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            for line in self.text(stream).splitlines(keepends=True):
                if line.endswith("\n") and rx.match(line):
                    return line.rstrip("\n")
            left = deadline - time.monotonic()
            if left <= 0:
                self.kill()
                pytest.fail("timed out after %gs waiting for %s (a line matching %r on %s)\n%s" % (
                    timeout, what or "output", pattern, stream, self.describe()))
            if not self._pump(left):
                try:
                    self.p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    pass
                pytest.fail("%s closed its output without printing %s (a line matching %r on %s)\n%s" % (
                    self.argv[0], what or "the expected line", pattern, stream, self.describe()))

    # -- writing and signalling
    def write(self, data):
        self.p.stdin.write(data.encode())
        self.p.stdin.flush()

    def close_stdin(self):
        if self.p.stdin and not self.p.stdin.closed:
            self.p.stdin.close()

    def send_signal(self, sig):
        assert self.p.poll() is None, "%s already exited\n%s" % (self.argv[0], self.describe())
        os.kill(self.pid, sig)

    def alive(self):
        return self.p.poll() is None

    def wait(self, timeout=TIMEOUT, what=None):
        """Wait for exit and EOF on both pipes; returns a Result."""
        deadline = time.monotonic() + timeout
        while self._pump(deadline - time.monotonic()):
            if time.monotonic() >= deadline:
                break
        try:
            self.p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        if self.p.poll() is None or self.sel.get_map():
            still = "still running" if self.p.poll() is None else "exited but its output is still open"
            where = hang_report(self.pid) if self.p.poll() is None else ""
            self.kill()
            pytest.fail("timed out after %gs waiting for %s to exit (%s)\n%s\n%s" % (
                timeout, what or self.argv[0], still, self.describe(), where))
        self.close_stdin()
        return Result(self.argv, self.p.returncode, self.text("stdout"), self.text("stderr"))

    def kill(self):
        """SIGKILL the process group while its leader is not yet reaped."""
        if self.p.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()
        self.close_stdin()


@pytest.fixture
def procs():
    """Spawner whose processes are killed at teardown if still running."""
    started = []

    def spawn(argv, env=None, stdin=True):
        proc = Proc(argv, env=env, stdin=stdin)
        started.append(proc)
        return proc

    yield spawn
    for proc in started:
        proc.kill()
        for f in (proc.p.stdout, proc.p.stderr):
            if f and not f.closed:
                f.close()


def run(argv, timeout=TIMEOUT, env=None, input=None):
    """Run to completion with a deadline; returns a Result."""
    proc = Proc(argv, env=env, stdin=input is not None)
    try:
        if input is not None:
            proc.write(input)
            proc.close_stdin()
        return proc.wait(timeout)
    finally:
        proc.kill()


# ---------------------------------------------------------------- reference data


def pstats_json(interp, ws, prof_target_path, *sort_keys):
    """The target interpreter's own pstats view of a profile file (pstats_dump.py)."""
    res = run(interp.cmd(ws.script("pstats_dump.py"), prof_target_path, *sort_keys))
    assert res.returncode == 0, "%s's pstats cannot load %s:\n%s" % (
        interp.id, prof_target_path, res.describe())
    return json.loads(res.stdout)


_references = {}


def reference(interp, ws, workload):
    """(stats json, workload stdout, exit status) of cProfile over workload's
    main() on this interpreter, made once per session."""
    key = (interp.id, workload)
    if key not in _references:
        d = ws.mkdir("ref-" + workload)
        out = d + "/ref.prof"
        res = run(interp.cmd(ws.script("cprofile_ref.py"), ws.workload(workload), out))
        assert res.returncode in (0, expected_status(workload)) and not res.stderr, (
            "cProfile reference run failed:\n" + res.describe())
        _references[key] = (pstats_json(interp, ws, out), res.stdout, res.returncode)
    return _references[key]


def expected_status(workload):
    """A workload's exit status: tests/workloads/exit_status.py leaves with 3."""
    return 3 if workload == "exit_status" else 0


def module_level_code(workload):
    """{(name, firstlineno)} of the code objects run when the workload file is
    executed as a script besides main()'s callees: <module> and the bodies of
    its top-level classes (the cProfile reference imports the file
    unprofiled, so only pybpf-prof's launch mode sees these)."""
    tree = ast.parse((WORKLOADS_DIR / (workload + ".py")).read_text())
    found = set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            found.add((node.name, min([node.lineno] + [d.lineno for d in node.decorator_list])))
    return found


def threaded(workload):
    """Whether the workload runs its thread bodies in real threads, but one
    after the other in main()'s thread under WORKLOAD_SEQUENTIAL, as for its
    cProfile reference (whose callers then differ from the real ones)."""
    return "WORKLOAD_SEQUENTIAL" in (WORKLOADS_DIR / (workload + ".py")).read_text()


def unseen_closes(workload):
    """The workload's UNSEEN_CLOSES ({function name: closes}), or {}."""
    tree = ast.parse((WORKLOADS_DIR / (workload + ".py")).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "UNSEEN_CLOSES" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}
