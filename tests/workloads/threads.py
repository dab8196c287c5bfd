"""Two threads (threading.Thread) running workload functions concurrently.

With WORKLOAD_SEQUENTIAL set in the environment the two thread bodies run
one after the other in the calling thread instead: cProfile only sees the
thread that enabled it (3.11 and older) or mixes all threads into one call
stack (3.12 and newer), while the per-function call counts do not depend on
the interleaving. Both branches run exactly the same workload-file code
apart from who calls worker()."""

import os
import sys
import threading


def square(x):
    return x * x


def crunch(n):
    total = 0
    for i in range(n):
        total += square(i)
    return total


def collatz_steps(n):
    steps = 0
    while n != 1:
        n = collatz_next(n)
        steps += 1
    return steps


def collatz_next(n):
    if n % 2:
        return 3 * n + 1
    return n // 2


def worker(name, rounds, results, barrier):
    if barrier is not None:
        barrier.wait()
    acc = 0
    for r in range(rounds):
        acc += crunch(150 + 2 * r)
        acc += collatz_steps(r + 1)
    results[name] = acc


def main():
    results = {}
    jobs = [("alpha", 60), ("beta", 80)]
    if os.environ.get("WORKLOAD_SEQUENTIAL"):
        for name, rounds in jobs:
            worker(name, rounds, results, None)
    else:
        barrier = threading.Barrier(len(jobs))
        previous = sys.getswitchinterval()
        sys.setswitchinterval(0.0001)  # many GIL hand-overs in mid-call
        threads = []
        for name, rounds in jobs:
            threads.append(threading.Thread(target=worker, args=(name, rounds, results, barrier)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sys.setswitchinterval(previous)
    print("threads", results["alpha"], results["beta"])


if __name__ == "__main__":
    main()
