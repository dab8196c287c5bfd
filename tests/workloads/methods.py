"""Methods, properties (getter and setter), classmethods, staticmethods,
dunder methods and an __init__ run for many instances, with inheritance
and super()."""


class Vector:
    instances = 0

    def __init__(self, x, y):
        self.x = x
        self.y = y
        Vector.instances += 1

    def __add__(self, other):
        return Vector(self.x + other.x, self.y + other.y)

    def __eq__(self, other):
        return self.x == other.x and self.y == other.y

    def __hash__(self):
        return hash((self.x, self.y))

    def __repr__(self):
        return "Vector(%d, %d)" % (self.x, self.y)

    def dot(self, other):
        return self.x * other.x + self.y * other.y

    def scaled(self, k):
        return Vector(self.x * k, self.y * k)

    @property
    def norm2(self):
        return self.dot(self)

    @property
    def label(self):
        return self._label if hasattr(self, "_label") else repr(self)

    @label.setter
    def label(self, value):
        self._label = value

    @classmethod
    def zero(cls):
        return cls(0, 0)

    @classmethod
    def from_pair(cls, pair):
        return cls(pair[0], pair[1])

    @staticmethod
    def parse(text):
        x, y = text.split(",")
        return Vector.from_pair((int(x), int(y)))


class Vector3(Vector):
    def __init__(self, x, y, z=0):
        super().__init__(x, y)
        self.z = z

    def dot(self, other):
        return super().dot(other) + self.z * getattr(other, "z", 0)


class Accumulator:
    def __init__(self):
        self.total = Vector.zero()
        self.count = 0

    def add(self, v):
        self.total = self.total + v
        self.count += 1
        return self

    def __len__(self):
        return self.count


def main():
    acc = Accumulator()
    for i in range(120):
        v = Vector(i, -i).scaled(2)
        acc.add(v)
    parsed = [Vector.parse("%d,%d" % (i, i * 3)) for i in range(40)]
    norms = 0
    for v in parsed:
        norms += v.norm2
    labels = []
    for i, v in enumerate(parsed[:10]):
        if i % 2:
            v.label = "v%d" % i
        labels.append(v.label)
    threes = [Vector3(i, i, i) for i in range(30)]
    dots = sum(a.dot(b) for a, b in zip(threes, threes[1:]))
    unique = len(set(parsed + parsed[:5]))
    same = Vector.zero() == Vector(0, 0)
    print("methods", acc.total, len(acc), norms, labels[:3], dots, unique, same, Vector.instances)


if __name__ == "__main__":
    main()
