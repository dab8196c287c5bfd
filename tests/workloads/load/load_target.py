"""Load for pybpf-prof's limits (tests/integration/test_load.py).

    load_target.py threads N CALLS     N threads, thread i calls its own t_i() CALLS times
    load_target.py functions N CALLS   N distinct generated functions, each called CALLS times
    load_target.py recursion DEPTH [1|0]  one recursive function DEPTH calls deep, in a
                                       thread with a 512 MiB stack (1, default) or the main thread
    load_target.py churn N             N short threads one after another, each calls churn_task()
    load_target.py mesh N THREADS      m_0..m_{N-1}, each m_i calling every m_j, j > i (N(N-1)/2
                                       caller/callee pairs), then THREADS threads alive at once
    load_target.py parked N            N threads, thread i blocked inside its own t_i() until
                                       the handshake's line comes (for sampling)
    load_target.py open N              after the handshake, N threads, thread i entering its own
                                       t_i() and staying there: "inside N" once all are, then
                                       one more line on stdin lets them return (calls still open
                                       when a tracer stops)

Handshake: everything is set up (threads started and parked, functions
compiled), then "ready PID" is printed on stdout and one line is read from
stdin; then the load runs, "expected NAME COUNT" lines give the calls made
per function (generated families as "expected PREFIX* FUNCS COUNT_EACH"), and
the program exits.
"""
import sys
import threading


def handshake():
    sys.stdout.write("ready %d\n" % __import__("os").getpid())
    sys.stdout.flush()
    sys.stdin.readline()


def generate(prefix, n, filename):
    """n functions prefix0..prefix{n-1}, one per line of one compiled module."""
    src = "".join("def %s%d(wait=None): return wait() if wait else %d\n" % (prefix, i, i)
                  for i in range(n))
    namespace = {}
    exec(compile(src, filename, "exec"), namespace)
    return [namespace["%s%d" % (prefix, i)] for i in range(n)]


def run_threads(n, calls):
    funcs = generate("t_", n, "<load-threads>")
    start = threading.Event()
    parked = threading.Barrier(n + 1)
    finished = threading.Barrier(n)  # every thread is alive (and traced) at once

    def body(fn):
        parked.wait()
        start.wait()
        for _ in range(calls):
            fn()
        finished.wait()

    threads = [threading.Thread(target=body, args=(f,), name="load-%d" % i)
               for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    parked.wait()
    handshake()
    start.set()
    for t in threads:
        t.join()
    print("expected t_* %d %d" % (n, calls))


def threads_inside(funcs, while_inside):
    """One thread per function, each blocked inside its own; while_inside()
    runs once all are, then they return."""
    release = threading.Event()
    inside = threading.Barrier(len(funcs) + 1)

    def body(fn):
        fn(lambda: (inside.wait(), release.wait()))

    threads = [threading.Thread(target=body, args=(f,), name="load-%d" % i)
               for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    inside.wait()
    while_inside()
    release.set()
    for t in threads:
        t.join()
    print("expected t_* %d 1" % len(funcs))


def run_parked(n):
    threads_inside(generate("t_", n, "<load-parked>"), handshake)


def mesh_function(i, n):
    def m(depth=0):
        for callee in MESH[i + 1:]:
            callee(depth + 1)
    m.__name__ = m.__qualname__ = "m_%d" % i
    m.__code__ = m.__code__.replace(co_name="m_%d" % i, co_firstlineno=1000 + i)
    return m


MESH = []


def run_mesh(n, nthreads):
    MESH[:] = [mesh_function(i, n) for i in range(n)]
    alive = threading.Barrier(nthreads)

    def body():
        MESH[-1]()
        alive.wait()

    handshake()
    MESH[0]()
    threads = [threading.Thread(target=body) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("expected m_0 1")


def run_functions(n, calls):
    funcs = generate("f_", n, "<load-functions>")
    handshake()
    for _ in range(calls):
        for f in funcs:
            f()
    print("expected f_* %d %d" % (n, calls))


def rec(n):
    if n > 1:
        rec(n - 1)


def run_recursion(depth, in_thread=1):
    sys.setrecursionlimit(depth + 1000)
    threading.stack_size(512 << 20)  # room for C frames: 3.9/3.10, or any version under a hook
    result = []

    def body():
        rec(depth)
        result.append(depth)

    handshake()
    if in_thread:
        t = threading.Thread(target=body)
        t.start()
        t.join()
    else:
        body()  # on the main thread's stack (ulimit -s)
    if result != [depth]:
        sys.exit("recursion %d failed" % depth)
    print("expected rec %d" % depth)


def churn_task():
    return 1


def run_churn(n):
    handshake()
    for _ in range(n):
        t = threading.Thread(target=churn_task)
        t.start()
        t.join()
    print("expected churn_task %d" % n)


def run_open(n):
    funcs = generate("t_", n, "<load-open>")
    handshake()
    threads_inside(funcs, lambda: (print("inside %d" % n, flush=True), sys.stdin.readline()))


def main(argv):
    mode, args = argv[1], [int(a) for a in argv[2:]]
    {"threads": run_threads, "functions": run_functions, "recursion": run_recursion,
     "churn": run_churn, "parked": run_parked, "open": run_open, "mesh": run_mesh}[mode](*args)


if __name__ == "__main__":
    main(sys.argv)
