"""Generators driven by throw() and close(): an exception thrown in and
handled (the generator goes on), thrown in and not handled (it ends and
the exception comes out), thrown into a generator that has not started,
thrown and closed through yield from (forwarded to the inner generator),
close() running a finally block, close() answered by a return, and close()
ignored once (RuntimeError) and then obeyed.

Every generator closed here is suspended inside a try block, so closing it
runs its frame on every CPython (see generators_abandoned.py)."""


class Stop(Exception):
    pass


def resilient():
    total = 0
    while True:
        try:
            value = yield total
        except ValueError:
            value = -1
        total += value


def fragile():
    yield 1
    yield 2


def guarded(log):
    try:
        while True:
            yield len(log)
    finally:
        log.append("closed")


def stubborn():
    try:
        yield 1
    except GeneratorExit:
        return


def reluctant(state):
    while True:
        try:
            yield state["left"]
        except GeneratorExit:
            if state["left"] == 0:
                return
            state["left"] -= 1


def inner(log):
    try:
        while True:
            try:
                yield "inner"
            except KeyError:
                log.append("inner caught")
    finally:
        log.append("inner closed")


def outer(log):
    try:
        yield from inner(log)
    finally:
        log.append("outer closed")


def main():
    log = []
    gen = resilient()
    next(gen)
    for i in range(10):
        gen.send(i)
        if i % 3 == 0:
            gen.throw(ValueError("again"))
    gen.close()

    ended = 0
    for _ in range(4):
        f = fragile()
        next(f)
        try:
            f.throw(Stop())
        except Stop:
            ended += 1

    unstarted = 0
    for _ in range(3):
        try:
            fragile().throw(Stop())
        except Stop:
            unstarted += 1

    for n in range(3):
        g = guarded(log)
        for _ in range(n + 1):
            next(g)
        g.close()

    s = stubborn()
    next(s)
    s.close()

    state = {"left": 1}
    r = reluctant(state)
    next(r)
    try:
        r.close()
    except RuntimeError:
        log.append("ignored")
    r.close()

    o = outer(log)
    next(o)
    o.throw(KeyError("k"))
    o.throw(KeyError("k"))
    o.close()
    print("generator_control", ended, unstarted, log)


if __name__ == "__main__":
    main()
