//! `khil document examine`: the document examiner on a document reader's khil channel (`tcp://`, `serial://`,
//! or `sim:docreader?...` in process). It places nothing itself: it waits for the reader to report a document,
//! asks for the page under each light the reader offers and for the VIZ, opens the chip when `--chip` names its
//! reader, and hands all of it to `khil_examine`. The result: JSON or a table, and with `--html` a page for the
//! officer.
//!
//! Exit status: 0 genuine (every check made passed); 1 forged or altered, or not valid (expired, lost/stolen);
//! 3 unable to examine (the reason is printed); 2 the examination could not run (no reader, no document).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use khil_clearance::flow::chip::chip_data;
use khil_clearance::flow::page::read_page;
use khil_docreader::{DeviceInfo, DocReader};
use khil_examine::{Authentication, Decision, Document, Examiner, Report, StopList};
use khil_link::DeviceUrl;
use khil_mrtd::mrz::CivilDate;
use serde_json::{Value, json};

use super::chip::ChipArgs;

#[derive(Debug, Args)]
#[command(
    about = "Examine the document on a page reader: the page under white, infrared and ultraviolet light, MRZ, \
             VIZ and (with --chip) the chip, against the document model's features (ICAO 9303-2 App. C)",
    after_help = "Waits up to --wait seconds for the reader to report a document (a document already on the glass is \
reported again when the examiner says Hello), then examines it once.\n\n\
Output: JSON {\"device\", \"reader\", \"decision\", \"reason\", \"model\", \"checks\": [{\"check\", \"routine\", \
\"state\", \"measured\", \"threshold\", \"note\"}], \"chip\"}; --table prints the same for people; --html FILE writes \
a page for the officer with each light's image and the regions checked outlined. No document data (MRZ, names) \
is printed; the HTML page shows the images, like the reader's own screen.\n\n\
Exit status: 0 genuine, 1 forged or altered or not valid, 3 unable to examine, 2 could not run.\n\n\
Examples:\n  khil document examine --device 'sim:docreader?document=3' --chip 'sim:passport?document=3' --table\n  \
khil document examine --device 'sim:docreader?document=3&fraud=counterfeit-office-paper' --table\n  \
khil sim docreader --tcp 127.0.0.1:4100     # then place a document on it, and in another terminal:\n  \
khil document examine --device tcp://127.0.0.1:4100 --html page.html\n  \
khil document examine --device tcp://10.0.0.5:4100 --chip 'pcsc://ACS ACR1252 1S CL Reader PICC 0' \
--csca csca.der --stop-list lost.txt"
)]
pub(crate) struct ExamineArgs {
    /// The document reader's khil channel: tcp://HOST:PORT, serial:///dev/ttyUSB0, or sim:docreader?... (in
    /// this process).
    #[arg(long)]
    device: String,
    /// The chip's reader (the page reader's own RF reader through PC/SC, pcsc://<reader name>; or sim:...): the
    /// chip is opened with the MRZ the page reader read and compared with the page.
    #[arg(long, value_name = "URL")]
    chip: Option<String>,
    /// Seconds to wait for a document.
    #[arg(long, value_name = "SECONDS", default_value_t = 30)]
    wait: u64,
    /// Examine as on this day (YYYY-MM-DD): expiry is judged against it. Default: today (UTC).
    #[arg(long, value_name = "DATE")]
    date: Option<String>,
    /// Lost and stolen documents: a text file, one `STATE NUMBER` per line (`#` starts a comment).
    #[arg(long, value_name = "FILE")]
    stop_list: Option<PathBuf>,
    #[command(flatten)]
    chip_options: ChipArgs,
    /// Also write a self-contained HTML page for the officer.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// A table for people instead of JSON.
    #[arg(long)]
    table: bool,
}

/// How long one request to the reader may take (a 400 dpi page is ~2.8 MB: seconds on a 115200 baud line are
/// not enough, which is why readers use TCP or USB serial at higher rates).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the reader and the chip returned.
pub(crate) struct Acquired {
    pub reader: DeviceInfo,
    pub document: Document,
    /// Why something the examiner would have liked is missing (a light not offered, no VIZ, no chip).
    pub notes: Vec<String>,
    pub chip_access: Option<String>,
}

pub(crate) async fn run(args: ExamineArgs) -> ExitCode {
    match examine(&args).await {
        Ok((acquired, report)) => {
            if let Some(path) = &args.html {
                let page = super::html::page(&args.device, &acquired, &report);
                if let Err(e) = std::fs::write(path, page) {
                    eprintln!("khil document examine: --html {}: {e}", path.display());
                    return ExitCode::from(2);
                }
            }
            print(&args, &acquired, &report);
            match report.decision {
                Decision::Genuine => ExitCode::SUCCESS,
                Decision::ForgedOrAltered { .. } | Decision::NotValid { .. } => ExitCode::FAILURE,
                Decision::UnableToExamine { .. } => ExitCode::from(3),
            }
        }
        Err(e) => {
            eprintln!("khil document examine: {e}");
            ExitCode::from(2)
        }
    }
}

async fn examine(args: &ExamineArgs) -> Result<(Acquired, Report), String> {
    let today = match &args.date {
        Some(text) => parse_date(text).ok_or_else(|| format!("--date {text}: expected YYYY-MM-DD"))?,
        None => today()?,
    };
    let stop_list = match &args.stop_list {
        Some(path) => read_stop_list(path)?,
        None => StopList::new(),
    };
    let mut acquired = acquire(&args.device, Duration::from_secs(args.wait)).await?;
    if let Some(chip) = &args.chip {
        let mrz = acquired.document.mrz_lines.join("\n");
        if mrz.is_empty() {
            acquired.notes.push("the chip was not read: the reader read no MRZ to open it with".into());
        } else {
            let inspection = args.chip_options.inspect("chip", chip, mrz).await?;
            acquired.chip_access.clone_from(&inspection.access);
            match chip_data(&inspection) {
                Ok(data) => {
                    if data.authentication == Authentication::NotOpened {
                        acquired.notes.push("the chip did not open with the MRZ the reader read".into());
                    }
                    acquired.document.chip = Some(data);
                }
                Err(why) => acquired.notes.push(why),
            }
        }
    }
    let report = Examiner::default().examine(&acquired.document, &stop_list, today);
    Ok((acquired, report))
}

/// Hello, then the page as `khil_clearance::flow::page` reads it (the flow's own reading).
async fn acquire(device: &str, wait: Duration) -> Result<Acquired, String> {
    let url: DeviceUrl = device.parse().map_err(|e| format!("--device: {e}"))?;
    let mut reader = DocReader::connect(&url, &khil_sim_registry::Simulators)
        .await
        .map_err(|e| super::chip::url_error("device", device, &url, &e))?;
    let info = reader.hello(REQUEST_TIMEOUT).await.map_err(|e| format!("--device {device}: Hello: {e}"))?;
    let page = read_page(&mut reader, &info, &format!("--device {device}"), wait, REQUEST_TIMEOUT)
        .await
        .map_err(|e| if e.contains("no document placed") { format!("{e} (--wait)") } else { e })?;
    Ok(Acquired { reader: info, document: page.document, notes: page.notes, chip_access: None })
}

fn parse_date(text: &str) -> Option<CivilDate> {
    let mut parts = text.split('-');
    let y = parts.next()?.parse().ok()?;
    let m = parts.next()?.parse().ok()?;
    let d = parts.next()?.parse().ok()?;
    if parts.next().is_some() || text.len() != 10 {
        return None;
    }
    CivilDate::new(y, m, d)
}

fn today() -> Result<CivilDate, String> {
    let now = der::DateTime::from_system_time(std::time::SystemTime::now()).map_err(|e| e.to_string())?;
    CivilDate::new(now.year(), now.month(), now.day()).ok_or_else(|| "today's date".to_owned())
}

/// `STATE NUMBER` per line; blank lines and `#` comments skipped; anything else refused with its line.
fn read_stop_list(path: &PathBuf) -> Result<StopList, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--stop-list {}: {e}", path.display()))?;
    let mut list = StopList::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [state, number]
                if (1..=3).contains(&state.len())
                    && state.chars().all(|c| c.is_ascii_uppercase() || c == '<')
                    && number.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<') =>
            {
                list.insert(state, number);
            }
            _ => {
                return Err(format!(
                    "--stop-list {} line {}: expected `STATE NUMBER` (issuing state code, document number, in MRZ \
                     characters)",
                    path.display(),
                    n + 1
                ));
            }
        }
    }
    Ok(list)
}

pub(crate) fn decision_reason(decision: &Decision) -> Value {
    match decision {
        Decision::Genuine => Value::Null,
        Decision::ForgedOrAltered { failed } | Decision::NotValid { failed } => {
            json!(failed.iter().map(|c| c.name()).collect::<Vec<_>>().join(", "))
        }
        Decision::UnableToExamine { reason } => json!(reason),
    }
}

pub(crate) fn state_word(state: khil_examine::CheckState) -> &'static str {
    match state {
        khil_examine::CheckState::Pass => "pass",
        khil_examine::CheckState::Fail => "fail",
        khil_examine::CheckState::Unable => "unable",
    }
}

pub(crate) fn threshold_text(t: &khil_examine::Threshold) -> String {
    match t.relation {
        khil_examine::Relation::AtLeast => format!(">= {:.3}", t.value),
        khil_examine::Relation::AtMost => format!("<= {:.3}", t.value),
    }
}

fn print(args: &ExamineArgs, acquired: &Acquired, report: &Report) {
    let info = &acquired.reader;
    let model = report.model.as_ref().map(model_text);
    if args.table {
        println!(
            "device:   {} ({} {}, firmware {}, {} dpi)",
            args.device, info.model, info.serial, info.firmware, info.dpi
        );
        println!("decision: {}", report.decision.name().to_uppercase());
        if let Some(reason) = decision_reason(&report.decision).as_str() {
            println!("why:      {reason}");
        }
        println!("model:    {}", model.as_deref().unwrap_or("unknown"));
        if let Some(access) = &acquired.chip_access {
            println!("chip:     opened by {access}");
        }
        let width = report.checks.iter().map(|c| c.id.name().len()).max().unwrap_or(5);
        for check in &report.checks {
            let measured = check.measured.map(|m| format!("{m:.3}")).unwrap_or_default();
            let threshold = check.threshold.as_ref().map(threshold_text).unwrap_or_default();
            println!(
                "  {:<width$}  {:<9}  {:<6}  {:>8} {:<9}  {}",
                check.id.name(),
                check.routine.as_deref().unwrap_or(""),
                state_word(check.state),
                measured,
                threshold,
                check.note
            );
        }
        for note in &acquired.notes {
            println!("note:     {note}");
        }
        return;
    }
    let checks: Vec<Value> = report
        .checks
        .iter()
        .map(|c| {
            json!({
                "check": c.id.name(),
                "routine": c.routine,
                "state": state_word(c.state),
                "measured": c.measured,
                "threshold": c.threshold.as_ref().map(threshold_text),
                "note": c.note,
            })
        })
        .collect();
    let out = json!({
        "device": args.device,
        "reader": {"model": info.model, "serial": info.serial, "firmware": info.firmware, "dpi": info.dpi},
        "decision": report.decision.name(),
        "reason": decision_reason(&report.decision),
        "model": model,
        "checks": checks,
        "chip": acquired.chip_access.as_ref().map(|a| json!({"access": a})),
        "notes": acquired.notes,
    });
    println!("{out}");
}

/// A document model as 9303-2 names them: (country, type, number, year).
pub(crate) fn model_text(key: &khil_examine::ModelKey) -> String {
    format!("({}, {}, {}, {})", key.country, key.doc_type, key.number, key.year)
}
