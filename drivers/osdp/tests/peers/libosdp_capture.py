"""Runs a libosdp 3.2.9 control panel and peripheral device against each other in one process and prints every
packet that crosses the wire, one per line: `CP <hex>` for bytes the CP sent, `PD <hex>` for the PD's.

The session uses the secure channel (install-mode key SCBK-D, then the PD's own key is not changed), so the
capture holds a real handshake (CHLNG, CCRYPT, SCRYPT, RMAC_I), MAC-only packets and encrypted ones (LED, OUT,
TEXT, BUZ commands; a card read event). khil's tests decode it with khil's codec and secure channel: libosdp
wrote every byte, so agreeing with it proves the MAC chaining and the encryption rules independently.

Usage: python libosdp_capture.py > capture.txt
"""
import queue
import sys
import threading
import time

import osdp


class Pipe(osdp.Channel):
    """One end of an in-memory link; what it writes is logged with its side's name."""

    def __init__(self, name, rx, tx, log, lock):
        super().__init__()
        self.name, self.rx, self.tx, self.log, self.lock = name, rx, tx, log, lock

    def read(self, max_bytes):
        out = bytearray()
        while len(out) < max_bytes:
            try:
                out.append(self.rx.get_nowait())
            except queue.Empty:
                break
        return bytes(out)

    def write(self, buf):
        with self.lock:
            self.log.append((self.name, bytes(buf)))
        for b in buf:
            self.tx.put(b)
        return len(buf)

    def flush(self):
        pass


def main():
    log, lock = [], threading.Lock()
    a, b = queue.Queue(), queue.Queue()
    cp_chan = Pipe("CP", rx=b, tx=a, log=log, lock=lock)
    pd_chan = Pipe("PD", rx=a, tx=b, log=log, lock=lock)
    key = bytes(range(0x30, 0x40))  # SCBK-D
    pd = osdp.PeripheralDevice(
        osdp.PDInfo(101, pd_chan, scbk=key, flags=[osdp.LibFlag.EnforceSecure]),
        osdp.PDCapabilities([
            (osdp.Capability.OutputControl, 1, 1),
            (osdp.Capability.LEDControl, 1, 1),
            (osdp.Capability.AudibleControl, 1, 1),
            (osdp.Capability.TextOutput, 1, 1),
        ]),
        log_level=osdp.LogLevel.Error,
    )
    cp = osdp.ControlPanel([osdp.PDInfo(101, cp_chan, scbk=key, flags=[osdp.LibFlag.EnforceSecure])],
                           log_level=osdp.LogLevel.Error)
    pd.start()
    cp.start()
    try:
        run(cp, pd)
    finally:
        cp.stop()
        pd.stop()
    with lock:
        for name, data in log:
            print(name, data.hex())


def run(cp, pd):
    deadline = time.time() + 10
    while not cp.is_sc_active(101):
        if time.time() > deadline:
            sys.exit("libosdp CP and PD did not set up a secure channel in 10 s")
        time.sleep(0.05)
    cp.submit_command(101, {"command": osdp.Command.LED, "reader": 0, "led_number": 0, "control_code": 1,
                            "on_count": 10, "off_count": 10, "on_color": osdp.CommandLEDColor.Red,
                            "off_color": osdp.CommandLEDColor.Black, "timer_count": 10, "temporary": True})
    cp.submit_command(101, {"command": osdp.Command.Output, "output_no": 0, "control_code": 1, "timer_count": 0})
    cp.submit_command(101, {"command": osdp.Command.Text, "reader": 0, "control_code": 1, "temp_time": 20,
                            "offset_row": 1, "offset_col": 1, "data": "khil"})
    cp.submit_command(101, {"command": osdp.Command.Buzzer, "reader": 0, "control_code": 1, "on_count": 10,
                            "off_count": 10, "rep_count": 1})
    pd.submit_event({"event": osdp.Event.CardRead, "reader_no": 0, "format": osdp.CardFormat.Unspecified,
                     "direction": 0, "length": 32, "data": bytes([0x12, 0x34, 0x56, 0x78])})
    time.sleep(1.5)


if __name__ == "__main__":
    main()
