//! The biometric fields of BIOREAD, BIOMATCH and their replies (SIA OSDP 2.2 tables, as read in libosdp's
//! `include/osdp.h` and OSDP.Net's `BiometricType`, `BiometricFormat`, `BiometricStatus`): the codes a CP sends
//! and a PD answers with, in one place for the driver and the simulated reader.

/// Biometric types.
pub mod kind {
    /// Not specified: whichever finger is presented.
    pub const NOT_SPECIFIED: u8 = 0x00;
    /// The first and last finger codes (right thumb .. left little finger).
    pub const FINGERS: std::ops::RangeInclusive<u8> = 0x01..=0x0A;
}

/// Biometric formats.
pub mod format {
    /// The reader's default (khil's simulated reader: ANSI/INCITS 378).
    pub const NOT_SPECIFIED: u8 = 0x00;
    /// A raw image as PGM (a 256 x 288 image does not fit one OSDP packet, LEN being at most 1440: khil's
    /// simulated reader does not offer it).
    pub const RAW_PGM: u8 = 0x01;
    /// ANSI/INCITS 378-2004 finger minutiae record.
    pub const ANSI_378: u8 = 0x02;
}

/// BIOREADR/BIOMATCHR status codes.
pub mod status {
    pub const SUCCESS: u8 = 0x00;
    /// No finger within the scan window.
    pub const TIMEOUT: u8 = 0x01;
    pub const UNKNOWN_ERROR: u8 = 0xFF;
}
