"""Sampling benchmark, call-heavy: small Python functions called millions
of times (about 3 s untraced on CPython 3.13 here); the amount of work is
fixed, times BENCH_SAMPLE_SCALE (default 1). Prints BENCH_START on stderr
when main() starts and BENCH_ELAPSED=seconds when it ends; stdout is a
value that is the same on every run."""
import os
import sys
import time

SCALE = float(os.environ.get("BENCH_SAMPLE_SCALE", "1"))
ROUNDS = max(1, int(8500000 * SCALE))


def leaf(x):
    return x + 1


def middle(x):
    return leaf(x) + leaf(x)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    sys.stderr.write("BENCH_START\n")
    sys.stderr.flush()
    t0 = time.perf_counter()
    total = 0
    for i in range(ROUNDS):
        total += middle(i)
        if i % 1000 == 0:
            total += fib(12)
    sys.stderr.write("BENCH_ELAPSED=%.6f\n" % (time.perf_counter() - t0))
    print(total)


if __name__ == "__main__":
    main()
