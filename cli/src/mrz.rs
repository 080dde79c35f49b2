//! `khil mrz check`: reads machine readable zones on stdin and says what each field is, where it stands and
//! whether every check digit is right; JSON Lines for tools, a table for people.
//!
//! Exit status: 0 every MRZ read and every check digit right; 1 a check digit failed; 2 an MRZ could not be
//! read (the message names the MRZ, its line and column, and what was expected), or there was none.

use std::fmt::Write as _;
use std::io::Read;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use khil_mrtd::mrz::{Field, Mrz, Reading};
use serde_json::{Value, json};

#[derive(Debug, Args)]
#[command(about = "Machine readable zones of travel documents (ICAO 9303): check them")]
pub(crate) struct MrzArgs {
    #[command(subcommand)]
    command: MrzCommand,
}

#[derive(Debug, Subcommand)]
enum MrzCommand {
    Check(CheckArgs),
}

#[derive(Debug, Args)]
#[command(
    about = "Read MRZs on stdin: fields, their places and every check digit",
    after_help = "Input: the MRZ's lines, 3 of 30 characters (TD1), 2 of 36 (TD2, MRV-B) or 2 of 44 (TD3, MRV-A), \
as printed (A-Z, 0-9, <); trailing spaces and CRLF are fine. Several MRZs: separate them by a blank line.\n\n\
Output: one JSON object per MRZ and line (JSON Lines): {\"mrz\": n, \"format\", \"ok\", \"fields\": [{\"field\", \
\"line\", \"column\", \"text\", \"value\"}], \"checks\": [{\"check\", \"line\", \"column\", \"found\", \"computed\", \
\"ok\"}], \"name_truncated\"}; an MRZ that cannot be read gives {\"mrz\": n, \"input_line\", \"error\"}. --table \
prints the same for people.\n\n\
Exit status: 0 all check digits right, 1 a check digit failed, 2 an MRZ could not be read (the message on stderr \
names its line and column).\n\n\
Example:\n  printf 'P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\\nL898902C36UTO7408122F1204159ZE184226B<<<<<10\\n' \
| khil mrz check --table"
)]
struct CheckArgs {
    /// A table for people instead of JSON
    #[arg(long)]
    table: bool,
}

/// Exit status when a check digit failed.
const CHECK_FAILED: u8 = 1;
/// Exit status when an MRZ could not be read.
const UNREADABLE: u8 = 2;

pub(crate) fn run(args: MrzArgs) -> ExitCode {
    let MrzCommand::Check(check) = args.command;
    let mut input = String::new();
    if let Err(e) = std::io::stdin().read_to_string(&mut input) {
        eprintln!("khil mrz check: cannot read stdin: {e} (expected MRZ lines as text)");
        return ExitCode::from(UNREADABLE);
    }
    let (out, status) = check_text(&input, check.table);
    print!("{out}");
    match status {
        Outcome::Ok => ExitCode::SUCCESS,
        Outcome::Failed => ExitCode::from(CHECK_FAILED),
        Outcome::Unreadable(messages) => {
            for m in messages {
                eprintln!("khil mrz check: {m}");
            }
            ExitCode::from(UNREADABLE)
        }
    }
}

enum Outcome {
    Ok,
    Failed,
    Unreadable(Vec<String>),
}

/// The MRZs of `input` (blocks of lines separated by blank lines) with the input line each starts on.
fn blocks(input: &str) -> Vec<(usize, Vec<&str>)> {
    let mut out: Vec<(usize, Vec<&str>)> = Vec::new();
    let mut current: Option<(usize, Vec<&str>)> = None;
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            out.extend(current.take());
        } else {
            current.get_or_insert_with(|| (i + 1, Vec::new())).1.push(line);
        }
    }
    out.extend(current);
    out
}

fn check_text(input: &str, table: bool) -> (String, Outcome) {
    let blocks = blocks(input);
    if blocks.is_empty() {
        return (String::new(), Outcome::Unreadable(vec!["no MRZ on stdin (expected 2 or 3 lines)".into()]));
    }
    let mut out = String::new();
    let (mut failed, mut unreadable) = (false, Vec::new());
    for (n, (start, lines)) in blocks.iter().enumerate() {
        let n = n + 1;
        match Mrz::read_lines(lines) {
            Ok(reading) => {
                failed |= !reading.all_ok();
                if table {
                    out.push_str(&as_table(n, &reading));
                } else {
                    let _ = writeln!(out, "{}", as_json(n, &reading));
                }
            }
            Err(e) => {
                let message = format!("MRZ {n} (input line {start}): {e}");
                if table {
                    let _ = writeln!(out, "MRZ {n}: unreadable: {e}\n");
                } else {
                    let _ = writeln!(out, "{}", json!({"mrz": n, "input_line": start, "error": e.to_string()}));
                }
                unreadable.push(message);
            }
        }
    }
    let outcome = if !unreadable.is_empty() {
        Outcome::Unreadable(unreadable)
    } else if failed {
        Outcome::Failed
    } else {
        Outcome::Ok
    };
    (out, outcome)
}

/// What a field means, fillers taken away (a long document number: the whole number in both places).
fn value(m: &Mrz, field: Field) -> String {
    match field {
        Field::DocumentCode => m.document_code.clone(),
        Field::IssuingState => m.issuing_state.clone(),
        Field::Name => m.name.to_string(),
        Field::DocumentNumber => m.document_number.clone(),
        Field::Nationality => m.nationality.clone(),
        Field::BirthDate => m.birth_date.to_string(),
        Field::Sex => m.sex.to_char().to_string(),
        Field::ExpiryDate => m.expiry_date.to_string(),
        Field::PersonalNumber | Field::OptionalData => m.optional_data.clone(),
        Field::OptionalData2 => m.optional_data_2.clone(),
    }
}

fn as_json(n: usize, r: &Reading) -> Value {
    let fields: Vec<Value> = r
        .fields
        .iter()
        .map(|f| {
            json!({"field": f.field.id(), "line": f.line, "column": f.column, "text": f.text,
                   "value": value(&r.mrz, f.field)})
        })
        .collect();
    let checks: Vec<Value> = r
        .checks
        .iter()
        .map(|c| {
            json!({"check": c.name.id(), "line": c.line, "column": c.column, "found": c.found.to_string(),
                   "computed": c.computed.to_string(), "ok": c.ok()})
        })
        .collect();
    json!({"mrz": n, "format": r.mrz.format.to_string(), "ok": r.all_ok(), "fields": fields, "checks": checks,
           "name_truncated": r.mrz.name.truncated()})
}

fn as_table(n: usize, r: &Reading) -> String {
    let mut t = String::new();
    let verdict = if r.all_ok() { "all check digits right" } else { "CHECK DIGIT FAILED" };
    let _ = writeln!(t, "MRZ {n}: {}, {verdict}", r.mrz.format);
    let _ = writeln!(t, "  {:<24} {:>4} {:>6}  {:<39}  value", "field", "line", "column", "text");
    for f in &r.fields {
        let _ = writeln!(
            t,
            "  {:<24} {:>4} {:>6}  {:<39}  {}",
            f.field.to_string(),
            f.line,
            f.column,
            f.text,
            value(&r.mrz, f.field)
        );
    }
    if r.mrz.name.truncated() {
        let _ = writeln!(t, "  (the name fills its field: it may have been cut to fit)");
    }
    let _ = writeln!(t, "  {:<24} {:>4} {:>6}  found computed", "check digit", "line", "column");
    for c in &r.checks {
        let _ = writeln!(
            t,
            "  {:<24} {:>4} {:>6}  {:<5} {:<8} {}",
            c.name.to_string(),
            c.line,
            c.column,
            c.found,
            c.computed,
            if c.ok() { "ok" } else { "FAILED" }
        );
    }
    t.push('\n');
    // Rows whose value is empty end in padding.
    t.lines().fold(String::with_capacity(t.len()), |mut out, l| {
        out.push_str(l.trim_end());
        out.push('\n');
        out
    })
}
