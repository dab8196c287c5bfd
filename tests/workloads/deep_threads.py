"""Three threads recursing past 64 nested evaluations at the same time
(plain recursion to depth 150 and a generator delegating 90 levels deep):
the kernel's limit of 64 pending return probes is per thread, and so must
be the eval-frame backend's handling of the calls beyond it.

With WORKLOAD_SEQUENTIAL set (cprofile_ref.py) the thread bodies run one
after the other in the calling thread, as in threads.py."""

import os
import sys
import threading


def dive(n):
    if n == 0:
        return 0
    return dive(n - 1) + 1


def chain(n):
    if n == 0:
        yield from range(2)
    else:
        yield from chain(n - 1)


def worker(results, barrier):
    if barrier is not None:
        barrier.wait()
    for _ in range(4):
        results.append(dive(150))
        results.append(sum(chain(90)))


def main():
    results = []
    if os.environ.get("WORKLOAD_SEQUENTIAL"):
        for _ in range(3):
            worker(results, None)
    else:
        barrier = threading.Barrier(3)
        previous = sys.getswitchinterval()
        sys.setswitchinterval(0.0001)  # many GIL hand-overs in mid-recursion
        threads = []
        for _ in range(3):
            threads.append(threading.Thread(target=worker, args=(results, barrier)))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        sys.setswitchinterval(previous)
    print("deep_threads", len(results), sum(results))


if __name__ == "__main__":
    main()
