//! The wiring of an e-gate's I/O board, declared once: which relay (OSDP output) drives what and which contact
//! (OSDP input) reports what. The controller (`khil-clearance`) and the simulated board and gate (`khil-sim-osdp`'s
//! `gate-io` profile, `khil-sim-gate`) read it from here, so the two sides of the wire cannot disagree. A vendor's
//! board wired otherwise needs a mapping of its own; this is the wiring khil's conformance ICS declares for
//! `gate-io`.

/// The relays, by OSDP output number.
pub mod output {
    /// Opens the entry flap while energised.
    pub const ENTRY_FLAP: u8 = 0;
    /// Opens the exit flap while energised.
    pub const EXIT_FLAP: u8 = 1;
    /// Sounds the gate's alarm.
    pub const ALARM: u8 = 2;
    /// Names, by number, for consoles and logs.
    pub const NAMES: [&str; 3] = ["entry-flap", "exit-flap", "alarm"];
}

/// The contacts, by OSDP input number.
pub mod input {
    /// Someone in the entry zone, in front of the entry flap.
    pub const ENTRY_PRESENCE: u8 = 0;
    /// Someone in the mantrap, between the flaps.
    pub const MANTRAP_OCCUPIED: u8 = 1;
    /// Someone in the exit zone, beyond the exit flap.
    pub const EXIT_PRESENCE: u8 = 2;
    /// The entry flap is fully closed.
    pub const ENTRY_FLAP_CLOSED: u8 = 3;
    /// The exit flap is fully closed.
    pub const EXIT_FLAP_CLOSED: u8 = 4;
    /// The mantrap's people counter sees more than one person (anti-tailgating).
    pub const MANTRAP_MULTIPLE: u8 = 5;
    /// Names, by number, for consoles and logs.
    pub const NAMES: [&str; 6] = [
        "entry-presence",
        "mantrap-occupied",
        "exit-presence",
        "entry-flap-closed",
        "exit-flap-closed",
        "mantrap-multiple",
    ];
}
