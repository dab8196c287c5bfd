"""What the benchmarks (tests/bench*.py) share: where the test interpreters are."""

import os
import shlex
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def provisioned(sid_versions=None):
    """tests/provision.sh --print-env --no-provision as a dict (never downloads);
    sid_versions (e.g. "3.13 3.14 3.15") asks for those sid interpreters."""
    env = dict(os.environ)
    if sid_versions:
        env["PYBPF_SID_PYTHONS"] = os.environ.get("PYBPF_SID_PYTHONS", sid_versions)
    res = subprocess.run([os.path.join(ROOT, "tests", "provision.sh"), "--print-env", "--no-provision"],
                         capture_output=True, text=True, env=env)
    vals = {}
    for line in res.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            vals[key] = " ".join(shlex.split(value))
    return vals


def pyenv_roots():
    """pyenv's root as `pyenv root` names it, then its default, without repeats."""
    roots = []
    try:
        r = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        if r:
            roots.append(r)
    except OSError:
        pass
    roots.append("/root/.pyenv")
    return [r for i, r in enumerate(roots) if r not in roots[:i]]
