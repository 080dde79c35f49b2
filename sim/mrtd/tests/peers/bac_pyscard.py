"""BAC and 3DES secure messaging against an eMRTD chip through PC/SC, written from ICAO Doc 9303-11 (4.3 BAC,
9.7 key derivation, 9.8 secure messaging, Appendix D worked example) with pycryptodome for DES: an inspection
client that shares nothing with khil.

    python bac_pyscard.py READER ATR_HEX MRZ_LINE_1 MRZ_LINE_2

Checks its own mechanics against every value of the Appendix D example first, then waits (up to 15 s) for the
card with ATR_HEX in READER, selects the eMRTD application, runs BAC with the MRZ information of the given MRZ,
reads EF.COM and DG1 under secure messaging and checks that DG1 holds exactly the given MRZ. Prints one line per
step (no key, no MRZ content); exits 1 naming the step that failed.
"""

import hashlib
import os
import sys
import time

from Crypto.Cipher import DES, DES3
from smartcard.Exceptions import CardConnectionException, NoCardException
from smartcard.System import readers

AID_EMRTD = bytes.fromhex("A0000002471001")
EF_COM, EF_DG1 = 0x011E, 0x0101
# The most bytes one protected READ BINARY asks for: the padded, encrypted answer plus DO99 and DO8E fit a short
# response APDU (256 bytes).
READ_CHUNK = 0xDF


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


# ---------------------------------------------------------------- 9303-11 cryptography
def pad(data):
    """ISO/IEC 9797-1 padding method 2: 80, then 00 up to a multiple of 8."""
    data = data + b"\x80"
    return data + b"\x00" * (-len(data) % 8)


def unpad(data):
    stripped = data.rstrip(b"\x00")
    check(stripped.endswith(b"\x80"), "padding method 2 missing in decrypted data")
    return stripped[:-1]


def odd_parity(key):
    """DES keys: the low bit of each byte makes the byte's count of ones odd (9303-11 9.7.1)."""
    out = bytearray()
    for b in key:
        high = b & 0xFE
        out.append(high | ((bin(high).count("1") + 1) % 2))
    return bytes(out)


def kdf(seed, counter):
    """9303-11 9.7.1: SHA-1(seed || counter as 32 bits), the first 16 bytes as a two-key 3DES key."""
    return odd_parity(hashlib.sha1(seed + counter.to_bytes(4, "big")).digest()[:16])


def tdes_encrypt(key, data):
    return DES3.new(key, DES3.MODE_CBC, iv=bytes(8)).encrypt(data)


def tdes_decrypt(key, data):
    return DES3.new(key, DES3.MODE_CBC, iv=bytes(8)).decrypt(data)


def retail_mac(key, padded):
    """ISO/IEC 9797-1 MAC algorithm 3 (single DES CBC with Ka, the last block through Kb^-1 then Ka)."""
    ka, kb = key[:8], key[8:16]
    last = DES.new(ka, DES.MODE_CBC, iv=bytes(8)).encrypt(padded)[-8:]
    return DES.new(ka, DES.MODE_ECB).encrypt(DES.new(kb, DES.MODE_ECB).decrypt(last))


def mrz_information(line2):
    """Document number, birth date and expiry date of a TD3 second line, each with its check digit."""
    return line2[0:10] + line2[13:20] + line2[21:28]


def bac_keys(info):
    seed = hashlib.sha1(info.encode("ascii")).digest()[:16]
    return seed, kdf(seed, 1), kdf(seed, 2)


def ber_length(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x100:
        return bytes([0x81, n])
    return bytes([0x82]) + n.to_bytes(2, "big")


def parse_tlvs(data):
    """BER-TLV data objects in sequence (ISO 7816-4 5.2): [(tag, value, raw bytes)], tags as integers."""
    out, i = [], 0
    while i < len(data):
        tag, k = data[i], i + 1
        if tag & 0x1F == 0x1F:
            while True:
                check(k < len(data), f"a tag running past the end at offset {i}")
                tag, k = (tag << 8) | data[k], k + 1
                if not data[k - 1] & 0x80:
                    break
        check(k < len(data), f"data object {tag:X}: no length at offset {k}")
        length, j = data[k], k + 1
        if length & 0x80:
            count = length & 0x7F
            check(1 <= count <= 2 and j + count <= len(data), f"data object {tag:X}: bad length at offset {k}")
            length, j = int.from_bytes(data[j : j + count], "big"), j + count
        check(j + length <= len(data), f"data object {tag:X}: {length} bytes announced, {len(data) - j} there")
        out.append((tag, data[j : j + length], data[i : j + length]))
        i = j + length
    return out


class SecureMessaging:
    """3DES secure messaging (9303-11 9.8): session keys and the send sequence counter."""

    def __init__(self, ks_enc, ks_mac, ssc):
        self.ks_enc, self.ks_mac, self.ssc = ks_enc, ks_mac, ssc

    def mac(self, data):
        return retail_mac(self.ks_mac, pad(self.ssc.to_bytes(8, "big") + data))

    def protect(self, cla, ins, p1, p2, data=b"", le=None):
        cla |= 0x0C
        header = bytes([cla, ins, p1, p2])
        do87 = b""
        if data:
            cipher = b"\x01" + tdes_encrypt(self.ks_enc, pad(data))
            do87 = b"\x87" + ber_length(len(cipher)) + cipher
        do97 = b"" if le is None else b"\x97\x01" + bytes([le & 0xFF])
        self.ssc += 1
        do8e = b"\x8e\x08" + self.mac(pad(header) + do87 + do97)
        body = do87 + do97 + do8e
        return header + bytes([len(body)]) + body + b"\x00"

    def unprotect(self, response):
        check(len(response) >= 2, "response shorter than a status word")
        body, sw = response[:-2], response[-2:]
        objects = parse_tlvs(body)
        tags = [t for t, _, _ in objects]
        check(0x8E in tags, f"protected response without DO8E (status {sw.hex().upper()})")
        check(0x99 in tags, "protected response without DO99")
        covered = b"".join(raw for t, _, raw in objects if t in (0x87, 0x99))
        self.ssc += 1
        mac = next(v for t, v, _ in objects if t == 0x8E)
        check(mac == self.mac(covered), "response MAC does not verify")
        do99 = next(v for t, v, _ in objects if t == 0x99)
        check(do99 == sw, f"DO99 {do99.hex()} differs from the status word {sw.hex()}")
        data = b""
        for t, v, _ in objects:
            if t == 0x87:
                check(v[:1] == b"\x01", "DO87 without padding indicator 01")
                data = unpad(tdes_decrypt(self.ks_enc, v[1:]))
        return data, int.from_bytes(do99, "big")


def external_authenticate_data(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd):
    e_ifd = tdes_encrypt(k_enc, rnd_ifd + rnd_ic + k_ifd)
    return e_ifd + retail_mac(k_mac, pad(e_ifd))


def finish_bac(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd, answer):
    check(len(answer) == 40, f"EXTERNAL AUTHENTICATE answered {len(answer)} bytes, not 40")
    e_ic, m_ic = answer[:32], answer[32:]
    check(retail_mac(k_mac, pad(e_ic)) == m_ic, "the chip's MAC (M.IC) does not verify")
    plain = tdes_decrypt(k_enc, e_ic)
    check(plain[:8] == rnd_ic, "RND.IC in the chip's answer is not the challenge")
    check(plain[8:16] == rnd_ifd, "RND.IFD in the chip's answer is not ours")
    k_ic = plain[16:32]
    seed = bytes(a ^ b for a, b in zip(k_ifd, k_ic))
    ssc = int.from_bytes(rnd_ic[4:8] + rnd_ifd[4:8], "big")
    return SecureMessaging(kdf(seed, 1), kdf(seed, 2), ssc), k_ic


# ---------------------------------------------------------------- Appendix D
def self_test():
    """Every value of 9303-11 Appendix D, so a failure against a chip is the chip's or the transport's."""
    h = bytes.fromhex
    seed, k_enc, k_mac = bac_keys("L898902C<369080619406236")
    check(seed == h("239AB9CB282DAF66231DC5A4DF6BFBAE"), "Appendix D: Kseed")
    check(k_enc == h("AB94FDECF2674FDFB9B391F85D7F76F2"), "Appendix D: KEnc")
    check(k_mac == h("7962D9ECE03D1ACD4C76089DCE131543"), "Appendix D: KMac")
    check(mrz_information("L898902C<3UTO6908061F9406236ZE184226B<<<<<14") == "L898902C<369080619406236",
          "Appendix D: MRZ information")
    rnd_ic, rnd_ifd = h("4608F91988702212"), h("781723860C06C226")
    k_ifd = h("0B795240CB7049B01C19B33E32804F0B")
    cmd = external_authenticate_data(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd)
    check(cmd == h("72C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F2" "5F1448EEA8AD90A7"),
          "Appendix D: EIFD || MIFD")
    answer = h("46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F" "2F2D235D074D7449")
    sm, k_ic = finish_bac(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd, answer)
    check(k_ic == h("0B4F80323EB3191CB04970CB4052790B"), "Appendix D: K.IC")
    check(sm.ks_enc == h("979EC13B1CBFE9DCD01AB0FED307EAE5"), "Appendix D: KSEnc")
    check(sm.ks_mac == h("F1CB1F1FB5ADF208806B89DC579DC1F8"), "Appendix D: KSMac")
    check(sm.ssc == 0x887022120C06C226, "Appendix D: SSC")
    check(sm.protect(0x00, 0xA4, 0x02, 0x0C, h("011E")) == h("0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"),
          "Appendix D: protected SELECT EF.COM")
    check(sm.unprotect(h("990290008E08FA855A5D4C50A8ED9000")) == (b"", 0x9000),
          "Appendix D: SELECT's protected response")
    check(sm.protect(0x00, 0xB0, 0x00, 0x00, le=4) == h("0CB000000D9701048E08ED6705417E96BA5500"),
          "Appendix D: protected READ BINARY")
    data, sw = sm.unprotect(h("8709019FF0EC34F992265199029000" "8E08AD55CC17140B2DED" "9000"))
    check((data, sw) == (h("60145F01"), 0x9000), "Appendix D: READ BINARY's protected response")


# ---------------------------------------------------------------- PC/SC
def connect(reader_name, atr):
    """Waits up to 15 s for the card with `atr` in the reader."""
    deadline, last = time.monotonic() + 15, "no card"
    while time.monotonic() < deadline:
        found = [r for r in readers() if str(r) == reader_name]
        check(found, f"no reader {reader_name!r} (readers: {[str(r) for r in readers()]})")
        connection = found[0].createConnection()
        try:
            connection.connect()
            seen = bytes(connection.getATR())
            if seen == atr:
                return connection
            last = f"another card, ATR {seen.hex().upper()}"
            connection.disconnect()
        except (NoCardException, CardConnectionException) as e:
            last = str(e)
        time.sleep(0.1)
    raise Failure(f"the card with ATR {atr.hex().upper()} did not appear in {reader_name} ({last})")


def transmit(connection, apdu):
    data, sw1, sw2 = connection.transmit(list(apdu))
    return bytes(data) + bytes([sw1, sw2])


def read_file(connection, sm, fid):
    """SELECT by file identifier, then READ BINARY: the first 4 bytes give the TLV's length, the rest follows."""
    data, sw = sm.unprotect(transmit(connection, sm.protect(0x00, 0xA4, 0x02, 0x0C, fid.to_bytes(2, "big"))))
    check(sw == 0x9000, f"SELECT {fid:04X}: status {sw:04X}")
    head, sw = sm.unprotect(transmit(connection, sm.protect(0x00, 0xB0, 0x00, 0x00, le=4)))
    check(sw == 0x9000 and len(head) == 4, f"READ BINARY {fid:04X} at 0: status {sw:04X}, {len(head)} bytes")
    if head[1] < 0x80:
        total = 2 + head[1]
    elif head[1] == 0x81:
        total = 3 + head[2]
    elif head[1] == 0x82:
        total = 4 + int.from_bytes(head[2:4], "big")
    else:
        raise Failure(f"file {fid:04X}: length byte {head[1]:02X}")
    data = head[:total]
    while len(data) < total:
        offset, want = len(data), min(READ_CHUNK, total - len(data))
        piece, sw = sm.unprotect(transmit(connection, sm.protect(0x00, 0xB0, offset >> 8, offset & 0xFF, le=want)))
        check(sw == 0x9000 and piece, f"READ BINARY {fid:04X} at {offset}: status {sw:04X}, {len(piece)} bytes")
        data += piece
    return data[:total]


def main(argv):
    if len(argv) != 5:
        sys.exit(__doc__)
    reader_name, atr, line1, line2 = argv[1], bytes.fromhex(argv[2]), argv[3], argv[4]
    self_test()
    print("self-test: 9303-11 Appendix D ok")

    connection = connect(reader_name, atr)
    print(f"card: ATR {atr.hex().upper()}")
    sw = transmit(connection, b"\x00\xa4\x04\x0c\x07" + AID_EMRTD)
    check(sw == b"\x90\x00", f"SELECT eMRTD application: {sw.hex().upper()}")
    answer = transmit(connection, b"\x00\x84\x00\x00\x08")
    check(len(answer) == 10 and answer[-2:] == b"\x90\x00", f"GET CHALLENGE: {answer[-2:].hex().upper()}")
    rnd_ic = answer[:8]
    _, k_enc, k_mac = bac_keys(mrz_information(line2))
    rnd_ifd, k_ifd = os.urandom(8), os.urandom(16)
    apdu = b"\x00\x82\x00\x00\x28" + external_authenticate_data(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd) + b"\x28"
    answer = transmit(connection, apdu)
    check(answer[-2:] == b"\x90\x00", f"EXTERNAL AUTHENTICATE: {answer[-2:].hex().upper()}")
    sm, _ = finish_bac(k_enc, k_mac, rnd_ic, rnd_ifd, k_ifd, answer[:-2])
    print("bac: ok, 3DES secure messaging")

    com = read_file(connection, sm, EF_COM)
    ((tag, content, _),) = parse_tlvs(com)
    check(tag == 0x60, f"EF.COM is a data object {tag:X}, not 60")
    tag_list = next((v for t, v, _ in parse_tlvs(content) if t == 0x5C), b"")
    print(f"EF.COM: {len(com)} bytes, data group tags {tag_list.hex().upper()}")

    dg1 = read_file(connection, sm, EF_DG1)
    ((tag, content, _),) = parse_tlvs(dg1)
    check(tag == 0x61, f"DG1 is a data object {tag:X}, not 61")
    mrz = next((v for t, v, _ in parse_tlvs(content) if t == 0x5F1F), None)
    check(mrz is not None, "DG1 holds no 5F1F MRZ data object")
    mrz = mrz.decode("ascii")
    check(mrz == line1 + line2, "the MRZ in DG1 is not the MRZ given")
    print(f"DG1: {len(dg1)} bytes, the MRZ matches")
    connection.disconnect()


if __name__ == "__main__":
    try:
        main(sys.argv)
    except Failure as e:
        sys.exit(f"FAILED: {e}")
