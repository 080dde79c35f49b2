//! Status words (SW1 SW2), named as ISO/IEC 7816-4 (2013) table 6 names them.

use std::fmt;

/// The two status bytes ending every response, as one big-endian number (`0x9000`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusWord(pub u16);

impl StatusWord {
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    /// 6281: part of the returned data may be corrupted.
    pub const DATA_MAY_BE_CORRUPTED: StatusWord = StatusWord(0x6281);
    /// 6282: end of file or record reached before reading `Ne` bytes.
    pub const END_OF_FILE: StatusWord = StatusWord(0x6282);
    /// 6283: the selected file is deactivated.
    pub const FILE_DEACTIVATED: StatusWord = StatusWord(0x6283);
    /// 6581: memory failure.
    pub const MEMORY_FAILURE: StatusWord = StatusWord(0x6581);
    /// 6700: wrong length (`Lc` or `Le`, or the APDU's own length), no further indication.
    pub const WRONG_LENGTH: StatusWord = StatusWord(0x6700);
    /// 6881: logical channel not supported.
    pub const LOGICAL_CHANNEL_NOT_SUPPORTED: StatusWord = StatusWord(0x6881);
    /// 6882: secure messaging not supported.
    pub const SECURE_MESSAGING_NOT_SUPPORTED: StatusWord = StatusWord(0x6882);
    /// 6884: command chaining not supported.
    pub const CHAINING_NOT_SUPPORTED: StatusWord = StatusWord(0x6884);
    /// 6981: command incompatible with file structure.
    pub const INCOMPATIBLE_FILE_STRUCTURE: StatusWord = StatusWord(0x6981);
    /// 6982: security status not satisfied.
    pub const SECURITY_STATUS_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    /// 6983: authentication method blocked.
    pub const AUTHENTICATION_BLOCKED: StatusWord = StatusWord(0x6983);
    /// 6984: reference data not usable.
    pub const REFERENCE_DATA_NOT_USABLE: StatusWord = StatusWord(0x6984);
    /// 6985: conditions of use not satisfied.
    pub const CONDITIONS_NOT_SATISFIED: StatusWord = StatusWord(0x6985);
    /// 6986: command not allowed (no current EF).
    pub const NO_CURRENT_EF: StatusWord = StatusWord(0x6986);
    /// 6987: expected secure messaging data objects missing.
    pub const SM_OBJECTS_MISSING: StatusWord = StatusWord(0x6987);
    /// 6988: incorrect secure messaging data objects.
    pub const SM_OBJECTS_INCORRECT: StatusWord = StatusWord(0x6988);
    /// 6A80: incorrect parameters in the command data field.
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    /// 6A81: function not supported.
    pub const FUNCTION_NOT_SUPPORTED: StatusWord = StatusWord(0x6A81);
    /// 6A82: file or application not found.
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);
    /// 6A83: record not found.
    pub const RECORD_NOT_FOUND: StatusWord = StatusWord(0x6A83);
    /// 6A84: not enough memory space in the file.
    pub const NOT_ENOUGH_MEMORY: StatusWord = StatusWord(0x6A84);
    /// 6A86: incorrect parameters P1-P2.
    pub const INCORRECT_P1_P2: StatusWord = StatusWord(0x6A86);
    /// 6A88: referenced data or reference data not found.
    pub const REFERENCE_NOT_FOUND: StatusWord = StatusWord(0x6A88);
    /// 6B00: wrong parameters P1-P2 (for READ BINARY: an offset beyond the file).
    pub const WRONG_P1_P2: StatusWord = StatusWord(0x6B00);
    /// 6D00: instruction code not supported or invalid.
    pub const INS_NOT_SUPPORTED: StatusWord = StatusWord(0x6D00);
    /// 6E00: class not supported.
    pub const CLA_NOT_SUPPORTED: StatusWord = StatusWord(0x6E00);
    /// 6F00: no precise diagnosis.
    pub const NO_PRECISE_DIAGNOSIS: StatusWord = StatusWord(0x6F00);

    /// 61XX: `n` more response bytes are available (GET RESPONSE fetches them; 0 means 256 or more).
    pub fn bytes_available(n: u8) -> StatusWord {
        StatusWord(0x6100 | u16::from(n))
    }

    /// 6CXX: wrong `Le`; `n` is the exact number of bytes available (0 means 256).
    pub fn wrong_le(n: u8) -> StatusWord {
        StatusWord(0x6C00 | u16::from(n))
    }

    /// 63CX: verification failed, `tries` (0-15) left.
    pub fn tries_left(tries: u8) -> StatusWord {
        StatusWord(0x63C0 | u16::from(tries.min(15)))
    }

    pub fn from_bytes(sw1: u8, sw2: u8) -> StatusWord {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    pub fn sw2(self) -> u8 {
        self.0 as u8
    }

    /// 9000 or 61XX: the command was processed normally.
    pub fn is_normal(self) -> bool {
        self == Self::SUCCESS || self.sw1() == 0x61
    }

    /// 62XX or 63XX: processed, with a warning.
    pub fn is_warning(self) -> bool {
        matches!(self.sw1(), 0x62 | 0x63)
    }

    /// What ISO 7816-4 says the status word means; `None` for values it does not define (proprietary 9XXX other
    /// than 9000, and unassigned ones).
    pub fn meaning(self) -> Option<String> {
        let fixed = match self.0 {
            0x9000 => "success",
            0x6200 => "warning: no information given, non-volatile memory unchanged",
            0x6281 => "part of the returned data may be corrupted",
            0x6282 => "end of file or record reached before reading Ne bytes",
            0x6283 => "selected file deactivated",
            0x6284 => "file control information not formatted as ISO 7816-4 5.3.3",
            0x6285 => "selected file in termination state",
            0x6286 => "no input data available from a sensor on the card",
            0x6300 => "warning: no information given, non-volatile memory changed (to an authentication: it failed)",
            0x6381 => "file filled up by the last write",
            0x6400 => "execution error, non-volatile memory unchanged",
            0x6500 => "execution error, non-volatile memory changed",
            0x6581 => "memory failure",
            0x6600 => "security-related issue",
            0x6700 => "wrong length",
            0x6800 => "functions in CLA not supported",
            0x6881 => "logical channel not supported",
            0x6882 => "secure messaging not supported",
            0x6883 => "last command of the chain expected",
            0x6884 => "command chaining not supported",
            0x6900 => "command not allowed",
            0x6981 => "command incompatible with file structure",
            0x6982 => "security status not satisfied",
            0x6983 => "authentication method blocked",
            0x6984 => "reference data not usable",
            0x6985 => "conditions of use not satisfied",
            0x6986 => "command not allowed (no current EF)",
            0x6987 => "expected secure messaging data objects missing",
            0x6988 => "incorrect secure messaging data objects",
            0x6A80 => "incorrect parameters in the command data field",
            0x6A81 => "function not supported",
            0x6A82 => "file or application not found",
            0x6A83 => "record not found",
            0x6A84 => "not enough memory space in the file",
            0x6A85 => "Nc inconsistent with TLV structure",
            0x6A86 => "incorrect parameters P1-P2",
            0x6A87 => "Nc inconsistent with parameters P1-P2",
            0x6A88 => "referenced data or reference data not found",
            0x6A89 => "file already exists",
            0x6A8A => "DF name already exists",
            0x6A00 | 0x6B00 => "wrong parameters P1-P2",
            0x6D00 => "instruction code not supported or invalid",
            0x6E00 => "class not supported",
            0x6F00 => "no precise diagnosis",
            _ => {
                let n = self.sw2();
                return match self.sw1() {
                    0x61 => Some(format!("{} more response bytes available", if n == 0 { 256 } else { n.into() })),
                    0x6C => Some(format!("wrong Le: {} bytes available", if n == 0 { 256 } else { n.into() })),
                    0x63 if n & 0xF0 == 0xC0 => Some(format!("verification failed, {} tries left", n & 0x0F)),
                    _ => None,
                };
            }
        };
        Some(fixed.to_owned())
    }
}

impl fmt::Display for StatusWord {
    /// `6A82 (file or application not found)`; a status word ISO 7816-4 does not define is printed bare.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)?;
        if let Some(m) = self.meaning() {
            write!(f, " ({m})")?;
        }
        Ok(())
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(StatusWord::SUCCESS.to_string(), "9000 (success)");
        assert_eq!(StatusWord::FILE_NOT_FOUND.to_string(), "6A82 (file or application not found)");
        assert_eq!(StatusWord::bytes_available(0x10).to_string(), "6110 (16 more response bytes available)");
        assert_eq!(StatusWord::wrong_le(0).to_string(), "6C00 (wrong Le: 256 bytes available)");
        assert_eq!(StatusWord::tries_left(2).to_string(), "63C2 (verification failed, 2 tries left)");
        assert_eq!(StatusWord(0x9123).to_string(), "9123");
        assert_eq!(StatusWord::from_bytes(0x6D, 0x00), StatusWord::INS_NOT_SUPPORTED);
        assert_eq!((StatusWord(0x6A82).sw1(), StatusWord(0x6A82).sw2()), (0x6A, 0x82));
    }

    #[test]
    fn classes() {
        assert!(StatusWord::SUCCESS.is_normal() && StatusWord(0x6105).is_normal());
        assert!(!StatusWord::WRONG_LENGTH.is_normal() && !StatusWord::WRONG_LENGTH.is_warning());
        assert!(StatusWord::END_OF_FILE.is_warning() && StatusWord::tries_left(1).is_warning());
    }
}
