"""--all-python benchmark, a busy process: small Python calls (as in
callheavy.py), a fixed amount of work each time it is asked. Warms up once,
prints "ready" on stdout, then for each line "run" on stdin does the work and
prints "elapsed=SECONDS calls=N" (perf_counter around the work alone, so that
start-up and attaching do not count); exits at EOF. The amount of work is
ITERATIONS times BENCH_ALLPY_SCALE (default 1)."""
import os
import sys
import time

from callheavy import fib, middle  # copied beside this script by bench_allpython.py

SCALE = float(os.environ.get("BENCH_ALLPY_SCALE", "1"))
ITERATIONS = max(1000, int(100000 * SCALE))
FIB_EVERY, FIB_N = 1000, 12


def work():
    total = 0
    for i in range(ITERATIONS):
        total += middle(i)
        if i % FIB_EVERY == 0:
            total += fib(FIB_N)
    return total


def fib_calls(n):
    a, b = 1, 1  # calls made by fib(0), fib(1)
    for _ in range(n - 1):
        a, b = b, a + b + 1
    return b if n else a


def calls_per_run():
    """Python calls made by one work(): itself, middle and two leafs per
    iteration, a fib(FIB_N) tree every FIB_EVERY iterations."""
    fibs = (ITERATIONS + FIB_EVERY - 1) // FIB_EVERY
    return 1 + 3 * ITERATIONS + fibs * fib_calls(FIB_N)


def main():
    work()  # warm-up: 3.11+ specializes the loop before the first timed run
    print("ready", flush=True)
    calls = calls_per_run()
    for line in sys.stdin:
        if line.strip() != "run":
            continue
        t0 = time.perf_counter()
        work()
        print("elapsed=%.6f calls=%d" % (time.perf_counter() - t0, calls), flush=True)


if __name__ == "__main__":
    main()
