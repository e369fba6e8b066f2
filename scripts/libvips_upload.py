"""The reference `scripts/bench.sh` holds uploads against: libvips in-process (pyvips) making
the stored sizes of an upload from the same file, as a thumbnailing service built on it would:
for each size, `thumbnail_buffer` (shrink-on-load, centre crop to a square) and
`jpegsave_buffer` at the service's quality, without metadata. libvips runs with its defaults
(its own thread pool, one thread per core).

Usage: python3 libvips_upload.py FILE QUALITY SIZE... ; prints one line of JSON: the p50,
p90 and count of the per-upload times in milliseconds. Bounded: at most 200 uploads and
about 10 s, after 3 uploads of warm-up.
"""

import json
import statistics
import sys
import time

import pyvips

MAX_UPLOADS = 200
MAX_SECONDS = 10.0


def upload(data, quality, sizes):
    for size in sizes:
        image = pyvips.Image.thumbnail_buffer(data, size, height=size, crop="centre")
        image.jpegsave_buffer(Q=quality, strip=True)


def main():
    path, quality, *sizes = sys.argv[1:]
    with open(path, "rb") as file:
        data = file.read()
    quality, sizes = int(quality), [int(size) for size in sizes]
    for _ in range(3):
        upload(data, quality, sizes)
    times = []
    started = time.perf_counter()
    while len(times) < MAX_UPLOADS and time.perf_counter() - started < MAX_SECONDS:
        begun = time.perf_counter()
        upload(data, quality, sizes)
        times.append((time.perf_counter() - begun) * 1000.0)
    deciles = statistics.quantiles(times, n=10)
    print(json.dumps({
        "p50_ms": statistics.median(times),
        "p90_ms": deciles[8],
        "uploads": len(times),
        "libvips": pyvips.version_string() if hasattr(pyvips, "version_string") else
        f"{pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}",
    }))


if __name__ == "__main__":
    main()
