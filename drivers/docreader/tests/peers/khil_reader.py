"""A document-reader adapter written from docs/docreader-protocol.md (Part B) alone, with Python's standard
library (zlib's CRC-32, struct): the shape of a vendor adapter, with a fake sensor behind it.

Listens on 127.0.0.1 (an ephemeral port), prints "port N" and serves one host connection:
- Hello (01) -> DeviceInfo (81), then DocumentPresent (90) for document 42 with the specimen MRZ;
- CaptureRequest (02) for white/infrared/ultraviolet -> Capture (82), a 32 x 8 gradient whose level depends on the
  light; any other light -> Error 0005;
- VizRequest (03) -> VizFields (83);
- a frame of another version -> Error 0001; an unknown type -> Error 0002 (both with the frame's sequence number);
- frames with a bad CRC are dropped unanswered; then DocumentRemoved (91) when the host closes its side.
"""

import socket
import struct
import sys
import zlib

MAGIC = b"KD"
MRZ = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"]
LEVEL = {1: 200, 2: 90, 3: 30}


def frame(kind, seq, payload, version=1):
    head = MAGIC + struct.pack(">BBHI", version, kind, seq, len(payload))
    return head + struct.pack(">I", zlib.crc32(head)) + payload + struct.pack(">I", zlib.crc32(payload))


def string(s):
    b = s.encode("utf-8")
    return struct.pack(">H", len(b)) + b


def error(seq, code, text):
    return frame(0xEE, seq, struct.pack(">H", code) + string(text))


class Frames:
    """Frames out of a byte stream, resynchronising on the magic as the document says."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def next(self):
        while True:
            start = self.buf.find(MAGIC)
            if start < 0:
                self.buf = self.buf[-1:] if self.buf.endswith(b"K") else b""
            else:
                self.buf = self.buf[start:]
                if len(self.buf) >= 14:
                    version, kind, seq, n, header_crc = struct.unpack(">BBHII", self.buf[2:14])
                    if zlib.crc32(self.buf[:10]) != header_crc or n > 16 << 20:
                        self.buf = self.buf[1:]
                        continue
                    if len(self.buf) >= 18 + n:
                        whole, self.buf = self.buf[:18 + n], self.buf[18 + n:]
                        payload = whole[14:-4]
                        (crc,) = struct.unpack(">I", whole[-4:])
                        if zlib.crc32(payload) != crc:
                            self.buf = whole[1:] + self.buf
                            continue
                        return version, kind, seq, payload
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk


def main():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    print("port %d" % server.getsockname()[1], flush=True)
    conn, _ = server.accept()
    frames = Frames(conn)
    while True:
        got = frames.next()
        if got is None:
            break
        version, kind, seq, payload = got
        if version != 1:
            conn.sendall(error(seq, 1, "speaks 1"))
        elif kind == 0x01:
            lights = [(1, 0), (2, 900), (3, 365)]
            info = string("khil python adapter") + string("PY-1") + string("0.1")
            info += struct.pack(">HHHB", 400, 32, 8, len(lights))
            info += b"".join(struct.pack(">BH", l, w) for l, w in lights)
            conn.sendall(frame(0x81, seq, info))
            present = struct.pack(">IB", 42, len(MRZ)) + b"".join(string(l) for l in MRZ)
            conn.sendall(frame(0x90, 0, present))
        elif kind == 0x02 and len(payload) == 1:
            light = payload[0]
            if light not in LEVEL:
                conn.sendall(error(seq, 5, "no light %02X" % light))
                continue
            width, height = 32, 8
            pixels = bytes((LEVEL[light] + x) % 256 for y in range(height) for x in range(width))
            conn.sendall(frame(0x82, seq, struct.pack(">IBHHH", 42, light, width, height, 400) + pixels))
        elif kind == 0x03 and not payload:
            fields = [("surname", "ЭРИКССОН"), ("given_names", "АННА МАРИЯ"), ("birth_date", "1974-08-12")]
            body = struct.pack(">IB", 42, len(fields)) + b"".join(string(n) + string(v) for n, v in fields)
            conn.sendall(frame(0x83, seq, body))
        elif kind in (0x01, 0x02, 0x03):
            conn.sendall(error(seq, 3, "malformed payload"))
        else:
            conn.sendall(error(seq, 2, "unknown message type %02X" % kind))
    try:
        conn.sendall(frame(0x91, 0, struct.pack(">I", 42)))
    except OSError:
        pass


if __name__ == "__main__":
    sys.exit(main())
