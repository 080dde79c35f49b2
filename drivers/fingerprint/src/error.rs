//! What can go wrong talking to a module, split the way a caller has to act on it: the module answered and said
//! no ([`ZfmError::DeviceSaid`]), the line is gone ([`ZfmError::Line`]), nothing usable came back in time
//! ([`ZfmError::Timeout`], [`ZfmError::StoreUnconfirmed`]), or what came back broke the protocol
//! ([`ZfmError::Protocol`], [`ZfmError::Transfer`]).
//!
//! Every variant names the instruction (name and code) so a log line alone says which exchange failed. None
//! carries payload bytes: templates, images, passwords and notepad contents never reach an error message.

use std::fmt;
use std::time::Duration;

use khil_link::LinkError;

use crate::command::{Command, ConfirmationCode, opcode};

/// An instruction as errors and events name it: `Store (06)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CommandId {
    /// The instruction's name ("Unknown" for codes outside the reference table).
    pub name: &'static str,
    /// The instruction code.
    pub opcode: u8,
}

impl CommandId {
    /// The id of a command.
    pub fn of(cmd: &Command) -> CommandId {
        CommandId { name: cmd.name(), opcode: cmd.opcode() }
    }

    /// The id of an instruction code.
    pub fn from_opcode(code: u8) -> CommandId {
        CommandId { name: opcode::name(code).unwrap_or("Unknown"), opcode: code }
    }
}

impl fmt::Display for CommandId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({:02X})", self.name, self.opcode)
    }
}

/// Why a driver call failed.
#[derive(Debug, thiserror::Error)]
pub enum ZfmError {
    /// The module answered with a confirmation code that is not a success for this call.
    #[error("{command}: device said {code}")]
    DeviceSaid {
        /// The instruction.
        command: CommandId,
        /// What the module said.
        code: ConfirmationCode,
    },
    /// The link failed or the other end closed it. Nothing more will get through; reconnect.
    #[error("{command}: the line broke: {source}")]
    Line {
        /// The instruction in progress.
        command: CommandId,
        /// What the link reported (`LinkError::PeerClosed` for every spelling of "the other end went away").
        #[source]
        source: LinkError,
    },
    /// No usable reply within the timeout, on every attempt the retry policy allowed.
    #[error(
        "{command}: no reply within {waited:?} ({attempts} attempt{plural}){resent}{hint}",
        plural = if *attempts == 1 { "" } else { "s" },
        resent = if *outcome_unknown { "; sent once and not re-sent because it changes the module, so whether it took effect is unknown" } else { "" },
        hint = if hint.is_empty() { String::new() } else { format!("; {hint}") }
    )]
    Timeout {
        /// The instruction.
        command: CommandId,
        /// The timeout of one attempt.
        waited: Duration,
        /// Times the instruction was sent (1 for instructions that are never repeated; 0 when the line could not be
        /// resynchronised before it, so it was never sent).
        attempts: u32,
        /// The instruction changes the module, was sent once and not acknowledged: whether it took effect is
        /// unknown. `false` for repeatable instructions and for instructions that were never sent.
        outcome_unknown: bool,
        /// What this may mean (empty if nothing specific).
        hint: &'static str,
    },
    /// Store was sent once, its ack never arrived, and it was not re-sent. The driver read the index table
    /// afterwards: `slot_used` is what it showed (`None` if it could not be read either).
    #[error(
        "Store (06) to page {page}: no ack within {waited:?}; not re-sent; {}",
        match slot_used {
            Some(true) => "the index table now shows the page used (most likely stored, or it was used before)",
            Some(false) => "the index table shows the page empty (not stored)",
            None => "the index table could not be read to check",
        }
    )]
    StoreUnconfirmed {
        /// The library page.
        page: u16,
        /// What the index table showed after the timeout.
        slot_used: Option<bool>,
        /// The ack timeout.
        waited: Duration,
    },
    /// A reply that cannot be right for the instruction, or a call the protocol cannot express.
    #[error("{command}: protocol error: {detail}")]
    Protocol {
        /// The instruction.
        command: CommandId,
        /// Expected versus found.
        detail: String,
    },
    /// A data transfer (upload) lost packets on every attempt.
    #[error("{command}: data transfer failed on all {attempts} attempts; last: {detail}")]
    Transfer {
        /// The instruction that started the transfer.
        command: CommandId,
        /// Attempts made.
        attempts: u32,
        /// What went wrong the last time (expected versus found).
        detail: String,
    },
    /// An argument the module cannot take (caught before anything was sent).
    #[error("{command}: invalid argument: {detail}")]
    InvalidArgument {
        /// The instruction.
        command: CommandId,
        /// Expected versus found.
        detail: String,
    },
    /// No finger arrived on the sensor before the deadline.
    #[error("no finger on the sensor within {waited:?}")]
    NoFinger {
        /// How long the driver polled.
        waited: Duration,
    },
    /// The finger stayed on the sensor past the deadline.
    #[error("finger still on the sensor after {waited:?}")]
    FingerNotLifted {
        /// How long the driver polled.
        waited: Duration,
    },
}

impl ZfmError {
    /// The confirmation code, for `DeviceSaid`.
    pub fn device_code(&self) -> Option<ConfirmationCode> {
        match self {
            ZfmError::DeviceSaid { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// `true` for a broken or closed line.
    pub fn is_line(&self) -> bool {
        matches!(self, ZfmError::Line { .. })
    }
}
