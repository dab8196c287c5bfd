"""Load for pybpf-prof's limits (tests/integration/test_load.py).

    load_target.py threads N CALLS     N threads, thread i calls its own t_i() CALLS times
    load_target.py functions N CALLS   N distinct generated functions, each called CALLS times
    load_target.py recursion DEPTH     one recursive function DEPTH calls deep
    load_target.py churn N             N short threads one after another, each calls churn_task()
    load_target.py parked N            N threads, thread i blocked inside its own t_i() until
                                       the handshake's line comes (for sampling)

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

    def body(fn):
        parked.wait()
        start.wait()
        for _ in range(calls):
            fn()

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


def run_parked(n):
    release = threading.Event()
    inside = threading.Barrier(n + 1)
    funcs = generate("t_", n, "<load-parked>")

    def body(fn):
        fn(lambda: (inside.wait(), release.wait()))

    threads = [threading.Thread(target=body, args=(f,), name="load-%d" % i)
               for i, f in enumerate(funcs)]
    for t in threads:
        t.start()
    inside.wait()
    handshake()  # every thread is inside its t_i now
    release.set()
    for t in threads:
        t.join()
    print("expected t_* %d 1" % n)


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


def run_recursion(depth):
    sys.setrecursionlimit(depth + 1000)
    threading.stack_size(512 << 20)  # the C stack of 3.9/3.10's nested evaluations
    result = []

    def body():
        rec(depth)
        result.append(depth)

    handshake()
    t = threading.Thread(target=body)
    t.start()
    t.join()
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


def main(argv):
    mode, args = argv[1], [int(a) for a in argv[2:]]
    {"threads": run_threads, "functions": run_functions, "recursion": run_recursion,
     "churn": run_churn, "parked": run_parked}[mode](*args)


if __name__ == "__main__":
    main(sys.argv)
