"""Closures (nonlocal counters, adders, composition, decorators) and lambdas
passed to map, filter, sorted, min/max and functools.reduce."""

import functools


def make_counter(start=0):
    count = start

    def incr(step=1):
        nonlocal count
        count += step
        return count

    return incr


def make_adder(n):
    return lambda x: x + n


def compose(f, g):
    def composed(x):
        return f(g(x))

    return composed


def counted(func):
    calls = [0]

    def wrapper(*args):
        calls[0] += 1
        return func(*args)

    wrapper.calls = calls
    return wrapper


def make_multiplier(k):
    def multiply(x):
        return x * k

    return multiply


def main():
    counter = make_counter(10)
    for _ in range(150):
        counter()
    counter(5)
    adders = []
    for i in range(12):
        adders.append(make_adder(i))
    added = 0
    for add in adders:
        added += add(100)
    words = ["pear", "fig", "banana", "kiwi", "apple", "cherry", "date", "plum"] * 4
    by_len = sorted(words, key=lambda w: (len(w), w))
    doubled = list(map(lambda x: x * 2, range(80)))
    thirds = list(filter(lambda x: x % 3 == 0, range(90)))
    total = functools.reduce(lambda a, b: a + b, range(60))
    longest = max(words, key=lambda w: len(w))
    # One lambda per line: cProfile keys entries by (file, line, name), and for two
    # code objects with one label its dict keeps only the last (pybpf-prof adds them).
    inc_then_double = compose(lambda x: x * 2,
                              lambda x: x + 1)
    chained = [inc_then_double(i) for i in range(25)]
    square = counted(lambda x: x * x)
    squares = [square(i) for i in range(40)]
    triple = make_multiplier(3)
    tripled = list(map(triple, range(30)))
    print("closures", counter(0), added, by_len[0], by_len[-1], sum(doubled), len(thirds),
          total, longest, chained[-1], sum(squares), square.calls[0], sum(tripled))


if __name__ == "__main__":
    main()
