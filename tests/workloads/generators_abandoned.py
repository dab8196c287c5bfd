"""Generators abandoned while suspended at a yield outside any try block:
closed with close(), dropped with del, left by a break, and a generator
expression cut short by any().

CPython 3.9-3.12 resume such a generator with GeneratorExit when it is
closed, so the close is one more call for cProfile and for the USDT probes
alike. CPython 3.13 and newer skip that resumption (gen_close's shortcut)
unless a sys.monitoring tool wants PY_UNWIND events -- as cProfile does from
3.12 on -- so under cProfile the frame runs once more and is counted, while
without a profiler (what the USDT probes see) it never runs. UNSEEN_CLOSES
says how many such closes each function gets here: the integration test
expects cProfile's count minus these on 3.14+ (either on 3.13, whose patch
releases differ), and exactly cProfile's count before 3.13.
"""

UNSEEN_CLOSES = {"countdown": 3, "<genexpr>": 1}


def countdown(n):
    while n > 0:
        yield n
        n -= 1


def first_below(limit, gen):
    for value in gen:
        if value < limit:
            break
    return value


def main():
    closed = countdown(30)
    head = [next(closed), next(closed), next(closed)]
    closed.close()
    dropped = countdown(20)
    next(dropped)
    del dropped
    below = first_below(95, countdown(100))
    early = any(x > 8 for x in range(100))
    print("generators_abandoned", head, below, early)


if __name__ == "__main__":
    main()
