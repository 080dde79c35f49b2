//! Instructions (the content of command packets), confirmation codes and typed replies (the content of acks).

use std::fmt;

/// Instruction codes, as in the reference table.
pub mod opcode {
    #![allow(missing_docs)]
    pub const GEN_IMG: u8 = 0x01;
    pub const IMG2TZ: u8 = 0x02;
    pub const MATCH: u8 = 0x03;
    pub const SEARCH: u8 = 0x04;
    pub const REG_MODEL: u8 = 0x05;
    pub const STORE: u8 = 0x06;
    pub const LOAD_CHAR: u8 = 0x07;
    pub const UP_CHAR: u8 = 0x08;
    pub const DOWN_CHAR: u8 = 0x09;
    pub const UP_IMAGE: u8 = 0x0A;
    pub const DOWN_IMAGE: u8 = 0x0B;
    pub const DELETE_CHAR: u8 = 0x0C;
    pub const EMPTY: u8 = 0x0D;
    pub const SET_SYS_PARA: u8 = 0x0E;
    pub const READ_SYS_PARA: u8 = 0x0F;
    pub const SET_PWD: u8 = 0x12;
    pub const VFY_PWD: u8 = 0x13;
    pub const GET_RANDOM_CODE: u8 = 0x14;
    pub const SET_ADDR: u8 = 0x15;
    pub const READ_INF_PAGE: u8 = 0x16;
    pub const WRITE_NOTEPAD: u8 = 0x18;
    pub const READ_NOTEPAD: u8 = 0x19;
    pub const HI_SPEED_SEARCH: u8 = 0x1B;
    pub const TEMPLATE_NUM: u8 = 0x1D;
    pub const READ_INDEX_TABLE: u8 = 0x1F;
    pub const GET_IMAGE_EX: u8 = 0x28;
    pub const AURA_LED_CONFIG: u8 = 0x35;
    pub const CHECK_SENSOR: u8 = 0x36;
    pub const GET_ALG_VER: u8 = 0x39;
    pub const GET_FW_VER: u8 = 0x3A;
    pub const READ_PROD_INFO: u8 = 0x3C;
    pub const SOFT_RST: u8 = 0x3D;

    /// Every code that has its own [`Command`](super::Command) variant.
    pub const KNOWN: [u8; 32] = [
        GEN_IMG,
        IMG2TZ,
        MATCH,
        SEARCH,
        REG_MODEL,
        STORE,
        LOAD_CHAR,
        UP_CHAR,
        DOWN_CHAR,
        UP_IMAGE,
        DOWN_IMAGE,
        DELETE_CHAR,
        EMPTY,
        SET_SYS_PARA,
        READ_SYS_PARA,
        SET_PWD,
        VFY_PWD,
        GET_RANDOM_CODE,
        SET_ADDR,
        READ_INF_PAGE,
        WRITE_NOTEPAD,
        READ_NOTEPAD,
        HI_SPEED_SEARCH,
        TEMPLATE_NUM,
        READ_INDEX_TABLE,
        GET_IMAGE_EX,
        AURA_LED_CONFIG,
        CHECK_SENSOR,
        GET_ALG_VER,
        GET_FW_VER,
        READ_PROD_INFO,
        SOFT_RST,
    ];

    /// The instruction's name, `None` for codes without a variant.
    pub const fn name(code: u8) -> Option<&'static str> {
        Some(match code {
            GEN_IMG => "GenImg",
            IMG2TZ => "Img2Tz",
            MATCH => "Match",
            SEARCH => "Search",
            REG_MODEL => "RegModel",
            STORE => "Store",
            LOAD_CHAR => "LoadChar",
            UP_CHAR => "UpChar",
            DOWN_CHAR => "DownChar",
            UP_IMAGE => "UpImage",
            DOWN_IMAGE => "DownImage",
            DELETE_CHAR => "DeleteChar",
            EMPTY => "Empty",
            SET_SYS_PARA => "SetSysPara",
            READ_SYS_PARA => "ReadSysPara",
            SET_PWD => "SetPwd",
            VFY_PWD => "VfyPwd",
            GET_RANDOM_CODE => "GetRandomCode",
            SET_ADDR => "SetAddr",
            READ_INF_PAGE => "ReadInfPage",
            WRITE_NOTEPAD => "WriteNotepad",
            READ_NOTEPAD => "ReadNotepad",
            HI_SPEED_SEARCH => "HiSpeedSearch",
            TEMPLATE_NUM => "TemplateNum",
            READ_INDEX_TABLE => "ReadIndexTable",
            GET_IMAGE_EX => "GetImageEx",
            AURA_LED_CONFIG => "AuraLedConfig",
            CHECK_SENSOR => "CheckSensor",
            GET_ALG_VER => "GetAlgVer",
            GET_FW_VER => "GetFwVer",
            READ_PROD_INFO => "ReadProdInfo",
            SOFT_RST => "SoftRst",
            _ => return None,
        })
    }
}

/// A payload that is not what its instruction (or reply) calls for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// No instruction code (or no confirmation code) at all.
    #[error("empty payload: expected at least the {expected} byte")]
    Empty {
        /// "instruction code" or "confirmation code".
        expected: &'static str,
    },
    /// The payload has the wrong length for the instruction.
    #[error("{instruction} {what} (code {opcode:02X}): expected {expected} bytes, found {found}")]
    WrongLength {
        /// Instruction name (or "Unknown").
        instruction: &'static str,
        /// Instruction code.
        opcode: u8,
        /// "parameters" or "reply" (lengths of a reply include the confirmation code).
        what: &'static str,
        /// Expected length.
        expected: usize,
        /// Found length.
        found: usize,
    },
}

/// One instruction, as sent in a command packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Command {
    /// 01: capture a finger image.
    GenImg,
    /// 02 (GenChar): image to characteristics in `buffer` (1-2, R503 1-6).
    Img2Tz { buffer: u8 },
    /// 03: compare buffer 1 with buffer 2.
    Match,
    /// 04: search the library.
    Search { buffer: u8, start: u16, count: u16 },
    /// 05: merge the buffers into a template.
    RegModel,
    /// 06: store `buffer` at `page`.
    Store { buffer: u8, page: u16 },
    /// 07: load `page` into `buffer`.
    LoadChar { buffer: u8, page: u16 },
    /// 08: upload a character buffer (data packets follow the ack).
    UpChar { buffer: u8 },
    /// 09: download a character buffer (the host sends data packets after the ack).
    DownChar { buffer: u8 },
    /// 0A: upload the image.
    UpImage,
    /// 0B: download an image.
    DownImage,
    /// 0C (DeletChar): delete `count` templates from `page`.
    DeleteChar { page: u16, count: u16 },
    /// 0D: clear the library.
    Empty,
    /// 0E: set a system parameter (4 baud N, 5 security 1-5, 6 packet size code 0-3).
    SetSysPara { param: u8, value: u8 },
    /// 0F: read the system parameters.
    ReadSysPara,
    /// 12: set the password.
    SetPwd(u32),
    /// 13: verify the password.
    VfyPwd(u32),
    /// 15 (SetAdder): set the module address.
    SetAddr(u32),
    /// 14: a random number.
    GetRandomCode,
    /// 16: read the information page (512 bytes as data packets).
    ReadInfPage,
    /// 18: write 32 bytes to notepad page 0-15.
    WriteNotepad { page: u8, data: [u8; 32] },
    /// 19: read notepad page 0-15.
    ReadNotepad { page: u8 },
    /// 1B: as Search.
    HiSpeedSearch { buffer: u8, start: u16, count: u16 },
    /// 1D (TempleteNum): number of stored templates.
    TemplateNum,
    /// 1F: index table page 0-3.
    ReadIndexTable { page: u8 },
    /// 28: capture for enrolment.
    GetImageEx,
    /// 35 (R503): LED ring.
    AuraLedConfig { ctrl: u8, speed: u8, colour: u8, count: u8 },
    /// 36: sensor self-check.
    CheckSensor,
    /// 39: algorithm version.
    GetAlgVer,
    /// 3A: firmware version.
    GetFwVer,
    /// 3C: product information.
    ReadProdInfo,
    /// 3D: soft reset.
    SoftRst,
    /// Any other code, parameters kept verbatim. `code` is never one of [`opcode::KNOWN`] when produced by
    /// [`Command::from_payload`].
    Unknown { code: u8, params: Vec<u8> },
}

fn u16_at(p: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([p[i], p[i + 1]])
}

fn u32_at(p: &[u8], i: usize) -> u32 {
    u32::from_be_bytes([p[i], p[i + 1], p[i + 2], p[i + 3]])
}

fn array_at<const N: usize>(p: &[u8], i: usize) -> [u8; N] {
    let mut a = [0; N];
    a.copy_from_slice(&p[i..i + N]);
    a
}

impl Command {
    /// The instruction code.
    pub fn opcode(&self) -> u8 {
        use opcode as op;
        match self {
            Command::GenImg => op::GEN_IMG,
            Command::Img2Tz { .. } => op::IMG2TZ,
            Command::Match => op::MATCH,
            Command::Search { .. } => op::SEARCH,
            Command::RegModel => op::REG_MODEL,
            Command::Store { .. } => op::STORE,
            Command::LoadChar { .. } => op::LOAD_CHAR,
            Command::UpChar { .. } => op::UP_CHAR,
            Command::DownChar { .. } => op::DOWN_CHAR,
            Command::UpImage => op::UP_IMAGE,
            Command::DownImage => op::DOWN_IMAGE,
            Command::DeleteChar { .. } => op::DELETE_CHAR,
            Command::Empty => op::EMPTY,
            Command::SetSysPara { .. } => op::SET_SYS_PARA,
            Command::ReadSysPara => op::READ_SYS_PARA,
            Command::SetPwd(_) => op::SET_PWD,
            Command::VfyPwd(_) => op::VFY_PWD,
            Command::SetAddr(_) => op::SET_ADDR,
            Command::GetRandomCode => op::GET_RANDOM_CODE,
            Command::ReadInfPage => op::READ_INF_PAGE,
            Command::WriteNotepad { .. } => op::WRITE_NOTEPAD,
            Command::ReadNotepad { .. } => op::READ_NOTEPAD,
            Command::HiSpeedSearch { .. } => op::HI_SPEED_SEARCH,
            Command::TemplateNum => op::TEMPLATE_NUM,
            Command::ReadIndexTable { .. } => op::READ_INDEX_TABLE,
            Command::GetImageEx => op::GET_IMAGE_EX,
            Command::AuraLedConfig { .. } => op::AURA_LED_CONFIG,
            Command::CheckSensor => op::CHECK_SENSOR,
            Command::GetAlgVer => op::GET_ALG_VER,
            Command::GetFwVer => op::GET_FW_VER,
            Command::ReadProdInfo => op::READ_PROD_INFO,
            Command::SoftRst => op::SOFT_RST,
            Command::Unknown { code, .. } => *code,
        }
    }

    /// The instruction's name ("Unknown" for [`Command::Unknown`]).
    pub fn name(&self) -> &'static str {
        match self {
            Command::Unknown { .. } => "Unknown",
            other => opcode::name(other.opcode()).unwrap_or("Unknown"),
        }
    }

    /// The content of the command packet: instruction code, then parameters.
    pub fn to_payload(&self) -> Vec<u8> {
        let mut p = vec![self.opcode()];
        match self {
            Command::Img2Tz { buffer } | Command::UpChar { buffer } | Command::DownChar { buffer } => p.push(*buffer),
            Command::Search { buffer, start, count } | Command::HiSpeedSearch { buffer, start, count } => {
                p.push(*buffer);
                p.extend_from_slice(&start.to_be_bytes());
                p.extend_from_slice(&count.to_be_bytes());
            }
            Command::Store { buffer, page } | Command::LoadChar { buffer, page } => {
                p.push(*buffer);
                p.extend_from_slice(&page.to_be_bytes());
            }
            Command::DeleteChar { page, count } => {
                p.extend_from_slice(&page.to_be_bytes());
                p.extend_from_slice(&count.to_be_bytes());
            }
            Command::SetSysPara { param, value } => p.extend_from_slice(&[*param, *value]),
            Command::SetPwd(v) | Command::VfyPwd(v) | Command::SetAddr(v) => p.extend_from_slice(&v.to_be_bytes()),
            Command::WriteNotepad { page, data } => {
                p.push(*page);
                p.extend_from_slice(data);
            }
            Command::ReadNotepad { page } | Command::ReadIndexTable { page } => p.push(*page),
            Command::AuraLedConfig { ctrl, speed, colour, count } => {
                p.extend_from_slice(&[*ctrl, *speed, *colour, *count]);
            }
            Command::Unknown { params, .. } => p.extend_from_slice(params),
            Command::GenImg
            | Command::Match
            | Command::RegModel
            | Command::UpImage
            | Command::DownImage
            | Command::Empty
            | Command::ReadSysPara
            | Command::GetRandomCode
            | Command::ReadInfPage
            | Command::TemplateNum
            | Command::GetImageEx
            | Command::CheckSensor
            | Command::GetAlgVer
            | Command::GetFwVer
            | Command::ReadProdInfo
            | Command::SoftRst => {}
        }
        p
    }

    /// The number of parameter bytes a known instruction takes (`None` for unknown codes).
    pub fn param_len(code: u8) -> Option<usize> {
        use opcode as op;
        Some(match code {
            op::IMG2TZ | op::UP_CHAR | op::DOWN_CHAR | op::READ_NOTEPAD | op::READ_INDEX_TABLE => 1,
            op::SET_SYS_PARA => 2,
            op::STORE | op::LOAD_CHAR => 3,
            op::DELETE_CHAR | op::SET_PWD | op::VFY_PWD | op::SET_ADDR | op::AURA_LED_CONFIG => 4,
            op::SEARCH | op::HI_SPEED_SEARCH => 5,
            op::WRITE_NOTEPAD => 33,
            c if opcode::name(c).is_some() => 0,
            _ => return None,
        })
    }

    /// Parses the content of a command packet.
    pub fn from_payload(payload: &[u8]) -> Result<Command, PayloadError> {
        use opcode as op;
        let (&code, p) = payload.split_first().ok_or(PayloadError::Empty { expected: "instruction code" })?;
        let Some(expected) = Command::param_len(code) else {
            return Ok(Command::Unknown { code, params: p.to_vec() });
        };
        if p.len() != expected {
            return Err(PayloadError::WrongLength {
                instruction: opcode::name(code).unwrap_or("Unknown"),
                opcode: code,
                what: "parameters",
                expected,
                found: p.len(),
            });
        }
        Ok(match code {
            op::GEN_IMG => Command::GenImg,
            op::IMG2TZ => Command::Img2Tz { buffer: p[0] },
            op::MATCH => Command::Match,
            op::SEARCH => Command::Search { buffer: p[0], start: u16_at(p, 1), count: u16_at(p, 3) },
            op::REG_MODEL => Command::RegModel,
            op::STORE => Command::Store { buffer: p[0], page: u16_at(p, 1) },
            op::LOAD_CHAR => Command::LoadChar { buffer: p[0], page: u16_at(p, 1) },
            op::UP_CHAR => Command::UpChar { buffer: p[0] },
            op::DOWN_CHAR => Command::DownChar { buffer: p[0] },
            op::UP_IMAGE => Command::UpImage,
            op::DOWN_IMAGE => Command::DownImage,
            op::DELETE_CHAR => Command::DeleteChar { page: u16_at(p, 0), count: u16_at(p, 2) },
            op::EMPTY => Command::Empty,
            op::SET_SYS_PARA => Command::SetSysPara { param: p[0], value: p[1] },
            op::READ_SYS_PARA => Command::ReadSysPara,
            op::SET_PWD => Command::SetPwd(u32_at(p, 0)),
            op::VFY_PWD => Command::VfyPwd(u32_at(p, 0)),
            op::SET_ADDR => Command::SetAddr(u32_at(p, 0)),
            op::GET_RANDOM_CODE => Command::GetRandomCode,
            op::READ_INF_PAGE => Command::ReadInfPage,
            op::WRITE_NOTEPAD => Command::WriteNotepad { page: p[0], data: array_at(p, 1) },
            op::READ_NOTEPAD => Command::ReadNotepad { page: p[0] },
            op::HI_SPEED_SEARCH => Command::HiSpeedSearch { buffer: p[0], start: u16_at(p, 1), count: u16_at(p, 3) },
            op::TEMPLATE_NUM => Command::TemplateNum,
            op::READ_INDEX_TABLE => Command::ReadIndexTable { page: p[0] },
            op::GET_IMAGE_EX => Command::GetImageEx,
            op::AURA_LED_CONFIG => Command::AuraLedConfig { ctrl: p[0], speed: p[1], colour: p[2], count: p[3] },
            op::CHECK_SENSOR => Command::CheckSensor,
            op::GET_ALG_VER => Command::GetAlgVer,
            op::GET_FW_VER => Command::GetFwVer,
            op::READ_PROD_INFO => Command::ReadProdInfo,
            op::SOFT_RST => Command::SoftRst,
            _ => unreachable!("param_len knows exactly the codes matched here"),
        })
    }
}

macro_rules! confirmation_codes {
    ($($(#[$doc:meta])* $name:ident = $code:literal, $text:literal;)*) => {
        /// The first byte of every ack.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum ConfirmationCode {
            $($(#[$doc])* #[doc = $text] $name,)*
            /// A code the reference does not list.
            Other(u8),
        }

        impl ConfirmationCode {
            /// Every listed code (not `Other`).
            pub const LISTED: &'static [ConfirmationCode] = &[$(ConfirmationCode::$name,)*];

            /// The byte.
            pub const fn code(self) -> u8 {
                match self {
                    $(ConfirmationCode::$name => $code,)*
                    ConfirmationCode::Other(c) => c,
                }
            }

            /// The code for a byte; unlisted bytes become `Other`.
            pub const fn from_code(code: u8) -> ConfirmationCode {
                match code {
                    $($code => ConfirmationCode::$name,)*
                    c => ConfirmationCode::Other(c),
                }
            }

            /// What the code means, per the reference.
            pub const fn description(self) -> &'static str {
                match self {
                    $(ConfirmationCode::$name => $text,)*
                    ConfirmationCode::Other(_) => "unlisted confirmation code",
                }
            }
        }
    };
}

confirmation_codes! {
    Ok = 0x00, "OK";
    PacketReceiveError = 0x01, "packet receive error";
    NoFinger = 0x02, "no finger on the sensor";
    CaptureFailed = 0x03, "failed to capture the finger image";
    ImageTooDisordered = 0x06, "image too disordered to generate characteristics";
    /// GetImageEx uses the same code for "poor image".
    TooFewFeaturePoints = 0x07, "too few feature points (or poor image)";
    NoMatch = 0x08, "fingers do not match";
    NotFound = 0x09, "no matching template found";
    MergeFailed = 0x0A, "failed to merge characteristics";
    PageOutOfRange = 0x0B, "page number out of range";
    InvalidTemplate = 0x0C, "invalid template (error reading it)";
    TemplateUploadError = 0x0D, "template upload error";
    CannotReceiveDataPackets = 0x0E, "cannot receive the following data packets";
    ImageUploadError = 0x0F, "image upload error";
    DeleteFailed = 0x10, "failed to delete the template";
    ClearFailed = 0x11, "failed to clear the library";
    WrongPassword = 0x13, "wrong password";
    NoValidPrimaryImage = 0x15, "no valid primary image";
    FlashWriteError = 0x18, "error writing flash";
    Undefined = 0x19, "undefined error";
    InvalidRegister = 0x1A, "invalid register number";
    BadRegisterConfiguration = 0x1B, "incorrect register configuration";
    BadNotepadPage = 0x1C, "wrong notepad page number";
    PortFailure = 0x1D, "failed to operate the communication port";
    LibraryFull = 0x1F, "fingerprint library full";
    WrongAddress = 0x20, "wrong address";
    PasswordMustBeVerified = 0x21, "password must be verified first";
    TemplateEmpty = 0x22, "template empty";
    LibraryEmpty = 0x24, "fingerprint library empty";
    Timeout = 0x26, "timeout";
    AlreadyExists = 0x27, "fingerprint already exists";
    /// Also CheckSensor's "abnormal".
    SensorHardwareError = 0x29, "sensor hardware error";
    Unsupported = 0xFC, "unsupported command";
    HardwareError = 0xFD, "hardware error";
    ExecutionFailure = 0xFE, "command execution failure";
}

impl ConfirmationCode {
    /// `true` for `Ok`.
    pub const fn is_ok(self) -> bool {
        self.code() == 0
    }
}

impl fmt::Display for ConfirmationCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} {}", self.code(), self.description())
    }
}

impl From<u8> for ConfirmationCode {
    fn from(code: u8) -> Self {
        ConfirmationCode::from_code(code)
    }
}

/// The packet size code of the system parameters (and of SetSysPara param 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketSize {
    /// Code 0.
    Bytes32,
    /// Code 1.
    Bytes64,
    /// Code 2 (the delivery default).
    Bytes128,
    /// Code 3.
    Bytes256,
    /// A code outside 0-3, kept so that a reply round-trips.
    Invalid(u16),
}

impl PacketSize {
    /// From the 2-byte code.
    pub const fn from_code(code: u16) -> PacketSize {
        match code {
            0 => PacketSize::Bytes32,
            1 => PacketSize::Bytes64,
            2 => PacketSize::Bytes128,
            3 => PacketSize::Bytes256,
            c => PacketSize::Invalid(c),
        }
    }

    /// The code.
    pub const fn code(self) -> u16 {
        match self {
            PacketSize::Bytes32 => 0,
            PacketSize::Bytes64 => 1,
            PacketSize::Bytes128 => 2,
            PacketSize::Bytes256 => 3,
            PacketSize::Invalid(c) => c,
        }
    }

    /// Data packet content size in bytes (`None` for an invalid code).
    pub const fn bytes(self) -> Option<usize> {
        match self {
            PacketSize::Bytes32 => Some(32),
            PacketSize::Bytes64 => Some(64),
            PacketSize::Bytes128 => Some(128),
            PacketSize::Bytes256 => Some(256),
            PacketSize::Invalid(_) => None,
        }
    }

    /// The size for a byte count of 32, 64, 128 or 256.
    pub const fn from_bytes(bytes: usize) -> Option<PacketSize> {
        match bytes {
            32 => Some(PacketSize::Bytes32),
            64 => Some(PacketSize::Bytes64),
            128 => Some(PacketSize::Bytes128),
            256 => Some(PacketSize::Bytes256),
            _ => None,
        }
    }
}

/// The 16-byte ReadSysPara block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SystemParameters {
    /// Status register: bit0 busy, bit1 pass, bit2 password verified, bit3 image buffer valid.
    pub status: u16,
    /// System identifier.
    pub system_id: u16,
    /// Library capacity (templates).
    pub library_size: u16,
    /// Security level 1-5.
    pub security_level: u16,
    /// Module address.
    pub address: u32,
    /// Data packet size.
    pub packet_size: PacketSize,
    /// Baud rate / 9600. Real modules have reported a value contradicting their actual baud: don't trust it.
    pub baud_multiplier: u16,
}

impl SystemParameters {
    /// Encoded length.
    pub const LEN: usize = 16;

    /// Status bit 0.
    pub const fn busy(&self) -> bool {
        self.status & 1 != 0
    }
    /// Status bit 1 (a finger matched).
    pub const fn pass(&self) -> bool {
        self.status & 2 != 0
    }
    /// Status bit 2.
    pub const fn password_verified(&self) -> bool {
        self.status & 4 != 0
    }
    /// Status bit 3.
    pub const fn image_buffer_valid(&self) -> bool {
        self.status & 8 != 0
    }

    /// Parses the block (`b` is exactly 16 bytes).
    fn from_bytes(b: &[u8]) -> SystemParameters {
        SystemParameters {
            status: u16_at(b, 0),
            system_id: u16_at(b, 2),
            library_size: u16_at(b, 4),
            security_level: u16_at(b, 6),
            address: u32_at(b, 8),
            packet_size: PacketSize::from_code(u16_at(b, 12)),
            baud_multiplier: u16_at(b, 14),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        for w in [self.status, self.system_id, self.library_size, self.security_level] {
            out.extend_from_slice(&w.to_be_bytes());
        }
        out.extend_from_slice(&self.address.to_be_bytes());
        out.extend_from_slice(&self.packet_size.code().to_be_bytes());
        out.extend_from_slice(&self.baud_multiplier.to_be_bytes());
    }
}

/// The 46-byte ReadProdInfo block. Text fields are kept as raw bytes (NUL or space padded by the vendor).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductInfo {
    /// Module type.
    pub model: [u8; 16],
    /// Batch number.
    pub batch: [u8; 4],
    /// Serial number.
    pub serial: [u8; 8],
    /// Hardware version (main, sub).
    pub hw_version: [u8; 2],
    /// Sensor type.
    pub sensor_type: [u8; 8],
    /// Image width.
    pub width: u16,
    /// Image height.
    pub height: u16,
    /// Template size in bytes.
    pub template_size: u16,
    /// Library capacity.
    pub capacity: u16,
}

impl ProductInfo {
    /// Encoded length.
    pub const LEN: usize = 46;

    fn from_bytes(b: &[u8]) -> ProductInfo {
        ProductInfo {
            model: array_at(b, 0),
            batch: array_at(b, 16),
            serial: array_at(b, 20),
            hw_version: array_at(b, 28),
            sensor_type: array_at(b, 30),
            width: u16_at(b, 38),
            height: u16_at(b, 40),
            template_size: u16_at(b, 42),
            capacity: u16_at(b, 44),
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.model);
        out.extend_from_slice(&self.batch);
        out.extend_from_slice(&self.serial);
        out.extend_from_slice(&self.hw_version);
        out.extend_from_slice(&self.sensor_type);
        for w in [self.width, self.height, self.template_size, self.capacity] {
            out.extend_from_slice(&w.to_be_bytes());
        }
    }

    /// A text field with trailing NULs and spaces removed (lossy UTF-8).
    pub fn text(field: &[u8]) -> String {
        String::from_utf8_lossy(field).trim_end_matches(['\0', ' ']).to_owned()
    }
}

/// A ReadIndexTable bitmap: bit j of byte i is slot `page*256 + 8i + j`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct IndexBitmap(pub [u8; 32]);

impl IndexBitmap {
    /// The used slot numbers, ascending, for the index page the bitmap was read from (0-3).
    pub fn slots(&self, page: u8) -> Vec<u16> {
        let base = u16::from(page) * 256;
        (0..256u16).filter(|&n| self.0[usize::from(n / 8)] & (1 << (n % 8)) != 0).map(|n| base + n).collect()
    }

    /// Marks slot `n` (0-255 within the page) used.
    pub fn set(&mut self, n: u8) {
        self.0[usize::from(n / 8)] |= 1 << (n % 8);
    }
}

/// The content of an ack, typed by the instruction it answers.
///
/// Every variant but `Status` and `Raw` has a fixed length, so an error ack built with [`Reply::error`] keeps the
/// full zero-padded length that fixed-length readers (adafruit) expect. A short error ack (just the code) from a
/// real module parses as `Status`, so parsing and [`Reply::to_payload`] round-trip either way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reply {
    /// Just the confirmation code.
    Status(ConfirmationCode),
    /// Match: score.
    Match { cc: ConfirmationCode, score: u16 },
    /// Search / HiSpeedSearch: where and how well (zeros when not found).
    Search { cc: ConfirmationCode, page: u16, score: u16 },
    /// ReadSysPara.
    SystemParameters { cc: ConfirmationCode, params: SystemParameters },
    /// GetRandomCode.
    RandomCode { cc: ConfirmationCode, value: u32 },
    /// TemplateNum.
    TemplateNum { cc: ConfirmationCode, count: u16 },
    /// ReadIndexTable.
    IndexTable { cc: ConfirmationCode, bitmap: IndexBitmap },
    /// ReadNotepad.
    Notepad { cc: ConfirmationCode, data: [u8; 32] },
    /// GetAlgVer / GetFwVer: a 32-byte string.
    Version { cc: ConfirmationCode, text: [u8; 32] },
    /// ReadProdInfo.
    ProductInfo { cc: ConfirmationCode, info: ProductInfo },
    /// The answer to an unknown instruction: code plus whatever followed.
    Raw { cc: ConfirmationCode, data: Vec<u8> },
}

impl Reply {
    /// The full ack payload length (confirmation code included) for a known instruction, `None` for unknown ones.
    pub fn payload_len(instruction: u8) -> Option<usize> {
        use opcode as op;
        Some(match instruction {
            op::MATCH | op::TEMPLATE_NUM => 3,
            op::SEARCH | op::HI_SPEED_SEARCH | op::GET_RANDOM_CODE => 5,
            op::READ_SYS_PARA => 1 + SystemParameters::LEN,
            op::READ_INDEX_TABLE | op::READ_NOTEPAD | op::GET_ALG_VER | op::GET_FW_VER => 33,
            op::READ_PROD_INFO => 1 + ProductInfo::LEN,
            c if opcode::name(c).is_some() => 1,
            _ => return None,
        })
    }

    /// Parses the ack payload of the instruction `instruction` (see [`Command::opcode`]).
    pub fn parse(instruction: u8, payload: &[u8]) -> Result<Reply, PayloadError> {
        use opcode as op;
        let (&code, rest) = payload.split_first().ok_or(PayloadError::Empty { expected: "confirmation code" })?;
        let cc = ConfirmationCode::from_code(code);
        let Some(expected) = Reply::payload_len(instruction) else {
            return Ok(Reply::Raw { cc, data: rest.to_vec() });
        };
        if payload.len() == 1 && !cc.is_ok() {
            return Ok(Reply::Status(cc));
        }
        if payload.len() != expected {
            return Err(PayloadError::WrongLength {
                instruction: opcode::name(instruction).unwrap_or("Unknown"),
                opcode: instruction,
                what: "reply",
                expected,
                found: payload.len(),
            });
        }
        let r = rest;
        Ok(match instruction {
            op::MATCH => Reply::Match { cc, score: u16_at(r, 0) },
            op::SEARCH | op::HI_SPEED_SEARCH => Reply::Search { cc, page: u16_at(r, 0), score: u16_at(r, 2) },
            op::READ_SYS_PARA => Reply::SystemParameters { cc, params: SystemParameters::from_bytes(r) },
            op::GET_RANDOM_CODE => Reply::RandomCode { cc, value: u32_at(r, 0) },
            op::TEMPLATE_NUM => Reply::TemplateNum { cc, count: u16_at(r, 0) },
            op::READ_INDEX_TABLE => Reply::IndexTable { cc, bitmap: IndexBitmap(array_at(r, 0)) },
            op::READ_NOTEPAD => Reply::Notepad { cc, data: array_at(r, 0) },
            op::GET_ALG_VER | op::GET_FW_VER => Reply::Version { cc, text: array_at(r, 0) },
            op::READ_PROD_INFO => Reply::ProductInfo { cc, info: ProductInfo::from_bytes(r) },
            _ => Reply::Status(cc),
        })
    }

    /// An error (or any) ack for `instruction` with every field zero, at the instruction's full reply length.
    pub fn error(instruction: u8, cc: ConfirmationCode) -> Reply {
        match Reply::payload_len(instruction) {
            None => Reply::Raw { cc, data: Vec::new() },
            Some(len) => {
                let mut payload = vec![0; len];
                payload[0] = cc.code();
                Reply::parse(instruction, &payload).unwrap_or(Reply::Status(cc))
            }
        }
    }

    /// The confirmation code.
    pub fn cc(&self) -> ConfirmationCode {
        match self {
            Reply::Status(cc)
            | Reply::Match { cc, .. }
            | Reply::Search { cc, .. }
            | Reply::SystemParameters { cc, .. }
            | Reply::RandomCode { cc, .. }
            | Reply::TemplateNum { cc, .. }
            | Reply::IndexTable { cc, .. }
            | Reply::Notepad { cc, .. }
            | Reply::Version { cc, .. }
            | Reply::ProductInfo { cc, .. }
            | Reply::Raw { cc, .. } => *cc,
        }
    }

    /// The ack payload.
    pub fn to_payload(&self) -> Vec<u8> {
        let mut p = vec![self.cc().code()];
        match self {
            Reply::Status(_) => {}
            Reply::Match { score, .. } => p.extend_from_slice(&score.to_be_bytes()),
            Reply::Search { page, score, .. } => {
                p.extend_from_slice(&page.to_be_bytes());
                p.extend_from_slice(&score.to_be_bytes());
            }
            Reply::SystemParameters { params, .. } => params.write(&mut p),
            Reply::RandomCode { value, .. } => p.extend_from_slice(&value.to_be_bytes()),
            Reply::TemplateNum { count, .. } => p.extend_from_slice(&count.to_be_bytes()),
            Reply::IndexTable { bitmap, .. } => p.extend_from_slice(&bitmap.0),
            Reply::Notepad { data: bytes, .. } | Reply::Version { text: bytes, .. } => p.extend_from_slice(bytes),
            Reply::ProductInfo { info, .. } => info.write(&mut p),
            Reply::Raw { data, .. } => p.extend_from_slice(data),
        }
        p
    }
}
