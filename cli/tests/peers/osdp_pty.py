"""What khil's libosdp 3.2.9 peer scripts share: ptys as `osdp.Channel`s (non-blocking reads and writes on the raw
tty: an empty read or a zero-byte write when it would block, or after the other side has gone), and the identity
and capabilities of the libosdp PD they run."""
import os
import select
import termios
import tty

import osdp

# PDID: vendor 0xA1B2C3, model 7, version 2, serial 0x12345678, firmware 1.2.3.
PD_ID = osdp.PdId(2, 7, 0xA1B2C3, 0x12345678, 0x010203)


def pd_capabilities():
    """PDCAP of the libosdp PD: 2 inputs, 4 outputs, one LED, buzzer and text display, secure channel (libosdp
    adds CRC and buffer sizes itself). No reader, no biometrics."""
    return osdp.PDCapabilities([
        (osdp.Capability.ContactStatusMonitoring, 1, 2),
        (osdp.Capability.OutputControl, 1, 4),
        (osdp.Capability.LEDControl, 1, 1),
        (osdp.Capability.AudibleControl, 1, 1),
        (osdp.Capability.TextOutput, 1, 1),
        (osdp.Capability.CommunicationSecurity, 1, 1),
    ])


class FdChannel(osdp.Channel):
    """An `osdp.Channel` over a non-blocking file descriptor `self.fd` (set by the subclass)."""

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


class Pty(FdChannel):
    """The pty slave at `path` (a khil simulator's or a test's)."""

    def __init__(self, path):
        super().__init__()
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)


class WirePty(FdChannel):
    """The master side of a new pty, with a wire's semantics for the clients of the slave: what is written while
    no client has the slave open is lost, not handed to the next client as stale bytes."""

    def __init__(self):
        super().__init__()
        self.fd, slave = os.openpty()
        self.path = os.ttyname(slave)
        tty.setraw(slave)
        # Until a client opens the slave, nobody is on the wire: the master then reports POLLHUP.
        os.close(slave)
        os.set_blocking(self.fd, False)
        self.poll = select.poll()
        self.poll.register(self.fd, select.POLLIN)

    def nobody_listening(self):
        return any(ev & select.POLLHUP for _, ev in self.poll.poll(0))

    def write(self, buf):
        if self.nobody_listening():
            return len(buf)  # lost on the wire, as on a real line with no CP attached
        return super().write(buf)
