"""Sampling benchmark, I/O-heavy: a client thread and a server thread of the
same process exchanging small request/response messages over a TCP
connection on 127.0.0.1, each blocking in recv() for every message: many
thousand voluntary context switches per second. The number of exchanges is
fixed, times BENCH_SAMPLE_SCALE (default 1). Prints BENCH_START on stderr
when main() starts, then BENCH_ELAPSED=seconds and BENCH_SWITCHES=N (the
voluntary context switches of both threads while they exchanged, from
getrusage(RUSAGE_THREAD), the counter /proc/PID/status shows as
voluntary_ctxt_switches)."""
import os
import resource
import socket
import sys
import threading
import time

SCALE = float(os.environ.get("BENCH_SAMPLE_SCALE", "1"))
EXCHANGES = max(1, int(80000 * SCALE))
SIZE = 64


def switches():
    return resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            raise EOFError("peer closed")
        data += chunk
    return data


def handle(request):
    return bytes(reversed(request))


def serve(listener, counts):
    conn, _ = listener.accept()
    before = switches()
    with conn:
        for _ in range(EXCHANGES):
            conn.sendall(handle(recv_exact(conn, SIZE)))
    counts.append(switches() - before)


def client(port, counts):
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        before = switches()
        request = bytes(range(SIZE))
        for _ in range(EXCHANGES):
            conn.sendall(request)
            reply = recv_exact(conn, SIZE)
        counts.append(switches() - before)
    return reply


def main():
    sys.stderr.write("BENCH_START\n")
    sys.stderr.flush()
    t0 = time.perf_counter()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    counts = []
    server = threading.Thread(target=serve, args=(listener, counts), name="server")
    server.start()
    reply = client(listener.getsockname()[1], counts)
    server.join()
    listener.close()
    elapsed = time.perf_counter() - t0
    sys.stderr.write("BENCH_ELAPSED=%.6f\nBENCH_SWITCHES=%d\n" % (elapsed, sum(counts)))
    print(len(reply), reply[0])


if __name__ == "__main__":
    main()
