//! `khil sim passport --vpcd` behind the real pcscd, read by `khil document read --device pcsc://...`: the ready
//! line names the PC/SC reader, a traveller takes the passport off the reader and lays it on again from the
//! console. In nextest's `vpcd` group (one card per vpcd slot at a time); skipped without pcscd and vpcd, failed
//! instead under `CI=true`.

mod common;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use common::{khil, lines, start_khil};

fn read(url: &str) -> Output {
    khil().args(["document", "read", "--device", url, "--document", "3"]).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads until `done` says the output is what is awaited (pcscd notices a card arriving or leaving within about a
/// second), at most 20 s.
fn read_until(url: &str, done: impl Fn(&Output) -> bool) -> Output {
    let start = Instant::now();
    loop {
        let out = read(url);
        if done(&out) || start.elapsed() > Duration::from_secs(20) {
            return out;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
}

#[test]
fn a_passport_on_pcscd_is_read_taken_away_and_presented_again() {
    if !khil_test_support::pcscd_with_vpcd(35963) {
        return;
    }
    let mut sim = start_khil(
        &["-v", "sim", "passport", "--vpcd", "127.0.0.1:35963", "--document", "3"],
        Stdio::piped(),
        Stdio::piped(),
    );
    assert_eq!(sim.url, "pcsc://Virtual%20PCD%2000%2000");
    let console = lines(sim.child.stderr.take().unwrap());
    let mut stdin = sim.child.stdin.take().unwrap();

    // 0: every check passed, DG3 included (terminal authentication with the test PKI's terminal certificates).
    let out = read_until(&sim.url, |o| o.status.code() == Some(0));
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["access"].as_str().unwrap().starts_with("PACE"), "{v}");
    assert_eq!(v["checks"].as_array().unwrap().iter().filter(|c| c["status"] == "failed").count(), 0, "{v}");

    writeln!(stdin, "remove").unwrap();
    let said = console.iter().find(|l| !l.contains(" INFO ")).unwrap();
    assert!(said.contains("off the reader"), "{said}");
    let out = read_until(&sim.url, |o| o.status.code() == Some(2));
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("no card in the reader"), "{}", text(&out.stderr));

    // As a traveller would, not within milliseconds: vpcd takes a new card only once it has seen the last one go
    // (it notices on its next poll), and a card plugged in before that is not seen at all.
    std::thread::sleep(Duration::from_secs(2));
    writeln!(stdin, "present").unwrap();
    let out = read_until(&sim.url, |o| o.status.code() == Some(0));
    let said: Vec<String> = console.try_iter().collect();
    assert_eq!(out.status.code(), Some(0), "{}{}\nconsole: {said:?}", text(&out.stdout), text(&out.stderr));
    drop(stdin);
    common::terminate_sim(&mut sim, Duration::from_secs(10));
}
