//! `khil sim docreader` and `sim:docreader?...`: a full-page document reader (khil's channel, and the RTE native
//! MRZ channel beside it) with documents of the synthetic population laid on its glass from the console, a
//! scenario file, or the `document` parameter.

use std::sync::Arc;
use std::time::Duration;

use khil_link::BoxLink;
use khil_mrtd::mrz::{CivilDate, Format};
use khil_sim_host::config::{ParamError, ParamSpec, Params, Surface, line};
use khil_sim_host::{Build, Built, Console, Simulator};
use khil_sim_population::documents::Documents;

use crate::device::{Reader, ReaderConfig};
use crate::document::PopulationDocument;
use crate::faults::{KINDS, ReaderFault, ReaderFaults};
use crate::forgery::{Catalogue, FraudClass, ParameterSpace};
use crate::page::{Conditions, Design, Dpi, Renderer};
use crate::serve::DocReaderSim;
use crate::{FontPaths, Fonts};

/// The day the population's documents are dated around: the passport simulator's (`khil_sim_mrtd::sim::
/// REFERENCE_DAY`, checked equal in `khil-sim-registry`'s tests), so that `sim:passport?document=3` and document 3
/// on this reader are the same document.
pub const REFERENCE_DAY: (u16, u8, u8) = (2026, 6, 1);

pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::new("dpi", "300|400", "Capture resolution (DeviceInfo's dpi; the window is 137 x 100 mm at it)")
        .default("400"),
    ParamSpec::new(
        "document",
        "ID",
        "A population document on the glass from the start (placed before any host connects)",
    ),
    ParamSpec::new(
        "script",
        "FILE",
        "A scenario: lines `<seconds> <console command>` (`2.5 place 3 design=office-paper`, `6 remove`); the \
         clock starts when the first host connects to khil's channel",
    ),
    ParamSpec::new(
        "fraud",
        "CLASS",
        "With `document`: specimen `document` of this forgery-catalogue class instead of a population document \
         (genuine, counterfeit-office-paper, ir-transparent-mrz, altered-biodata, altered-mrz-check-digit, \
         altered-mrz-recomputed, photo-substitution, fantasy, stolen-blank, expired)",
    ),
    ParamSpec::new("rte-bcc", "BOOL", "Whether the RTE blocks end in a BCC (the reader's UseBCC)").default("true"),
    ParamSpec::new("serial", "TEXT", "The serial number DeviceInfo reports").default("0001"),
];

pub const SIMULATOR: Simulator = Simulator {
    name: "docreader",
    about: "A full-page document reader (khil's document-reader channel, and the 3M RTE native MRZ channel)",
    help: "khil's document-reader channel (docs/docreader-protocol.md, Part B) is the ready line's URL; the second line \
           `rte <url>` names the RTE native MRZ channel (Part A), which sends one block per document read. Documents \
           are the synthetic population's (the passport simulator's of the same seed), rendered under white, infrared \
           and ultraviolet light.\n\nConsole (stdin), one answer line each (`ok ...` or `error ...`, on stderr):\n  \
           place <id> [design=genuine|office-paper|ir-transparent-mrz] [severity=0..1]\n  \
           place <index> fraud=<class> [space=development|held-out]   (a forgery-catalogue specimen)\n  \
           remove\n  status\n\n\
           Scenario (--script FILE), one console command per line after the second it happens at, counted from the \
           first host's connection; `#` starts a comment:\n  0.5 place 3\n  4 remove\n  5 place 8 \
           design=office-paper severity=0.3\n\nExamples:\n  khil sim docreader --pty --dpi 300\n  \
           khil sim docreader --tcp 127.0.0.1:4100 --script desk.txt\n  khil sim docreader --pty --fault \
           rte-bad-bcc\n\nReader faults (--fault, repeatable; trigger at=N, every=N or p=P optional, every time \
           without): rte-unpadded, rte-bad-bcc, rte-bad-length, rte-line-order, no-present, no-removed, wrong-size, \
           wrong-dpi, wrong-light, refuse-light[:light=white|ir|uv], image-when-empty, wrong-seq, silent-unknown. \
           `khil conformance run --class docreader` catches each.",
    params: PARAMS,
    build: Build::Stream(build),
};

/// The reader `params` describe, with its console and its scenario running.
pub fn build(params: &Params) -> Result<Built, ParamError> {
    let (sim, desk, line) = assemble(params)?;
    if let Some(file) = params.get("script") {
        let text = std::fs::read_to_string(file.value).map_err(|e| file.bad(format!("a readable file: {e}")))?;
        let steps = parse_script(&text).map_err(|e| file.bad(e))?;
        let desk = Arc::clone(&desk);
        tokio::spawn(async move {
            desk.sim.first_session().await;
            let start = tokio::time::Instant::now();
            for (at, command) in steps {
                tokio::time::sleep_until(start + at).await;
                let desk = Arc::clone(&desk);
                let said = tokio::task::spawn_blocking(move || desk.command(&command)).await;
                match said {
                    Ok(Ok(ok)) => tracing::info!(%ok, "scenario"),
                    Ok(Err(e)) => tracing::warn!(%e, "scenario"),
                    Err(e) => tracing::warn!(%e, "scenario"),
                }
            }
        });
    }
    let rte = sim.rte_channel();
    Ok(Built::new(sim, line).with_channel("rte", rte).with_console(desk))
}

/// The reader, its desk and its line as `params` describe them (the `document` placed; no scenario).
fn assemble(params: &Params) -> Result<(Arc<DocReaderSim>, Arc<Desk>, khil_sim_host::Line), ParamError> {
    let (line, own) = line(params, KINDS)?;
    let faults = own.iter().map(khil_sim_host::config::Param::parsed::<ReaderFault>).collect::<Result<Vec<_>, _>>()?;
    let dpi = params.value("dpi").one_of("300, 400", |d| match d {
        "300" => Some(Dpi::D300),
        "400" => Some(Dpi::D400),
        _ => None,
    })?;
    let with_bcc: bool = params.value("rte-bcc").parsed()?;
    let serial = params.value("serial").value;
    let fonts = Fonts::load(&FontPaths::from_env()).map_err(|e| ParamError {
        param: "fonts".into(),
        value: None,
        expected: format!("{e} (install fonts-ocr-b and fonts-dejavu-core)"),
    })?;
    let mut config = ReaderConfig::kr1(dpi, serial);
    config.rte.with_bcc = with_bcc;
    let sim = DocReaderSim::new(Reader::new(config, ReaderFaults::new(faults, line.seed)));
    let desk = Arc::new(Desk { sim: Arc::clone(&sim), renderer: Arc::new(Renderer::new(fonts, dpi)), seed: line.seed });
    if let (Some(fraud), None) = (params.get("fraud"), params.get("document")) {
        return Err(fraud.bad("given with `document`, the specimen's number in its class".to_owned()));
    }
    if let Some(id) = params.get("document") {
        let command = match params.get("fraud") {
            Some(fraud) => format!("place {} fraud={}", id.value, fraud.value),
            None => format!("place {}", id.value),
        };
        desk.command(&command).map_err(|e| id.bad(e.trim_start_matches("error ").to_owned()))?;
    }
    Ok((sim, desk, line))
}

/// A reader in this process as `sim:docreader?<pairs>` describes it: khil's channel, the RTE channel (both with
/// their sessions started, so that no placement's event is missed) and its desk. Inside a tokio runtime.
pub async fn in_process(pairs: Vec<(String, String)>) -> Result<(BoxLink, BoxLink, Arc<Desk>), String> {
    let params = Params::new(Surface::Url, SIMULATOR.name, PARAMS, pairs).map_err(|e| e.to_string())?;
    let (sim, desk, line) = assemble(&params).map_err(|e| e.to_string())?;
    let khil = khil_sim_host::in_process(Arc::clone(&sim), &line);
    let rte = khil_sim_host::in_process(sim.rte_channel(), &khil_sim_host::Line::default());
    sim.both_connected().await;
    Ok((khil, rte, desk))
}

/// A scenario's steps: when (from the first connection) and which console command. Errors name the line.
pub fn parse_script(text: &str) -> Result<Vec<(Duration, String)>, String> {
    let mut steps = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let (at, command) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let seconds: f64 = at
            .parse()
            .ok()
            .filter(|s: &f64| s.is_finite() && *s >= 0.0 && *s < 86_400.0)
            .ok_or_else(|| format!("line {}: {at:?}: expected seconds (0 or more) before the command", i + 1))?;
        parse_command(command.trim()).map_err(|e| format!("line {}: {e}", i + 1))?;
        steps.push((Duration::from_secs_f64(seconds), command.trim().to_owned()));
    }
    Ok(steps)
}

/// A console command, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    Place {
        id: u64,
        design: &'static str,
        severity: f32,
    },
    /// Specimen `index` of a fraud class from the forgery catalogue of the reader's seed.
    PlaceSpecimen {
        index: u64,
        class: FraudClass,
        space: ParameterSpace,
    },
    Remove,
    Status,
}

const USAGE: &str = "expected `place <id> [design=genuine|office-paper|ir-transparent-mrz] [severity=0..1]`, \
                     `place <index> fraud=<class> [space=development|held-out]`, `remove` or `status`";

/// Reads one console line.
pub fn parse_command(line: &str) -> Result<Command, String> {
    let mut words = line.split_whitespace();
    match words.next() {
        Some("place") => {
            let id = words.next().ok_or_else(|| format!("place: no document id; {USAGE}"))?;
            let id = id.parse().map_err(|_| format!("place {id:?}: expected a population document id (a number)"))?;
            let (mut design, mut severity) = ("genuine", 0.0f32);
            let (mut fraud, mut space) = (None, ParameterSpace::Development);
            for arg in words {
                match arg.split_once('=') {
                    Some(("fraud", f)) => {
                        fraud = Some(FraudClass::from_name(f).ok_or_else(|| {
                            let names: Vec<&str> = FraudClass::ALL.iter().map(|c| c.name()).collect();
                            format!("fraud {f:?}: expected one of {}", names.join(", "))
                        })?);
                    }
                    Some(("space", p)) => {
                        space = match p {
                            "development" => ParameterSpace::Development,
                            "held-out" => ParameterSpace::HeldOut,
                            _ => return Err(format!("space {p:?}: expected development or held-out")),
                        };
                    }
                    Some(("design", d)) => {
                        design = ["genuine", "office-paper", "ir-transparent-mrz"]
                            .into_iter()
                            .find(|n| *n == d)
                            .ok_or_else(|| {
                                format!("design {d:?}: expected genuine, office-paper or ir-transparent-mrz")
                            })?;
                    }
                    Some(("severity", s)) => {
                        severity = s
                            .parse()
                            .ok()
                            .filter(|v: &f32| (0.0..=1.0).contains(v))
                            .ok_or_else(|| format!("severity {s:?}: expected a number from 0 to 1"))?;
                    }
                    _ => {
                        return Err(format!(
                            "place: {arg:?}: expected design=..., severity=..., fraud=... or space=..."
                        ));
                    }
                }
            }
            match fraud {
                Some(class) if design == "genuine" && severity == 0.0 => {
                    Ok(Command::PlaceSpecimen { index: id, class, space })
                }
                Some(_) => Err("place: fraud=... takes the catalogue's materials and conditions: no design= or \
                                severity= with it"
                    .into()),
                None => Ok(Command::Place { id, design, severity }),
            }
        }
        Some("remove") if words.next().is_none() => Ok(Command::Remove),
        Some("status") if words.next().is_none() => Ok(Command::Status),
        _ => Err(format!("{line:?}: {USAGE}")),
    }
}

/// The desk in front of the reader: lays the population's documents on it and takes them away.
#[derive(Debug)]
pub struct Desk {
    sim: Arc<DocReaderSim>,
    renderer: Arc<Renderer>,
    seed: u64,
}

impl Desk {
    /// Population document `id` of the reader's seed, printed with `design`, placed under conditions of
    /// `severity` (0: ideal).
    pub fn document(&self, id: u64, design: &str, severity: f32) -> PopulationDocument {
        let (y, m, d) = REFERENCE_DAY;
        let document = Documents::new(self.seed, CivilDate::new(y, m, d).expect("a real day")).document(id);
        let design = match design {
            "office-paper" => Design::counterfeit_office_paper(),
            "ir-transparent-mrz" => Design::counterfeit_ir_transparent_mrz(),
            _ => Design::genuine(),
        };
        // Each document's own capture noise, the same at every run of the seed.
        let seed = self.seed ^ id.rotate_left(17);
        let conditions = if severity > 0.0 { Conditions::random(seed, severity) } else { Conditions::ideal() };
        PopulationDocument::new(Arc::clone(&self.renderer), &document, design, conditions, seed)
    }

    pub fn sim(&self) -> &Arc<DocReaderSim> {
        &self.sim
    }

    /// Lays the population's first genuine document of `format` on the glass (what a conformance run asks an
    /// operator for: "a passport", "an identity card"); the reader's number for it.
    pub fn place_format(&self, format: Format) -> Result<u32, String> {
        let (y, m, d) = REFERENCE_DAY;
        let documents = Documents::new(self.seed, CivilDate::new(y, m, d).expect("a real day"));
        let id = (0..10_000)
            .find(|&id| documents.document(id).format == format)
            .ok_or_else(|| format!("no {format} among the population's first 10000 documents"))?;
        Ok(self.sim.place(Arc::new(self.document(id, "genuine", 0.0))))
    }
}

impl Console for Desk {
    fn command(&self, line: &str) -> Result<String, String> {
        match parse_command(line).map_err(|e| format!("error {e}"))? {
            Command::Place { id, design, severity } => {
                let number = self.sim.place(Arc::new(self.document(id, design, severity)));
                Ok(format!("ok placed document {id} ({design}), reader's number {number}"))
            }
            Command::PlaceSpecimen { index, class, space } => {
                let (y, m, d) = REFERENCE_DAY;
                let catalogue = Catalogue::new(self.seed, CivilDate::new(y, m, d).expect("a real day"), space);
                let specimen = catalogue.specimen(class, index);
                let number =
                    self.sim.place(Arc::new(PopulationDocument::specimen(Arc::clone(&self.renderer), &specimen)));
                Ok(format!(
                    "ok placed specimen {index} of {} ({}), reader's number {number}",
                    class.name(),
                    space.name()
                ))
            }
            Command::Remove => match self.sim.remove() {
                Some(n) => Ok(format!("ok removed reader's number {n}")),
                None => Err("error nothing on the glass".into()),
            },
            Command::Status => Ok(match self.sim.reader().on_glass() {
                Some(n) => format!("ok on the glass: reader's number {n}"),
                None => "ok the glass is empty".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_scripts_parse_and_refuse_with_the_place() {
        assert_eq!(
            parse_command("place 3 design=office-paper severity=0.3"),
            Ok(Command::Place { id: 3, design: "office-paper", severity: 0.3 })
        );
        assert_eq!(parse_command("remove"), Ok(Command::Remove));
        assert!(parse_command("place x").unwrap_err().contains("population document id"));
        assert!(parse_command("place 3 design=paper").unwrap_err().contains("expected genuine"));
        assert!(parse_command("place 3 severity=2").unwrap_err().contains("from 0 to 1"));
        assert!(parse_command("dance").unwrap_err().contains("expected `place"));
        let steps = parse_script("# desk\n0.5 place 3\n\n4 remove # gone\n").unwrap();
        assert_eq!(steps, [(Duration::from_millis(500), "place 3".into()), (Duration::from_secs(4), "remove".into())]);
        assert_eq!(
            parse_script("1 place 3\nsoon remove").unwrap_err(),
            "line 2: \"soon\": expected seconds (0 or more) before the command"
        );
        assert!(parse_script("1 jump").unwrap_err().starts_with("line 1: "));
    }
}
