"""A realistic benchmark workload: regular expressions and JSON round trips."""
import json
import re
import sys
import time

RECORD = {"id": 1, "name": "widget", "tags": ["a", "b", "c"], "price": 12.5,
          "nested": {"x": [1, 2, 3], "y": {"z": "deep"}}}


def parse_line(pattern, line):
    m = re.compile(pattern).match(line)
    return m.group(1) if m else None


def round_trip(obj):
    return json.loads(json.dumps(obj))


def main():
    t0 = time.perf_counter()
    hits = 0
    for i in range(4000):
        if parse_line(r"item-(\d+)", "item-%d" % i):
            hits += 1
        round_trip(RECORD)
    sys.stderr.write("BENCH_ELAPSED=%.6f\n" % (time.perf_counter() - t0))
    return hits


if __name__ == "__main__":
    main()
