//! FILETRANSFER (0x7C) at the PD: a file arrives in fragments, each answered with FTSTAT (0x7A). Pure.
//!
//! Facts (SIA OSDP 2.2 as documented in libosdp's `src/osdp_file.h` and OSDP.Net's `FileTransferStatus`):
//!
//! - FILETRANSFER: type (1 = opaque contents this PD recognises, 2-127 reserved, 128-255 private use), total
//!   size u32, offset u32, fragment length u16, fragment; little-endian.
//! - FTSTAT: action flags (bit 0 the CP may interleave other commands, bit 1 leave the secure channel for the
//!   transfer, bit 2 a poll response is waiting), delay u16 ms before the next fragment, status detail i16,
//!   update-message-max u16 (0: no change).
//! - Status detail: 0 OK to proceed, 1 file contents processed, 2 rebooting now, 3 PD is finishing (the CP
//!   sends idle FILETRANSFERs of length 0 until it changes), -1 abort the file transfer, -2 unrecognised file
//!   contents, -3 file data unacceptable (malformed).
//!
//! The spec has no status of its own for a fragment at the wrong offset: this PD answers -1 (abort), drops what
//! it had and waits for the CP to start again at offset 0. A fragment that repeats bytes already received (a
//! CP resending after a lost FTSTAT under a new sequence number) is answered 0 and not appended again; a
//! fragment at offset 0 that differs starts a new file. Types 0 and 2-127 get -2 (unrecognised), a total of 0
//! or beyond [`MAX_FILE`] gets -3, a fragment that would run past the total -1.

use std::fmt;

use khil_osdp::command::FileTransfer;
use khil_osdp::reply::FtStat;

/// FTSTAT status details (named in `khil-osdp`, shared with the CP and the conformance suite).
pub use khil_osdp::reply::ft_status;

/// FTSTAT action bit 0: the CP may send other commands (POLLs) between fragments.
pub const ACTION_INTERLEAVE: u8 = 0x01;

/// The largest file this PD takes (a firmware image of a reader is well under this).
pub const MAX_FILE: u32 = 16 << 20;

/// A completely received file. `Debug` prints its type and length, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct ReceivedFile {
    pub kind: u8,
    pub data: Vec<u8>,
}

impl fmt::Debug for ReceivedFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReceivedFile(type {}, {} bytes)", self.kind, self.data.len())
    }
}

/// A transfer in progress.
struct Partial {
    kind: u8,
    total: u32,
    data: Vec<u8>,
}

/// Deliberate mis-implementations of the receiver (`PdQuirk::FileIgnoresOffset`, `PdQuirk::FileOneFragment`),
/// to measure the `osdp-pd` conformance suite; a correct PD has none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileQuirks {
    /// Appends each fragment whatever its offset.
    pub ignores_offset: bool,
    /// Takes files of one fragment only: a fragment at a non-zero offset gets -1.
    pub one_fragment: bool,
}

/// The receiving side of FILETRANSFER.
#[derive(Default)]
pub struct FileReceiver {
    partial: Option<Partial>,
    last: Option<ReceivedFile>,
    completed: u64,
    quirks: FileQuirks,
}

impl fmt::Debug for FileReceiver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileReceiver")
            .field("progress", &self.progress())
            .field("last", &self.last)
            .field("completed", &self.completed)
            .finish_non_exhaustive()
    }
}

fn stat(status: i16) -> FtStat {
    FtStat { action: ACTION_INTERLEAVE, delay: 0, status, update_max: 0 }
}

impl FileReceiver {
    /// A receiver with deliberate mis-implementations (for measuring the conformance suite).
    pub fn with_quirks(quirks: FileQuirks) -> FileReceiver {
        FileReceiver { quirks, ..FileReceiver::default() }
    }

    /// The last file received completely.
    pub fn last(&self) -> Option<&ReceivedFile> {
        self.last.as_ref()
    }

    /// Files received completely so far.
    pub fn completed(&self) -> u64 {
        self.completed
    }

    /// The transfer in progress: type, bytes received, total.
    pub fn progress(&self) -> Option<(u8, u32, u32)> {
        self.partial.as_ref().map(|p| (p.kind, p.data.len() as u32, p.total))
    }

    /// Takes one fragment; the FTSTAT to answer with.
    pub fn receive(&mut self, ft: &FileTransfer) -> FtStat {
        let status = self.step(ft);
        if status < 0 {
            tracing::info!(
                kind = ft.kind,
                total = ft.total,
                offset = ft.offset,
                len = ft.fragment.len(),
                status,
                "FILETRANSFER refused"
            );
        }
        stat(status)
    }

    fn step(&mut self, ft: &FileTransfer) -> i16 {
        let len = ft.fragment.len() as u64;
        let end = u64::from(ft.offset) + len;
        // An idle fragment after the last one (the CP checking on a finishing PD): done.
        if len == 0
            && self.partial.is_none()
            && self.last.as_ref().is_some_and(|f| f.kind == ft.kind && f.data.len() as u64 == u64::from(ft.total))
            && u64::from(ft.offset) == u64::from(ft.total)
        {
            return ft_status::PROCESSED;
        }
        if self.quirks.one_fragment && ft.offset != 0 {
            // The mis-implementation: only files of one fragment are taken.
            self.partial = None;
            return ft_status::ABORT;
        }
        // A repeat of bytes already taken (same file): acknowledged, not appended again.
        if let Some(p) = &self.partial
            && p.kind == ft.kind
            && p.total == ft.total
            && end <= p.data.len() as u64
            && p.data[ft.offset as usize..end as usize] == ft.fragment[..]
        {
            tracing::debug!(offset = ft.offset, len, "FILETRANSFER fragment already received");
            return ft_status::OK;
        }
        if ft.offset == 0 {
            if !(ft.kind == 1 || ft.kind >= 128) {
                self.partial = None;
                return ft_status::UNRECOGNISED;
            }
            if ft.total == 0 || ft.total > MAX_FILE {
                self.partial = None;
                return ft_status::UNACCEPTABLE;
            }
            if self.partial.is_some() {
                tracing::info!("FILETRANSFER restarted at offset 0: the unfinished file is dropped");
            }
            tracing::info!(kind = ft.kind, total = ft.total, "FILETRANSFER started");
            self.partial = Some(Partial { kind: ft.kind, total: ft.total, data: Vec::new() });
        }
        let Some(p) = &mut self.partial else { return ft_status::ABORT };
        // The mis-implementation `ignores_offset` appends the fragment wherever the CP says it belongs.
        let misplaced = u64::from(ft.offset) != p.data.len() as u64 && !self.quirks.ignores_offset;
        if p.kind != ft.kind || p.total != ft.total || misplaced {
            // Out of order, a gap, or another file's fragment: the transfer cannot go on.
            self.partial = None;
            return ft_status::ABORT;
        }
        // (The second test only matters under `ignores_offset`, where the offset says nothing of where bytes go.)
        if end > u64::from(p.total) || p.data.len() + ft.fragment.len() > p.total as usize {
            self.partial = None;
            return ft_status::ABORT;
        }
        p.data.extend_from_slice(&ft.fragment);
        if p.data.len() as u64 == u64::from(p.total) {
            let Some(done) = self.partial.take() else { return ft_status::ABORT };
            tracing::info!(
                kind = done.kind,
                bytes = done.data.len(),
                fnv1a64 = %format!("{:016x}", fnv1a64(&done.data)),
                "FILETRANSFER complete: file received"
            );
            self.last = Some(ReceivedFile { kind: done.kind, data: done.data });
            self.completed += 1;
            return ft_status::PROCESSED;
        }
        ft_status::OK
    }
}

/// FNV-1a (64 bits) of `data`: what the log says about a received file instead of its bytes.
pub fn fnv1a64(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ft(kind: u8, total: u32, offset: u32, fragment: &[u8]) -> FileTransfer {
        FileTransfer { kind, total, offset, fragment: fragment.to_vec() }
    }

    #[test]
    fn in_order_repeat_gap_and_restart() {
        let mut r = FileReceiver::default();
        assert_eq!(r.receive(&ft(1, 6, 0, b"ab")).status, ft_status::OK);
        assert_eq!(r.receive(&ft(1, 6, 0, b"ab")).status, ft_status::OK, "a repeat");
        assert_eq!(r.progress(), Some((1, 2, 6)), "the repeat was not appended");
        assert_eq!(r.receive(&ft(1, 6, 2, b"cd")).status, ft_status::OK);
        assert_eq!(r.receive(&ft(1, 6, 4, b"ef")).status, ft_status::PROCESSED);
        assert_eq!(r.last().unwrap().data, b"abcdef");
        assert_eq!(r.receive(&ft(1, 6, 6, b"")).status, ft_status::PROCESSED, "idle after the end");
        assert_eq!(r.receive(&ft(1, 6, 2, b"cd")).status, ft_status::ABORT, "no transfer in progress");
        assert_eq!(r.receive(&ft(200, 4, 0, b"xy")).status, ft_status::OK);
        assert_eq!(r.receive(&ft(200, 4, 3, b"z")).status, ft_status::ABORT, "a gap");
        assert_eq!(r.progress(), None);
        assert_eq!(r.receive(&ft(7, 4, 0, b"xy")).status, ft_status::UNRECOGNISED, "a reserved type");
        assert_eq!(r.receive(&ft(1, 0, 0, b"")).status, ft_status::UNACCEPTABLE);
        assert_eq!(r.receive(&ft(1, 2, 0, b"xyz")).status, ft_status::ABORT, "past the total");
        assert_eq!(r.completed(), 1);
        assert_eq!(format!("{:?}", r.last().unwrap()), "ReceivedFile(type 1, 6 bytes)");
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c, "the published FNV-1a 64 of \"a\"");
    }
}
