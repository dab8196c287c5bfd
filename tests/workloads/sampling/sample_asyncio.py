"""A real asyncio TCP server and client on the loopback interface (port 0,
an ephemeral port): the client sends request lines one after the other, the
server's connection handler, handler(), awaits process(), which awaits
compute(), which burns some CPU on the request before it yields to the
event loop; the reply goes back and the client checks it.

usage: sample_asyncio.py [--seconds S] [--wait]

Prints "ready", then (--wait) blocks reading one line from stdin, then
exchanges requests for S seconds of wall time (default 2, or
SAMPLE_SECONDS), prints "asyncio VALUE" (the same on every run) and exits
0."""

import asyncio
import time

import workload_cli

REPEAT = 200  # compute() loops over the request line this many times
KINDS = 10    # distinct requests


async def compute(data):
    acc = 0
    for byte in data * REPEAT: acc = (acc * 31 + byte) % 1000003  # LINE:compute-hot
    await asyncio.sleep(0)
    return acc


async def process(line):
    return await compute(line.strip())  # LINE:process-calls-compute


async def handler(reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        result = await process(line)  # LINE:handler-calls-process
        writer.write(b"%d\n" % result)
        await writer.drain()
    writer.close()


def expected(kind):
    acc = 0
    for byte in (b"request %d" % kind) * REPEAT:
        acc = (acc * 31 + byte) % 1000003
    return acc


async def client(port, seconds):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    want = [expected(k) for k in range(KINDS)]
    end = time.monotonic() + seconds
    n = 0
    while n < KINDS or time.monotonic() < end:
        writer.write(b"request %d\n" % (n % KINDS))
        await writer.drain()
        reply = int(await reader.readline())
        assert reply == want[n % KINDS], (n, reply, want[n % KINDS])
        n += 1
    writer.close()
    await writer.wait_closed()
    return sum(want)


async def main(seconds):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        return await client(port, seconds)


def parse():
    return workload_cli.parser().parse_args()


if __name__ == "__main__":
    args = parse()
    workload_cli.ready("sample_asyncio", args.wait)
    print("asyncio", asyncio.run(main(args.seconds)))
