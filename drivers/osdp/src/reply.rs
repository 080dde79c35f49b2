//! Replies (PD to CP): the code and data of a reply frame, typed. Multi-byte fields are little-endian.
//!
//! Same shape as [`crate::command`]: [`Reply::parse`] answers the typed reply, [`Reply::Unknown`] for codes
//! without a variant, or a [`PayloadError`]; whatever parses re-encodes byte for byte with [`Reply::to_data`].

use std::fmt;

use crate::command::{Expected, Hidden, PayloadError, array_at, check_fits, check_len, u16_at, u32_at};

/// Reply codes, as in the reference.
pub mod opcode {
    #![allow(missing_docs)]

    crate::command::opcodes! { Reply;
        ACK = 0x40,
        NAK = 0x41,
        PDID = 0x45,
        PDCAP = 0x46,
        LSTATR = 0x48,
        ISTATR = 0x49,
        OSTATR = 0x4A,
        RSTATR = 0x4B,
        RAW = 0x50,
        KEYPAD = 0x53,
        COM = 0x54,
        BIOREADR = 0x57,
        BIOMATCHR = 0x58,
        CCRYPT = 0x76,
        RMAC_I = 0x78,
        BUSY = 0x79,
        FTSTAT = 0x7A,
        MFGREP = 0x90,
    }
}

/// PDCAP function codes.
pub mod function {
    #![allow(missing_docs)]
    pub const CONTACT_STATUS: u8 = 1;
    pub const OUTPUT_CONTROL: u8 = 2;
    pub const CARD_FORMAT: u8 = 3;
    pub const READER_LED: u8 = 4;
    pub const READER_AUDIBLE: u8 = 5;
    pub const READER_TEXT: u8 = 6;
    pub const TIME_KEEPING: u8 = 7;
    pub const CHECK_CHARACTER: u8 = 8;
    pub const COMMUNICATION_SECURITY: u8 = 9;
    pub const RECEIVE_BUFFER_SIZE: u8 = 10;
    pub const LARGEST_MESSAGE: u8 = 11;
    pub const SMART_CARD: u8 = 12;
    pub const READERS: u8 = 13;
    pub const BIOMETRICS: u8 = 14;
    pub const SECURE_PIN_ENTRY: u8 = 15;
    pub const OSDP_VERSION: u8 = 16;
}

macro_rules! nak_codes {
    ($($name:ident = $code:literal, $text:literal;)*) => {
        /// The error code of a NAK.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum NakCode {
            $(#[doc = $text] $name,)*
            /// A code the reference does not list.
            Other(u8),
        }

        impl NakCode {
            /// Every listed code (not `Other`).
            pub const LISTED: &'static [NakCode] = &[$(NakCode::$name,)*];

            /// The byte.
            pub const fn code(self) -> u8 {
                match self {
                    $(NakCode::$name => $code,)*
                    NakCode::Other(c) => c,
                }
            }

            /// The code for a byte; unlisted bytes become `Other`.
            pub const fn from_code(code: u8) -> NakCode {
                match code {
                    $($code => NakCode::$name,)*
                    c => NakCode::Other(c),
                }
            }

            /// What the code means.
            pub const fn description(self) -> &'static str {
                match self {
                    $(NakCode::$name => $text,)*
                    NakCode::Other(_) => "unlisted NAK code",
                }
            }
        }
    };
}

nak_codes! {
    BadCheck = 1, "message check character(s) error (bad CRC or checksum)";
    BadLength = 2, "command length error";
    UnknownCommand = 3, "unknown command code";
    BadSequence = 4, "unexpected sequence number";
    ScUnsupported = 5, "secure channel not supported";
    ScConditions = 6, "unsupported security block or security conditions not met";
    BioTypeUnsupported = 7, "biometric type not supported";
    BioFormatUnsupported = 8, "biometric format not supported";
    CannotProcess = 9, "unable to process the command";
}

impl fmt::Display for NakCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {}", self.code(), self.description())
    }
}

impl From<u8> for NakCode {
    fn from(code: u8) -> Self {
        NakCode::from_code(code)
    }
}

/// PDID data (12 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PdId {
    /// Vendor OUI.
    pub oui: [u8; 3],
    /// Model number.
    pub model: u8,
    /// Model version.
    pub version: u8,
    /// Serial number.
    pub serial: u32,
    /// Firmware major, minor, build.
    pub firmware: [u8; 3],
}

impl PdId {
    /// Bytes on the wire.
    pub const LEN: usize = 12;
}

/// One PDCAP record (3 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capability {
    /// Function code (see [`function`]).
    pub function: u8,
    /// Compliance level.
    pub compliance: u8,
    /// Number of objects of this kind.
    pub count: u8,
}

impl Capability {
    /// Bytes on the wire.
    pub const LEN: usize = 3;
}

/// RAW card data: 4 bytes and the bits. The data is kept as received, whatever `bits` says.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RawCard {
    /// Reader number.
    pub reader: u8,
    /// Format code (0 raw, 1 Wiegand).
    pub format: u8,
    /// Number of bits.
    pub bits: u16,
    /// The bits, left-aligned.
    pub data: Vec<u8>,
}

/// BIOREADR data: 6 bytes and the sample. Debug does not print the sample.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BioReadR {
    /// Reader number.
    pub reader: u8,
    /// Status (0 success, 1 timeout, ...).
    pub status: u8,
    /// Biometric type.
    pub kind: u8,
    /// Quality.
    pub quality: u8,
    /// The biometric data (at most 65535 bytes).
    pub data: Vec<u8>,
}

impl fmt::Debug for BioReadR {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BioReadR")
            .field("reader", &self.reader)
            .field("status", &self.status)
            .field("kind", &self.kind)
            .field("quality", &self.quality)
            .field("data", &Hidden(self.data.len()))
            .finish()
    }
}

/// FTSTAT data (7 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FtStat {
    /// Action flags (bit 0 interleave allowed, bit 1 leave secure channel, bit 2 poll response available).
    pub action: u8,
    /// Delay before the next fragment, ms.
    pub delay: u16,
    /// Status detail (negative: error).
    pub status: i16,
    /// Largest fragment the PD wants from now on (0: no change).
    pub update_max: u16,
}

/// FTSTAT status details (SIA OSDP 2.2 `osdp_FTSTAT`): named once for the PD simulator, the CP and the
/// conformance suite.
pub mod ft_status {
    /// 0: OK to proceed.
    pub const OK: i16 = 0;
    /// 1: the file was processed.
    pub const PROCESSED: i16 = 1;
    /// 2: rebooting to apply the file.
    pub const REBOOTING: i16 = 2;
    /// 3: finishing; the CP sends idle fragments (no data) until the status changes.
    pub const FINISHING: i16 = 3;
    /// -1: abort the file transfer.
    pub const ABORT: i16 = -1;
    /// -2: unrecognised file contents (or type).
    pub const UNRECOGNISED: i16 = -2;
    /// -3: file data unacceptable (malformed, or too large).
    pub const UNACCEPTABLE: i16 = -3;

    /// What a status means, in words (for evidence and errors).
    pub const fn describe(status: i16) -> &'static str {
        match status {
            OK => "OK to proceed",
            PROCESSED => "file processed",
            REBOOTING => "rebooting",
            FINISHING => "finishing",
            ABORT => "abort",
            UNRECOGNISED => "unrecognised file",
            UNACCEPTABLE => "file data unacceptable",
            s if s < 0 => "an unlisted error",
            _ => "an unlisted status",
        }
    }
}

impl FtStat {
    /// Bytes on the wire.
    pub const LEN: usize = 7;
}

/// One reply.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reply {
    /// 40: done, nothing to report.
    Ack,
    /// 41: refused.
    Nak {
        /// Why.
        code: NakCode,
        /// Whatever followed the code (usually nothing).
        detail: Vec<u8>,
    },
    /// 45: device identification.
    PdId(PdId),
    /// 46: capabilities.
    PdCap(Vec<Capability>),
    /// 48: local status.
    LStatR {
        /// Tamper status (0 normal, 1 tamper).
        tamper: u8,
        /// Power status (0 normal, 1 failure).
        power: u8,
    },
    /// 49: input status, one byte a point.
    IStatR(Vec<u8>),
    /// 4A: output status, one byte a point.
    OStatR(Vec<u8>),
    /// 4B: reader tamper status, one byte a reader.
    RStatR(Vec<u8>),
    /// 50: card data.
    Raw(RawCard),
    /// 53: keypad digits.
    Keypad {
        /// Reader number.
        reader: u8,
        /// The digits (at most 255).
        digits: Vec<u8>,
    },
    /// 54: the address and baud rate the PD switches to.
    Com {
        /// Address.
        address: u8,
        /// Baud rate.
        baud: u32,
    },
    /// 57: a biometric sample.
    BioReadR(BioReadR),
    /// 58: a match result.
    BioMatchR {
        /// Reader number.
        reader: u8,
        /// Status (0 success).
        status: u8,
        /// Score.
        score: u8,
    },
    /// 76: the client's answer to CHLNG.
    CCrypt {
        /// Client UID.
        cuid: [u8; 8],
        /// RND.B.
        rnd_b: [u8; 8],
        /// Client cryptogram.
        cryptogram: [u8; 16],
    },
    /// 78: the initial R-MAC.
    RMacI {
        /// The MAC.
        mac: [u8; 16],
    },
    /// 79: busy, ask again (sent with SQN 0).
    Busy,
    /// 7A: file transfer status.
    FtStat(FtStat),
    /// 90: manufacturer specific.
    MfgRep {
        /// The manufacturer's OUI.
        oui: [u8; 3],
        /// Whatever follows.
        data: Vec<u8>,
    },
    /// Any other code, data kept verbatim. `code` is never one of [`opcode::KNOWN`] when produced by
    /// [`Reply::parse`].
    Unknown {
        /// The code.
        code: u8,
        /// The data.
        data: Vec<u8>,
    },
}

impl Reply {
    /// A NAK with no detail.
    pub const fn nak(code: NakCode) -> Reply {
        Reply::Nak { code, detail: Vec::new() }
    }

    /// The reply code.
    pub fn code(&self) -> u8 {
        use opcode as op;
        match self {
            Reply::Ack => op::ACK,
            Reply::Nak { .. } => op::NAK,
            Reply::PdId(_) => op::PDID,
            Reply::PdCap(_) => op::PDCAP,
            Reply::LStatR { .. } => op::LSTATR,
            Reply::IStatR(_) => op::ISTATR,
            Reply::OStatR(_) => op::OSTATR,
            Reply::RStatR(_) => op::RSTATR,
            Reply::Raw(_) => op::RAW,
            Reply::Keypad { .. } => op::KEYPAD,
            Reply::Com { .. } => op::COM,
            Reply::BioReadR(_) => op::BIOREADR,
            Reply::BioMatchR { .. } => op::BIOMATCHR,
            Reply::CCrypt { .. } => op::CCRYPT,
            Reply::RMacI { .. } => op::RMAC_I,
            Reply::Busy => op::BUSY,
            Reply::FtStat(_) => op::FTSTAT,
            Reply::MfgRep { .. } => op::MFGREP,
            Reply::Unknown { code, .. } => *code,
        }
    }

    /// What the reply says, in words, for evidence and errors: every field a reader needs (NAK codes with their
    /// meaning, statuses, counts and point values), biometric samples, card bits and manufacturer data as lengths
    /// only, cryptograms and MACs not at all.
    pub fn describe(&self) -> String {
        let points = |v: &[u8]| v.iter().map(u8::to_string).collect::<Vec<_>>().join(" ");
        match self {
            Reply::Ack => "ACK".to_owned(),
            Reply::Nak { code, detail } => {
                let more = if detail.is_empty() { String::new() } else { format!(", and {} more bytes", detail.len()) };
                format!("NAK {code}{more}")
            }
            Reply::PdId(id) => format!(
                "PDID: vendor {:02X}{:02X}{:02X}, model {} version {}, serial {:08X}, firmware {}.{}.{}",
                id.oui[0],
                id.oui[1],
                id.oui[2],
                id.model,
                id.version,
                id.serial,
                id.firmware[0],
                id.firmware[1],
                id.firmware[2]
            ),
            Reply::PdCap(caps) => {
                let list: Vec<String> =
                    caps.iter().map(|c| format!("{} x{} (compliance {})", c.function, c.count, c.compliance)).collect();
                format!("PDCAP: {} functions: {}", caps.len(), list.join(", "))
            }
            Reply::LStatR { tamper, power } => format!("LSTATR: tamper {tamper}, power {power}"),
            Reply::IStatR(v) => format!("ISTATR: {} inputs ({})", v.len(), points(v)),
            Reply::OStatR(v) => format!("OSTATR: {} outputs ({})", v.len(), points(v)),
            Reply::RStatR(v) => format!("RSTATR: {} readers ({})", v.len(), points(v)),
            Reply::Raw(c) => format!("RAW: reader {}, format {}, {} bits", c.reader, c.format, c.bits),
            Reply::Keypad { reader, digits } => format!("KEYPAD: reader {reader}, {} digits", digits.len()),
            Reply::Com { address, baud } => format!("COM: address {address}, {baud} baud"),
            Reply::BioReadR(b) => format!(
                "BIOREADR: reader {}, status {}, type {}, quality {}, {} data bytes",
                b.reader,
                b.status,
                b.kind,
                b.quality,
                b.data.len()
            ),
            Reply::BioMatchR { reader, status, score } => {
                format!("BIOMATCHR: reader {reader}, status {status}, score {score}")
            }
            Reply::CCrypt { .. } => "CCRYPT (cUID, RND.B, client cryptogram)".to_owned(),
            Reply::RMacI { .. } => "RMAC_I".to_owned(),
            Reply::Busy => "BUSY".to_owned(),
            Reply::FtStat(s) => format!(
                "FTSTAT: status {} ({}), delay {} ms, update max {}, action {:02X}",
                s.status,
                ft_status::describe(s.status),
                s.delay,
                s.update_max,
                s.action
            ),
            Reply::MfgRep { oui, data } => {
                format!("MFGREP: vendor {:02X}{:02X}{:02X}, {} data bytes", oui[0], oui[1], oui[2], data.len())
            }
            Reply::Unknown { code, data } => {
                format!("reply code {code:02X} (not in the reference), {} data bytes", data.len())
            }
        }
    }

    /// The reply's name ("Unknown" for [`Reply::Unknown`]).
    pub fn name(&self) -> &'static str {
        match self {
            Reply::Unknown { .. } => "Unknown",
            other => opcode::name(other.code()).unwrap_or("Unknown"),
        }
    }

    /// The data length a known reply code calls for (`None` for unknown codes); payloads with a length field are
    /// reported by their fixed part.
    pub fn expected_len(code: u8) -> Option<Expected> {
        use opcode as op;
        Some(match code {
            op::ACK | op::BUSY => Expected::Exactly(0),
            op::NAK => Expected::AtLeast(1),
            op::PDID => Expected::Exactly(PdId::LEN),
            op::PDCAP => Expected::MultipleOf(Capability::LEN),
            op::LSTATR => Expected::Exactly(2),
            op::ISTATR | op::OSTATR | op::RSTATR => Expected::AtLeast(0),
            op::RAW => Expected::AtLeast(4),
            op::KEYPAD => Expected::AtLeast(2),
            op::COM => Expected::Exactly(5),
            op::BIOREADR => Expected::AtLeast(6),
            op::BIOMATCHR => Expected::Exactly(3),
            op::CCRYPT => Expected::Exactly(32),
            op::RMAC_I => Expected::Exactly(16),
            op::FTSTAT => Expected::Exactly(FtStat::LEN),
            op::MFGREP => Expected::AtLeast(3),
            _ => return None,
        })
    }

    /// Parses the data of a reply frame with code `code`.
    pub fn parse(code: u8, data: &[u8]) -> Result<Reply, PayloadError> {
        use opcode as op;
        let Some(expected) = Reply::expected_len(code) else {
            return Ok(Reply::Unknown { code, data: data.to_vec() });
        };
        let name = opcode::name(code).unwrap_or("Unknown");
        check_len(name, code, data, expected)?;
        let p = data;
        let exact = |len: usize| check_len(name, code, data, Expected::Exactly(len));
        Ok(match code {
            op::ACK => Reply::Ack,
            op::NAK => Reply::Nak { code: NakCode::from_code(p[0]), detail: p[1..].to_vec() },
            op::PDID => Reply::PdId(PdId {
                oui: array_at(p, 0),
                model: p[3],
                version: p[4],
                serial: u32_at(p, 5),
                firmware: array_at(p, 9),
            }),
            op::PDCAP => Reply::PdCap(
                p.chunks_exact(Capability::LEN)
                    .map(|r| Capability { function: r[0], compliance: r[1], count: r[2] })
                    .collect(),
            ),
            op::LSTATR => Reply::LStatR { tamper: p[0], power: p[1] },
            op::ISTATR => Reply::IStatR(p.to_vec()),
            op::OSTATR => Reply::OStatR(p.to_vec()),
            op::RSTATR => Reply::RStatR(p.to_vec()),
            op::RAW => Reply::Raw(RawCard { reader: p[0], format: p[1], bits: u16_at(p, 2), data: p[4..].to_vec() }),
            op::KEYPAD => {
                exact(2 + usize::from(p[1]))?;
                Reply::Keypad { reader: p[0], digits: p[2..].to_vec() }
            }
            op::COM => Reply::Com { address: p[0], baud: u32_at(p, 1) },
            op::BIOREADR => {
                exact(6 + usize::from(u16_at(p, 4)))?;
                Reply::BioReadR(BioReadR {
                    reader: p[0],
                    status: p[1],
                    kind: p[2],
                    quality: p[3],
                    data: p[6..].to_vec(),
                })
            }
            op::BIOMATCHR => Reply::BioMatchR { reader: p[0], status: p[1], score: p[2] },
            op::CCRYPT => Reply::CCrypt { cuid: array_at(p, 0), rnd_b: array_at(p, 8), cryptogram: array_at(p, 16) },
            op::RMAC_I => Reply::RMacI { mac: array_at(p, 0) },
            op::BUSY => Reply::Busy,
            op::FTSTAT => Reply::FtStat(FtStat {
                action: p[0],
                delay: u16_at(p, 1),
                status: u16_at(p, 3).cast_signed(),
                update_max: u16_at(p, 5),
            }),
            op::MFGREP => Reply::MfgRep { oui: array_at(p, 0), data: p[3..].to_vec() },
            _ => unreachable!("expected_len knows exactly the codes matched here"),
        })
    }

    /// The data of the reply frame, or an error if a variable-length field is too long for its length field.
    pub fn try_to_data(&self) -> Result<Vec<u8>, PayloadError> {
        let name = self.name();
        let code = self.code();
        let mut p = Vec::new();
        match self {
            Reply::Ack | Reply::Busy => {}
            Reply::Nak { code, detail } => {
                p.push(code.code());
                p.extend_from_slice(detail);
            }
            Reply::PdId(id) => {
                p.extend_from_slice(&id.oui);
                p.extend_from_slice(&[id.model, id.version]);
                p.extend_from_slice(&id.serial.to_le_bytes());
                p.extend_from_slice(&id.firmware);
            }
            Reply::PdCap(caps) => {
                for c in caps {
                    p.extend_from_slice(&[c.function, c.compliance, c.count]);
                }
            }
            Reply::LStatR { tamper, power } => p.extend_from_slice(&[*tamper, *power]),
            Reply::IStatR(v) | Reply::OStatR(v) | Reply::RStatR(v) => p.extend_from_slice(v),
            Reply::Raw(r) => {
                p.extend_from_slice(&[r.reader, r.format]);
                p.extend_from_slice(&r.bits.to_le_bytes());
                p.extend_from_slice(&r.data);
            }
            Reply::Keypad { reader, digits } => {
                check_fits(name, code, "digits", digits.len(), usize::from(u8::MAX))?;
                p.extend_from_slice(&[*reader, digits.len() as u8]);
                p.extend_from_slice(digits);
            }
            Reply::Com { address, baud } => {
                p.push(*address);
                p.extend_from_slice(&baud.to_le_bytes());
            }
            Reply::BioReadR(b) => {
                check_fits(name, code, "data", b.data.len(), usize::from(u16::MAX))?;
                p.extend_from_slice(&[b.reader, b.status, b.kind, b.quality]);
                p.extend_from_slice(&(b.data.len() as u16).to_le_bytes());
                p.extend_from_slice(&b.data);
            }
            Reply::BioMatchR { reader, status, score } => p.extend_from_slice(&[*reader, *status, *score]),
            Reply::CCrypt { cuid, rnd_b, cryptogram } => {
                p.extend_from_slice(cuid);
                p.extend_from_slice(rnd_b);
                p.extend_from_slice(cryptogram);
            }
            Reply::RMacI { mac } => p.extend_from_slice(mac),
            Reply::FtStat(s) => {
                p.push(s.action);
                p.extend_from_slice(&s.delay.to_le_bytes());
                p.extend_from_slice(&s.status.to_le_bytes());
                p.extend_from_slice(&s.update_max.to_le_bytes());
            }
            Reply::MfgRep { oui, data } => {
                p.extend_from_slice(oui);
                p.extend_from_slice(data);
            }
            Reply::Unknown { data, .. } => p.extend_from_slice(data),
        }
        Ok(p)
    }

    /// The data of the reply frame.
    ///
    /// # Panics
    /// If a variable-length field is too long for its length field; [`Reply::try_to_data`] reports that.
    pub fn to_data(&self) -> Vec<u8> {
        match self.try_to_data() {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        }
    }
}
