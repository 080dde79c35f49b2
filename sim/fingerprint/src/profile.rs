//! Module models: what differs between an R307 and an R503 on the wire.

use khil_biometrics::synth::SensorProfile;
use khil_fingerprint::command::opcode;

/// One module model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Profile {
    /// `r307`, `r503`.
    pub name: &'static str,
    /// Image geometry (pixels).
    pub width: u16,
    pub height: u16,
    /// Library capacity (templates).
    pub capacity: u16,
    /// Character buffers (Img2Tz buffer ids 1..=n).
    pub char_buffers: u8,
    /// Baud multipliers (x 9600) that SetSysPara accepts.
    pub baud_multipliers: &'static [u8],
    /// Sends a raw 0x55 after SoftRst (the R503 does; adafruit's soft_reset waits for it).
    pub handshake_byte_after_reset: bool,
    /// ReadSysPara's system identifier.
    pub system_id: u16,
    /// ReadProdInfo's fields (`None`: the model does not know the instruction).
    pub product: Option<ProductFields>,
    /// GetFwVer / GetAlgVer strings (`None`: not supported).
    pub firmware: Option<&'static str>,
    pub algorithm: Option<&'static str>,
    /// Instructions beyond the classic 01-1F set that this model answers.
    pub extra_instructions: &'static [u8],
}

/// Text fields of ReadProdInfo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductFields {
    pub model: &'static str,
    pub batch: &'static str,
    pub serial: &'static str,
    pub hw_version: [u8; 2],
    pub sensor_type: &'static str,
}

/// Every character file is this long (UpChar sends it, DownChar expects it).
pub const CHAR_FILE_LEN: usize = 512;

impl Profile {
    /// Grow R307 (optical, 256 x 288, 1000 templates): the classic R30x instruction set only.
    pub const R307: Profile = Profile {
        name: "r307",
        width: 256,
        height: 288,
        capacity: 1000,
        char_buffers: 2,
        baud_multipliers: &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12],
        handshake_byte_after_reset: false,
        system_id: 0,
        product: None,
        firmware: None,
        algorithm: None,
        extra_instructions: &[],
    };

    /// Grow R503 (capacitive, 192 x 192, 200 templates, Aura LED ring, six character buffers).
    pub const R503: Profile = Profile {
        name: "r503",
        width: 192,
        height: 192,
        capacity: 200,
        char_buffers: 6,
        baud_multipliers: &[1, 2, 4, 6, 12],
        handshake_byte_after_reset: true,
        system_id: 0,
        product: Some(ProductFields {
            model: "R503",
            batch: "KHIL",
            serial: "00000001",
            hw_version: [1, 0],
            sensor_type: "KHILSIM",
        }),
        firmware: Some("khil-sim r503"),
        algorithm: Some("khil MCC"),
        extra_instructions: &[
            opcode::GET_IMAGE_EX,
            opcode::AURA_LED_CONFIG,
            opcode::CHECK_SENSOR,
            opcode::GET_ALG_VER,
            opcode::GET_FW_VER,
            opcode::READ_PROD_INFO,
            opcode::SOFT_RST,
        ],
    };

    /// Every profile.
    pub const ALL: [Profile; 2] = [Profile::R307, Profile::R503];

    /// The profile called `name`.
    pub fn by_name(name: &str) -> Option<Profile> {
        Profile::ALL.into_iter().find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// Names, for error messages.
    pub fn names() -> String {
        Profile::ALL.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
    }

    /// Whether the model answers `code` at all (otherwise: FC unsupported).
    pub fn supports(&self, code: u8) -> bool {
        opcode::name(code).is_some() && (code <= opcode::READ_INDEX_TABLE || self.extra_instructions.contains(&code))
    }

    /// The image buffer on the UART: 4 bits per pixel.
    pub fn image_wire_len(&self) -> usize {
        usize::from(self.width) * usize::from(self.height) / 2
    }

    /// The synthetic generator's sensor for this model.
    pub fn sensor(&self) -> SensorProfile {
        SensorProfile::custom(usize::from(self.width), usize::from(self.height))
    }
}
