"""libosdp 3.2.9's control panel against a khil OSDP PD simulator on a pty.

    osdp_cp.py PTY --key HEX                 secure channel with the PD's key: identity, capabilities, commands,
                                             then the events queued at the PD (an input change, a card read)
    osdp_cp.py PTY --install NEWKEY          install mode (SCBK-D), KEYSET NEWKEY, then reconnect with NEWKEY

Prints what it saw; exits non-zero naming the first thing that did not happen.
"""
import argparse
import sys
import time

import osdp
from osdp_pty import Pty

ADDRESS = 1


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


SCBK_D = bytes(range(0x30, 0x40))


def connect(path, key, install=False):
    chan = Pty(path)
    # Install mode: the CP talks to a PD that has no key of its own yet with the default key SCBK-D.
    flags = [osdp.LibFlag.InstallMode] if install else [osdp.LibFlag.EnforceSecure]
    cp = osdp.ControlPanel([osdp.PDInfo(ADDRESS, chan, scbk=SCBK_D if install else key, flags=flags)],
                           log_level=osdp.LogLevel.Warning)
    cp.start()
    deadline = time.time() + 15
    while not (cp.is_online(ADDRESS) and cp.is_sc_active(ADDRESS)):
        if time.time() > deadline:
            cp.stop()
            fail(f"PD not online with a secure channel within 15 s (online={cp.is_online(ADDRESS)})")
        time.sleep(0.05)
    print("online, secure channel up", flush=True)
    return cp, chan


def wait_event(cp, kind, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        e = cp.get_event(ADDRESS, timeout=1)
        if e and e.get("event") == kind:
            return e
    return None


def full_session(path, key):
    cp, chan = connect(path, key)
    try:
        pd_id = cp.get_pd_id(ADDRESS)
        print("pdid", hex(pd_id.vendor_code), pd_id.model, hex(pd_id.serial_number), flush=True)
        if pd_id.serial_number != 0x4B48494C or pd_id.model != 1:
            fail(f"PDID: serial {pd_id.serial_number:#x} model {pd_id.model}")
        outputs = cp.check_capability(ADDRESS, osdp.Capability.OutputControl)
        inputs = cp.check_capability(ADDRESS, osdp.Capability.ContactStatusMonitoring)
        print("capabilities outputs", outputs, "inputs", inputs, flush=True)
        if outputs[1] != 3 or inputs[1] != 6:
            fail(f"PDCAP: outputs {outputs}, inputs {inputs}")
        commands = [
            {"command": osdp.Command.Output, "output_no": 0, "control_code": 2, "timer_count": 0},
            {"command": osdp.Command.LED, "reader": 0, "led_number": 0, "control_code": 1, "on_count": 5,
             "off_count": 5, "on_color": osdp.CommandLEDColor.Green, "off_color": osdp.CommandLEDColor.Black,
             "timer_count": 0, "temporary": False},
            {"command": osdp.Command.Buzzer, "reader": 0, "control_code": 2, "on_count": 2, "off_count": 2,
             "rep_count": 1},
            {"command": osdp.Command.Text, "reader": 0, "control_code": 1, "temp_time": 0, "offset_row": 1,
             "offset_col": 1, "data": "Welcome"},
        ]
        for c in commands:
            if not cp.submit_command(ADDRESS, c):
                fail(f"submit {c['command']}")
        time.sleep(1.0)
        card = wait_event(cp, osdp.Event.CardRead)
        if not card or bytes(card.get("data", b"")) != bytes.fromhex("12345678"):
            fail(f"card read event: {card}")
        print("card read", bytes(card["data"]).hex(), flush=True)
        status = wait_event(cp, osdp.Event.Status)
        if not status:
            fail("no status event for the input change")
        print("status event", {k: v for k, v in status.items() if k != "event"}, flush=True)
    finally:
        cp.stop()
        chan.close()


def install(path, new_key):
    cp, chan = connect(path, None, install=True)
    try:
        if not cp.submit_command(ADDRESS, {"command": osdp.Command.Keyset, "type": 1, "data": new_key}):
            fail("submit KEYSET")
        time.sleep(1.5)
    finally:
        cp.stop()
        chan.close()
    print("KEYSET sent; reconnecting with the new key", flush=True)
    cp, chan = connect(path, new_key)
    cp.stop()
    chan.close()
    print("reconnected with the new key", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pty")
    ap.add_argument("--key")
    ap.add_argument("--install")
    a = ap.parse_args()
    if a.key:
        full_session(a.pty, bytes.fromhex(a.key))
    elif a.install:
        install(a.pty, bytes.fromhex(a.install))
    else:
        fail("give --key or --install")
    print("OK", flush=True)


if __name__ == "__main__":
    main()
