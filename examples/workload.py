"""Example workload for pybpf-prof: a small access-log report.

It makes a few thousand synthetic web-server log lines, parses them with a
compiled regular expression in a generator pipeline, aggregates them in a
class, round-trips the aggregate through JSON, builds a tree of the URL
paths and walks it recursively, and evaluates arithmetic expressions with
a recursive-descent parser. Runs a few hundred milliseconds on CPython 3.9+
and is deterministic (seeded).

    sudo ./pybpf-prof --limit 15 -- python3 examples/workload.py
    sudo ./pybpf-prof -s tottime -o example.prof -- python3 examples/workload.py
"""

import json
import random
import re

LOG_LINE = re.compile(
    r'^(?P<ip>\d{1,3}(?:\.\d{1,3}){3}) - - \[(?P<when>[^\]]+)\] '
    r'"(?P<method>[A-Z]+) (?P<path>/\S*) HTTP/1\.[01]" (?P<status>\d{3}) (?P<size>\d+)$')
TOKEN = re.compile(r"\s*(?:(\d+)|(.))")

SECTIONS = ["api", "static", "blog", "shop", "admin"]
PAGES = ["index", "list", "item", "search", "cart", "login", "feed"]
METHODS = ["GET"] * 8 + ["POST", "PUT", "DELETE"]
STATUSES = [200] * 12 + [301, 304, 404, 500]


def make_lines(count, rng):
    """Synthetic access-log lines, a few of them garbled."""
    for i in range(count):
        if i % 97 == 0:
            yield "garbled line %d" % i
            continue
        path = "/%s/%s/%d" % (rng.choice(SECTIONS), rng.choice(PAGES), rng.randrange(40))
        yield '10.0.%d.%d - - [01/Mar/2024:10:%02d:%02d +0000] "%s %s HTTP/1.1" %d %d' % (
            rng.randrange(4), rng.randrange(256), i // 60 % 60, i % 60,
            rng.choice(METHODS), path, rng.choice(STATUSES), rng.randrange(200, 90000))


def parse(lines):
    for line in lines:
        match = LOG_LINE.match(line)
        if match:
            record = match.groupdict()
            record["status"] = int(record["status"])
            record["size"] = int(record["size"])
            yield record


def successful(records):
    for record in records:
        if record["status"] < 400:
            yield record


class Traffic:
    """Requests and bytes per section, and the busiest clients."""

    def __init__(self):
        self.requests = {}
        self.bytes = {}
        self.clients = {}

    @staticmethod
    def section_of(path):
        return path.split("/", 2)[1]

    def add(self, record):
        section = self.section_of(record["path"])
        self.requests[section] = self.requests.get(section, 0) + 1
        self.bytes[section] = self.bytes.get(section, 0) + record["size"]
        self.clients[record["ip"]] = self.clients.get(record["ip"], 0) + 1

    def busiest(self, n):
        return sorted(self.clients.items(), key=lambda item: (-item[1], item[0]))[:n]

    def to_json(self):
        return json.dumps({"requests": self.requests, "bytes": self.bytes,
                           "clients": self.clients}, sort_keys=True)

    @classmethod
    def from_json(cls, text):
        data = json.loads(text)
        traffic = cls()
        traffic.requests, traffic.bytes, traffic.clients = (
            data["requests"], data["bytes"], data["clients"])
        return traffic


def path_tree(paths):
    """Nested dicts, one level per path component."""
    root = {}
    for path in paths:
        node = root
        for part in path.strip("/").split("/"):
            node = node.setdefault(part, {})
    return root


def count_leaves(node):
    if not node:
        return 1
    return sum(count_leaves(child) for child in node.values())


def depth(node):
    if not node:
        return 0
    return 1 + max(depth(child) for child in node.values())


class Parser:
    """expr := term (('+'|'-') term)*; term := factor (('*'|'/') factor)*;
    factor := NUMBER | '(' expr ')' | '-' factor"""

    def __init__(self, text):
        self.tokens = [num or op for num, op in TOKEN.findall(text) if num or op.strip()]
        self.pos = 0

    def peek(self):
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.pos += 1
        return token

    def expr(self):
        value = self.term()
        while self.peek() in ("+", "-"):
            value = value + self.term() if self.take() == "+" else value - self.term()
        return value

    def term(self):
        value = self.factor()
        while self.peek() in ("*", "/"):
            value = value * self.factor() if self.take() == "*" else value // (self.factor() or 1)
        return value

    def factor(self):
        token = self.take()
        if token == "(":
            value = self.expr()
            self.take()
            return value
        if token == "-":
            return -self.factor()
        return int(token)


def random_expr(rng, level):
    if level == 0 or rng.random() < 0.25:
        return str(rng.randrange(1, 50))
    op = rng.choice("+-*/")
    return "(%s %s %s)" % (random_expr(rng, level - 1), op, random_expr(rng, level - 1))


def main():
    rng = random.Random(2024)
    lines = list(make_lines(15000, rng))
    traffic = Traffic()
    paths = []
    for record in successful(parse(lines)):
        traffic.add(record)
        paths.append(record["path"])
    for _ in range(40):
        traffic = Traffic.from_json(traffic.to_json())
    tree = path_tree(paths)
    results = [Parser(random_expr(rng, 7)).expr() for _ in range(700)]
    print("parsed %d of %d lines; %d sections, %d distinct paths, depth %d"
          % (sum(traffic.requests.values()), len(lines), len(traffic.requests),
             count_leaves(tree), depth(tree)))
    print("busiest clients:", ", ".join("%s (%d)" % item for item in traffic.busiest(3)))
    print("expression checksum:", sum(results) % 1000003)


if __name__ == "__main__":
    main()
