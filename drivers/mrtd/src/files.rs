//! How files on an eMRTD chip are selected and read (ISO/IEC 7816-4 clause 11.2 and 11.3, ICAO 9303-10 section 3.6):
//! SELECT and READ BINARY as typed commands, encoded by the inspection system and decoded by the chip, so both
//! sides of khil use one definition of P1/P2, short-file identifiers and the odd-INS offset object.
//!
//! - SELECT `00 A4 P1 P2`: P1 04 by DF name (the eMRTD application's AID), 02 an EF under the current DF by its
//!   identifier, 00 the MF (`3F00`, or empty data); P2 0C asks for no response data, 00/04 for the FCP.
//! - READ BINARY `00 B0`: with P1 bit 8 set, P1 bits 1-5 are a short EF identifier (the file is selected by the
//!   read) and P2 the offset (0-255); otherwise P1P2 is a 15-bit offset into the current EF.
//! - READ BINARY `00 B1` (odd INS) reads at offsets beyond what `B0` addresses: the offset travels in data object
//!   54, the data comes back inside data object 53; P1P2 `0000` is the current EF, `00 0x` with five low bits a
//!   short EF identifier.

use khil_apdu::{ApduError, Command, Response};

use crate::tlv::{self, Tag, TlvError};

/// `A0 00 00 02 47 10 01`: the LDS1 eMRTD application (9303-10 section 3.6.2).
pub const EMRTD_AID: [u8; 7] = [0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01];

/// The largest offset plain READ BINARY (`B0`) can address.
pub const MAX_B0_OFFSET: usize = 0x7FFF;

/// What a SELECT asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Select {
    /// P1 00: the master file (`3F00` or no data).
    MasterFile,
    /// P1 04: an application (DF) by name.
    Application(Vec<u8>),
    /// P1 02 (or P1 00 with a two-byte identifier other than `3F00`): an EF under the current DF.
    File(u16),
}

/// A SELECT command: what, and whether the FCP is wanted back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectCommand {
    pub what: Select,
    /// P2 `0C`: no response data (what inspection systems send); otherwise `00`/`04`: return the FCP.
    pub no_response_data: bool,
}

/// Why a command is not the SELECT or READ BINARY it claims to be, with the status word a chip answers it with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{command}: {problem}")]
pub struct FileCommandError {
    pub command: &'static str,
    pub problem: String,
    /// What a chip answers: 6A86 for P1/P2, 6700 for lengths, 6A80 for the data field.
    pub status: khil_apdu::StatusWord,
}

impl SelectCommand {
    /// `00 A4 04 0C 07 A0000002471001`, the first command of every inspection.
    pub fn emrtd_application() -> SelectCommand {
        SelectCommand { what: Select::Application(EMRTD_AID.to_vec()), no_response_data: true }
    }

    pub fn file(fid: u16) -> SelectCommand {
        SelectCommand { what: Select::File(fid), no_response_data: true }
    }

    pub fn to_command(&self) -> Command {
        let p2 = if self.no_response_data { 0x0C } else { 0x00 };
        let (p1, data) = match &self.what {
            Select::MasterFile => (0x00, vec![0x3F, 0x00]),
            Select::Application(aid) => (0x04, aid.clone()),
            Select::File(fid) => (0x02, fid.to_be_bytes().to_vec()),
        };
        let command = Command::new(0x00, 0xA4, p1, p2).with_data(data).expect("at most 16 bytes");
        if self.no_response_data { command } else { command.with_ne(256).expect("256 is a short Ne") }
    }

    /// The chip's reading of a SELECT (`INS A4`, any CLA).
    pub fn from_command(c: &Command) -> Result<SelectCommand, FileCommandError> {
        let err = |problem: String, status| FileCommandError { command: "SELECT", problem, status };
        let no_response_data = match c.p2 & 0x0C {
            0x0C => true,
            0x00 | 0x04 => false,
            _ => {
                return Err(err(
                    format!("P2 {:02X}: expected 0C (no response data), 00 or 04 (FCI/FCP)", c.p2),
                    khil_apdu::StatusWord::INCORRECT_P1_P2,
                ));
            }
        };
        let data = c.data();
        let what = match c.p1 {
            0x00 if data.is_empty() || data == [0x3F, 0x00] => Select::MasterFile,
            0x00 | 0x02 if data.len() == 2 => Select::File(u16::from_be_bytes([data[0], data[1]])),
            0x04 if (1..=16).contains(&data.len()) => Select::Application(data.to_vec()),
            0x00 | 0x02 | 0x04 => {
                return Err(err(
                    format!(
                        "P1 {:02X} with {} data bytes: expected a 2-byte file identifier or a 1-16 byte name",
                        c.p1,
                        data.len()
                    ),
                    khil_apdu::StatusWord::WRONG_LENGTH,
                ));
            }
            p1 => {
                return Err(err(
                    format!("P1 {p1:02X}: expected 00 (MF or EF), 02 (EF under the current DF) or 04 (DF name)"),
                    khil_apdu::StatusWord::INCORRECT_P1_P2,
                ));
            }
        };
        Ok(SelectCommand { what, no_response_data })
    }
}

/// Which file a READ BINARY reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadTarget {
    /// The currently selected EF.
    Current,
    /// A short EF identifier (1-30): selects the file and reads it in one command.
    Short(u8),
}

/// A READ BINARY: which file, from which offset, how many bytes at most (`Ne`, 1-65536).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadBinary {
    pub target: ReadTarget,
    pub offset: usize,
    pub ne: usize,
}

impl ReadBinary {
    /// Whether this read needs the odd instruction `B1` (offset beyond what `B0` can address for its target).
    pub fn needs_odd_ins(&self) -> bool {
        match self.target {
            ReadTarget::Current => self.offset > MAX_B0_OFFSET,
            ReadTarget::Short(_) => self.offset > 0xFF,
        }
    }

    /// The command: `B0` where it can address the offset, `B1` with data object 54 beyond. `Ne` above 256 makes
    /// it an extended-length command (the chip must support them: EF.ATR/INFO or the inspection system's setting).
    pub fn to_command(&self) -> Result<Command, ApduError> {
        if self.needs_odd_ins() {
            // 7816-4 11.3.3: P1P2 0000 is the current EF; a short EF identifier goes in P2's five low bits.
            let p2 = match self.target {
                ReadTarget::Current => 0x00,
                ReadTarget::Short(sfi) => sfi & 0x1F,
            };
            let offset = self.offset as u32;
            // The offset object holds the offset in as few bytes as it needs (two for eMRTD files, 3 beyond 64 KiB).
            let bytes = offset.to_be_bytes();
            let first = bytes.iter().position(|&b| b != 0).unwrap_or(3).min(2);
            let data = tlv::encode(Tag(0x54), &bytes[first..]);
            Command::new(0x00, 0xB1, 0x00, p2).with_data(data)?.with_ne(self.ne)
        } else {
            let (p1, p2) = match self.target {
                ReadTarget::Current => ((self.offset >> 8) as u8, self.offset as u8),
                ReadTarget::Short(sfi) => (0x80 | (sfi & 0x1F), self.offset as u8),
            };
            Command::new(0x00, 0xB0, p1, p2).with_ne(self.ne)
        }
    }

    /// The chip's reading of a READ BINARY (`INS B0` or `B1`, any CLA).
    pub fn from_command(c: &Command) -> Result<ReadBinary, FileCommandError> {
        let name = if c.ins == 0xB1 { "READ BINARY (B1)" } else { "READ BINARY" };
        let err = |problem: String, status| FileCommandError { command: name, problem, status };
        let ne = c.ne().ok_or_else(|| {
            err("no Le: expected the number of bytes to read".into(), khil_apdu::StatusWord::WRONG_LENGTH)
        })?;
        if c.ins == 0xB0 {
            if !c.data().is_empty() {
                return Err(err("B0 carries no data field".into(), khil_apdu::StatusWord::WRONG_LENGTH));
            }
            let (target, offset) = if c.p1 & 0x80 != 0 {
                let sfi = c.p1 & 0x1F;
                if c.p1 & 0x60 != 0 || sfi == 0 || sfi == 0x1F {
                    return Err(err(
                        format!("P1 {:02X}: expected 100xxxxx with a short EF identifier 1-30", c.p1),
                        khil_apdu::StatusWord::INCORRECT_P1_P2,
                    ));
                }
                (ReadTarget::Short(sfi), usize::from(c.p2))
            } else {
                (ReadTarget::Current, usize::from(u16::from_be_bytes([c.p1, c.p2])))
            };
            return Ok(ReadBinary { target, offset, ne });
        }
        let target = match (c.p1, c.p2) {
            (0x00, 0x00) => ReadTarget::Current,
            (0x00, sfi) if (1..=30).contains(&sfi) => ReadTarget::Short(sfi),
            (p1, p2) => {
                return Err(err(
                    format!("P1P2 {p1:02X}{p2:02X}: expected 0000 (current EF) or 00 and a short EF identifier 01-1E"),
                    khil_apdu::StatusWord::INCORRECT_P1_P2,
                ));
            }
        };
        let offset = tlv::parse_expecting(c.data(), Tag(0x54))
            .map_err(|e| err(format!("data field: {e}"), khil_apdu::StatusWord::WRONG_DATA))?;
        if offset.value.is_empty() || offset.value.len() > 3 {
            return Err(err(
                format!("offset object 54 of {} bytes: expected 1 to 3", offset.value.len()),
                khil_apdu::StatusWord::WRONG_DATA,
            ));
        }
        let offset = offset.value.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        Ok(ReadBinary { target, offset, ne })
    }

    /// The data a chip answers for this read from `file` (its whole content), and whether the end of the file
    /// came before `Ne` bytes (status 6282). `None`: the offset is beyond the file (6B00).
    pub fn answer_from<'f>(&self, file: &'f [u8]) -> Option<(&'f [u8], bool)> {
        if self.offset > file.len() || (self.offset == file.len() && !file.is_empty()) {
            return None;
        }
        let end = (self.offset + self.ne).min(file.len());
        Some((&file[self.offset..end], end - self.offset < self.ne))
    }

    /// Wraps file data as the chip sends it: plain for `B0`, inside data object 53 for `B1`.
    pub fn response_data(&self, data: &[u8]) -> Vec<u8> {
        if self.needs_odd_ins() { tlv::encode(Tag(0x53), data) } else { data.to_vec() }
    }

    /// The file data in a chip's answer to this read (unwrapping data object 53 for `B1`).
    pub fn data_of(&self, response: &Response) -> Result<Vec<u8>, TlvError> {
        if self.needs_odd_ins() {
            // A chip may answer fewer bytes than asked; the 53 object is then shorter, never cut.
            Ok(tlv::parse_expecting(response.data(), Tag(0x53))?.value.to_vec())
        } else {
            Ok(response.data().to_vec())
        }
    }
}

/// How many bytes of a file to ask for in one READ BINARY when the response travels in secure messaging: the
/// response APDU carries at most 256 bytes in short form, and DO87 (01 + padded data, up to 16 bytes of
/// padding), DO99 and DO8E take their share. 0xDF = 223 keeps every case within 256 for 3DES and AES (the value
/// JMRTD and most inspection systems use).
pub const SM_SHORT_READ: usize = 0xDF;

#[cfg(test)]
mod tests {
    use super::*;
    use khil_apdu::StatusWord;
    use proptest::prelude::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn the_commands_of_the_icao_worked_example() {
        // 9303-11 Appendix D: select the application, then (before SM) EF.COM.
        assert_eq!(SelectCommand::emrtd_application().to_command().encode(), hex("00A4040C07A0000002471001"));
        assert_eq!(SelectCommand::file(0x011E).to_command().encode(), hex("00A4020C02011E"));
        // Reading the first four bytes of EF.COM, then the rest at offset 4 (Appendix D.4 reads 4, then 0x12).
        let head = ReadBinary { target: ReadTarget::Current, offset: 0, ne: 4 };
        assert_eq!(head.to_command().unwrap().encode(), hex("00B0000004"));
        let rest = ReadBinary { target: ReadTarget::Current, offset: 4, ne: 0x12 };
        assert_eq!(rest.to_command().unwrap().encode(), hex("00B0000412"));
        // DG1 by its short identifier 01.
        let dg1 = ReadBinary { target: ReadTarget::Short(1), offset: 0, ne: 4 };
        assert_eq!(dg1.to_command().unwrap().encode(), hex("00B0810004"));
        // Beyond 32767: B1 with the offset in 54.
        let far = ReadBinary { target: ReadTarget::Current, offset: 0x8000, ne: 0xDF };
        assert_eq!(far.to_command().unwrap().encode(), hex("00B100000454028000DF"));
    }

    #[test]
    fn commands_decode_back_and_bad_ones_name_the_status() {
        for rb in [
            ReadBinary { target: ReadTarget::Current, offset: 0x7FFF, ne: 1 },
            ReadBinary { target: ReadTarget::Short(0x1E), offset: 255, ne: 256 },
            ReadBinary { target: ReadTarget::Short(2), offset: 256, ne: 0xDF },
            ReadBinary { target: ReadTarget::Current, offset: 70_000, ne: 65_536 },
        ] {
            assert_eq!(ReadBinary::from_command(&rb.to_command().unwrap()).unwrap(), rb);
        }
        let sel = Command::parse(&hex("00A4020C02011E")).unwrap();
        assert_eq!(SelectCommand::from_command(&sel).unwrap(), SelectCommand::file(0x011E));
        let bad = Command::parse(&hex("00A4080C02011E")).unwrap();
        let e = SelectCommand::from_command(&bad).unwrap_err();
        assert_eq!(e.status, StatusWord::INCORRECT_P1_P2);
        assert!(e.to_string().starts_with("SELECT: P1 08:"), "{e}");
        let bad_sfi = Command::parse(&hex("00B09F0004")).unwrap();
        assert_eq!(ReadBinary::from_command(&bad_sfi).unwrap_err().status, StatusWord::INCORRECT_P1_P2);
        let no_le = Command::parse(&hex("00B00000")).unwrap();
        assert_eq!(ReadBinary::from_command(&no_le).unwrap_err().status, StatusWord::WRONG_LENGTH);
        let bad_54 = Command::parse(&hex("00B100000455028000DF")).unwrap();
        let e = ReadBinary::from_command(&bad_54).unwrap_err();
        assert_eq!(e.status, StatusWord::WRONG_DATA);
        assert_eq!(e.to_string(), "READ BINARY (B1): data field: BER-TLV at byte 0: expected tag 54, found 55");
    }

    #[test]
    fn answers_at_the_end_of_a_file() {
        let file = [1u8, 2, 3, 4, 5];
        let rb = |offset, ne| ReadBinary { target: ReadTarget::Current, offset, ne };
        assert_eq!(rb(0, 5).answer_from(&file), Some((&file[..], false)));
        assert_eq!(rb(3, 4).answer_from(&file), Some((&file[3..], true)));
        assert_eq!(rb(5, 1).answer_from(&file), None);
        assert_eq!(rb(9, 1).answer_from(&file), None);
        let far = rb(0x8000, 3);
        let big = vec![7u8; 0x8002];
        let (data, short) = far.answer_from(&big).unwrap();
        assert!(short);
        let wrapped = Response::ok(far.response_data(data)).unwrap();
        assert_eq!(wrapped.data(), [0x53, 0x02, 7, 7]);
        assert_eq!(far.data_of(&wrapped).unwrap(), [7, 7]);
    }

    proptest! {
        #[test]
        fn read_binary_round_trips(sfi in proptest::option::of(1u8..=30), offset in 0usize..200_000, ne in 1usize..=65_536) {
            let target = sfi.map_or(ReadTarget::Current, ReadTarget::Short);
            let rb = ReadBinary { target, offset, ne };
            let bytes = rb.to_command().unwrap().encode();
            prop_assert_eq!(ReadBinary::from_command(&Command::parse(&bytes).unwrap()).unwrap(), rb);
        }

        #[test]
        fn arbitrary_commands_never_panic(bytes in proptest::collection::vec(any::<u8>(), 4..40)) {
            if let Ok(c) = Command::parse(&bytes) {
                let _ = ReadBinary::from_command(&c);
                let _ = SelectCommand::from_command(&c);
            }
        }
    }
}
