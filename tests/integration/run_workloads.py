"""Runs several workloads in one process (inside the target interpreter,
Python 3.9 or newer), so that one pybpf-prof run covers them all.

usage: run_workloads.py [--wait] [--rounds N] [--last WORKLOAD.py] WORKLOAD.py...

Imports every workload by path (its module body, class bodies included,
runs then), then N times (1 by default) runs each one's main() in the order
given, and in the last round the --last one's after them. A SystemExit from
a main() ends this script with its status, so the --last workload may be
one that exits (tests/workloads/exit_status.py).

With --wait it prints "ready" after the imports, blocks reading one line
from stdin before each round and prints "round N done" after it (exit status
2 if stdin closes early): a test attaches pybpf-prof -p while it is blocked,
so nothing runs before the probes are live, without sleeping anywhere.
"""

import argparse
import importlib.util
import sys


def load(path, n):
    spec = importlib.util.spec_from_file_location("pybpf_workload_%d" % n, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--wait", action="store_true")
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--last")
    parser.add_argument("workloads", nargs="*")
    args = parser.parse_args()
    modules = [load(path, n) for n, path in enumerate(args.workloads)]
    last = load(args.last, len(modules)) if args.last else None
    if args.wait:
        print("ready", flush=True)
    for r in range(args.rounds):
        if args.wait and not sys.stdin.readline():
            sys.stderr.write("run_workloads: stdin closed before round %d\n" % r)
            return 2
        for module in modules + ([last] if last and r == args.rounds - 1 else []):
            try:
                module.main()
            finally:
                sys.stdout.flush()
        if args.wait:
            print("round %d done" % r, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
