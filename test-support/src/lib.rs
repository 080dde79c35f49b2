//! What khil's tests share, so that each mechanism exists once: finding an independent peer or skipping with a
//! reason ([`peer`]; under `CI=true` a missing peer fails instead), temporary directories that remove themselves
//! ([`temp`]), `khil` processes that announce themselves with a `ready <url>` line ([`process`]), and (feature `central`) a
//! database of its own per test on the central PostgreSQL (`central`).
//!
//! Only ever a dev-dependency. It depends on no khil crate, so every crate of the workspace (even `khil-sim-host`,
//! at the bottom) can use it in its unit tests without a cycle.

pub mod browser;
#[cfg(feature = "central")]
pub mod central;
pub mod peer;
pub mod process;
pub mod temp;

pub use peer::{data, missing, pcscd_with_vpcd, program, program_any, python, python_with};
pub use process::{Ready, pipe_lines, rerun_child, start_ready, terminate, wait_exit};
pub use temp::{TempDir, temp_dir, temp_file};
