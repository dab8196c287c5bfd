"""Call-heavy benchmark workload: tiny Python functions, nothing else."""
import sys
import time


def leaf(x):
    return x + 1


def middle(x):
    return leaf(x) + leaf(x)


def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def main():
    t0 = time.perf_counter()
    total = 0
    for i in range(60000):
        total += middle(i)
    total += fib(21)
    sys.stderr.write("BENCH_ELAPSED=%.6f\n" % (time.perf_counter() - t0))
    return total


if __name__ == "__main__":
    main()
