"""CPU-bound functions with different shares of the own time: big() about
50%, medium() 30%, small() 20% (the same loop, 5:3:2 iterations), each call
a millisecond or so, so that exact tracing (a few microseconds per call)
measures their tottime without distortion and sampling sees hundreds of
calls.

usage: sample_cpu_share.py [--seconds S]

Runs rounds of big(), medium(), small() for S seconds of wall time (default
2, or SAMPLE_SECONDS), prints "cpu_share VALUE" (the same on every run) and
exits 0."""

import argparse
import os
import time

SCALE = 10000


def big(n):
    acc = 0
    for i in range(n): acc = (acc * 31 + i) % 1000003  # LINE:big-hot
    return acc


def medium(n):
    acc = 0
    for i in range(n): acc = (acc * 31 + i) % 1000003  # LINE:medium-hot
    return acc


def small(n):
    acc = 0
    for i in range(n): acc = (acc * 31 + i) % 1000003  # LINE:small-hot
    return acc


def one_round():
    return big(5 * SCALE) + medium(3 * SCALE) + small(2 * SCALE)


def main(seconds):
    end = time.monotonic() + seconds
    value = one_round()
    while time.monotonic() < end:
        value = one_round()
    print("cpu_share", value)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("SAMPLE_SECONDS", "2")))
    main(parser.parse_args().seconds)
