"""Two functions of about the same wall time: sleeper() spends it off the
CPU in time.sleep(), spinlock() on it, in a busy loop until its thread has
used the CPU for that long (so being preempted makes it longer, never
shorter). 50 calls of about 2 ms each: the off-CPU figures and the
--latency histograms are checked on them."""

import time

CALLS = 50
SECONDS = 0.002


def sleeper(seconds):
    time.sleep(seconds)


def spinlock(seconds):
    end = time.thread_time() + seconds
    spins = 0
    while time.thread_time() < end:
        spins += 1
    return spins


def main():
    for _ in range(CALLS):
        sleeper(SECONDS)
    for _ in range(CALLS):
        spinlock(SECONDS)
    print("offcpu", CALLS, SECONDS)


if __name__ == "__main__":
    main()
