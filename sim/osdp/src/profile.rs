//! Kinds of PD.

use khil_osdp::reply::{Capability, function};

/// What a PD has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PdProfile {
    /// `gate-io`, `card-reader`, `bio-reader`.
    pub name: &'static str,
    /// PDID model byte.
    pub model: u8,
    pub outputs: u8,
    pub inputs: u8,
    pub readers: u8,
    pub leds: u8,
    /// A fingerprint sensor (BIOREAD, BIOMATCH).
    pub biometrics: bool,
    /// The largest command (SOM to check) the PD takes, PDCAP function 10.
    pub rx_buffer: u16,
    /// Names of the outputs and inputs, for the console and logs.
    pub output_names: &'static [&'static str],
    pub input_names: &'static [&'static str],
}

impl PdProfile {
    /// An e-gate's I/O board: entry flap, exit flap and alarm relays; entry-zone presence, mantrap occupancy,
    /// exit-zone presence, entry flap closed, exit flap closed, and the mantrap people counter's "more than one
    /// person" contact (anti-tailgating); one reader position for LEDs, buzzer and text.
    pub const GATE_IO: PdProfile = PdProfile {
        name: "gate-io",
        model: 1,
        outputs: khil_osdp::gate_io::output::NAMES.len() as u8,
        inputs: khil_osdp::gate_io::input::NAMES.len() as u8,
        readers: 1,
        leds: 2,
        biometrics: false,
        rx_buffer: 256,
        output_names: &khil_osdp::gate_io::output::NAMES,
        input_names: &khil_osdp::gate_io::input::NAMES,
    };

    /// A card reader: one reader with LEDs, buzzer and text, no I/O.
    pub const CARD_READER: PdProfile = PdProfile {
        name: "card-reader",
        model: 2,
        outputs: 0,
        inputs: 0,
        readers: 1,
        leds: 1,
        biometrics: false,
        rx_buffer: 256,
        output_names: &[],
        input_names: &[],
    };

    /// A fingerprint reader on the gate's bus: one sensor (BIOREAD returns ANSI/INCITS 378 templates, BIOMATCH
    /// matches one against the presented finger), with a reader's LED, buzzer and text, no I/O. Its receive
    /// buffer takes the largest packet khil's codec allows, so that a BIOMATCH template fits.
    pub const BIO_READER: PdProfile = PdProfile {
        name: "bio-reader",
        model: 3,
        outputs: 0,
        inputs: 0,
        readers: 1,
        leds: 1,
        biometrics: true,
        rx_buffer: khil_osdp::frame::MAX_LEN,
        output_names: &[],
        input_names: &[],
    };

    pub const ALL: [PdProfile; 3] = [PdProfile::GATE_IO, PdProfile::CARD_READER, PdProfile::BIO_READER];

    pub fn by_name(name: &str) -> Option<PdProfile> {
        PdProfile::ALL.into_iter().find(|p| p.name == name)
    }

    pub fn names() -> String {
        PdProfile::ALL.map(|p| p.name).join(", ")
    }

    /// The PDCAP records.
    pub fn capabilities(&self) -> Vec<Capability> {
        let cap = |function, compliance, count| Capability { function, compliance, count };
        let mut caps = Vec::new();
        if self.inputs > 0 {
            caps.push(cap(function::CONTACT_STATUS, 1, self.inputs));
        }
        if self.outputs > 0 {
            caps.push(cap(function::OUTPUT_CONTROL, 1, self.outputs));
        }
        if !self.biometrics {
            caps.push(cap(function::CARD_FORMAT, 1, 1));
        }
        caps.push(cap(function::READER_LED, 1, self.leds));
        caps.push(cap(function::READER_AUDIBLE, 1, 1));
        caps.push(cap(function::READER_TEXT, 1, 1));
        caps.push(cap(function::CHECK_CHARACTER, 1, 0));
        caps.push(cap(function::COMMUNICATION_SECURITY, 1, 1));
        // The size is a little-endian u16 across the compliance and count bytes.
        let [lo, hi] = self.rx_buffer.to_le_bytes();
        caps.push(cap(function::RECEIVE_BUFFER_SIZE, lo, hi));
        caps.push(cap(function::READERS, 0, self.readers));
        if self.biometrics {
            // Compliance 1: fingerprint, template format 1 (SIA OSDP's PDCAP table: 0 none, 1 fingerprint
            // template 1, 2 fingerprint template 2, 3 iris); one sensor.
            caps.push(cap(function::BIOMETRICS, 1, 1));
        }
        caps
    }
}
