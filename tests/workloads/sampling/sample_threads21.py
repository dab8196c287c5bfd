"""Two threads running the same function, work(), on the same code path:
thread "worker-2x" does 2N units of work, thread "worker-1x" N units, both
started together. Under the GIL they take turns while both run, then
worker-2x runs alone, so their CPU times are 2:1 by construction, whatever
the scheduling and the number of cores (the thread waiting for the GIL is
off the CPU).

usage: sample_threads21.py [--seconds S] [--wait]

N is calibrated first, in the main thread, so that the 3N units take
about S seconds (default 2, or SAMPLE_SECONDS). Prints "ready", then
(--wait) blocks reading one line from stdin, runs the threads, prints
"threads21 VALUE 2:1" (the same on every run) and exits 0."""

import argparse
import os
import sys
import threading
import time

UNIT = 5000  # loop iterations per unit of work
CALIBRATION_UNITS = 20


def work(units):
    acc = 0
    for _ in range(units):
        acc = 0
        for i in range(UNIT): acc = (acc * 31 + i) % 1000003  # LINE:work-hot
    return acc


def worker(units, results, name, barrier):
    barrier.wait()
    results[name] = work(units)  # LINE:worker-calls-work


def calibrate(seconds):
    start = time.thread_time()
    work(CALIBRATION_UNITS)
    per_unit = max(1e-6, (time.thread_time() - start) / CALIBRATION_UNITS)
    return max(1, int(seconds / (3 * per_unit)))


def main(seconds, wait):
    units = calibrate(seconds)
    print("ready", flush=True)
    if wait and not sys.stdin.readline():
        sys.exit("sample_threads21: stdin closed before the go line")
    results, barrier = {}, threading.Barrier(2)
    threads = [threading.Thread(target=worker, name=name, args=(n, results, name, barrier))
               for name, n in (("worker-2x", 2 * units), ("worker-1x", units))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["worker-2x"] == results["worker-1x"], results
    print("threads21", results["worker-2x"], "2:1")


def parse():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SAMPLE_SECONDS", "2")))
    parser.add_argument("--wait", action="store_true")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    main(args.seconds, args.wait)
