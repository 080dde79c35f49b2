"""Stand-in for CircuitPython's `busio` on CPython: adafruit_fingerprint imports `UART` only for its type hints;
the tests hand it a pyserial `Serial`, which has the read(n)/write(b)/close() it calls."""


class UART:
    pass
