"""libosdp 3.2.9's peripheral device on a pty, for khil's control panel (cli/tests/osdp_cp_peers.rs).

    osdp_pd.py PTY --key HEX     a PD with its own key; the secure channel is enforced
    osdp_pd.py PTY --install     a PD in install mode (no key of its own: SCBK-D), waiting for a KEYSET

Prints JSON lines on stdout: {"ready": true} once started, {"sc": true|false} whenever the secure channel comes
up or goes, {"command": {...}} for every command the CP's packets deliver to the application (bytes as hex).
Reads lines on stdin: `card` submits a card read (32 bits 12 34 56 78), `input` an input status report
(inputs 0 on, 1 off), `quit` ends.
"""
import argparse
import json
import sys
import threading
import time

import osdp
from osdp_pty import PD_ID, Pty, pd_capabilities

ADDRESS = 101


def say(obj):
    print(json.dumps(obj), flush=True)


def plain(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def on_command(command):
    say({"command": plain(command)})
    return 0, None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pty")
    ap.add_argument("--key")
    ap.add_argument("--install", action="store_true")
    a = ap.parse_args()
    if a.key:
        info = osdp.PDInfo(ADDRESS, Pty(a.pty), scbk=bytes.fromhex(a.key), flags=[osdp.LibFlag.EnforceSecure],
                           id=PD_ID)
    elif a.install:
        info = osdp.PDInfo(ADDRESS, Pty(a.pty), scbk=None, flags=[osdp.LibFlag.InstallMode], id=PD_ID)
    else:
        sys.exit("give --key or --install")
    pd = osdp.PeripheralDevice(info, pd_capabilities(), log_level=osdp.LogLevel.Warning, command_handler=on_command)
    pd.start()
    say({"ready": True})

    stop = threading.Event()

    def watch():
        sc = None
        while not stop.is_set():
            now = bool(pd.is_sc_active())
            if now != sc:
                sc = now
                say({"sc": now})
            time.sleep(0.02)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    for line in sys.stdin:
        word = line.strip()
        if word == "card":
            pd.submit_event({"event": osdp.Event.CardRead, "reader_no": 0, "direction": 0,
                             "format": osdp.CardFormat.Unspecified, "length": 32,
                             "data": bytes.fromhex("12345678")})
        elif word == "input":
            pd.submit_event({"event": osdp.Event.Status, "type": osdp.StatusReportType.Input,
                             "report": bytes([1, 0])})
        elif word == "quit":
            break
    stop.set()
    pd.stop()
    print("OK", flush=True)


if __name__ == "__main__":
    main()
