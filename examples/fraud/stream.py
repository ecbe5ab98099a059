#!/usr/bin/env python3
"""Replays a JSON-lines file to stdout at a steady rate, like a live stream.

usage: stream.py FILE RATE_PER_SECOND
"""
import sys
import time


def main() -> int:
    path, rate = sys.argv[1], float(sys.argv[2])
    out = sys.stdout.buffer
    batch = max(1, int(rate / 100))  # write every 10 ms
    start = time.monotonic()
    sent = 0
    with open(path, "rb") as f:
        while True:
            lines = [f.readline() for _ in range(batch)]
            lines = [l for l in lines if l]
            if not lines:
                break
            out.writelines(lines)
            out.flush()
            sent += len(lines)
            ahead = sent / rate - (time.monotonic() - start)
            if ahead > 0:
                time.sleep(ahead)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:
        sys.exit(0)
