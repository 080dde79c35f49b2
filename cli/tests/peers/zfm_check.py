"""Small helpers shared by the ZFM peer scripts: fail with a clear message, wait for finger states.

A script that finds a mismatch exits non-zero with a one-line reason on stderr; the Rust test prints it.
"""

import collections
import sys
import time
import traceback

import serial

# The last bytes each way on the serial port, printed when a step fails (the libraries do not say what they got).
TRACE = collections.deque(maxlen=2000)


class Mismatch(Exception):
    """A result that is not what a real module would answer."""


def check(condition, message):
    """Raises Mismatch(message) unless condition holds."""
    if not condition:
        raise Mismatch(message)


def trace_serial():
    """Records what pyserial reads and writes (passively: the bytes and calls are unchanged)."""
    read, write = serial.Serial.read, serial.Serial.write
    start = time.monotonic()

    def traced_read(self, size=1):
        data = read(self, size)
        TRACE.append((time.monotonic() - start, "<", bytes(data)))
        return data

    def traced_write(self, data):
        TRACE.append((time.monotonic() - start, ">", bytes(data)))
        return write(self, data)

    serial.Serial.read = traced_read
    serial.Serial.write = traced_write


def dump_trace(runs=12):
    """The last `runs` stretches of one direction, as hex with the time they started (s); '..' = a read that
    timed out."""
    merged = []
    for t, way, data in TRACE:
        if merged and merged[-1][1] == way:
            merged[-1][2].append(data.hex() or "..")
        else:
            merged.append((t, way, [data.hex() or ".."]))
    print("--- serial trace (host > module, host < module):", file=sys.stderr)
    for t, way, parts in merged[-runs:]:
        print(f"{t:8.3f} {way} {''.join(parts)}", file=sys.stderr)


def run(steps, argv):
    """Runs the step named argv[1] with the remaining arguments; any Mismatch or library error exits 1 with
    the reason and the last bytes on the serial port."""
    if len(argv) < 2 or argv[1] not in steps:
        sys.exit(f"usage: {argv[0]} {{{'|'.join(steps)}}} PORT [ARGS...]")
    name = argv[1]
    trace_serial()
    try:
        steps[name](*argv[2:])
    except Mismatch as e:
        dump_trace()
        sys.exit(f"FAIL {name}: {e}")
    except Exception:  # the library's own errors: bad header, wrong checksum, RuntimeError...
        traceback.print_exc()
        dump_trace()
        sys.exit(f"FAIL {name}: the library raised (traceback above)")
    print(f"PASS {name}")


def wait_until(attempt, want, what, limit=20):
    """Calls attempt() until it returns want (at most `limit` times, as a client polls a sensor)."""
    got = []
    for _ in range(limit):
        r = attempt()
        if r == want:
            return len(got) + 1
        got.append(r)
    raise Mismatch(f"{what}: no {want!r} in {limit} attempts, got {got}")


def ridge_stats(rows):
    """Variance of an 8-bit image given as rows of pixels, and ridge crossings per 100 pixels along its
    central rows (a row crosses its own mean twice per ridge: about 2 x 100 / 9 for ridges 9 pixels apart;
    noise crosses every other pixel, a uniform or smooth image hardly ever)."""
    height, width = len(rows), len(rows[0])
    pixels = [p for row in rows for p in row]
    mean = sum(pixels) / len(pixels)
    variance = sum((p - mean) ** 2 for p in pixels) / len(pixels)
    crossings, length = 0, 0
    for row in rows[height // 3: 2 * height // 3: 8]:
        centre = row[width // 4: 3 * width // 4]
        m = sum(centre) / len(centre)
        signs = [p > m for p in centre]
        crossings += sum(1 for a, b in zip(signs, signs[1:]) if a != b)
        length += len(centre)
    return variance, 100 * crossings / length


def check_ridges(rows, what):
    """Checks that an image looks like a fingerprint: contrast, and ridges 5-25 pixels apart."""
    variance, crossings = ridge_stats(rows)
    print(f"{what}: variance {variance:.0f}, {crossings:.1f} ridge crossings per 100 px")
    check(variance > 1000, f"{what}: variance {variance:.0f}, no ridge structure (expected > 1000)")
    check(8 <= crossings <= 40, f"{what}: {crossings:.1f} crossings per 100 px along central rows, "
          "not ridges 5-25 px apart (expected 8-40)")
