//! `khil sim docreader` as its users run it: the ready line (khil's channel) and the `rte <url>` line, documents
//! placed and taken away on the console, khil's drivers over the two ptys; and `khil conformance run --class
//! docreader` against `sim:docreader`, passing as it is and failing with a reader fault.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

use common::khil;
use khil_docreader::{DocReader, Event, Light, RteFormat, RteReader};
use khil_link::{DeviceUrl, NoSimulators};

const WAIT: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulated_reader_serves_both_channels_on_ptys() {
    let mut sim = common::start_khil(&["sim", "docreader", "--pty", "--dpi", "300"], Stdio::piped(), Stdio::piped());
    let mut rte_line = String::new();
    sim.stdout.read_line(&mut rte_line).unwrap();
    let rte_url = rte_line.trim().strip_prefix("rte ").unwrap_or_else(|| panic!("second line: {rte_line:?}"));
    assert!(sim.url.starts_with("serial:///dev/") && rte_url.starts_with("serial:///dev/"), "{} / {rte_url}", sim.url);
    let url: DeviceUrl = sim.url.parse().unwrap();
    let mut host = DocReader::connect(&url, &NoSimulators).await.unwrap();
    let rte_url: DeviceUrl = rte_url.parse().unwrap();
    let mut mrz = RteReader::connect(&rte_url, RteFormat::default(), &NoSimulators).await.unwrap();
    let info = host.hello(WAIT).await.unwrap();
    assert_eq!((info.model.as_str(), info.dpi, info.page_width, info.page_height), ("KR-1", 300, 1618, 1181));
    // Both channels are open now: what is placed reaches them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut stdin = sim.child.stdin.take().unwrap();
    let mut stderr = BufReader::new(sim.child.stderr.take().unwrap());
    let mut said = || {
        let mut line = String::new();
        loop {
            line.clear();
            stderr.read_line(&mut line).unwrap();
            // Log lines may come between the console's answers.
            let plain = common::plain(line.trim());
            if plain.starts_with("ok ") || plain.starts_with("error ") {
                return plain;
            }
        }
    };
    stdin.write_all(b"place 3 severity=0.2\n").unwrap();
    stdin.flush().unwrap();
    let answer = said();
    assert!(answer.starts_with("ok placed document 3 (genuine), reader's number 1"), "{answer}");
    let Some(Event::DocumentPlaced { document: 1, mrz: lines }) = host.next_event(WAIT).await.unwrap() else {
        panic!("no DocumentPresent")
    };
    let read = mrz.next_read(WAIT).await.unwrap().expect("an RTE block");
    assert_eq!(read.lines, lines);
    assert!(read.reading().unwrap().all_ok());
    let c = host.capture(Light::Infrared, WAIT).await.unwrap();
    assert_eq!((c.width, c.height, c.light, c.document), (1618, 1181, Light::Infrared, 1));
    stdin.write_all(b"remove\nremove\nplace x\n").unwrap();
    stdin.flush().unwrap();
    assert_eq!(said(), "ok removed reader's number 1");
    assert_eq!(said(), "error nothing on the glass");
    assert!(said().contains("expected a population document id"));
    assert_eq!(host.next_event(WAIT).await.unwrap(), Some(Event::DocumentRemoved { document: 1 }));
}

fn run(device: &str, out: &std::path::Path) -> std::process::Output {
    khil().args(["conformance", "run", "--class", "docreader", "--device", device, "--out"]).arg(out).output().unwrap()
}

#[test]
fn conformance_passes_the_simulated_reader_and_fails_a_faulty_one() {
    let dir = khil_test_support::temp_dir("docreader-conformance");
    let out = run("sim:docreader", &dir.path().join("genuine"));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    let json = std::fs::read_to_string(dir.path().join("genuine/report.json")).unwrap();
    assert!(json.contains("\"DOCR-RTE-002\"") && json.contains("PASSED"), "{json}");
    let out = run("sim:docreader?fault=rte-unpadded", &dir.path().join("unpadded"));
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("unpadded/report.json")).unwrap()).unwrap();
    let failed: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"].to_string().contains("fail"))
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["DOCR-RTE-002"], "{report}");
}
