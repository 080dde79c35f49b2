//! The runner and the reports against a small test-only suite: an echo device on an in-memory link, with one
//! purpose per way a purpose can end (pass, fail, inconclusive, not applicable, error, time limit).

use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::process::Command;
use std::time::Duration;

use khil_conformance::purpose::BodyFuture;
use khil_conformance::runner::PurposeResult;
use khil_conformance::verdict::{Direction, hex};
use khil_conformance::{
    Applicability, Connector, Ctx, Ics, Identity, Outcome, Preflight, Purpose, PurposeMeta, Quiet, RunOptions,
    RunReport, SetupError, Stop, Suite, Verdict, report, run,
};
use khil_link::{BoxLink, DeviceUrl};
use khil_test_support::TempDir;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The identity the echo device reports: device-provided text that must never become markup.
const EVIL: &str = "<script>alert('owned')</script>";

/// Echo device handle.
struct EchoDut {
    link: BoxLink,
}

impl EchoDut {
    /// Sends `bytes`, reads as many back, records both frames.
    async fn round_trip(&mut self, ctx: &mut Ctx, bytes: &[u8]) -> Result<Vec<u8>, Stop> {
        ctx.frame(Direction::Out, hex(bytes), format!("{} bytes out", bytes.len()));
        self.link.write_all(bytes).await.map_err(|e| Stop::Error(format!("write: {e}")))?;
        let mut back = vec![0; bytes.len()];
        self.link.read_exact(&mut back).await.map_err(|e| Stop::Error(format!("read: {e}")))?;
        ctx.frame(Direction::In, hex(&back), format!("{} bytes back", back.len()));
        Ok(back)
    }
}

fn always(_: &Ics) -> Applicability {
    Applicability::Applies
}

fn meta(id: &'static str, title: &'static str, group: &'static str) -> PurposeMeta {
    PurposeMeta {
        id,
        title,
        clause: "echo manual 1.2 <loopback>",
        group,
        condition: "always",
        expected: "bytes come back unchanged",
    }
}

fn echoes<'a>(dut: &'a mut EchoDut, ctx: &'a mut Ctx) -> BodyFuture<'a> {
    Box::pin(async move {
        let back = dut.round_trip(ctx, b"\xEF\x01hello").await?;
        ctx.check_eq("echoed bytes", hex(b"\xEF\x01hello"), hex(&back))?;
        ctx.timing("round trip", Duration::from_millis(3));
        Ok(())
    })
}

/// Fails, then passes: the verdict stays fail.
fn fails<'a>(dut: &'a mut EchoDut, ctx: &'a mut Ctx) -> BodyFuture<'a> {
    Box::pin(async move {
        let back = dut.round_trip(ctx, b"abc").await?;
        let _ = ctx.check("bytes come back reversed", "cba", String::from_utf8_lossy(&back), back == b"cba");
        ctx.check("length kept", 3, back.len(), back.len() == 3)?;
        ctx.note("a <b>note</b> & more");
        Ok(())
    })
}

/// Pass, inconclusive, pass: the verdict stays inconclusive.
fn undecided<'a>(dut: &'a mut EchoDut, ctx: &'a mut Ctx) -> BodyFuture<'a> {
    Box::pin(async move {
        let back = dut.round_trip(ctx, b"x").await?;
        ctx.check_eq("one byte back", hex(b"x"), hex(&back))?;
        ctx.inconclusive("LED colour", "blue", "cannot see the LED from here");
        ctx.check("still alive", "yes", "yes", true)?;
        Ok(())
    })
}

fn needs_reverse(ics: &Ics) -> Applicability {
    if ics.capabilities.get("reverse").and_then(toml::Value::as_bool) == Some(true) {
        Applicability::Applies
    } else {
        Applicability::NotApplicable("[capabilities] reverse is not true".into())
    }
}

fn unreachable_body<'a>(_: &'a mut EchoDut, _: &'a mut Ctx) -> BodyFuture<'a> {
    Box::pin(async { panic!("a not-applicable purpose ran") })
}

/// Checks something, then the link "breaks".
fn breaks<'a>(dut: &'a mut EchoDut, ctx: &'a mut Ctx) -> BodyFuture<'a> {
    Box::pin(async move {
        dut.round_trip(ctx, b"1").await?;
        ctx.check("first byte", "1", "1", true)?;
        Err(Stop::Error("device vanished <mid-test>".into()))
    })
}

/// Never ends: the runner's time limit stops it.
fn hangs<'a>(dut: &'a mut EchoDut, ctx: &'a mut Ctx) -> BodyFuture<'a> {
    Box::pin(async move {
        dut.round_trip(ctx, b"z").await?;
        ctx.inconclusive("waiting", "an answer", "nothing yet");
        std::future::pending::<()>().await;
        Ok(())
    })
}

struct EchoSuite {
    purposes: Vec<Purpose<EchoDut>>,
}

impl EchoSuite {
    fn new() -> EchoSuite {
        let p = |meta, applies, run| Purpose { meta, applies, run };
        EchoSuite {
            purposes: vec![
                p(meta("ECHO-BAS-001", "Bytes come back", "basic"), always, echoes),
                p(meta("ECHO-BAS-002", "Bytes come back reversed <b>", "basic"), always, fails),
                p(meta("ECHO-BAS-003", "LED shows the state", "basic"), always, undecided),
                p(meta("ECHO-REV-001", "Reverse mode", "reverse & co"), needs_reverse, unreachable_body),
                p(meta("ECHO-ROB-001", "Survives a long session", "robustness"), always, breaks),
                p(meta("ECHO-ROB-002", "Answers within the time limit", "robustness"), always, hangs),
            ],
        }
    }
}

impl Suite for EchoSuite {
    type Dut = EchoDut;

    fn class(&self) -> &'static str {
        "echo"
    }

    fn title(&self) -> &'static str {
        "Echo devices (test only)"
    }

    fn purposes(&self) -> &[Purpose<EchoDut>] {
        &self.purposes
    }

    fn validate_ics(&self, ics: &Ics) -> Result<(), String> {
        match ics.capabilities.get("reverse") {
            None | Some(toml::Value::Boolean(_)) => Ok(()),
            Some(other) => {
                Err(format!("ICS {}: [capabilities] reverse: expected true or false, found {other}", ics.name()))
            }
        }
    }

    async fn open(&self, connector: &dyn Connector, url: &DeviceUrl, _ics: &Ics) -> Result<EchoDut, Stop> {
        let link = connector.connect(url).await.map_err(Stop::Error)?;
        Ok(EchoDut { link })
    }

    async fn identify(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        _: Option<&Ics>,
    ) -> Result<Identity, SetupError> {
        self.open(connector, url, &Ics::default()).await.map_err(|e| SetupError(e.to_string()))?;
        Ok(Identity { fields: vec![("model".into(), EVIL.into()), ("firmware".into(), "1.0 & \"beta\"".into())] })
    }

    async fn preflight(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Preflight, SetupError> {
        let identity = self.identify(connector, url, given).await?;
        let ics = given.cloned().ok_or_else(|| SetupError("no built-in ICS for an echo device: give --ics".into()))?;
        Ok(Preflight { identity, ics })
    }

    fn ics_template(&self) -> &'static str {
        "[device]\nmodel = \"E-1\"\n"
    }
}

/// Connects `sim:echo` to a fresh echo task on an in-memory pair; anything else is unreachable.
struct EchoConnector;

impl Connector for EchoConnector {
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move {
            if url.to_string() != "sim:echo" {
                return Err("connection refused".into());
            }
            let (host, mut device) = khil_link::memory_pair();
            tokio::spawn(async move {
                let mut buf = [0u8; 256];
                loop {
                    match device.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if device.write_all(&buf[..n]).await.is_err() {
                                break;
                            }
                        }
                    }
                }
            });
            Ok(Box::new(host) as BoxLink)
        })
    }
}

fn options(url: &str) -> RunOptions {
    let mut ics =
        Ics::parse("[device]\nvendor = \"Acme <Devices>\"\nmodel = \"E-1\"\nfirmware = \"2.0\"\n", "echo.toml")
            .unwrap();
    ics.source = Some(PathBuf::from("echo.toml"));
    RunOptions { purpose_timeout: Duration::from_millis(400), ..RunOptions::new(url.parse().unwrap(), Some(ics)) }
}

async fn run_echo() -> RunReport {
    run(&EchoSuite::new(), &EchoConnector, &options("sim:echo"), &mut Quiet).await.unwrap()
}

fn result<'r>(report: &'r RunReport, id: &str) -> &'r PurposeResult {
    report.results.iter().find(|r| r.id == id).unwrap_or_else(|| panic!("no result for {id}"))
}

fn verdict(v: Verdict) -> Outcome {
    Outcome::Verdict { verdict: v }
}

#[tokio::test]
async fn every_way_a_purpose_can_end() {
    let report = run_echo().await;
    let ids: Vec<&str> = report.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["ECHO-BAS-001", "ECHO-BAS-002", "ECHO-BAS-003", "ECHO-REV-001", "ECHO-ROB-001", "ECHO-ROB-002"]);

    assert_eq!(result(&report, "ECHO-BAS-001").outcome, verdict(Verdict::Pass));
    assert_eq!(result(&report, "ECHO-BAS-002").outcome, verdict(Verdict::Fail));
    assert_eq!(result(&report, "ECHO-BAS-003").outcome, verdict(Verdict::Inconclusive));
    assert_eq!(
        result(&report, "ECHO-REV-001").outcome,
        Outcome::NotApplicable { reason: "[capabilities] reverse is not true".into() }
    );
    assert_eq!(
        result(&report, "ECHO-ROB-001").outcome,
        Outcome::Error { message: "device vanished <mid-test>".into() }
    );
    let Outcome::Error { message } = &result(&report, "ECHO-ROB-002").outcome else { panic!("the hang did not error") };
    assert!(message.contains("still running after"), "{message}");
    // The evidence collected before the time limit is kept.
    assert_eq!(result(&report, "ECHO-ROB-002").evidence.frames.len(), 2);

    let s = &report.summary;
    assert_eq!((s.total, s.pass, s.fail, s.inconclusive, s.none, s.not_applicable, s.error), (6, 1, 1, 1, 0, 1, 2));
    assert!(!s.passed());
    assert_eq!(report.identity.fields[0].1, EVIL);
    assert_eq!(report.declared.vendor, "Acme <Devices>");
    assert_eq!(report.ics, "echo.toml");
}

#[tokio::test]
async fn a_verdict_only_gets_worse() {
    let report = run_echo().await;
    // Within a purpose: fail then pass stays fail; pass, inconclusive, pass stays inconclusive.
    let checks = |id| result(&report, id).evidence.checks.iter().map(|c| c.verdict).collect::<Vec<_>>();
    assert_eq!(checks("ECHO-BAS-002"), [Verdict::Fail, Verdict::Pass]);
    assert_eq!(checks("ECHO-BAS-003"), [Verdict::Pass, Verdict::Inconclusive, Verdict::Pass]);
    // The verdict is the worst of the checks, for every purpose that reached one.
    for r in &report.results {
        if let Outcome::Verdict { verdict } = r.outcome {
            let worst = r.evidence.checks.iter().map(|c| c.verdict).max().unwrap_or(Verdict::None);
            assert_eq!(verdict, worst, "{}", r.id);
        }
    }
    // And directly on a context, every order of a sequence.
    let mut ctx = Ctx::new(Ics::default());
    let mut seen = Vec::new();
    let _ = ctx.check("a", 1, 1, true);
    seen.push(ctx.verdict());
    ctx.inconclusive("b", 1, 2);
    seen.push(ctx.verdict());
    let _ = ctx.check("c", 1, 1, true);
    seen.push(ctx.verdict());
    let _ = ctx.check("d", 1, 2, false);
    seen.push(ctx.verdict());
    ctx.inconclusive("e", 1, 2);
    let _ = ctx.check("f", 1, 1, true);
    seen.push(ctx.verdict());
    assert_eq!(seen, [Verdict::Pass, Verdict::Inconclusive, Verdict::Inconclusive, Verdict::Fail, Verdict::Fail]);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
}

#[tokio::test]
async fn only_and_ics_select_purposes() {
    let mut opts = options("sim:echo");
    opts.only = vec!["ECHO-REV".into(), "ECHO-BAS-001".into()];
    opts.ics.as_mut().unwrap().capabilities.insert("reverse".into(), toml::Value::Boolean(false));
    let report = run(&EchoSuite::new(), &EchoConnector, &opts, &mut Quiet).await.unwrap();
    let ids: Vec<&str> = report.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["ECHO-BAS-001", "ECHO-REV-001"]);
    assert!(report.summary.passed(), "pass and not applicable only");

    opts.only = vec!["NOPE".into()];
    let err = run(&EchoSuite::new(), &EchoConnector, &opts, &mut Quiet).await.unwrap_err();
    assert!(err.contains("no echo test purpose matches"), "{err}");
}

#[tokio::test]
async fn a_run_that_cannot_start_says_why() {
    let err = run(&EchoSuite::new(), &EchoConnector, &options("tcp://127.0.0.1:9"), &mut Quiet).await.unwrap_err();
    assert!(err.contains("tcp://127.0.0.1:9") && err.contains("connection refused"), "{err}");

    let mut opts = options("sim:echo");
    opts.ics.as_mut().unwrap().capabilities.insert("reverse".into(), toml::Value::String("maybe".into()));
    let err = run(&EchoSuite::new(), &EchoConnector, &opts, &mut Quiet).await.unwrap_err();
    assert!(err.contains("echo.toml") && err.contains("reverse"), "{err}");
}

fn out_dir(name: &str) -> TempDir {
    khil_test_support::temp_dir(&format!("conformance-{name}"))
}

/// A report folder below a temporary directory (so that `write_all` has to make the folders); the whole tree is
/// removed when this drops. Derefs to the report folder.
struct Written {
    path: PathBuf,
    _tmp: TempDir,
}

impl std::ops::Deref for Written {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.path
    }
}

async fn written(name: &str) -> (RunReport, Written, Vec<PathBuf>) {
    let report = run_echo().await;
    let tmp = out_dir(name);
    let dir = Written { path: tmp.join("nested/out"), _tmp: tmp };
    let files = report::write_all(&report, &dir).unwrap();
    (report, dir, files)
}

#[tokio::test]
async fn write_all_writes_three_files() {
    let (_, dir, files) = written("files").await;
    assert_eq!(files, [dir.join("report.json"), dir.join("junit.xml"), dir.join("report.html")]);
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() > 100, "{}", f.display());
    }
    // A directory that cannot be made is named.
    let blocker = out_dir("blocked");
    std::fs::create_dir_all(&blocker).unwrap();
    std::fs::write(blocker.join("file"), "").unwrap();
    let report = run_echo().await;
    let err = report::write_all(&report, &blocker.join("file/sub")).unwrap_err();
    assert!(err.contains("file/sub"), "{err}");
}

#[tokio::test]
async fn json_has_the_results() {
    let (report, dir, _) = written("json").await;
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["class"], "echo");
    assert_eq!(json["summary"]["total"], 6);
    assert_eq!(json["summary"]["error"], 2);
    let results = json["results"].as_array().unwrap();
    assert_eq!(results.len(), report.results.len());
    assert_eq!(results[1]["id"], "ECHO-BAS-002");
    assert_eq!(results[1]["outcome"]["kind"], "verdict");
    assert_eq!(results[1]["outcome"]["verdict"], "fail");
    assert_eq!(results[3]["outcome"]["kind"], "not_applicable");
    assert_eq!(results[1]["evidence"]["checks"][0]["expected"], "cba");
    assert_eq!(json["identity"]["fields"][0][1], EVIL);
}

#[tokio::test]
async fn junit_maps_every_outcome() {
    let (report, dir, _) = written("junit").await;
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(junit.tests, 6);
    assert_eq!(junit.failures, 1);
    assert_eq!(junit.errors, 2);
    let suites: Vec<&str> = junit.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        suites,
        ["khil.conformance.echo.basic", "khil.conformance.echo.reverse & co", "khil.conformance.echo.robustness"]
    );
    let cases: Vec<_> = junit.test_suites.iter().flat_map(|s| &s.test_cases).collect();
    assert_eq!(cases.len(), report.results.len(), "one testcase per purpose");
    for (case, r) in cases.iter().zip(&report.results) {
        assert_eq!(case.name.as_str(), format!("{} {}", r.id, r.title));
        assert_eq!(case.classname.as_ref().unwrap().as_str(), format!("khil.conformance.echo.{}", r.group));
        let prop = |name: &str| {
            case.properties
                .iter()
                .find(|p| p.name.as_str() == name)
                .unwrap_or_else(|| panic!("{}: no {name}", r.id))
                .value
                .as_str()
        };
        assert_eq!(prop("purpose_id"), r.id);
        assert_eq!(prop("clause"), r.clause);
        assert_eq!(prop("condition"), r.condition);
        assert_eq!(prop("verdict"), r.outcome.label());
    }
    use quick_junit::{NonSuccessKind, TestCaseStatus};
    let status = |i: usize| &cases[i].status;
    assert!(matches!(status(0), TestCaseStatus::Success { .. }));
    let TestCaseStatus::NonSuccess { kind: NonSuccessKind::Failure, message, description, .. } = status(1) else {
        panic!("fail is not a failure: {:?}", status(1))
    };
    assert!(message.as_ref().unwrap().as_str().contains("1 of 2 checks failed"), "{message:?}");
    let description = description.as_ref().unwrap().as_str();
    assert!(description.contains("expected cba, observed abc"), "{description}");
    let TestCaseStatus::Skipped { message, .. } = status(2) else { panic!("inconclusive: {:?}", status(2)) };
    assert!(message.as_ref().unwrap().as_str().starts_with("inconclusive: LED colour"), "{message:?}");
    let TestCaseStatus::Skipped { message, .. } = status(3) else { panic!("n/a: {:?}", status(3)) };
    assert_eq!(message.as_ref().unwrap().as_str(), "not applicable: [capabilities] reverse is not true");
    for i in [4, 5] {
        assert!(matches!(status(i), TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, .. }), "{:?}", status(i));
    }
    // Run-level properties on each suite.
    let props = &junit.test_suites[0].properties;
    assert!(props.iter().any(|p| p.name.as_str() == "identity.model" && p.value.as_str() == EVIL));
    assert!(props.iter().any(|p| p.name.as_str() == "device_url" && p.value.as_str() == "sim:echo"));
    // An independent XML parser agrees it is well-formed.
    if let Some(python) = python3() {
        let script = "import sys, xml.etree.ElementTree as E\nr = E.parse(sys.argv[1]).getroot()\n\
print(r.tag, len(r.findall('.//testcase')), len(r.findall('.//failure')), len(r.findall('.//error')), \
len(r.findall('.//skipped')), len(r.findall('.//testcase/properties/property')))";
        let out = Command::new(python).arg("-c").arg(script).arg(dir.join("junit.xml")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "testsuites 6 1 2 2 24");
    }
}

/// `python3` for the independent cross-checks, or `None` (skipped, reason printed) when it is not on PATH; a
/// failure under `CI=true`, as every peer check of the workspace (ci/test installs python3).
fn python3() -> Option<PathBuf> {
    khil_test_support::program("python3")
}

#[tokio::test]
async fn html_is_escaped_complete_and_self_contained() {
    let (report, dir, _) = written("html").await;
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for r in &report.results {
        assert!(html.contains(&r.id), "{} missing", r.id);
    }
    assert!(!html.contains("<script"), "device text became markup");
    assert!(html.contains("&lt;script&gt;alert(&#39;owned&#39;)&lt;/script&gt;"));
    assert!(html.contains("Acme &lt;Devices&gt;"));
    assert!(html.contains("Bytes come back reversed &lt;b&gt;"));
    assert!(html.contains("a &lt;b&gt;note&lt;/b&gt; &amp; more"));
    for external in ["http://", "https://", "<link", "<img", "src=", "url(", "@import"] {
        assert!(!html.to_lowercase().contains(external), "not self-contained: {external}");
    }
    assert!(html.contains(">FAILED<"));
    assert!(html.contains(&format!("{} UTC", report::utc_datetime(report.started_unix))));
    for class in ["badge pass", "badge fail", "badge inconclusive", "badge na", "badge error"] {
        assert!(html.contains(class), "no {class}");
    }
    // Balanced tags, by an independent parser.
    if let Some(python) = python3() {
        let out = Command::new(python).arg("-c").arg(HTML_BALANCE).arg(dir.join("report.html")).output().unwrap();
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// What a signed report must carry: the whole declaration (secrets hidden everywhere: HTML, JSON, JUnit), the ICS
/// file's SHA-256 as `sha256sum` computes it, khil's version with the commit it was built from, the tester, site
/// and notes, and lines to sign.
#[tokio::test]
async fn a_signed_report_carries_the_declaration_and_the_people() {
    let tmp = out_dir("signed");
    let key = "6b68696c2d7365637265742d6b657921";
    let ics_path = tmp.join("vendor.toml");
    std::fs::write(
        &ics_path,
        format!(
            "[device]\nvendor = \"Acme\"\nmodel = \"E-1\"\nfirmware = \"2.0\"\nserial = \"SN-7\"\n\n\
             [capabilities]\nreverse = false\nsizes = [32, 128]\n\n[ixit]\nscbk = \"{key}\"\nwait_ms = 250\n"
        ),
    )
    .unwrap();
    let mut opts = options("sim:echo");
    opts.ics = Some(Ics::load(&ics_path).unwrap());
    opts.sign = khil_conformance::SignOff {
        tester: "B. Bat-Erdene <QA>".into(),
        site: "Zamiin-Uud, lane 3".into(),
        notes: vec!["unit taken from lot 4 & tested on battery".into()],
    };
    let report = run(&EchoSuite::new(), &EchoConnector, &opts, &mut Quiet).await.unwrap();
    let dir = tmp.join("out");
    report::write_all(&report, &dir).unwrap();
    let text = |name: &str| std::fs::read_to_string(dir.join(name)).unwrap();
    let (html, json, junit) = (text("report.html"), text("report.json"), text("junit.xml"));
    for (name, body) in [("report.html", &html), ("report.json", &json), ("junit.xml", &junit)] {
        assert!(!body.contains(key), "{name} shows the key");
    }
    // The whole declaration, in TOML notation, key hidden.
    for row in [
        "<caption>[capabilities]</caption>",
        "<caption>[ixit]</caption>",
        "<th class=\"mono\">sizes</th><td class=\"mono\">[32, 128]</td>",
        "<th class=\"mono\">wait_ms</th><td class=\"mono\">250</td>",
        "<th class=\"mono\">scbk</th><td class=\"mono\">(set; not shown)</td>",
        "<th class=\"mono\">serial</th><td class=\"mono\">&quot;SN-7&quot;</td>",
    ] {
        assert!(html.contains(row), "no {row}");
    }
    // The file's digest, as an independent tool computes it.
    let digest = report.ics_sha256.clone().expect("a file ICS has a digest");
    if let Some(sha256sum) = khil_test_support::program("sha256sum") {
        let out = Command::new(sha256sum).arg(&ics_path).output().unwrap();
        let theirs = String::from_utf8_lossy(&out.stdout);
        assert_eq!(theirs.split_whitespace().next(), Some(digest.as_str()));
    }
    assert!(html.contains(&digest) && junit.contains(&digest) && json.contains(&digest));
    // Version and commit: the commit HEAD is at, when this is a git checkout built from it.
    let version = &report.khil_version;
    assert!(version.starts_with(env!("CARGO_PKG_VERSION")) && version.contains("(commit "), "{version}");
    let head =
        Command::new("git").args(["rev-parse", "--short=12", "HEAD"]).output().ok().filter(|o| o.status.success());
    if let Some(head) = head.filter(|_| std::env::var_os("KHIL_GIT_COMMIT").is_none()) {
        let head = String::from_utf8_lossy(&head.stdout).trim().to_owned();
        assert!(version.contains(&head), "{version} is not HEAD {head}");
    }
    assert!(html.contains(&esc_text(version)));
    // The people, escaped, and lines to sign.
    for part in [
        "B. Bat-Erdene &lt;QA&gt;",
        "Zamiin-Uud, lane 3",
        "unit taken from lot 4 &amp; tested on battery",
        "Reviewed and accepted by",
    ] {
        assert!(html.contains(part), "no {part}");
    }
    let parsed = quick_junit::Report::deserialize_from_str(&junit).unwrap();
    let props = &parsed.test_suites[0].properties;
    let prop = |name: &str| props.iter().find(|p| p.name.as_str() == name).map(|p| p.value.as_str().to_owned());
    assert_eq!(prop("tester").as_deref(), Some("B. Bat-Erdene <QA>"));
    assert_eq!(prop("site").as_deref(), Some("Zamiin-Uud, lane 3"));
    assert_eq!(prop("ics_sha256").as_deref(), Some(digest.as_str()));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["sign"]["notes"][0], "unit taken from lot 4 & tested on battery");
}

/// `text` as HTML escapes it (the report's version string has parentheses only, but say so in one place).
fn esc_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Python: every non-void element opened is closed, in order.
const HTML_BALANCE: &str = r#"
import sys
from html.parser import HTMLParser
VOID = {"meta", "col", "br", "hr", "img", "input", "link", "wbr"}
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []
    def handle_starttag(self, tag, attrs):
        if tag not in VOID: self.stack.append((tag, self.getpos()))
    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1][0] != tag:
            sys.exit(f"</{tag}> at {self.getpos()} closes {self.stack[-1] if self.stack else 'nothing'}")
        self.stack.pop()
p = P(); p.feed(open(sys.argv[1], encoding="utf-8").read()); p.close()
if p.stack: sys.exit(f"unclosed: {p.stack}")
"#;

/// Renders report.html in headless Chromium and finds the verdict banner in the screenshot: the red "FAILED"
/// box at the top, with its white lettering. Skipped (reason printed) without Chromium, except under `CI=true`,
/// where ci/test installs Debian's `chromium` and a missing browser fails the test.
#[tokio::test]
async fn html_renders_in_a_browser() {
    let Some(browser) = khil_test_support::browser::chromium() else { return };
    let (report, dir, _) = written("browser").await;
    assert!(!report.summary.passed(), "the echo run fails, so the banner is red");
    let png = dir.join("report.png");
    // A fresh profile in the report's temporary folder (removed with it).
    let out = Command::new(&browser)
        .args(khil_test_support::browser::headless_args(&dir.join("browser-profile")))
        .args(["--hide-scrollbars", "--window-size=1280,2000"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", dir.join("report.html").display()))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}: {}", browser.display(), String::from_utf8_lossy(&out.stderr));
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    let banner = find_banner(&bytes, FAIL_RED);
    eprintln!("screenshot: {} ({} bytes), banner {banner:?}", png.display(), bytes.len());
    let Banner { left, top, width, height, white } = banner;
    // The banner is at least 220 px wide (`.overall { min-width: 220px }`) and two lines tall, in the page head.
    assert!(width >= 220 && height >= 40, "no verdict banner in the screenshot: {banner:?}");
    assert!(top < 300 && left > 640, "the banner is not at the top right: {banner:?}");
    // White lettering ("FAILED" and the reason) inside the red box: the text was rendered, not only the box.
    assert!(white > 200, "the banner has no text: {banner:?}");
    // And no green box of a passed run (`--pass`): the colour says the verdict.
    let green = find_banner(&bytes, [0x1e, 0x7b, 0x34]);
    assert!(green.width < 220, "a passed-run banner in a failed run's report: {green:?}");
    keep(&png);
}

/// `--fail` in the report's CSS: the banner of a failed run.
const FAIL_RED: [u8; 3] = [0xc6, 0x28, 0x28];

/// A box of one colour in the top 400 rows of a screenshot: grown up and down from the row with the longest run
/// of the colour while at least half of each row is that colour (rows through the lettering count too), and the
/// number of white pixels inside it.
#[derive(Debug, Default)]
struct Banner {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
    white: usize,
}

fn find_banner(png_bytes: &[u8], colour: [u8; 3]) -> Banner {
    assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let channels = info.color_type.samples();
    assert!(channels >= 3, "a colour screenshot: {:?}", info.color_type);
    let pixel = |x: usize, y: usize| {
        let i = y * info.line_size + x * channels;
        [buf[i], buf[i + 1], buf[i + 2]]
    };
    let (w, h) = (info.width as usize, (info.height as usize).min(400));
    // The longest run of `colour` in each row: (length, start).
    let longest = |y: usize| {
        let (mut best, mut run) = ((0, 0), 0);
        for x in 0..w {
            run = if pixel(x, y) == colour { run + 1 } else { 0 };
            if run > best.0 {
                best = (run, x + 1 - run);
            }
        }
        best
    };
    let Some((seed, (width, left))) =
        (0..h).map(|y| (y, longest(y))).max_by_key(|&(y, (len, _))| (len, usize::MAX - y))
    else {
        return Banner::default();
    };
    if width == 0 {
        return Banner::default();
    }
    let mostly = |y: usize| 2 * (left..left + width).filter(|&x| pixel(x, y) == colour).count() >= width;
    let top = (0..seed).rev().take_while(|&y| mostly(y)).last().unwrap_or(seed);
    let bottom = (seed + 1..h).take_while(|&y| mostly(y)).last().unwrap_or(seed);
    let white = (top..=bottom)
        .flat_map(|y| (left..left + width).map(move |x| (x, y)))
        .filter(|&(x, y)| pixel(x, y) == [255; 3])
        .count();
    Banner { left, top, width, height: bottom - top + 1, white }
}

/// Leaves the screenshot for a person when KHIL_KEEP_SCREENSHOT names a path.
fn keep(png: &Path) {
    if let Some(to) = std::env::var_os("KHIL_KEEP_SCREENSHOT") {
        std::fs::copy(png, &to).unwrap();
    }
}
