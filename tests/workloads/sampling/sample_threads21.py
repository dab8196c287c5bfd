"""Two threads running the same function, work(), on the same code path,
in lockstep rounds: in each round thread "worker-2x" calls work(2 * k) and
thread "worker-1x" work(k), then both wait at a barrier, so their CPU times
in work() are 2:1 by construction, whatever the scheduling, the GIL and the
number of cores (a thread waiting for the GIL or at the barrier is off the
CPU), and a machine that runs slower for a while slows both alike. k goes
through 1..4 in a fixed irregular order, so that the rounds have no period
a sampling clock could lock onto. Both workers are pinned to the same CPU
(they take turns under the GIL anyway): on a VM whose two CPUs lose
different amounts of time to the host, or to a busy sibling, the same work
would otherwise cost the two threads different CPU times.

usage: sample_threads21.py [--seconds S] [--wait] [--cpu-file FILE]

The number of rounds is calibrated first, in the main thread, so that the
run takes about S seconds (default 2, or SAMPLE_SECONDS). Prints "ready",
then (--wait) blocks reading one line from stdin, runs the threads, prints
"threads21 VALUE 2:1" (the same on every run) and exits 0. With --cpu-file,
it also writes there, as JSON, the CPU seconds (time.thread_time) each
worker spent in work(): what the kernel saw, to tell a sampler's error from
a machine whose load made the CPU times drift from 2:1."""

import json
import os
import threading
import time

import workload_cli

UNIT = 2000  # loop iterations per unit of work
CALIBRATION_UNITS = 50


def work(units):
    acc = 0
    for _ in range(units):
        acc = 0
        for i in range(UNIT): acc = (acc * 31 + i) % 1000003  # LINE:work-hot
    return acc


def sizes(rounds):
    """k for each round: 1..4 in an irregular order (a small LCG)."""
    x, out = 7, []
    for _ in range(rounds):
        x = (x * 1103515245 + 12345) % 2147483648
        out.append(1 + (x >> 16) % 4)
    return out


def worker(factor, ks, results, name, barrier, cpu_set):
    os.sched_setaffinity(0, cpu_set)  # this thread only
    value, cpu = None, 0.0
    for k in ks:
        start = time.thread_time()
        value = work(factor * k)  # LINE:worker-calls-work
        cpu += time.thread_time() - start
        barrier.wait()
    results[name] = value
    results[name + " cpu"] = cpu


def calibrate(seconds):
    start = time.thread_time()
    work(CALIBRATION_UNITS)
    per_unit = max(1e-7, (time.thread_time() - start) / CALIBRATION_UNITS)
    return max(1, int(seconds / (3 * 2.5 * per_unit)))  # 2.5 units in an average k


def main(seconds, wait, cpu_file=None):
    ks = sizes(calibrate(seconds))
    workload_cli.ready("sample_threads21", wait)
    results, barrier = {}, threading.Barrier(2)
    cpu_set = {min(os.sched_getaffinity(0))}
    threads = [threading.Thread(target=worker, name=name, args=(factor, ks, results, name, barrier, cpu_set))
               for name, factor in (("worker-2x", 2), ("worker-1x", 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["worker-2x"] == results["worker-1x"], results
    if cpu_file:
        with open(cpu_file, "w") as f:
            json.dump({name: results[name + " cpu"] for name in ("worker-2x", "worker-1x")}, f)
    print("threads21", results["worker-2x"], "2:1")


def parse():
    parser = workload_cli.parser()
    parser.add_argument("--cpu-file")
    return parser.parse_args()


if __name__ == "__main__":
    args = parse()
    main(args.seconds, args.wait, args.cpu_file)
