"""Hot loops whose call sites CPython 3.11+ specializes to push the callee's
frame inline, without a C call: plain and keyword calls, bound methods,
super() methods, classmethods and staticmethods, properties, a Python
__getitem__ and __getattribute__, f(*args), generators driven by for loops
(FOR_ITER_GEN) and by yield from (SEND_GEN), closures. Run by the -p tests
once untraced before pybpf-prof attaches, so the loops are specialized when
the hook goes in: every call after the attach must still be counted.

No class here has a Python __init__ (3.13's CALL_ALLOC_AND_ENTER_INIT is
init_calls.py's subject)."""

ROUNDS = 300


def add(a, b):
    return a + b


def scale(x, k=2, *, offset=0):
    return x * k + offset


def spread(*args):
    return len(args)


class Base:
    def step(self, i):
        return i + 1


class Counter(Base):
    count = 0

    def step(self, i):
        self.count += 1
        return super().step(i) * 2

    @property
    def doubled(self):
        return self.count * 2

    @classmethod
    def kind(cls):
        return cls.__name__

    @staticmethod
    def pure(x):
        return -x


class Grid:
    cells = list(range(16))

    def __getitem__(self, i):
        return self.cells[i % 16]


class Audited:
    seen = 0

    def __getattribute__(self, name):
        type(self).seen += 1
        return object.__getattribute__(self, name)

    def ping(self):
        return 1


def numbers(n):
    for i in range(n):
        yield i


def relay(n):
    total = yield from numbers(n)
    return total


def make_adder(n):
    def adder(x):
        return x + n

    return adder


def main():
    counter, grid, audited = Counter(), Grid(), Audited()
    add5 = make_adder(5)
    total = 0
    for i in range(ROUNDS):
        total += add(i, 1)
        total += scale(i) + scale(i, 3, offset=1)
        total += spread(*(i, i))
        total += counter.step(i) + counter.doubled
        total += len(Counter.kind()) + Counter.pure(i)
        total += grid[i]
        total += audited.ping()
        for x in numbers(3):
            total += x
        for x in relay(2):
            total += x
        total += add5(i)
    print("specialized", total, counter.count, Audited.seen)


if __name__ == "__main__":
    main()
