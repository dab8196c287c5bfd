"""What the sampling workloads share: their --seconds/--wait options and the
"ready" handshake (then, with --wait, one line on stdin as the go signal)."""

import argparse
import os
import sys


def parser():
    """An argument parser with --seconds (default SAMPLE_SECONDS, else 2) and --wait."""
    p = argparse.ArgumentParser()
    p.add_argument("--seconds", type=float, default=float(os.environ.get("SAMPLE_SECONDS", "2")))
    p.add_argument("--wait", action="store_true")
    return p


def ready(name, wait):
    """Says "ready"; with wait, blocks until the go line (exits if stdin closes)."""
    print("ready", flush=True)
    if wait and not sys.stdin.readline():
        sys.exit("%s: stdin closed before the go line" % name)
