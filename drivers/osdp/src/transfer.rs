//! The sending side of FILETRANSFER as a small state machine: which fragment goes next, and what the PD's FTSTAT
//! means for it. Pure: the caller sends [`FileSender::fragment`], hands the FTSTAT to [`FileSender::on_ftstat`]
//! and waits the delay it returns. The CP's `BusHandle::file_transfer` and the conformance suite both drive it.
//!
//! FTSTAT (SIA OSDP 2.2, `osdp_FTSTAT`): a negative status ends the transfer; `update_max` (when not 0) lowers
//! the fragment size from then on; `delay` is how long to wait before the next fragment; after the last fragment
//! status 3 ("finishing") asks for idle fragments (no data, offset = the file's size) until the status changes.

use std::time::Duration;

use crate::command::FileTransfer;
use crate::reply::{FtStat, ft_status};

/// The largest FILETRANSFER fragment one packet holds inside the secure channel: LEN (at most
/// [`crate::frame::MAX_LEN`]) counts the 5-byte header, a 2-byte SCB, the code, the data encrypted (11 bytes of
/// FILETRANSFER header and the fragment, a 0x80 byte, padded to 16), the 4-byte MAC and the CRC.
pub const MAX_FILE_FRAGMENT: usize = {
    let room = crate::frame::MAX_LEN as usize - crate::frame::HEADER_LEN - 2 - 1 - crate::frame::MAC_LEN - 2;
    room / 16 * 16 - 1 - 11
};

/// Idle fragments a finishing PD gets by default before the sender gives up.
pub const FINISHING_ROUNDS: u32 = 1000;

/// A file too large for FILETRANSFER's 32-bit size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("file of {len} bytes: FILETRANSFER sizes are 32-bit, expected at most {max} bytes", max = u32::MAX)]
pub struct FileTooLarge {
    /// The file's length.
    pub len: usize,
}

/// What to do after an FTSTAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileStep {
    /// Send [`FileSender::fragment`] after this delay (the PD's, as it asked).
    Send {
        /// The FTSTAT's delay.
        delay: Duration,
    },
    /// The whole file went and the PD is no longer finishing: its last FTSTAT.
    Done(FtStat),
    /// The PD refused with a negative status.
    Refused(FtStat),
    /// The PD still answered "finishing" after the idle fragments allowed.
    StillFinishing(FtStat),
}

/// One file on its way to a PD.
#[derive(Debug, Clone)]
pub struct FileSender<'a> {
    kind: u8,
    file: &'a [u8],
    total: u32,
    offset: usize,
    size: usize,
    idle: u32,
    max_idle: u32,
}

impl<'a> FileSender<'a> {
    /// `file` of FILETRANSFER type `kind`, in fragments of `fragment` bytes (1 to [`MAX_FILE_FRAGMENT`]; the PD
    /// may ask for fewer), from offset 0, with [`FINISHING_ROUNDS`] idle fragments at most.
    pub fn new(kind: u8, file: &'a [u8], fragment: usize) -> Result<FileSender<'a>, FileTooLarge> {
        let total = u32::try_from(file.len()).map_err(|_| FileTooLarge { len: file.len() })?;
        Ok(FileSender {
            kind,
            file,
            total,
            offset: 0,
            size: fragment.clamp(1, MAX_FILE_FRAGMENT),
            idle: 0,
            max_idle: FINISHING_ROUNDS,
        })
    }

    /// Starts at `offset` instead of 0 (the rest of a file whose beginning went already).
    #[must_use]
    pub fn from_offset(mut self, offset: usize) -> FileSender<'a> {
        self.offset = offset.min(self.file.len());
        self
    }

    /// At most `rounds` idle fragments while the PD is finishing.
    #[must_use]
    pub fn max_idle(mut self, rounds: u32) -> FileSender<'a> {
        self.max_idle = rounds;
        self
    }

    /// Where the next fragment starts.
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// Whether every byte went: the next fragment is an idle one (no data).
    pub fn finishing(&self) -> bool {
        self.offset >= self.file.len()
    }

    fn end(&self) -> usize {
        (self.offset + self.size).min(self.file.len())
    }

    /// The fragment to send now.
    pub fn fragment(&self) -> FileTransfer {
        let end = self.end();
        FileTransfer {
            kind: self.kind,
            total: self.total,
            offset: u32::try_from(self.offset).unwrap_or(u32::MAX),
            fragment: self.file[self.offset..end].to_vec(),
        }
    }

    /// The PD's FTSTAT to the fragment just sent: what comes next.
    pub fn on_ftstat(&mut self, stat: &FtStat) -> FileStep {
        if stat.status < 0 {
            return FileStep::Refused(*stat);
        }
        let end = self.end();
        if stat.update_max > 0 {
            self.size = self.size.min(usize::from(stat.update_max)).max(1);
        }
        self.offset = end;
        if self.offset >= self.file.len() {
            if stat.status != ft_status::FINISHING {
                return FileStep::Done(*stat);
            }
            self.idle += 1;
            if self.idle > self.max_idle {
                return FileStep::StillFinishing(*stat);
            }
        }
        FileStep::Send { delay: Duration::from_millis(u64::from(stat.delay)) }
    }
}
