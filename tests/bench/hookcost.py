"""The eval-frame hook's own cost: many calls of a tiny function, long
enough (about 0.1-0.3 s untraced) for the difference to rise above this
machine's noise. Run untraced, under cProfile (to count the calls) and with
pybpf-prof --hook-only only: traced runs would take minutes."""
import sys
import time


def leaf(x):
    return x + 1


def main():
    t0 = time.perf_counter()
    total = 0
    for i in range(3000000):
        total += leaf(i)
    sys.stderr.write("BENCH_ELAPSED=%.6f\n" % (time.perf_counter() - t0))
    return total


if __name__ == "__main__":
    main()
