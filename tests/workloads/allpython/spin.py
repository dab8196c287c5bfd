"""A busy workload for pybpf-prof --all-python --sample: main() calls
spin_step() until a line is waiting on stdin (checked between steps), so
it is on the CPU for as long as the test wants and no longer. Not in
tests/workloads/*.py: its call counts depend on time."""

import select
import sys


def spin_step(n):
    total = 0
    for i in range(n):
        total += i * i
    return total


def main():
    while not select.select([sys.stdin], [], [], 0)[0]:
        spin_step(2000)
    print("spin stopped")
