//! Which instructions may be sent twice, and how long each may take.

use std::time::Duration;

use crate::command::Command;

/// Whether the driver may send `cmd` again when its reply was lost or garbled.
///
/// An instruction is repeatable when sending it twice leaves the module as sending it once did: it only reads
/// (ReadSysPara, TemplateNum, ReadIndexTable, Search, Match, UpChar, UpImage, ...) or it rewrites a RAM buffer
/// from an input the first run did not change (GenImg recaptures, Img2Tz re-extracts from the same image,
/// LoadChar reloads the same page), or it sets a state to a value (VfyPwd, AuraLedConfig).
///
/// Never repeated: everything that writes flash (Store, DeleteChar, Empty, SetPwd, SetAddr, SetSysPara,
/// WriteNotepad), the downloads (DownChar, DownImage: the module may be waiting for data packets, and a second
/// command would be taken as one), SoftRst, and RegModel, because the module writes the merged template back
/// into the character buffers, so a second RegModel would merge the merged result with itself. Unknown
/// instructions are never repeated either: the driver cannot know what they do.
pub fn is_repeatable(cmd: &Command) -> bool {
    match cmd {
        Command::GenImg
        | Command::GetImageEx
        | Command::Img2Tz { .. }
        | Command::Match
        | Command::Search { .. }
        | Command::HiSpeedSearch { .. }
        | Command::LoadChar { .. }
        | Command::UpChar { .. }
        | Command::UpImage
        | Command::ReadSysPara
        | Command::VfyPwd(_)
        | Command::GetRandomCode
        | Command::ReadInfPage
        | Command::ReadNotepad { .. }
        | Command::TemplateNum
        | Command::ReadIndexTable { .. }
        | Command::AuraLedConfig { .. }
        | Command::CheckSensor
        | Command::GetAlgVer
        | Command::GetFwVer
        | Command::ReadProdInfo => true,
        Command::RegModel
        | Command::Store { .. }
        | Command::DownChar { .. }
        | Command::DownImage
        | Command::DeleteChar { .. }
        | Command::Empty
        | Command::SetSysPara { .. }
        | Command::SetPwd(_)
        | Command::SetAddr(_)
        | Command::WriteNotepad { .. }
        | Command::SoftRst
        | Command::Unknown { .. } => false,
    }
}

/// How long the driver waits, per kind of work the module does before it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// Register reads and other instant answers (ReadSysPara, TemplateNum, VfyPwd, LED, ...). Default 1 s: the
    /// slowest client library in the reference gives a module 1 s per reply, so real modules meet it.
    pub reply: Duration,
    /// GenImg and GetImageEx (a sensor scan). Default 2 s.
    pub capture: Duration,
    /// Img2Tz, RegModel, Match, LoadChar (feature extraction and merging). Default 2 s.
    pub compute: Duration,
    /// Search and HiSpeedSearch (the whole library in the worst case). Default 3 s.
    pub search: Duration,
    /// Flash writes: Store, DeleteChar, SetPwd, SetAddr, SetSysPara, WriteNotepad. Default 3 s (Store is known
    /// to be slow on some modules).
    pub flash: Duration,
    /// Empty (erases the whole library). Default 5 s.
    pub erase: Duration,
    /// Each data packet of a transfer, in either direction. Default 1 s.
    pub data_packet: Duration,
    /// Silence that counts as "nothing more is coming" when draining stale bytes. Default 50 ms (hundreds of
    /// byte times at 57600 baud, far more than the gap between bytes of one reply).
    pub quiet: Duration,
    /// The longest a drain may run while bytes keep arriving (the rest of an abandoned upload). Default 15 s.
    pub drain_limit: Duration,
    /// Time after SoftRst's ack before the module takes commands again. Default 200 ms (the reference says
    /// ~50 ms after power-on).
    pub reset_settle: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            reply: Duration::from_secs(1),
            capture: Duration::from_secs(2),
            compute: Duration::from_secs(2),
            search: Duration::from_secs(3),
            flash: Duration::from_secs(3),
            erase: Duration::from_secs(5),
            data_packet: Duration::from_secs(1),
            quiet: Duration::from_millis(50),
            drain_limit: Duration::from_secs(15),
            reset_settle: Duration::from_millis(200),
        }
    }
}

impl Timeouts {
    /// How long to wait for the ack of `cmd`.
    pub fn for_command(&self, cmd: &Command) -> Duration {
        match cmd {
            Command::GenImg | Command::GetImageEx => self.capture,
            Command::Img2Tz { .. } | Command::RegModel | Command::Match | Command::LoadChar { .. } => self.compute,
            Command::Search { .. } | Command::HiSpeedSearch { .. } => self.search,
            Command::Store { .. }
            | Command::DeleteChar { .. }
            | Command::SetPwd(_)
            | Command::SetAddr(_)
            | Command::SetSysPara { .. }
            | Command::WriteNotepad { .. } => self.flash,
            Command::Empty => self.erase,
            _ => self.reply,
        }
    }
}
