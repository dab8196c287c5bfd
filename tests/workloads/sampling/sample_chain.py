"""A known call chain spinning on the CPU: <module> -> main() -> a() -> b()
-> c(), where c() burns the CPU in a loop written on one line.

usage: sample_chain.py [--seconds S] [--wait] [--status N]

Prints "ready", then (--wait) blocks reading one line from stdin, then
calls a() repeatedly for S seconds of wall time (default 2, or
SAMPLE_SECONDS from the environment), or until SIGUSR1 arrives; prints
"chain VALUE" (the same VALUE on every run) and exits with status N (0 by
default). The lines the tests look for carry a "# LINE:" marker. It imports
threading, so that the main thread has a Python name, MainThread, which a
sampler can read."""

import signal
import sys
import threading
import time

import workload_cli

STOP = []
SPINS = 20000
MAIN_THREAD = threading.main_thread().name  # "MainThread" once threading is imported


def c(n):
    acc = 0
    for i in range(n): acc = (acc * 31 + i) % 1000003  # LINE:c-hot
    return acc


def b(n):
    return c(n)  # LINE:b-calls-c


def a(n):
    return b(n)  # LINE:a-calls-b


def main(seconds):
    end = time.monotonic() + seconds
    value = a(SPINS)
    while not STOP and time.monotonic() < end:
        value = a(SPINS)  # LINE:main-calls-a
    return value


def parse():
    parser = workload_cli.parser()
    parser.add_argument("--status", type=int, default=0)
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    signal.signal(signal.SIGUSR1, lambda signum, frame: STOP.append(signum))
    workload_cli.ready("sample_chain", args.wait)
    print("chain", main(args.seconds))  # LINE:module-calls-main
    sys.exit(args.status)
