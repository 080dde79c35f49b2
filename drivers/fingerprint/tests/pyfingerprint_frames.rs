//! Independent peer: pyfingerprint 1.5's own packet writer and reader against our codec.
//!
//! A small Python script replaces `serial.Serial` with a fake port, drives a few pyfingerprint calls, answers them
//! with acks that *we* encoded (so pyfingerprint's checksum check and field parsing judge our encoder), and prints
//! the bytes pyfingerprint wrote (loadTemplate and deleteTemplate read the system parameters first). We decode those into `Command`s and re-encode them byte for byte.
//!
//! Needs the venv at `.peers/venv` (workspace root). Without it the test is skipped with a message, unless
//! `CI=true`, where it fails.

mod common;

use std::fmt::Write as _;
use std::process::Command as Process;

use khil_fingerprint::{
    Command, ConfirmationCode, Decoded, IndexBitmap, PacketKind, Reply, ZfmCodec, ZfmFrame, decode,
};
use tokio_util::codec::Decoder;

const SCRIPT: &str = r#"
import sys
import serial

class FakeSerial:
    replies = b""

    def __init__(self, *args, **kwargs):
        self.pending = bytearray(FakeSerial.replies)
        self.out = bytearray()
        self.packets = []
        self.writes = 0

    def isOpen(self):
        return False

    def open(self):
        pass

    def close(self):
        pass

    def write(self, data):
        self.writes += 1
        self.out += bytes(data)
        return len(data)

    def read(self, size=1):
        if self.out:
            self.packets.append(bytes(self.out))
            self.out = bytearray()
        if not self.pending:
            raise RuntimeError("fake serial: pyfingerprint read past the canned replies")
        b = bytes(self.pending[:size])
        del self.pending[:size]
        return b

serial.Serial = FakeSerial
from pyfingerprint.pyfingerprint import PyFingerprint

def index(f):
    return [i for i, used in enumerate(f.getTemplateIndex(1)) if used]

calls = {
    "verify": (dict(), lambda f: f.verifyPassword()),
    "verify_addr_pwd": (dict(address=0xAABBCCDD, password=0x12345678), lambda f: f.verifyPassword()),
    "sysparams": (dict(), lambda f: f.getSystemParameters()),
    "load": (dict(), lambda f: f.loadTemplate(5, 1)),
    "search": (dict(), lambda f: f.searchTemplate()),
    "count": (dict(), lambda f: f.getTemplateCount()),
    "index": (dict(), index),
    "delete": (dict(), lambda f: f.deleteTemplate(7, 2)),
}

for line in sys.stdin:
    name, replies = line.split()
    FakeSerial.replies = bytes.fromhex(replies)
    kwargs, call = calls[name]
    f = PyFingerprint(port="/dev/null", **kwargs)
    port = f._PyFingerprint__serial
    result = call(f)
    if port.out:
        port.packets.append(bytes(port.out))
    sent = sum(len(p) for p in port.packets)
    print(name, repr(result).replace(" ", ""), ",".join(p.hex() for p in port.packets), port.writes, sent, len(port.pending))
"#;

fn ack(address: u32, reply: &Reply) -> String {
    let frame = ZfmFrame { address, kind: PacketKind::Ack, payload: reply.to_payload() };
    frame.encode().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

struct Scenario {
    name: &'static str,
    replies: Vec<Reply>,
    address: u32,
    expect_commands: Vec<Command>,
    expect_result: &'static str,
}

fn sample_bitmap() -> IndexBitmap {
    let mut bitmap = IndexBitmap([0; 32]);
    for n in [0, 3, 8, 200, 255] {
        bitmap.set(n);
    }
    bitmap
}

fn scenarios() -> Vec<Scenario> {
    let ok = ConfirmationCode::Ok;
    let params = common::sample_params();
    let bitmap = sample_bitmap();
    vec![
        Scenario {
            name: "verify",
            replies: vec![Reply::Status(ok)],
            address: 0xFFFF_FFFF,
            expect_commands: vec![Command::VfyPwd(0)],
            expect_result: "True",
        },
        Scenario {
            name: "verify_addr_pwd",
            replies: vec![Reply::Status(ConfirmationCode::WrongPassword)],
            address: 0xAABB_CCDD,
            expect_commands: vec![Command::VfyPwd(0x1234_5678)],
            expect_result: "False",
        },
        Scenario {
            name: "sysparams",
            replies: vec![Reply::SystemParameters { cc: ok, params }],
            address: 0xFFFF_FFFF,
            expect_commands: vec![Command::ReadSysPara],
            expect_result: "(4,9,200,3,4294967295,2,6)",
        },
        Scenario {
            name: "load",
            replies: vec![Reply::SystemParameters { cc: ok, params }, Reply::Status(ok)],
            address: 0xFFFF_FFFF,
            expect_commands: vec![Command::ReadSysPara, Command::LoadChar { buffer: 1, page: 5 }],
            expect_result: "True",
        },
        Scenario {
            name: "search",
            replies: vec![Reply::SystemParameters { cc: ok, params }, Reply::Search { cc: ok, page: 3, score: 77 }],
            address: 0xFFFF_FFFF,
            expect_commands: vec![Command::ReadSysPara, Command::Search { buffer: 1, start: 0, count: 200 }],
            expect_result: "(3,77)",
        },
        Scenario {
            name: "count",
            replies: vec![Reply::TemplateNum { cc: ok, count: 17 }],
            address: 0xFFFF_FFFF,
            expect_commands: vec![Command::TemplateNum],
            expect_result: "17",
        },
        Scenario {
            name: "index",
            replies: vec![Reply::IndexTable { cc: ok, bitmap }],
            address: 0xFFFF_FFFF,
            expect_commands: vec![Command::ReadIndexTable { page: 1 }],
            expect_result: "[0,3,8,200,255]",
        },
        Scenario {
            name: "delete",
            replies: vec![Reply::SystemParameters { cc: ok, params }, Reply::Status(ok)],
            address: 0xFFFF_FFFF,
            expect_commands: vec![Command::ReadSysPara, Command::DeleteChar { page: 7, count: 2 }],
            expect_result: "True",
        },
    ]
}

#[test]
fn pyfingerprint_frames_match_ours() {
    let Some(python) = khil_test_support::python_with("pyfingerprint.pyfingerprint") else { return };

    let bitmap = sample_bitmap();
    // Our bitmap helper agrees with what pyfingerprint reads from the same bytes (page 1 = slots 256..).
    assert_eq!(bitmap.slots(1), vec![256, 259, 264, 456, 511]);

    let scenarios = scenarios();
    let mut input = String::new();
    for s in &scenarios {
        let replies: String = s.replies.iter().map(|r| ack(s.address, r)).collect();
        let _ = writeln!(input, "{} {replies}", s.name);
    }
    let mut command = Process::new(&python);
    command.arg("-c").arg(SCRIPT);
    let lines = khil_test_support::pipe_lines(command, &input);
    let stdout = lines.join("\n");
    assert_eq!(lines.len(), scenarios.len(), "{stdout}");
    for (s, line) in scenarios.iter().zip(lines) {
        let fields: Vec<&str> = line.split(' ').collect();
        let [name, result, packets, writes, sent, left] = fields[..] else { panic!("bad line {line}") };
        assert_eq!(name, s.name);
        assert_eq!(result, s.expect_result, "{name}: pyfingerprint's reading of our ack(s)");
        assert_eq!(left, "0", "{name}: pyfingerprint left reply bytes unread");
        assert_eq!(writes, sent, "{name}: pyfingerprint writes one byte per write()");

        let packets: Vec<Vec<u8>> = packets.split(',').map(common::hex).collect();
        assert_eq!(packets.len(), s.expect_commands.len(), "{name}");
        for (wire, expected) in packets.iter().zip(&s.expect_commands) {
            // Byte-by-byte through the codec, as a device would receive pyfingerprint's one-byte writes.
            let mut codec = ZfmCodec::new();
            let mut buf = bytes::BytesMut::new();
            let mut frames = Vec::new();
            for &b in wire {
                buf.extend_from_slice(&[b]);
                frames.extend(codec.decode(&mut buf).unwrap());
            }
            assert_eq!(frames.len(), 1, "{name}: {wire:02X?}");
            assert_eq!(codec.skipped().bytes, 0);
            let frame = &frames[0];
            assert_eq!((frame.address, frame.kind), (s.address, PacketKind::Command), "{name}");
            assert_eq!(&Command::from_payload(&frame.payload).unwrap(), expected, "{name}");

            let ours = ZfmFrame { address: s.address, kind: PacketKind::Command, payload: expected.to_payload() };
            assert_eq!(&ours.encode(), wire, "{name}: our encoding of {expected:?}");
            assert_eq!(decode(wire), Decoded::Frame { frame: ours, consumed: wire.len() });
        }
    }
}
