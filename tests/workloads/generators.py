"""Generators fully consumed, partially consumed (closed explicitly and by
garbage collection), never started, driven with send() and throw(),
delegating with yield from, and generator expressions.

Every generator abandoned here while suspended has a try block around its
yield, so closing it runs its frame (GeneratorExit is delivered) on every
CPython: see generators_abandoned.py for the ones without.
"""


def countdown(n):
    while n > 0:
        yield n
        n -= 1


def squares(iterable):
    for x in iterable:
        yield x * x


def evens_only(iterable):
    for x in iterable:
        if x % 2 == 0:
            yield x


def delegating(n):
    yield from countdown(n)
    yield -1
    return "done"


def with_cleanup(n, log):
    try:
        for i in range(n):
            yield i
    finally:
        log.append("closed")


def never_started():
    yield 1


def accumulator():
    total = 0
    while True:
        try:
            value = yield total
        except ValueError:
            value = -total
        total += value


def triangle(n):
    return sum(y for y in range(n + 1))


def outer_delegate(n):
    result = yield from delegating(n)
    yield result


def main():
    full = list(countdown(40))
    pipeline = sum(squares(evens_only(countdown(60))))

    log = []
    partial = with_cleanup(100, log)
    head = [next(partial) for _ in range(7)]
    partial.close()

    dropped = with_cleanup(50, log)
    for _ in range(3):
        next(dropped)
    del dropped  # finalised here: GeneratorExit runs the finally block

    unstarted = never_started()
    del unstarted
    also_unstarted = countdown(5)
    also_unstarted.close()

    acc = accumulator()
    next(acc)
    for i in range(25):
        acc.send(i)
    acc.throw(ValueError)
    last = acc.send(1)
    acc.close()

    delegated = list(outer_delegate(12))

    genexpr_sum = sum(x * 3 for x in range(50))
    nested = sum(triangle(x) for x in range(10))
    print("generators", len(full), pipeline, head, log, last, delegated[-2:], genexpr_sum, nested)


if __name__ == "__main__":
    main()
