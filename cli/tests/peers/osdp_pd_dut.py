"""libosdp 3.2.9's peripheral device as a device under test for `khil conformance run --class osdp-pd`.

    osdp_pd_dut.py                 a PD at address 101 with key 000102...0f, the secure channel enforced, on a
                                   new pty; prints one line, `ready serial:///dev/pts/N`, then serves until stdin
                                   closes (or a line `quit`)
    osdp_pd_dut.py --run OUT -- KHIL ARGS...
                                   the same, then runs `KHIL conformance run --class osdp-pd --device <that URL>
                                   --ics conformance/ics/osdp-libosdp-pd.toml --out OUT ARGS...` and exits with
                                   its status (what CI runs for the JUnit file)

The pty behaves like a device on a wire, as khil's own simulators do: a client (one conformance purpose) opens
the serial port, closes it, the next opens it again, and what the PD sends while nobody has the port open is
lost rather than handed to the next client as stale bytes (a write first asks the pty whether a client is
there: the master reports POLLHUP when no client has the slave open).

PDID: vendor 0xA1B2C3, model 7, version 2, serial 0x12345678, firmware 1.2.3. PDCAP: 2 inputs, 4 outputs, one
LED, buzzer and text display (libosdp adds communication security, CRC and buffer sizes itself). No reader, no
biometrics, no FILETRANSFER handler: what `conformance/ics/osdp-libosdp-pd.toml` declares.
"""
import argparse
import os
import subprocess
import sys

import osdp
from osdp_pty import PD_ID, WirePty, pd_capabilities

ADDRESS = 101
KEY = bytes(range(16))
ICS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "conformance", "ics",
                   "osdp-libosdp-pd.toml")


def on_command(command):
    # Every command the application layer gets is accepted (outputs, LEDs, buzzer, text).
    return 0, None


def start():
    chan = WirePty()
    info = osdp.PDInfo(ADDRESS, chan, scbk=KEY, flags=[osdp.LibFlag.EnforceSecure], id=PD_ID)
    pd = osdp.PeripheralDevice(info, pd_capabilities(), log_level=osdp.LogLevel.Error, command_handler=on_command)
    pd.start()
    return pd, chan


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", metavar="OUT", help="run khil's osdp-pd suite against the PD, reports in OUT")
    ap.add_argument("khil", nargs="*", help="after --: the khil binary and extra arguments")
    a = ap.parse_args()
    pd, chan = start()
    url = f"serial://{chan.path}"
    try:
        if a.run:
            if not a.khil:
                sys.exit("--run OUT -- KHIL [ARGS...]: the khil binary is missing")
            cmd = [a.khil[0], "conformance", "run", "--class", "osdp-pd", "--device", url, "--ics",
                   os.path.normpath(ICS), "--out", a.run, *a.khil[1:]]
            print("running:", " ".join(cmd), file=sys.stderr, flush=True)
            return subprocess.call(cmd)
        print(f"ready {url}", flush=True)
        for line in sys.stdin:
            if line.strip() == "quit":
                break
        return 0
    finally:
        pd.stop()


if __name__ == "__main__":
    sys.exit(main())
