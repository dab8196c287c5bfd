"""One thread sleeping, one spinning, for the same wall time: sleeper()
(thread "sleeper-of-the-test") calls time.sleep() in a loop, so it is off
the CPU nearly all the time; spinner() (thread "spinner-of-the-test")
loops on the CPU. The thread names are longer than the 15 characters an
OS thread name holds, so a name seen whole was read from threading.

usage: sample_sleep_spin.py [--seconds S] [--wait]

Prints "ready", then (--wait) blocks reading one line from stdin, runs both
threads for S seconds (default 2, or SAMPLE_SECONDS), prints "sleep_spin
done" and exits 0."""

import threading
import time

import workload_cli

NAP = 0.02  # long enough that the spinner rarely gives the GIL up


def sleeper(end):
    while time.monotonic() < end:
        time.sleep(NAP)  # LINE:sleeper-sleeps


def spinner(end):
    spins = 0
    while time.monotonic() < end: spins += 1  # LINE:spinner-spins
    return spins


def main(seconds, wait):
    workload_cli.ready("sample_sleep_spin", wait)
    end = time.monotonic() + seconds
    threads = [threading.Thread(target=sleeper, name="sleeper-of-the-test", args=(end,)),
               threading.Thread(target=spinner, name="spinner-of-the-test", args=(end,))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("sleep_spin done")


def parse():
    return workload_cli.parser().parse_args()


if __name__ == "__main__":
    args = parse()
    main(args.seconds, args.wait)
