"""Does a little work, then leaves with sys.exit(3) from inside nested
calls: the exit status must pass through pybpf-prof in launch mode, and the
frames unwound by SystemExit still count as calls."""

import sys


def checksum(data):
    total = 0
    for b in data:
        total = (total * 31 + b) % 65521
    return total


def validate(items):
    bad = [item for item in items if checksum(item) % 7 == 0]
    if bad:
        finish(3)
    return True


def finish(code):
    print("exit_status", code)
    sys.stdout.flush()
    sys.exit(code)


def main():
    items = [("item-%d" % i).encode() for i in range(40)]
    validate(items)
    print("exit_status unreachable")


if __name__ == "__main__":
    main()
