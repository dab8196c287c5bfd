"""Renders a flame graph SVG in headless Chromium and checks it really shows
frames and that its script ran.

usage: svg_screenshot.py GRAPH.svg OUT.png [--min-fraction F]

1. `chromium --headless ... --screenshot=OUT.png --window-size=1200,H`,
   H the graph's own height (at least 800, at most 8000), so that the whole
   graph is in the picture, deep stacks included: the PNG must exist, decode (zlib, stdlib only) and have at least F
   (default 0.02) of its pixels in the frame colours: warm (red to yellow,
   on-CPU) or blue (off-CPU); the background, text and borders are white,
   grey or black and do not count.
2. `chromium --headless ... --dump-dom`: the DOM after load must carry
   data-pybpf-ready="1" on the root <svg>, which the graph's script sets
   once it has set everything up (so the script ran without an error).

Chromium is Debian's `chromium`, installed with apt-get when missing (as
root). Each run gets a fresh profile directory. Exit status 0 with one line
of figures on stdout, or 1 with a one-line reason on stderr.
"""

import argparse
import os
import pathlib
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import zlib

TIMEOUT = 120  # seconds for one Chromium run (the first start is the slowest)
WINDOW = (1200, 800)
MAX_HEIGHT = 8000


def window_for(svg):
    """The window that shows the whole graph: its root element's height."""
    with open(svg, "rb") as f:
        head = f.read(4096).decode(errors="replace")
    m = re.search(r'<svg[^>]*\sheight="(\d+)', head)
    height = int(m.group(1)) if m else WINDOW[1]
    return WINDOW[0], max(WINDOW[1], min(height, MAX_HEIGHT))


class CheckFailed(Exception):
    pass


def find_chromium():
    path = shutil.which("chromium")
    if path:
        return path
    if os.geteuid() != 0:
        raise CheckFailed("chromium is not installed (hint: apt-get install chromium)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    rc = subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], env=env,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        timeout=1800).returncode
    path = shutil.which("chromium")
    if rc != 0 or not path:
        raise CheckFailed("apt-get install chromium failed (exit %d)" % rc)
    return path


def run_chromium(chromium, extra, svg):
    """Runs headless Chromium on svg with a fresh profile; returns its stdout."""
    with tempfile.TemporaryDirectory(prefix="pybpf-chromium-") as profile:
        args = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + profile] + extra + [pathlib.Path(svg).resolve().as_uri()]
        # Its own process group, so that its helper processes go with it on a timeout.
        proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True)
        try:
            out, err = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise CheckFailed("chromium %s did not finish in %d s" % (extra[0], TIMEOUT))
    if proc.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise CheckFailed("chromium %s exited with %d: %s" % (extra[0], proc.returncode, last[0]))
    return out


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def unfilter(raw, width, height, bpp):
    """The PNG's scanlines with their filters (PNG spec, section 9) undone."""
    stride = width * bpp
    rows, prev, at = [], bytearray(stride), 0
    for _ in range(height):
        kind, line = raw[at], bytearray(raw[at + 1:at + 1 + stride])
        at += 1 + stride
        for i in range(stride):
            left = line[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + prev[i]) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
            elif kind == 4:
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(left, prev[i], upleft)) & 0xFF
            elif kind != 0:
                raise CheckFailed("PNG scanline filter %d unknown" % kind)
        rows.append(line)
        prev = line
    return rows


def decode_png(data):
    """(width, height, bytes per pixel, rows) of an 8-bit RGB/RGBA PNG."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise CheckFailed("the screenshot is not a PNG")
    at, idat, head = 8, [], None
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        body = data[at + 8:at + 8 + length]
        at += 12 + length
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if not head or not idat:
        raise CheckFailed("the screenshot PNG has no header or no image data")
    width, height, depth, colour, _, _, interlace = head
    if depth != 8 or colour not in (2, 6) or interlace:
        raise CheckFailed("the screenshot PNG is depth %d colour type %d interlace %d, "
                          "not 8-bit RGB(A)" % (depth, colour, interlace))
    bpp = 3 if colour == 2 else 4
    return width, height, bpp, unfilter(zlib.decompress(b"".join(idat)), width, height, bpp)


def frame_pixels(width, rows, bpp):
    """How many pixels are warm (on-CPU frames) and how many blue (off-CPU)."""
    warm = blue = 0
    for row in rows:
        for i in range(0, width * bpp, bpp):
            r, g, b = row[i], row[i + 1], row[i + 2]
            if r >= 200 and b <= 70 and r - b >= 130:
                warm += 1
            elif b >= 190 and r <= 130 and b - r >= 60:
                blue += 1
    return warm, blue


def check(svg, png, min_fraction):
    if not os.path.isfile(svg) or os.path.getsize(svg) == 0:
        raise CheckFailed("%s is missing or empty" % svg)
    chromium = find_chromium()
    if os.path.exists(png):
        os.unlink(png)
    run_chromium(chromium, ["--screenshot=" + os.path.abspath(png),
                            "--window-size=%d,%d" % window_for(svg)], svg)
    if not os.path.isfile(png) or os.path.getsize(png) == 0:
        raise CheckFailed("chromium wrote no screenshot at %s" % png)
    with open(png, "rb") as f:
        width, height, bpp, rows = decode_png(f.read())
    warm, blue = frame_pixels(width, rows, bpp)
    share = (warm + blue) / float(width * height)
    if share < min_fraction:
        raise CheckFailed("only %.1f%% of the %dx%d screenshot is in frame colours "
                          "(warm %d, blue %d pixels), want %.1f%%"
                          % (100 * share, width, height, warm, blue, 100 * min_fraction))
    dom = run_chromium(chromium, ["--dump-dom"], svg).decode(errors="replace")
    if 'data-pybpf-ready="1"' not in dom:
        raise CheckFailed("the graph's script did not finish (no data-pybpf-ready=\"1\" "
                          "in the DOM after load)")
    return "%s: %dx%d, %.1f%% frame pixels (warm %d, blue %d), script ready" % (
        png, width, height, 100 * share, warm, blue)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("svg")
    parser.add_argument("png")
    parser.add_argument("--min-fraction", type=float, default=0.02)
    args = parser.parse_args()
    try:
        print(check(args.svg, args.png, args.min_fraction))
    except (CheckFailed, OSError, zlib.error, subprocess.SubprocessError) as e:
        print("svg_screenshot: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
