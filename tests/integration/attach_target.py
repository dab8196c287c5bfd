"""Target for pybpf-prof -p (runs inside the target interpreter).

usage: attach_target.py WORKLOAD.py [ROUNDS]

Imports the workload by path, prints "ready" and then, ROUNDS times (1 by
default): blocks reading one line from stdin, runs the workload's main()
and prints "round N done". Exits 0 at the end, 2 if stdin closes early, or
with the workload's own SystemExit status. The test attaches while this
process is blocked on stdin, so nothing of the workload runs before the
probes are live: no sleeps are needed anywhere.
"""

import importlib.util
import sys


def load(path):
    spec = importlib.util.spec_from_file_location("pybpf_workload", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def serve(path, rounds):
    module = load(path)
    print("ready", flush=True)
    for n in range(rounds):
        if not sys.stdin.readline():
            sys.stderr.write("attach_target: stdin closed before round %d\n" % n)
            return 2
        module.main()
        print("round %d done" % n, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1))
