//! `khil document`: the inspection system (`read`: the chip) and the document examiner (`examine`: the page on a
//! document reader, with the chip when one is named).
//!
//! - `chip.rs`: what both need to open and verify a chip (trust, terminal certificates, access), once.
//! - `read.rs`: `khil document read`.
//! - `examine.rs`: `khil document examine`; `html.rs`: its page for the officer.

mod chip;
mod examine;
mod html;
mod read;

use std::process::ExitCode;

use clap::{Args, Subcommand};

pub(crate) use chip::system_rng;

#[derive(Debug, Args)]
#[command(about = "Travel documents: read and verify an e-passport chip; examine a data page on a document reader")]
pub(crate) struct DocumentArgs {
    #[command(subcommand)]
    command: DocumentCommand,
}

#[derive(Debug, Subcommand)]
enum DocumentCommand {
    Read(read::ReadArgs),
    Examine(examine::ExamineArgs),
}

pub(crate) async fn run(args: DocumentArgs) -> ExitCode {
    match args.command {
        DocumentCommand::Read(args) => read::run(args).await,
        DocumentCommand::Examine(args) => examine::run(args).await,
    }
}
