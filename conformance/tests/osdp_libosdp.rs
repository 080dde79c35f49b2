//! The osdp-pd suite against a PD khil did not write: libosdp 3.2.9's (the C reference library, PyPI `libosdp`,
//! through its Python binding), keyed, the secure channel enforced, on a pty (`cli/tests/peers/osdp_pd_dut.py`,
//! declared by `conformance/ics/osdp-libosdp-pd.toml`). Every verdict is pinned (insta snapshot), and every
//! failure is explained below by the OSDP rule it breaks, so the suite's verdicts on a foreign device are
//! themselves checked: a purpose that starts or stops failing, or fails for another check, changes the snapshot.
//!
//! Skipped, with the reason printed, when the peer venv is missing; under `CI=true` that fails instead. CI's
//! JUnit file for the same run: `python cli/tests/peers/osdp_pd_dut.py --run DIR -- target/debug/khil`.

use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use khil_conformance::suites::osdp::OsdpSuite;
use khil_conformance::{Connector, Ics, Outcome, Quiet, RunOptions, Verdict, run};
use khil_link::{BoxLink, DeviceUrl, NoSimulators};

/// Why libosdp 3.2.9's PD fails each purpose it fails: the rule it breaks, and what it does instead (read off the
/// evidence, which this test prints, and libosdp's `osdp_phy.c`, `osdp_pd.c` and `python/osdp_sys/data.c`).
const WHY: &[(&str, &str)] = &[
    (
        "OSDP-FRM-001",
        "packet format, CTRL bit 2: a reply uses the command's check (CRC-16 or checksum). libosdp's PD answers an ID \
         sent with a checksum with CRC-16",
    ),
    (
        "OSDP-SEQ-001",
        "SQN: a command repeated with the same SQN is a retransmission, answered with the previous reply and not run \
         again. libosdp takes it for a new command: inside the secure channel its MAC no longer verifies against \
         libosdp's chain (which moved on with the first copy), so the PD answers NAK 6 in plain text and drops the \
         session (the OSTAT that follows gets NAK 6 too); outside the channel it would run the OUT a second time",
    ),
    (
        "OSDP-SEQ-002",
        "SQN: a reply carries the SQN of the command it answers. libosdp answers an ID with SQN 2 after SQN 0 with NAK \
         4, but under SQN 1, the number it expected, so a CP cannot match the NAK to its command",
    ),
    (
        "OSDP-CMD-001",
        "osdp_OSTAT (66): a PD whose PDCAP declares outputs reports them in OSTATR. libosdp's PD asks its application \
         for the report, and the Python binding passes none back (`pyosdp_make_struct_cmd_status` copies only the \
         type), so the report has 0 entries for 4 outputs and the PD answers NAK 9 (unable to process)",
    ),
    (
        "OSDP-CMD-002",
        "osdp_ISTAT (65): likewise for the 2 declared inputs: NAK 9 instead of ISTATR (LSTAT is answered)",
    ),
    (
        "OSDP-SC-002",
        "the encrypted OUT is acknowledged inside the channel; the purpose then reads output 0 back with OSTAT, which \
         gets NAK 9 (see OSDP-CMD-001)",
    ),
    (
        "OSDP-SC-004",
        "the plain OUT is refused with NAK 6 as it must be; the purpose then checks with OSTAT that nothing ran, which \
         gets NAK 9 (see OSDP-CMD-001)",
    ),
];

/// The peers venv's Python (ci/test installs it), or `None` with the reason printed; under `CI=true` a missing
/// peer fails the test: CI must never pass by skipping.
fn peer_python() -> Option<PathBuf> {
    let from_env = std::env::var_os("KHIL_PEERS_PY").map(PathBuf::from);
    let default = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.peers/venv/bin/python");
    let found = from_env.into_iter().chain([default]).find(|p| p.exists());
    if found.is_none() {
        let why = "peer venv missing: run ci/test once (it installs .peers/venv), or set KHIL_PEERS_PY";
        assert!(std::env::var("CI").as_deref() != Ok("true"), "CI=true: {why}");
        eprintln!("skipped: {why}");
    }
    found
}

/// libosdp's PD on its own pty; killed on drop.
struct LibosdpPd {
    child: Child,
    url: String,
}

impl LibosdpPd {
    fn start(python: &Path) -> LibosdpPd {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/tests/peers/osdp_pd_dut.py");
        let mut child = Command::new(python)
            .arg(script)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the peer's Python starts");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("a ready line");
        let url = line.trim().strip_prefix("ready ").unwrap_or_else(|| panic!("not a ready line: {line:?}")).to_owned();
        LibosdpPd { child, url }
    }
}

impl Drop for LibosdpPd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serial ports and the rest as `khil conformance run` opens them (no simulators here).
struct Links;

impl Connector for Links {
    fn connect<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move { khil_link::connect(url, Some(115_200), &NoSimulators).await.map_err(|e| e.to_string()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_suite_judges_libosdps_pd_as_pinned_and_explained() {
    let Some(python) = peer_python() else { return };
    let pd = LibosdpPd::start(&python);
    let ics = Ics::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("ics/osdp-libosdp-pd.toml")).unwrap();
    let url: DeviceUrl = pd.url.parse().unwrap();
    let opts = RunOptions::new(url, Some(ics));
    let report = run(&OsdpSuite::new(), &Links, &opts, &mut Quiet).await.unwrap();

    // One line a purpose: its verdict, and for a failure the checks that did not pass, what was expected and what
    // the PD sent, decoded (no failing check here carries a timing; the frames go to the test's output).
    let mut pinned = String::new();
    for r in &report.results {
        let _ = writeln!(pinned, "{} {}", r.id, r.outcome.label());
        if let Outcome::Error { message } = &r.outcome {
            let _ = writeln!(pinned, "    error: {message}");
        }
        for c in r.evidence.checks.iter().filter(|c| c.verdict == Verdict::Fail) {
            let _ = writeln!(pinned, "    failed: {}: expected {}, observed {}", c.what, c.expected, c.observed);
        }
        if r.outcome.is_failure() {
            for f in &r.evidence.frames {
                println!("    {:?} {} {}", f.dir, f.hex, f.summary);
            }
        }
    }
    println!("{pinned}");

    let failed: Vec<&str> = report.results.iter().filter(|r| r.outcome.is_failure()).map(|r| r.id.as_str()).collect();
    let explained: Vec<&str> = WHY.iter().map(|(id, _)| *id).collect();
    assert_eq!(failed, explained, "every failure explained, and every explanation still a failure");
    insta::assert_snapshot!("libosdp_pd_verdicts", pinned);
}
