"""A PC/SC client written with pyscard (independent of khil): waits for the card with the given ATR in the given
reader, sends each command APDU and prints one line per exchange: `<command hex> <data hex or -> <SW hex>`.

    python pyscard_client.py "Virtual PCD 00 00" <ATR hex> <APDU hex>...

Exit status 0 when every APDU got an answer; 2 when the card did not appear within 15 s.
"""

import sys
import time

from smartcard.System import readers
from smartcard.Exceptions import CardConnectionException, NoCardException


def main():
    name, atr, apdus = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3:]
    matching = [r for r in readers() if str(r) == name]
    if not matching:
        print(f"no reader {name!r}; readers: {[str(r) for r in readers()]}", file=sys.stderr)
        return 2
    deadline = time.monotonic() + 15
    connection = None
    seen = None
    while time.monotonic() < deadline:
        try:
            c = matching[0].createConnection()
            c.connect()
            seen = bytes(c.getATR())
            if seen == atr:
                connection = c
                break
            c.disconnect()
        except (NoCardException, CardConnectionException) as e:
            seen = e
        time.sleep(0.1)
    if connection is None:
        print(f"card with ATR {atr.hex()} did not appear in {name!r} (last: {seen})", file=sys.stderr)
        return 2
    for apdu in apdus:
        data, sw1, sw2 = connection.transmit(list(bytes.fromhex(apdu)))
        print(f"{apdu} {bytes(data).hex().upper() or '-'} {sw1:02X}{sw2:02X}", flush=True)
    connection.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
