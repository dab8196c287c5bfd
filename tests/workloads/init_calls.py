"""Instances created in loops of classes with a Python __init__: plain,
inherited, chaining to the base's with super(), with __slots__, through a
classmethod's cls(...), and one with a Python __new__ too.

CPython 3.13 specializes `C(...)` for a class with a Python __init__ (and
object's __new__) into CALL_ALLOC_AND_ENTER_INIT, which pushes the __init__
frame inline without checking for a PEP 523 hook (3.12 has no such
specialization, 3.14 checks): those calls never reach
_PyEval_EvalFrameDefault, so the eval-frame backend cannot see them."""

ROUNDS = 80


class Plain:
    def __init__(self, x):
        self.x = x


class Inherits(Plain):
    pass


class Chained(Plain):
    def __init__(self, x, y):
        super().__init__(x)
        self.y = y


class Slotted:
    __slots__ = ("a", "b")

    def __init__(self, a, b=0):
        self.a = a
        self.b = b

    @classmethod
    def build(cls, a):
        return cls(a, a)


class Custom:
    def __new__(cls, x):
        return super().__new__(cls)

    def __init__(self, x):
        self.x = x


def main():
    made = []
    for i in range(ROUNDS):
        made.append(Plain(i))
        made.append(Inherits(i))
        made.append(Chained(i, i))
        made.append(Slotted(i))
        made.append(Slotted.build(i))
        made.append(Custom(i))
    print("init_calls", len(made), sum(getattr(m, "x", 0) for m in made))


if __name__ == "__main__":
    main()
