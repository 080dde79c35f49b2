//! In-memory links: both ends in one process, for in-process simulators and tests.

use tokio::io::DuplexStream;

/// Bytes the in-memory pipe holds in each direction before a writer waits (a UART FIFO plus driver buffer,
/// generously).
pub const MEMORY_BUFFER: usize = 64 * 1024;

/// A connected pair of in-memory links. Dropping one end is a peer close for the other (EOF on read,
/// `BrokenPipe` on write).
pub fn memory_pair() -> (DuplexStream, DuplexStream) {
    tokio::io::duplex(MEMORY_BUFFER)
}
