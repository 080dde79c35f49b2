"""A pty as an `osdp.Channel` for libosdp 3.2.9's Python binding: non-blocking reads and writes on the raw tty
(an empty read or a zero-byte write when it would block, or after the other side has gone)."""
import os
import termios
import tty

import osdp


class Pty(osdp.Channel):
    def __init__(self, path):
        super().__init__()
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)

    def read(self, max_bytes):
        try:
            return os.read(self.fd, max_bytes)
        except (BlockingIOError, OSError):
            return b""

    def write(self, buf):
        try:
            return os.write(self.fd, buf)
        except (BlockingIOError, OSError):
            return 0

    def flush(self):
        pass

    def close(self):
        termios.tcflush(self.fd, termios.TCIOFLUSH)
        os.close(self.fd)
