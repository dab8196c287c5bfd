"""Calls nested deeper than 64 evaluations: the kernel keeps at most 64
return probes pending per thread, so the eval-frame backend's uretprobe
sees no return for a deeper call and has to close it otherwise. Plain
recursion to depths 100 and 200 (several times each), mutual recursion,
short calls made at depth (many returns that fire no probe in a row), an
exception unwinding through 180 frames, and a generator delegating 80 levels
deep (every resume runs 81 nested frames).

No stack here is deeper than about 210 frames: pybpf-prof's shadow stack
holds 256 per thread (a deeper call is reported as not counted)."""


def dive(n):
    if n == 0:
        return 0
    return dive(n - 1) + 1


def ping(n):
    if n == 0:
        return "ping"
    return pong(n - 1)


def pong(n):
    if n == 0:
        return "pong"
    return ping(n - 1)


def leaf(i):
    return i * 3


def fan_out(n, width):
    """At depth n, width short calls one after the other, then back up."""
    if n == 0:
        total = 0
        for i in range(width):
            total += leaf(i)
        return total + sum(leaf(i) for i in range(width))
    return fan_out(n - 1, width)


class Bottom(Exception):
    pass


def sink(n):
    if n == 0:
        raise Bottom(n)
    return sink(n - 1)


def catcher(n):
    try:
        return sink(n)
    except Bottom:
        return -1


def chain(n):
    if n == 0:
        yield from range(3)
    else:
        yield from chain(n - 1)


def main():
    depths = []
    for depth in (100, 200, 100, 200, 100, 200):
        depths.append(dive(depth))
    mutual = ping(150), pong(151)
    fanned = fan_out(120, 25) + fan_out(70, 10)
    caught = catcher(180) + catcher(90)
    chained = list(chain(80))
    print("deep_recursion", sum(depths), mutual, fanned, caught, chained)


if __name__ == "__main__":
    main()
