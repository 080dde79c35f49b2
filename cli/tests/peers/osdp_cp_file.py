"""libosdp 3.2.9's control panel sends a file by FILETRANSFER to a khil OSDP PD simulator on a pty.

    osdp_cp_file.py PTY --key HEX --size N     secure channel with the PD's key, then a file of N bytes (file id
                                               1, contents i * 7 + 3 mod 256), libosdp choosing the fragments

Prints the progress and "OK" once libosdp reports the transfer finished; exits non-zero naming what did not happen.
"""
import argparse
import sys
import time

import osdp
from osdp_pty import Pty

ADDRESS = 2
FILE_ID = 1


def fail(msg):
    print("FAIL:", msg, flush=True)
    sys.exit(1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("pty")
    ap.add_argument("--key", required=True)
    ap.add_argument("--size", type=int, default=3000)
    a = ap.parse_args()
    data = bytes((i * 7 + 3) % 256 for i in range(a.size))
    closed = []

    def f_open(file_id, size):
        if file_id != FILE_ID:
            return -1
        return len(data)

    def f_read(size, offset):
        return data[offset:offset + size]

    def f_write(buf, offset):
        return -1

    def f_close(file_id):
        closed.append(file_id)
        return 0

    chan = Pty(a.pty)
    cp = osdp.ControlPanel([osdp.PDInfo(ADDRESS, chan, scbk=bytes.fromhex(a.key), flags=[osdp.LibFlag.EnforceSecure])],
                           log_level=osdp.LogLevel.Warning)
    cp.start()  # the binding's lock exists from here on
    try:
        if not cp.register_file_ops(ADDRESS, {"open": f_open, "read": f_read, "write": f_write, "close": f_close}):
            fail("register_file_ops")
        deadline = time.time() + 15
        while not (cp.is_online(ADDRESS) and cp.is_sc_active(ADDRESS)):
            if time.time() > deadline:
                fail("PD not online with a secure channel within 15 s")
            time.sleep(0.05)
        print("online, secure channel up", flush=True)
        if not cp.submit_command(ADDRESS, {"command": osdp.Command.FileTransfer, "id": FILE_ID, "flags": 0}):
            fail("submit FileTransfer")
        deadline = time.time() + 30
        seen = None
        while True:
            status = cp.get_file_tx_status(ADDRESS)
            if status:
                seen = status
            if status and status.get("offset") == status.get("size") == len(data):
                break
            if status is None and closed:
                break
            if time.time() > deadline:
                fail(f"transfer not finished within 30 s (last status {seen})")
            time.sleep(0.05)
        h = 0xcbf29ce484222325
        for b in data:
            h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        print("file sent", len(data), "bytes, fnv1a64", f"{h:016x}; last status", seen, "closed", closed, flush=True)
    finally:
        cp.stop()
        chan.close()
    print("OK", flush=True)


if __name__ == "__main__":
    main()
