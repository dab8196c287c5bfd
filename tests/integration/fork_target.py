"""Target that forks, for pybpf-prof --all-python (runs inside the target
interpreter, Python 3.9 or newer).

usage: fork_target.py WORKLOAD.py

Imports the workload by path, prints "ready", then:
  first line on stdin:   runs main(), prints "round 0 done" and forks;
  the child prints "child PID waiting", then for each line runs main() and
      prints "child round N done", until a line "exit" (or EOF): status 0;
  the parent waits for the child, prints "child exited STATUS", then for
      each further line runs main() and prints "round N done"; 0 at EOF.
Stdin is read one byte at a time, so nothing is read ahead: after the fork
only one of the two reads it at any moment (the parent is in waitpid()
while the child lives), and a test can send every line at once. A test
tracing with pybpf-prof --all-python sends the child its first line only
once pybpf-prof has said it traces the child.
"""

import importlib.util
import os
import sys


def load(path):
    spec = importlib.util.spec_from_file_location("pybpf_workload", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_line():
    """One line from fd 0 without reading past it; None at EOF."""
    data = bytearray()
    while True:
        byte = os.read(0, 1)
        if not byte:
            return data.decode() if data else None
        if byte == b"\n":
            return data.decode()
        data += byte


def child(module):
    print("child %d waiting" % os.getpid(), flush=True)
    n = 0
    while True:
        line = read_line()
        if line is None or line == "exit":
            sys.stdout.flush()
            os._exit(0)
        module.main()
        print("child round %d done" % n, flush=True)
        n += 1


def serve(path):
    module = load(path)
    print("ready", flush=True)
    if read_line() is None:
        sys.stderr.write("fork_target: stdin closed before round 0\n")
        return 2
    module.main()
    print("round 0 done", flush=True)
    pid = os.fork()
    if pid == 0:
        child(module)
    _, status = os.waitpid(pid, 0)
    print("child exited %d" % os.waitstatus_to_exitcode(status), flush=True)
    n = 1
    while read_line() is not None:
        module.main()
        print("round %d done" % n, flush=True)
        n += 1
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1]))
