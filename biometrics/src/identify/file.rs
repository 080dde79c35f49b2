//! The gallery file: one header, the templates, one checksum. All or nothing.
//!
//! Layout (little-endian):
//!
//! | bytes | field |
//! |---|---|
//! | 8 | magic `KHILGAL\n` |
//! | 4 | format version ([`VERSION`]) |
//! | 8 | template count |
//! | 8 | payload length in bytes |
//! | 8 | CRC-64/XZ of the 28 bytes above and the payload |
//! | ... | payload: per template its id (u64), minutia count (u8), that many compact minutiae (u32 each) |
//!
//! [`decode`] checks the magic, the version, that the file is exactly header + payload long, the checksum, and
//! then every template (count, minutia words, unique ids) before it makes anything; [`load`] builds a new
//! gallery only from a fully decoded file. So a truncated, extended, bit-flipped or foreign file is refused with
//! what was wrong, and nothing is ever half-loaded. The index is not stored: it is derived data, rebuilt on load.

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{CompactTemplate, Gallery};

pub const MAGIC: &[u8; 8] = b"KHILGAL\n";
pub const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 8 + 8 + 8;
const CRC: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_XZ);

/// Why a gallery file could not be written or read. Names the file.
#[derive(Debug, thiserror::Error)]
pub enum GalleryFileError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{}: not loaded: {what}", path.display())]
    Corrupt { path: PathBuf, what: String },
}

/// The file's bytes for these templates.
pub fn encode(templates: &[(u64, CompactTemplate)]) -> Vec<u8> {
    let payload_len: usize = templates.iter().map(|(_, t)| 9 + 4 * t.len()).sum();
    let mut out = Vec::with_capacity(HEADER + payload_len);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(templates.len() as u64).to_le_bytes());
    out.extend_from_slice(&(payload_len as u64).to_le_bytes());
    out.extend_from_slice(&[0; 8]);
    for (id, t) in templates {
        out.extend_from_slice(&id.to_le_bytes());
        out.push(t.len() as u8);
        for w in t.words() {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    let crc = checksum(&out);
    out[28..36].copy_from_slice(&crc.to_le_bytes());
    out
}

fn checksum(file: &[u8]) -> u64 {
    let mut d = CRC.digest();
    d.update(&file[..28]);
    d.update(&file[HEADER..]);
    d.finalize()
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Decodes a whole file, or says what is wrong with it.
pub fn decode(bytes: &[u8]) -> Result<Vec<(u64, CompactTemplate)>, String> {
    if bytes.len() < HEADER {
        return Err(format!("{} bytes, shorter than the {HEADER}-byte header (truncated?)", bytes.len()));
    }
    if &bytes[..8] != MAGIC {
        return Err("not a khil gallery file (wrong magic)".into());
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(format!("format version {version}; this khil reads version {VERSION}"));
    }
    let (count, payload_len) = (u64_at(bytes, 12), u64_at(bytes, 20));
    let actual = (bytes.len() - HEADER) as u64;
    if payload_len != actual {
        let how = if actual < payload_len { "truncated" } else { "trailing bytes" };
        return Err(format!("header says {payload_len} payload bytes, the file has {actual} ({how})"));
    }
    if checksum(bytes) != u64_at(bytes, 28) {
        return Err("checksum mismatch (the file is damaged)".into());
    }
    // The checksum vouches for the bytes, not for the writer: every field is still checked.
    let mut out = Vec::new();
    let mut ids = HashSet::new();
    let mut at = HEADER;
    while at < bytes.len() {
        if bytes.len() - at < 9 {
            return Err(format!("template {} is cut short", out.len()));
        }
        let id = u64_at(bytes, at);
        let n = bytes[at + 8] as usize;
        at += 9;
        if bytes.len() - at < 4 * n {
            return Err(format!("template {} is cut short", out.len()));
        }
        let words =
            bytes[at..at + 4 * n].chunks_exact(4).map(|c| u32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
        at += 4 * n;
        let t = CompactTemplate::from_words(words).ok_or_else(|| format!("template {} is malformed", out.len()))?;
        if !ids.insert(id) {
            return Err(format!("id {id} appears twice"));
        }
        out.push((id, t));
    }
    if out.len() as u64 != count {
        return Err(format!("header says {count} templates, the payload holds {}", out.len()));
    }
    Ok(out)
}

/// Writes the gallery to `path` atomically (a temporary file beside it, synced, then renamed over it).
pub fn save(gallery: &Gallery, path: &Path) -> Result<(), GalleryFileError> {
    let io = |source| GalleryFileError::Io { path: path.to_owned(), source };
    let bytes = encode(&gallery.templates());
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(io)?;
    f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(io)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io)
}

/// Reads a gallery file into a new gallery (its index rebuilt), or refuses it whole.
pub fn load(path: &Path) -> Result<Gallery, GalleryFileError> {
    let bytes = std::fs::read(path).map_err(|source| GalleryFileError::Io { path: path.to_owned(), source })?;
    let templates = decode(&bytes).map_err(|what| GalleryFileError::Corrupt { path: path.to_owned(), what })?;
    let gallery = Gallery::new();
    gallery
        .enrol_many(templates, super::cores())
        .map_err(|e| GalleryFileError::Corrupt { path: path.to_owned(), what: e.to_string() })?;
    gallery.shrink();
    Ok(gallery)
}
