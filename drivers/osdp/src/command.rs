//! Commands (CP to PD): the code and data of a command frame, typed. Multi-byte fields are little-endian.
//!
//! [`Command::parse`] takes a code and its data and answers the typed command, [`Command::Unknown`] for codes
//! without a variant, or a [`PayloadError`] naming the command, the length it expected and the length it found.
//! Whatever parses re-encodes byte for byte with [`Command::to_data`].

use std::fmt;

/// Declares an opcode module's codes: one `pub const` per code, `KNOWN` (every code, in this order) and `name`
/// (the constant's name), from one list.
macro_rules! opcodes {
    ($ty:ident; $($name:ident = $code:literal,)*) => {
        $(pub const $name: u8 = $code;)*

        #[doc = concat!("Every code that has its own [`", stringify!($ty), "`](super::", stringify!($ty), ") variant.")]
        pub const KNOWN: [u8; [$($name),*].len()] = [$($name),*];

        /// The name (osdp_ prefix dropped), `None` for codes without a variant.
        pub const fn name(code: u8) -> Option<&'static str> {
            Some(match code {
                $($name => stringify!($name),)*
                _ => return None,
            })
        }
    };
}
pub(crate) use opcodes;

/// Command codes, as in the reference table.
pub mod opcode {
    #![allow(missing_docs)]

    super::opcodes! { Command;
        POLL = 0x60,
        ID = 0x61,
        CAP = 0x62,
        LSTAT = 0x64,
        ISTAT = 0x65,
        OSTAT = 0x66,
        RSTAT = 0x67,
        OUT = 0x68,
        LED = 0x69,
        BUZ = 0x6A,
        TEXT = 0x6B,
        COMSET = 0x6E,
        BIOREAD = 0x73,
        BIOMATCH = 0x74,
        KEYSET = 0x75,
        CHLNG = 0x76,
        SCRYPT = 0x77,
        ACURXSIZE = 0x7B,
        FILETRANSFER = 0x7C,
        MFG = 0x80,
        ABORT = 0xA2,
        KEEPACTIVE = 0xA7,
    }
}

/// The data length a command or reply calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Expected {
    /// Exactly this many bytes (for payloads with a length field, the length the field implies).
    Exactly(usize),
    /// At least this many.
    AtLeast(usize),
    /// A multiple of this record size (zero records allowed).
    MultipleOf(usize),
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expected::Exactly(n) => write!(f, "{n} bytes"),
            Expected::AtLeast(n) => write!(f, "at least {n} bytes"),
            Expected::MultipleOf(n) => write!(f, "a multiple of {n} bytes"),
        }
    }
}

/// Data that is not what its command (or reply) calls for, or a payload too long for its length field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// The data has the wrong length.
    #[error("{name} ({code:02X}) data: expected {expected}, found {found} bytes")]
    WrongLength {
        /// Command or reply name.
        name: &'static str,
        /// Command or reply code.
        code: u8,
        /// What the code calls for.
        expected: Expected,
        /// The data length.
        found: usize,
    },
    /// A variable-length field is too long for its length field (when encoding).
    #[error("{name} ({code:02X}) {field}: expected at most {max} bytes, found {found}")]
    TooLong {
        /// Command or reply name.
        name: &'static str,
        /// Command or reply code.
        code: u8,
        /// The field.
        field: &'static str,
        /// Its largest length.
        max: usize,
        /// Its length.
        found: usize,
    },
}

// Little-endian readers over data whose length has been checked.
pub(crate) fn u16_at(p: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([p[i], p[i + 1]])
}

pub(crate) fn u32_at(p: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]])
}

pub(crate) fn array_at<const N: usize>(p: &[u8], i: usize) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(&p[i..i + N]);
    a
}

/// Checks a data length against what the code calls for.
pub(crate) fn check_len(name: &'static str, code: u8, data: &[u8], expected: Expected) -> Result<(), PayloadError> {
    let ok = match expected {
        Expected::Exactly(n) => data.len() == n,
        Expected::AtLeast(n) => data.len() >= n,
        Expected::MultipleOf(n) => data.len().is_multiple_of(n),
    };
    if ok { Ok(()) } else { Err(PayloadError::WrongLength { name, code, expected, found: data.len() }) }
}

/// Checks that a variable-length field fits its length field.
pub(crate) fn check_fits(
    name: &'static str,
    code: u8,
    field: &'static str,
    len: usize,
    max: usize,
) -> Result<(), PayloadError> {
    if len > max { Err(PayloadError::TooLong { name, code, field, max, found: len }) } else { Ok(()) }
}

/// `len` bytes of hidden content, for Debug.
pub(crate) struct Hidden(pub(crate) usize);

impl fmt::Debug for Hidden {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// OUT control codes (the `control` of an [`OutputControl`]).
pub mod output_control {
    #![allow(missing_docs)]
    pub const NOP: u8 = 0;
    pub const PERMANENT_OFF_ABORT_TIMED: u8 = 1;
    pub const PERMANENT_ON_ABORT_TIMED: u8 = 2;
    pub const PERMANENT_OFF_ALLOW_TIMED: u8 = 3;
    pub const PERMANENT_ON_ALLOW_TIMED: u8 = 4;
    pub const TEMPORARY_ON: u8 = 5;
    pub const TEMPORARY_OFF: u8 = 6;
}

/// LED colours.
pub mod colour {
    #![allow(missing_docs)]
    pub const BLACK: u8 = 0;
    pub const RED: u8 = 1;
    pub const GREEN: u8 = 2;
    pub const AMBER: u8 = 3;
    pub const BLUE: u8 = 4;
    pub const MAGENTA: u8 = 5;
    pub const CYAN: u8 = 6;
    pub const WHITE: u8 = 7;
}

/// One OUT record (4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutputControl {
    /// Output number (0 = first).
    pub output: u8,
    /// Control code 0-6 (see [`output_control`]).
    pub control: u8,
    /// Timer for temporary codes, in 100 ms units.
    pub timer: u16,
}

impl OutputControl {
    /// Bytes on the wire.
    pub const LEN: usize = 4;
}

/// The temporary half of a LED record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LedTemporary {
    /// 0 no change, 1 cancel the temporary state, 2 set it and start the timer.
    pub control: u8,
    /// On time, 100 ms units.
    pub on_time: u8,
    /// Off time, 100 ms units.
    pub off_time: u8,
    /// Colour while on (see [`colour`]).
    pub on_colour: u8,
    /// Colour while off.
    pub off_colour: u8,
    /// How long the temporary state lasts, 100 ms units.
    pub timer: u16,
}

/// The permanent half of a LED record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LedPermanent {
    /// 0 no change, 1 set.
    pub control: u8,
    /// On time, 100 ms units.
    pub on_time: u8,
    /// Off time, 100 ms units.
    pub off_time: u8,
    /// Colour while on.
    pub on_colour: u8,
    /// Colour while off.
    pub off_colour: u8,
}

/// One LED record (14 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LedControl {
    /// Reader number.
    pub reader: u8,
    /// LED number.
    pub led: u8,
    /// Temporary state.
    pub temporary: LedTemporary,
    /// Permanent state.
    pub permanent: LedPermanent,
}

impl LedControl {
    /// Bytes on the wire.
    pub const LEN: usize = 14;

    fn parse(p: &[u8]) -> LedControl {
        LedControl {
            reader: p[0],
            led: p[1],
            temporary: LedTemporary {
                control: p[2],
                on_time: p[3],
                off_time: p[4],
                on_colour: p[5],
                off_colour: p[6],
                timer: u16_at(p, 7),
            },
            permanent: LedPermanent {
                control: p[9],
                on_time: p[10],
                off_time: p[11],
                on_colour: p[12],
                off_colour: p[13],
            },
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        let t = &self.temporary;
        let p = &self.permanent;
        out.extend_from_slice(&[self.reader, self.led, t.control, t.on_time, t.off_time, t.on_colour, t.off_colour]);
        out.extend_from_slice(&t.timer.to_le_bytes());
        out.extend_from_slice(&[p.control, p.on_time, p.off_time, p.on_colour, p.off_colour]);
    }
}

/// BUZ data (5 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Buzzer {
    /// Reader number.
    pub reader: u8,
    /// Tone: 0 none, 1 off, 2 default tone.
    pub tone: u8,
    /// On time, 100 ms units.
    pub on_time: u8,
    /// Off time, 100 ms units.
    pub off_time: u8,
    /// Repetitions (0 = until told otherwise).
    pub count: u8,
}

/// TEXT data: 6 bytes and the characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Text {
    /// Reader number.
    pub reader: u8,
    /// Control code 1-4 (permanent/temporary, with or without wrap).
    pub control: u8,
    /// Temporary text time, seconds.
    pub temp_time: u8,
    /// Row (1 = first).
    pub row: u8,
    /// Column (1 = first).
    pub column: u8,
    /// The characters (at most 255).
    pub text: Vec<u8>,
}

/// BIOREAD data (4 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BioRead {
    /// Reader number.
    pub reader: u8,
    /// Biometric type (0 default, 1 right thumb, ...).
    pub kind: u8,
    /// Format (0 default, 1 raw PGM, 2 ANSI/INCITS 378).
    pub format: u8,
    /// Quality wanted.
    pub quality: u8,
}

/// BIOMATCH data: 6 bytes and the template. Debug does not print the template.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BioMatch {
    /// Reader number.
    pub reader: u8,
    /// Biometric type.
    pub kind: u8,
    /// Template format.
    pub format: u8,
    /// Match threshold.
    pub quality: u8,
    /// The template (at most 65535 bytes).
    pub template: Vec<u8>,
}

impl fmt::Debug for BioMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BioMatch")
            .field("reader", &self.reader)
            .field("kind", &self.kind)
            .field("format", &self.format)
            .field("quality", &self.quality)
            .field("template", &Hidden(self.template.len()))
            .finish()
    }
}

/// KEYSET data: key type, length, key. Debug does not print the key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeySet {
    /// Key type (1 = secure channel base key).
    pub key_type: u8,
    /// The key (16 bytes for an SCBK; at most 255).
    pub key: Vec<u8>,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeySet").field("key_type", &self.key_type).field("key", &Hidden(self.key.len())).finish()
    }
}

/// FILETRANSFER data: 11 bytes and a fragment. Debug prints the fragment's length only.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct FileTransfer {
    /// File type.
    pub kind: u8,
    /// Total file size.
    pub total: u32,
    /// Offset of this fragment.
    pub offset: u32,
    /// The fragment (at most 65535 bytes).
    pub fragment: Vec<u8>,
}

impl fmt::Debug for FileTransfer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileTransfer")
            .field("kind", &self.kind)
            .field("total", &self.total)
            .field("offset", &self.offset)
            .field("fragment", &Hidden(self.fragment.len()))
            .finish()
    }
}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// 60: anything to report?
    Poll,
    /// 61: report the ID (PDID); the byte is 00.
    Id {
        /// The ID report type (00).
        kind: u8,
    },
    /// 62: report capabilities (PDCAP); the byte is 00.
    Cap {
        /// The capabilities report type (00).
        kind: u8,
    },
    /// 64: local status (tamper, power).
    LStat,
    /// 65: input status.
    IStat,
    /// 66: output status.
    OStat,
    /// 67: reader status.
    RStat,
    /// 68: set outputs.
    Out(Vec<OutputControl>),
    /// 69: set LEDs.
    Led(Vec<LedControl>),
    /// 6A: buzzer.
    Buz(Buzzer),
    /// 6B: text output.
    Text(Text),
    /// 6E: change address and baud rate (the PD answers COM, then switches).
    ComSet {
        /// New address.
        address: u8,
        /// New baud rate.
        baud: u32,
    },
    /// 73: scan a biometric and send it.
    BioRead(BioRead),
    /// 74: scan and match against a template.
    BioMatch(BioMatch),
    /// 75: set a key.
    KeySet(KeySet),
    /// 76: start the secure channel handshake.
    Chlng {
        /// RND.A.
        rnd_a: [u8; 8],
    },
    /// 77: the server cryptogram.
    Scrypt {
        /// Server cryptogram.
        cryptogram: [u8; 16],
    },
    /// 7B: the largest reply the CP accepts.
    AcuRxSize {
        /// Bytes.
        size: u16,
    },
    /// 7C: a file fragment.
    FileTransfer(FileTransfer),
    /// 80: manufacturer specific.
    Mfg {
        /// The manufacturer's OUI.
        oui: [u8; 3],
        /// Whatever follows.
        data: Vec<u8>,
    },
    /// A2: abort the current operation.
    Abort,
    /// A7: keep the reader active.
    KeepActive {
        /// Milliseconds.
        time_ms: u16,
    },
    /// Any other code, data kept verbatim. `code` is never one of [`opcode::KNOWN`] when produced by
    /// [`Command::parse`].
    Unknown {
        /// The code.
        code: u8,
        /// The data.
        data: Vec<u8>,
    },
}

impl Command {
    /// The command code.
    pub fn code(&self) -> u8 {
        use opcode as op;
        match self {
            Command::Poll => op::POLL,
            Command::Id { .. } => op::ID,
            Command::Cap { .. } => op::CAP,
            Command::LStat => op::LSTAT,
            Command::IStat => op::ISTAT,
            Command::OStat => op::OSTAT,
            Command::RStat => op::RSTAT,
            Command::Out(_) => op::OUT,
            Command::Led(_) => op::LED,
            Command::Buz(_) => op::BUZ,
            Command::Text(_) => op::TEXT,
            Command::ComSet { .. } => op::COMSET,
            Command::BioRead(_) => op::BIOREAD,
            Command::BioMatch(_) => op::BIOMATCH,
            Command::KeySet(_) => op::KEYSET,
            Command::Chlng { .. } => op::CHLNG,
            Command::Scrypt { .. } => op::SCRYPT,
            Command::AcuRxSize { .. } => op::ACURXSIZE,
            Command::FileTransfer(_) => op::FILETRANSFER,
            Command::Mfg { .. } => op::MFG,
            Command::Abort => op::ABORT,
            Command::KeepActive { .. } => op::KEEPACTIVE,
            Command::Unknown { code, .. } => *code,
        }
    }

    /// The command's name ("Unknown" for [`Command::Unknown`]).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Unknown { .. } => "Unknown",
            other => opcode::name(other.code()).unwrap_or("Unknown"),
        }
    }

    /// The data length a known command code calls for (`None` for unknown codes). Payloads with a length field
    /// are reported by their fixed part (`AtLeast`); [`Command::parse`] checks the rest.
    pub fn expected_len(code: u8) -> Option<Expected> {
        use opcode as op;
        Some(match code {
            op::POLL | op::LSTAT | op::ISTAT | op::OSTAT | op::RSTAT | op::ABORT => Expected::Exactly(0),
            op::ID | op::CAP => Expected::Exactly(1),
            op::OUT => Expected::MultipleOf(OutputControl::LEN),
            op::LED => Expected::MultipleOf(LedControl::LEN),
            op::BUZ | op::COMSET => Expected::Exactly(5),
            op::TEXT | op::BIOMATCH => Expected::AtLeast(6),
            op::BIOREAD => Expected::Exactly(4),
            op::KEYSET => Expected::AtLeast(2),
            op::CHLNG => Expected::Exactly(8),
            op::SCRYPT => Expected::Exactly(16),
            op::ACURXSIZE | op::KEEPACTIVE => Expected::Exactly(2),
            op::FILETRANSFER => Expected::AtLeast(11),
            op::MFG => Expected::AtLeast(3),
            _ => return None,
        })
    }

    /// Parses the data of a command frame with code `code`.
    pub fn parse(code: u8, data: &[u8]) -> Result<Command, PayloadError> {
        use opcode as op;
        let Some(expected) = Command::expected_len(code) else {
            return Ok(Command::Unknown { code, data: data.to_vec() });
        };
        let name = opcode::name(code).unwrap_or("Unknown");
        check_len(name, code, data, expected)?;
        let p = data;
        // Payloads whose length is in a field: the fixed part is there, now the whole.
        let exact = |len: usize| check_len(name, code, data, Expected::Exactly(len));
        Ok(match code {
            op::POLL => Command::Poll,
            op::ID => Command::Id { kind: p[0] },
            op::CAP => Command::Cap { kind: p[0] },
            op::LSTAT => Command::LStat,
            op::ISTAT => Command::IStat,
            op::OSTAT => Command::OStat,
            op::RSTAT => Command::RStat,
            op::OUT => Command::Out(
                p.chunks_exact(OutputControl::LEN)
                    .map(|r| OutputControl { output: r[0], control: r[1], timer: u16_at(r, 2) })
                    .collect(),
            ),
            op::LED => Command::Led(p.chunks_exact(LedControl::LEN).map(LedControl::parse).collect()),
            op::BUZ => Command::Buz(Buzzer { reader: p[0], tone: p[1], on_time: p[2], off_time: p[3], count: p[4] }),
            op::TEXT => {
                exact(6 + usize::from(p[5]))?;
                Command::Text(Text {
                    reader: p[0],
                    control: p[1],
                    temp_time: p[2],
                    row: p[3],
                    column: p[4],
                    text: p[6..].to_vec(),
                })
            }
            op::COMSET => Command::ComSet { address: p[0], baud: u32_at(p, 1) },
            op::BIOREAD => Command::BioRead(BioRead { reader: p[0], kind: p[1], format: p[2], quality: p[3] }),
            op::BIOMATCH => {
                exact(6 + usize::from(u16_at(p, 4)))?;
                Command::BioMatch(BioMatch {
                    reader: p[0],
                    kind: p[1],
                    format: p[2],
                    quality: p[3],
                    template: p[6..].to_vec(),
                })
            }
            op::KEYSET => {
                exact(2 + usize::from(p[1]))?;
                Command::KeySet(KeySet { key_type: p[0], key: p[2..].to_vec() })
            }
            op::CHLNG => Command::Chlng { rnd_a: array_at(p, 0) },
            op::SCRYPT => Command::Scrypt { cryptogram: array_at(p, 0) },
            op::ACURXSIZE => Command::AcuRxSize { size: u16_at(p, 0) },
            op::FILETRANSFER => {
                exact(11 + usize::from(u16_at(p, 9)))?;
                Command::FileTransfer(FileTransfer {
                    kind: p[0],
                    total: u32_at(p, 1),
                    offset: u32_at(p, 5),
                    fragment: p[11..].to_vec(),
                })
            }
            op::MFG => Command::Mfg { oui: array_at(p, 0), data: p[3..].to_vec() },
            op::ABORT => Command::Abort,
            op::KEEPACTIVE => Command::KeepActive { time_ms: u16_at(p, 0) },
            _ => unreachable!("expected_len knows exactly the codes matched here"),
        })
    }

    /// The data of the command frame, or an error if a variable-length field is too long for its length field.
    pub fn try_to_data(&self) -> Result<Vec<u8>, PayloadError> {
        let name = self.name();
        let code = self.code();
        let mut p = Vec::new();
        match self {
            Command::Poll | Command::LStat | Command::IStat | Command::OStat | Command::RStat | Command::Abort => {}
            Command::Id { kind } | Command::Cap { kind } => p.push(*kind),
            Command::Out(records) => {
                for r in records {
                    p.extend_from_slice(&[r.output, r.control]);
                    p.extend_from_slice(&r.timer.to_le_bytes());
                }
            }
            Command::Led(records) => records.iter().for_each(|r| r.write(&mut p)),
            Command::Buz(b) => p.extend_from_slice(&[b.reader, b.tone, b.on_time, b.off_time, b.count]),
            Command::Text(t) => {
                check_fits(name, code, "text", t.text.len(), usize::from(u8::MAX))?;
                p.extend_from_slice(&[t.reader, t.control, t.temp_time, t.row, t.column, t.text.len() as u8]);
                p.extend_from_slice(&t.text);
            }
            Command::ComSet { address, baud } => {
                p.push(*address);
                p.extend_from_slice(&baud.to_le_bytes());
            }
            Command::BioRead(b) => p.extend_from_slice(&[b.reader, b.kind, b.format, b.quality]),
            Command::BioMatch(b) => {
                check_fits(name, code, "template", b.template.len(), usize::from(u16::MAX))?;
                p.extend_from_slice(&[b.reader, b.kind, b.format, b.quality]);
                p.extend_from_slice(&(b.template.len() as u16).to_le_bytes());
                p.extend_from_slice(&b.template);
            }
            Command::KeySet(k) => {
                check_fits(name, code, "key", k.key.len(), usize::from(u8::MAX))?;
                p.extend_from_slice(&[k.key_type, k.key.len() as u8]);
                p.extend_from_slice(&k.key);
            }
            Command::Chlng { rnd_a } => p.extend_from_slice(rnd_a),
            Command::Scrypt { cryptogram } => p.extend_from_slice(cryptogram),
            Command::AcuRxSize { size: v } | Command::KeepActive { time_ms: v } => {
                p.extend_from_slice(&v.to_le_bytes());
            }
            Command::FileTransfer(f) => {
                check_fits(name, code, "fragment", f.fragment.len(), usize::from(u16::MAX))?;
                p.push(f.kind);
                p.extend_from_slice(&f.total.to_le_bytes());
                p.extend_from_slice(&f.offset.to_le_bytes());
                p.extend_from_slice(&(f.fragment.len() as u16).to_le_bytes());
                p.extend_from_slice(&f.fragment);
            }
            Command::Mfg { oui, data } => {
                p.extend_from_slice(oui);
                p.extend_from_slice(data);
            }
            Command::Unknown { data, .. } => p.extend_from_slice(data),
        }
        Ok(p)
    }

    /// The data of the command frame.
    ///
    /// # Panics
    /// If a variable-length field is too long for its length field; [`Command::try_to_data`] reports that.
    pub fn to_data(&self) -> Vec<u8> {
        match self.try_to_data() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }
}
