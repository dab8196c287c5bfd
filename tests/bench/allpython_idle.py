"""--all-python benchmark, an idle process: imports a few modules (as a
service would before it waits for work), prints "ready" on stdout and blocks
reading stdin (no Python call runs while it waits); exits at EOF."""
import collections  # noqa: F401
import json  # noqa: F401
import logging  # noqa: F401
import re  # noqa: F401
import socket  # noqa: F401
import sys
import threading  # noqa: F401


def main():
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
