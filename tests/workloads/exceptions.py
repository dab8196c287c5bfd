"""Exceptions raised deep and caught several frames higher (unwinding
through try/finally and frames without handlers), re-raised and chained,
caught in the raising frame, suppressed by a context manager, and raised
by a Python __getattr__ and caught in C by getattr()/hasattr()."""


class WorkloadError(Exception):
    pass


class Suppress:
    def __init__(self, kind):
        self.kind = kind
        self.suppressed = 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None and issubclass(exc_type, self.kind):
            self.suppressed += 1
            return True
        return False


class Lazy:
    def __getattr__(self, name):
        if name.startswith("ok_"):
            return name[3:]
        raise AttributeError(name)


def cleanup(log):
    log.append(1)


def level5(n):
    if n % 3 == 0:
        raise WorkloadError(n)
    return n


def level4(n):
    return level5(n) + 1


def level3(n, log):
    try:
        return level4(n) * 2
    finally:
        cleanup(log)


def level2(n, log):
    return level3(n, log) - 1


def level1(n, log):
    try:
        return level2(n, log)
    except WorkloadError as exc:
        return -exc.args[0]


def rethrow(n):
    try:
        level4(n)
    except WorkloadError as exc:
        raise ValueError("wrapped %d" % n) from exc
    return n


def same_frame(n):
    try:
        if n % 2:
            raise KeyError(n)
    except KeyError:
        return 1
    return 0


def recurse_then_fail(depth):
    if depth == 0:
        raise WorkloadError("bottom")
    return recurse_then_fail(depth - 1)


def main():
    log = []
    results = [level1(n, log) for n in range(60)]
    wrapped = 0
    for n in range(30):
        try:
            rethrow(n)
        except ValueError as exc:
            if isinstance(exc.__cause__, WorkloadError):
                wrapped += 1
    caught_here = sum(same_frame(n) for n in range(40))
    deep = 0
    for depth in range(1, 12):
        try:
            recurse_then_fail(depth)
        except WorkloadError:
            deep += 1
    guard = Suppress(WorkloadError)
    for n in range(20):
        with guard:
            level4(n)
    lazy = Lazy()
    found = 0
    for i in range(25):
        if hasattr(lazy, "x%d" % i):
            found += 1
        found += len(getattr(lazy, "ok_%d" % i, ""))
        if getattr(lazy, "missing", None) is None:
            found += 1
    print("exceptions", sum(results), len(log), wrapped, caught_here, deep, guard.suppressed, found)


if __name__ == "__main__":
    main()
