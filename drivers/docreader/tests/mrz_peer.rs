//! The MRZ path end to end against an independent judge: the population's documents (every MRZ format, long
//! document numbers, names cut to fit) go into RTE native blocks as a reader would send them (padded with `_`,
//! bottom line last, garbage between), through a link into [`RteReader`]; the lines it delivers are the
//! document's own, khil-mrtd reads every check digit right, and PyPI `mrz` 0.6.2 (written by others) accepts
//! them.
//!
//! Where mrz departs from ICAO 9303 the test expects the departure: long document numbers (more than nine
//! characters, the rest in the optional data, 9303-5 §4.2.2) are unknown to it, and its checker reports exactly
//! "document number hash" false for them (it checks the `<` in the check digit position). The same departure is
//! documented in cli/tests/mrz_peers.rs.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use khil_docreader::{RteFormat, RteFrame, RteReader};
use khil_link::memory_pair;
use khil_mrtd::mrz::CivilDate;
use khil_sim_population::documents::Documents;
use tokio::io::AsyncWriteExt;

const SEED: u64 = 14;
const DOCUMENTS: u64 = 500;

fn run_peer(python: &Path, input: &str) -> Vec<String> {
    let mut command = Command::new(python);
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/peers/mrz_verdict.py"))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    khil_test_support::pipe_lines(command, input)
}

#[tokio::test]
async fn python_mrz_accepts_what_the_rte_driver_delivers() {
    let Some(python) = khil_test_support::python_with("mrz") else { return };
    let docs: Vec<_> = Documents::new(SEED, CivilDate::new(2026, 12, 6).unwrap()).first(DOCUMENTS).collect();
    let format = RteFormat::default();
    let mut stream = Vec::new();
    for (i, d) in docs.iter().enumerate() {
        // A reader's idle line noise between reads.
        stream.extend(std::iter::repeat_n(b'\r', i % 3));
        stream.extend_from_slice(&format.encode(&RteFrame::from_mrz(b'0', &d.mrz().lines).unwrap()).unwrap());
    }
    let (host, mut reader) = memory_pair();
    let writer = tokio::spawn(async move {
        reader.write_all(&stream).await.unwrap();
        reader
    });
    let mut rte = RteReader::new(host, format);
    let mut input = String::new();
    let mut formats = std::collections::BTreeMap::<String, usize>::new();
    for d in &docs {
        let read = rte.next_read(Duration::from_secs(5)).await.unwrap().expect("a read per document");
        assert_eq!(read.lines, d.mrz().lines, "document {}", d.id);
        let reading = read.reading().unwrap();
        assert!(reading.all_ok(), "document {}: {:?}", d.id, reading.first_failure());
        let name = reading.mrz.format.to_string();
        *formats.entry(name.clone()).or_default() += 1;
        let _ = writeln!(input, "{name}|{}", read.lines.join("|"));
    }
    drop(writer.await.unwrap());
    assert_eq!(rte.take_skipped().bytes, (0..DOCUMENTS).map(|i| i % 3).sum::<u64>());
    // Every format: three lines (padded to 30), two of 44, two of 36 (padded to 44).
    assert_eq!(formats.len(), 5, "{formats:?}");

    let verdicts = run_peer(&python, &input);
    assert_eq!(verdicts.len(), docs.len());
    let mut long = 0;
    for (d, verdict) in docs.iter().zip(&verdicts) {
        if d.document_number.len() > 9 {
            long += 1;
            assert_eq!(verdict, "false:document number hash", "document {} (long number)", d.id);
        } else {
            assert_eq!(verdict, "ok", "document {}", d.id);
        }
    }
    println!("{} MRZs through RTE blocks, {formats:?}, {long} with long document numbers", docs.len());
}
