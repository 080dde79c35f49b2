//! An independent peer for PACE and AES secure messaging, which no published worked example covers beyond
//! AES-128 on brainpoolP256r1: a chip written in Python from 9303-11 alone (pycryptodome's AES, 3DES, CMAC and
//! P-256 arithmetic, hashlib for the KDF; its own random nonce and keys) answers our terminal over a pipe, one
//! APDU in hex per line. Every protocol on P-256 (pycryptodome has no Brainpool curves), then protected
//! SELECT and READ BINARY through the session, short and extended.
//!
//! Skipped with a printed reason when the peer venv is missing (fails under CI=true).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command as Process, Stdio};

use khil_apdu::{Command, Response, StatusWord};
use khil_mrtd::pace::{PaceCurve, PaceError, PaceParams, PaceProtocol, PaceSecrets, PaceStep, PaceTerminal, Password};
use sha2::{Digest, Sha256};

const CHIP: &str = r#"
import sys, hashlib, os
from Crypto.Cipher import AES, DES3, DES
from Crypto.Hash import CMAC
from Crypto.PublicKey import ECC

cipher_name, mrz = sys.argv[1], sys.argv[2].encode()
KEYLEN = {"3DES": 16, "AES128": 16, "AES192": 24, "AES256": 32}[cipher_name]
BLOCK = 8 if cipher_name == "3DES" else 16
OID = bytes.fromhex("04007F000702020402") + bytes([{"3DES": 1, "AES128": 2, "AES192": 3, "AES256": 4}[cipher_name]])
EF_COM = bytes.fromhex("60145F0104303130365F36063034303030305C026175") + bytes(range(256)) * 2

def kdf(secret, counter):
    h = hashlib.sha256 if cipher_name in ("AES192", "AES256") else hashlib.sha1
    k = h(secret + counter.to_bytes(4, "big")).digest()[:KEYLEN]
    if cipher_name == "3DES":
        k = bytes((b & 0xFE) | (bin(b & 0xFE).count("1") % 2 == 0) for b in k)
    return k

def pad(d):
    d = d + b"\x80"
    return d + b"\x00" * (-len(d) % BLOCK)

def unpad(d):
    d = d.rstrip(b"\x00")
    assert d[-1] == 0x80
    return d[:-1]

def enc(k, iv, d):
    return (DES3.new(k, DES3.MODE_CBC, iv) if cipher_name == "3DES" else AES.new(k, AES.MODE_CBC, iv)).encrypt(d)

def dec(k, iv, d):
    return (DES3.new(k, DES3.MODE_CBC, iv) if cipher_name == "3DES" else AES.new(k, AES.MODE_CBC, iv)).decrypt(d)

def mac(k, padded):
    # padded: already ISO 9797-1 method 2 padded.
    if cipher_name == "3DES":
        h = DES.new(k[:8], DES.MODE_CBC, bytes(8)).encrypt(padded)[-8:]
        return DES.new(k[:8], DES.MODE_ECB).encrypt(DES.new(k[8:], DES.MODE_ECB).decrypt(h))
    return CMAC.new(k, padded, ciphermod=AES).digest()[:8]

def token_mac(k, data):
    return mac(k, pad(data)) if cipher_name == "3DES" else CMAC.new(k, data, ciphermod=AES).digest()[:8]

def tlv(tag, value):
    n = len(value)
    length = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else bytes([0x82]) + n.to_bytes(2, "big"))
    return tag + length + value

def parse(data):
    out, i = [], 0
    while i < len(data):
        tag = data[i]; i += 1
        n = data[i]; i += 1
        if n & 0x80:
            c = n & 0x7F; n = int.from_bytes(data[i:i + c], "big"); i += c
        out.append((tag, data[i:i + n])); i += n
    return out

curve_g = ECC.EccKey(curve="P-256", d=1).pointQ
order = int(ECC._curves["P-256"].order)
def point_bytes(p):
    return b"\x04" + int(p.x).to_bytes(32, "big") + int(p.y).to_bytes(32, "big")
def point(b):
    return ECC.EccPoint(int.from_bytes(b[1:33], "big"), int.from_bytes(b[33:], "big"), curve="P-256")
def rand_scalar():
    return int.from_bytes(os.urandom(32), "big") % (order - 1) + 1

kpi = kdf(hashlib.sha1(mrz).digest(), 3)
s = os.urandom(16)
sk_map, sk = rand_scalar(), rand_scalar()
state, ks_enc, ks_mac, ssc = "idle", None, None, 0

def sm_iv():
    return bytes(8) if cipher_name == "3DES" else AES.new(ks_enc, AES.MODE_ECB).encrypt(ssc.to_bytes(16, "big"))

def ssc_bytes():
    return ssc.to_bytes(BLOCK, "big")

def answer(apdu):
    global state, generator, pk_ifd, pk_ic, ks_enc, ks_mac, ssc
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if state != "sm":
        data = body[1:1 + body[0]] if body else b""
        if ins == 0x22:
            fields = dict(parse(data))
            assert fields[0x80] == OID and fields[0x83] == b"\x01" and fields[0x84] == b"\x0c", fields
            state = "set"
            return b"\x90\x00"
        inner = dict(parse(parse(data)[0][1])) if data[1:2] != b"\x00" else {}
        if state == "set":
            state = "nonce"
            return tlv(b"\x7c", tlv(b"\x80", enc(kpi, bytes(BLOCK), s))) + b"\x90\x00"
        if state == "nonce":
            h = point(inner[0x81]) * sk_map
            generator = curve_g * int.from_bytes(s, "big") + h
            state = "map"
            return tlv(b"\x7c", tlv(b"\x82", point_bytes(curve_g * sk_map))) + b"\x90\x00"
        if state == "map":
            pk_ifd = inner[0x83]
            pk_ic = point_bytes(generator * sk)
            k = int((point(pk_ifd) * sk).x).to_bytes(32, "big")
            ks_enc, ks_mac = kdf(k, 1), kdf(k, 2)
            state = "agreed"
            return tlv(b"\x7c", tlv(b"\x84", pk_ic)) + b"\x90\x00"
        if state == "agreed":
            def t(pk):
                return token_mac(ks_mac, tlv(b"\x7f\x49", tlv(b"\x06", OID) + tlv(b"\x86", pk)))
            if inner[0x85] != t(pk_ic):
                state = "idle"
                return b"\x63\x00"
            state = "sm"
            return tlv(b"\x7c", tlv(b"\x86", t(pk_ifd))) + b"\x90\x00"
    # Secure messaging: short or extended Lc, Le 00 / 0000.
    if body[0] == 0 and len(body) > 3:
        data = body[3:3 + int.from_bytes(body[1:3], "big")]
    else:
        data = body[1:1 + body[0]]
    ssc += 1
    objects = parse(data)
    macced = data[:data.index(b"\x8e\x08")]
    assert mac(ks_mac, pad(ssc_bytes() + pad(apdu[:4]) + macced)) == dict(objects)[0x8E], "command MAC"
    fields = dict(objects)
    plain = unpad(dec(ks_enc, sm_iv(), fields[0x87][1:])) if 0x87 in fields else b""
    le = fields.get(0x97)
    ne = None if le is None else (int.from_bytes(le, "big") or (256 if len(le) == 1 else 65536))
    if ins == 0xA4:
        reply, sw = b"", b"\x90\x00" if plain == b"\x01\x1e" else b"\x6a\x82"
    elif ins == 0xB0:
        offset = p1 << 8 | p2
        reply, sw = EF_COM[offset:offset + ne], b"\x90\x00"
        if offset + ne > len(EF_COM):
            sw = b"\x62\x82"
    ssc += 1
    do87 = tlv(b"\x87", b"\x01" + enc(ks_enc, sm_iv(), pad(reply))) if reply else b""
    do99 = tlv(b"\x99", sw)
    return do87 + do99 + tlv(b"\x8e", mac(ks_mac, pad(ssc_bytes() + do87 + do99))) + sw

print("ready", flush=True)
for line in sys.stdin:
    try:
        print(answer(bytes.fromhex(line.strip())).hex(), flush=True)
    except Exception as e:
        print("6f00", flush=True)
        print(repr(e), file=sys.stderr, flush=True)
"#;

const MRZ_INFORMATION: &str = "T22000129364081251010318";

struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn start(python: &std::path::Path, cipher: &str) -> Peer {
        let mut child = Process::new(python)
            .args(["-c", CHIP, cipher, MRZ_INFORMATION])
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the peer Python starts");
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready");
        Peer { child, stdin, stdout }
    }

    fn transmit(&mut self, command: &Command) -> Response {
        let hex: String = command.encode().iter().fold(String::new(), |s, b| s + &format!("{b:02X}"));
        writeln!(self.stdin, "{hex}").unwrap();
        let mut line = String::new();
        self.stdout.read_line(&mut line).unwrap();
        let line = line.trim();
        let bytes: Vec<u8> =
            (0..line.len()).step_by(2).map(|i| u8::from_str_radix(&line[i..i + 2], 16).unwrap()).collect();
        Response::parse(&bytes).unwrap()
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn key(label: &str) -> Vec<u8> {
    Sha256::digest(label).to_vec()
}

fn pace(peer: &mut Peer, protocol: PaceProtocol, password: &str) -> Result<khil_mrtd::sm::SecureMessaging, PaceError> {
    let params = PaceParams { protocol, curve: PaceCurve::P256 };
    let secrets = PaceSecrets {
        map_private_key: key(&format!("map {protocol}")),
        ephemeral_private_key: key(&format!("ephemeral {protocol}")),
        nonce: Vec::new(),
    };
    let mut terminal = PaceTerminal::new(params, Password::Mrz(password.into()), secrets);
    let mut command = terminal.start();
    loop {
        match terminal.answer(&peer.transmit(&command))? {
            PaceStep::Send(next) => command = next,
            PaceStep::Established(sm) => return Ok(sm),
        }
    }
}

#[test]
fn our_terminal_against_an_independent_python_chip() {
    let Some(python) = khil_test_support::python_with("Crypto.PublicKey.ECC") else { return };
    let ef_com = hex_bytes("60145F0104303130365F36063034303030305C026175");
    for (protocol, name) in [
        (PaceProtocol::EcdhGm3Des, "3DES"),
        (PaceProtocol::EcdhGmAes128, "AES128"),
        (PaceProtocol::EcdhGmAes192, "AES192"),
        (PaceProtocol::EcdhGmAes256, "AES256"),
    ] {
        let mut peer = Peer::start(&python, name);
        let mut sm = pace(&mut peer, protocol, MRZ_INFORMATION).unwrap_or_else(|e| panic!("{protocol}: {e}"));
        let select = Command::new(0x00, 0xA4, 0x02, 0x0C).with_data(vec![0x01, 0x1E]).unwrap();
        let answer = exchange(&mut peer, &mut sm, &select);
        assert_eq!(answer.sw, StatusWord::SUCCESS, "{protocol}: SELECT EF.COM");
        let read = Command::new(0x00, 0xB0, 0x00, 0x00).with_ne(ef_com.len()).unwrap();
        let answer = exchange(&mut peer, &mut sm, &read);
        assert_eq!(answer.data(), ef_com, "{protocol}: READ BINARY");
        // Extended: Ne 300 from offset 0 (DO97 of two bytes, Le 0000).
        let read = Command::new(0x00, 0xB0, 0x00, 0x00).with_ne(300).unwrap();
        let answer = exchange(&mut peer, &mut sm, &read);
        assert_eq!(answer.data().len(), 300, "{protocol}: extended READ BINARY");
        assert_eq!(&answer.data()[..ef_com.len()], ef_com);
    }
}

#[test]
fn a_wrong_password_is_refused_by_the_python_chip() {
    let Some(python) = khil_test_support::python_with("Crypto.PublicKey.ECC") else { return };
    let mut peer = Peer::start(&python, "AES256");
    let err = pace(&mut peer, PaceProtocol::EcdhGmAes256, "T22000129364081251010319").unwrap_err();
    assert!(matches!(err, PaceError::ChipRefused { sw: StatusWord(0x6300), .. }), "{err}");
}

fn exchange(peer: &mut Peer, sm: &mut khil_mrtd::sm::SecureMessaging, command: &Command) -> Response {
    let protected = sm.protect(command).unwrap();
    sm.unprotect(&peer.transmit(&protected)).unwrap()
}

fn hex_bytes(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}
