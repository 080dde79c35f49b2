//! `khil rules check FILE`: loads a clearance rule file exactly as the flow will and says OK (with its version)
//! or why it is refused (file, line, column, field, what was expected).
//!
//! Exit status: 0 the file is valid; 1 it is refused; 2 it cannot be read.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use khil_clearance::rules::{ErrorKind, Rules};

#[derive(Debug, Args)]
#[command(about = "Clearance decision rules (TOML): check a rule file")]
pub(crate) struct RulesArgs {
    #[command(subcommand)]
    command: RulesCommand,
}

#[derive(Debug, Subcommand)]
enum RulesCommand {
    Check(CheckArgs),
}

#[derive(Debug, Args)]
#[command(
    about = "Validate a rule file: OK with its version, or the first error with its line and field",
    after_help = "Exit status: 0 valid, 1 refused (the message on stderr names file, line, column and field), \
2 unreadable.\n\nExample:\n  khil rules check scenarios/rules/mongolia.toml"
)]
struct CheckArgs {
    /// The rule file
    file: PathBuf,
}

/// Exit status when the file is refused.
const REFUSED: u8 = 1;
/// Exit status when the file cannot be read.
const UNREADABLE: u8 = 2;

pub(crate) fn run(args: RulesArgs) -> ExitCode {
    let RulesCommand::Check(check_args) = args.command;
    match check(&check_args.file) {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err((line, status)) => {
            eprintln!("khil rules check: {line}");
            ExitCode::from(status)
        }
    }
}

/// The line to print and, on failure, the exit status.
fn check(file: &Path) -> Result<String, (String, u8)> {
    match Rules::load(file) {
        Ok(rules) => Ok(format!("{}: OK, version {}", file.display(), rules.version())),
        Err(error) if error.kind == ErrorKind::Unreadable => Err((error.to_string(), UNREADABLE)),
        Err(error) => Err((error.to_string(), REFUSED)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/rules/mongolia.toml")
    }

    #[test]
    fn shipped_file_is_ok_with_its_version() {
        let line = check(&shipped()).expect("the shipped file is valid");
        assert!(line.ends_with("mongolia.toml: OK, version mongolia-2026.12-1"), "{line}");
    }

    #[test]
    fn refused_file_names_line_and_field() {
        let (_dir, file) = khil_test_support::temp_file("rules-check", "bad.toml");
        let text = std::fs::read_to_string(shipped()).unwrap().replacen("days = 14", "days = -14", 1);
        std::fs::write(&file, &text).unwrap();
        let (message, status) = check(&file).expect_err("refused");
        assert_eq!(status, REFUSED);
        let line = text[..text.find("days = -14").unwrap()].matches('\n').count() + 1;
        assert!(message.contains(&format!("bad.toml:{line}:8: `visa.exempt[3].days`")), "{message}");
    }

    #[test]
    fn missing_file_is_unreadable() {
        let (message, status) = check(Path::new("/nonexistent/rules.toml")).expect_err("unreadable");
        assert_eq!(status, UNREADABLE);
        assert!(message.contains("/nonexistent/rules.toml"), "{message}");
    }
}
