"""Reference profile for one workload, made by cProfile on the interpreter
under test (Python 3.9 or newer; runs inside the target interpreter).

usage: cprofile_ref.py WORKLOAD.py OUT.prof

Imports the workload by path (its module body, class bodies included, runs
unprofiled), runs its main() under cProfile.Profile(builtins=False) and writes the stats
with dump_stats(OUT.prof). WORKLOAD_SEQUENTIAL=1 is set so that a threaded
workload runs its thread bodies one after the other in this thread, where
cProfile can see them. A SystemExit raised by main() is caught after the
profiler is disabled and its status becomes this script's exit status.
"""

import cProfile
import importlib.util
import os
import sys


def load(path):
    spec = importlib.util.spec_from_file_location("pybpf_workload", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(path, out):
    os.environ["WORKLOAD_SEQUENTIAL"] = "1"
    module = load(path)
    # builtins=False: C functions are not entries, as in pybpf-prof, so a
    # Python function called through one (repr(), sorted(key=...)) has the
    # same caller in both: the Python function that made the C call.
    profiler = cProfile.Profile(builtins=False)
    status = 0
    try:
        profiler.runcall(module.main)
    except SystemExit as exc:
        status = exc.code
    profiler.dump_stats(out)
    sys.stdout.flush()
    return status


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.stderr.write("usage: cprofile_ref.py WORKLOAD.py OUT.prof\n")
        sys.exit(2)
    sys.exit(run(sys.argv[1], sys.argv[2]))
