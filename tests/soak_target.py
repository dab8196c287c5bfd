"""Target of the soak run (tests/soak.py): a busy multi-threaded process that
also runs batches of an exactly known number of calls on request.

usage: soak_target.py THREADS

THREADS threads call outer() at full speed, each outer() calling a() three
times and b() five times, so any profile of a window of this process has
outer, a and b in the ratios 1:3:5, give or take the calls in flight at the
window's edges. The main thread prints "ready" once every thread runs, then
serves stdin: a line "N" runs batch(N), which makes exactly N calls of one(),
and answers "done N #K" for the K-th batch (so that a late answer is never
taken for the next one's); a line "quit" (or the end of stdin) stops the
threads and exits 0 after printing "bye".
"""

import sys
import threading


def a():
    return 1


def b():
    return 2


def outer():
    total = 0
    for _ in range(3):
        total += a()
    for _ in range(5):
        total += b()
    return total


def one():
    return 1


def batch(n):
    total = 0
    for _ in range(n):
        total += one()
    return total


def spin(stop, started):
    started.release()
    while not stop.is_set():
        outer()


def serve(threads):
    stop = threading.Event()
    started = threading.Semaphore(0)
    workers = [threading.Thread(target=spin, args=(stop, started), name="busy-%d" % i)
               for i in range(threads)]
    for worker in workers:
        worker.start()
    for _ in workers:
        started.acquire()
    print("ready", flush=True)
    try:
        status = serve_batches()
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    print("bye", flush=True)
    return status


def serve_batches():
    batches = 0
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        n = int(line)
        if batch(n) != n:
            sys.stderr.write("soak_target: batch(%d) went wrong\n" % n)
            return 1
        batches += 1
        print("done %d #%d" % (n, batches), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1])))
