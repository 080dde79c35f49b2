//! A scripted trainee session through the training page in headless Chromium: the test opens the page, switches
//! lights (keys and buttons), zooms, answers every case (some right, one with the wrong verdict, one with the wrong
//! defect; the truth comes from the trainer's report, never from the page), and checks that the score the page
//! shows at the end is what `khil train report --json` says and what those answers must give.
//!
//! Chromium is driven over its DevTools protocol on a pipe (`--remote-debugging-pipe`: fd 3 in, fd 4 out, messages
//! separated by NUL), with `sh` mapping the pipes onto those descriptors: no WebDriver, no websocket, no crate.
//! Skipped without Chromium (Debian's `chromium`, installed by ci/test), a failure under `CI=true`.

mod common;
mod train_support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use train_support::{report_json, start_train, truth};

/// A headless Chromium and the page target the test drives.
struct Browser {
    child: Child,
    to: ChildStdin,
    from: Receiver<Value>,
    next_id: u64,
    session: Option<String>,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Closed as a user would, so that it removes its own files; killed if it does not go within seconds.
        let _ = self.to.write_all(b"{\"id\": 999999, \"method\": \"Browser.close\"}\0");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one command may take (a case renders three pages before the page shows it).
const LIMIT: Duration = Duration::from_mins(1);

impl Browser {
    /// Starts Chromium with its profile, log and temporary files (`TMPDIR`) in `dir`.
    fn launch(program: &Path, dir: &Path) -> Browser {
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).expect("chromium's TMPDIR");
        let mut child = Command::new("sh")
            .arg("-c")
            // The DevTools pipe is fds 3 (commands in) and 4 (replies out): our stdin and stdout pipes, moved there.
            .arg(r#"exec "$0" "$@" 3<&0 4>&1 </dev/null >/dev/null"#)
            .arg(program)
            .args(khil_test_support::browser::headless_args(&dir.join("profile")))
            .args(["--remote-debugging-pipe", "--window-size=1400,1000"])
            .arg("about:blank")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("chromium.log")).expect("chromium log file"))
            .env("TMPDIR", &tmp)
            .spawn()
            .expect("start chromium");
        let to = child.stdin.take().expect("piped");
        let from = child.stdout.take().expect("piped");
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut from = BufReader::new(from);
            let mut message = Vec::new();
            while from.read_until(0, &mut message).is_ok_and(|n| n > 0) {
                message.pop_if(|b| *b == 0);
                if let Ok(value) = serde_json::from_slice::<Value>(&message)
                    && tx.send(value).is_err()
                {
                    break;
                }
                message.clear();
            }
        });
        Browser { child, to, from: rx, next_id: 0, session: None }
    }

    /// Sends a command (to the attached page once there is one) and returns its result.
    fn call(&mut self, method: &str, params: &Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let mut message = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            message["sessionId"] = json!(session);
        }
        let mut bytes = serde_json::to_vec(&message).unwrap();
        bytes.push(0);
        self.to.write_all(&bytes).and_then(|()| self.to.flush()).expect("write to chromium's pipe");
        let deadline = Instant::now() + LIMIT;
        loop {
            let reply = match self.from.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(reply) => reply,
                Err(RecvTimeoutError::Timeout) => panic!("chromium did not answer {method} within {LIMIT:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("chromium closed its pipe during {method}"),
            };
            if reply["id"] == id {
                assert!(reply.get("error").is_none(), "{method}: {}", reply["error"]);
                return reply["result"].clone();
            }
        }
    }

    /// Opens `url` in a new page and attaches to it.
    fn open(&mut self, url: &str) {
        let target = self.call("Target.createTarget", &json!({ "url": url }));
        let attached = self.call("Target.attachToTarget", &json!({ "targetId": target["targetId"], "flatten": true }));
        self.session = Some(attached["sessionId"].as_str().expect("a session id").to_owned());
    }

    /// Evaluates `expression` in the page (promises awaited) and returns its value.
    fn eval(&mut self, expression: &str) -> Value {
        let params = json!({ "expression": expression, "returnByValue": true, "awaitPromise": true });
        let result = self.call("Runtime.evaluate", &params);
        assert!(result.get("exceptionDetails").is_none(), "{expression}: {}", result["exceptionDetails"]);
        result["result"]["value"].clone()
    }

    /// Waits until `expression` is true in the page (an exception, as before the page has loaded, is not yet).
    fn wait_for(&mut self, expression: &str) {
        let deadline = Instant::now() + LIMIT;
        let guarded = format!("(() => {{ try {{ return {expression}; }} catch (e) {{ return false; }} }})()");
        while self.eval(&guarded) != json!(true) {
            if Instant::now() > deadline {
                let state = self.eval("document.body ? document.body.innerText.slice(0, 400) : 'no body'");
                panic!("the page never got to `{expression}`; it shows: {state}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Clicks the middle of the element `selector`, as a mouse does.
    fn click(&mut self, selector: &str) {
        let at = self.eval(&format!(
            "(() => {{ const e = document.querySelector({selector:?}); if (!e) return null; \
             e.scrollIntoView({{block: 'center'}}); \
             const r = e.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
        ));
        let (x, y) = (at[0].as_f64(), at[1].as_f64());
        let (Some(x), Some(y)) = (x, y) else { panic!("no element {selector} to click") };
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            let pressed = u8::from(kind == "mousePressed");
            let event = json!({ "type": kind, "x": x, "y": y, "button": "left", "buttons": pressed, "clickCount": 1 });
            self.call("Input.dispatchMouseEvent", &event);
        }
    }

    /// Presses a key that types `key` (a digit, `+`, `0`).
    fn key(&mut self, key: &str) {
        self.call("Input.dispatchKeyEvent", &json!({ "type": "keyDown", "key": key, "text": key }));
        self.call("Input.dispatchKeyEvent", &json!({ "type": "keyUp", "key": key }));
    }
}

/// Per class: (shown, decision right, defect right).
type Tallies = BTreeMap<String, (u64, u64, u64)>;

/// The scripted trainee's answer to case `index` of truth `truth`: right, except the wrong verdict on case 1 and
/// the wrong defect on case 3 (when case 3 is a forgery). Returns (verdict, defect, decision right, defect right).
fn answer(index: u64, truth: &str, defects: &[String]) -> (&'static str, Option<String>, bool, bool) {
    let other = defects.iter().find(|d| *d != truth).expect("two defects at least").clone();
    match (index, truth == "genuine") {
        (1, true) => ("forged", Some(other), false, false),
        (1, false) => ("genuine", None, false, false),
        (3, false) => ("forged", Some(other), true, false),
        (_, true) => ("genuine", None, true, true),
        (_, false) => ("forged", Some(truth.to_owned()), true, true),
    }
}

fn tallies_of(rows: &Value, class_key: &str, keys: [&str; 3]) -> Tallies {
    let number = |v: &Value| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())).expect("a count");
    rows.as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (r[class_key].as_str().unwrap().to_owned(), (number(&r[keys[0]]), number(&r[keys[1]]), number(&r[keys[2]])))
        })
        .collect()
}

/// What a trainee does with a case before deciding: the three lights (by key and by button; the image shown is
/// that light's, loaded), zoom in and back to fit.
fn look_under_every_light_and_zoom(browser: &mut Browser, index: u64) {
    // Each light: by key and by button; the image shown is that light's, loaded.
    browser.key("2");
    browser.wait_for("document.body.dataset.light === 'infrared'");
    browser.click("#light-ultraviolet");
    browser.wait_for("document.body.dataset.light === 'ultraviolet'");
    let shown =
        browser.eval("(() => { const p = document.getElementById('page'); return [p.src, p.naturalWidth]; })()");
    assert!(shown[0].as_str().unwrap().ends_with(&format!("/api/case/{index}/image/ultraviolet")), "{shown}");
    assert!(shown[1].as_u64().unwrap() > 1000, "{shown}");
    // Zoom in, then back to fit.
    let fit: f64 = browser.eval("Number(document.body.dataset.zoom)").as_f64().unwrap();
    browser.click("#zoom-in");
    let zoomed = browser.eval("Number(document.body.dataset.zoom)").as_f64().unwrap();
    assert!((zoomed / fit - 1.25).abs() < 0.01, "zoom {fit} -> {zoomed}");
    browser.key("0");
    assert!((browser.eval("Number(document.body.dataset.zoom)").as_f64().unwrap() - fit).abs() < 1e-3);
}

#[test]
fn a_trainee_session_in_chromium_is_scored_as_the_report_says() {
    let Some(chromium) = khil_test_support::browser::chromium() else {
        return;
    };
    let dir = khil_test_support::temp_dir("train-chromium");
    let db = dir.join("train.db");
    // Six cases: every class once, and one more.
    const CASES: u64 = 6;
    let server = start_train(&db, 4, CASES as u32);
    let mut browser = Browser::launch(&chromium, dir.path());
    browser.open(&server.url);

    let defects: Vec<String> = {
        browser.wait_for("document.body.dataset.state === 'case'");
        let options = browser.eval("[...document.querySelectorAll('#defect option')].map(o => o.value).filter(v => v)");
        options.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(defects.len(), 9, "the catalogue's nine defects: {defects:?}");
    assert!(defects.iter().all(|d| d != "genuine"));

    let mut expected = Tallies::new();
    for index in 0..CASES {
        browser.wait_for(&format!(
            "document.body.dataset.state === 'case' && document.body.dataset.case === '{index}' && \
             document.body.dataset.light === 'white'"
        ));
        assert_eq!(
            browser.eval("document.getElementById('progress').textContent"),
            json!(format!("Case {} of {CASES}", index + 1))
        );
        look_under_every_light_and_zoom(&mut browser, index);

        let truth = truth(&db, index);
        // The chip and database panel is on the page: the lost/stolen line alerts for a stolen blank only.
        let alerts = browser
            .eval(
                "[...document.querySelectorAll('#chip tr')].filter(r => \
                 r.querySelector('th').textContent === 'Lost/stolen database' && r.querySelector('td.alert')).length",
            )
            .as_u64()
            .unwrap();
        assert_eq!(alerts, u64::from(truth == "stolen-blank"), "case {index} ({truth})");

        let (verdict, defect, decision_right, defect_right) = answer(index, &truth, &defects);
        browser.click(&format!("#verdict-{verdict}"));
        assert_eq!(browser.eval("document.getElementById('defect').disabled"), json!(verdict == "genuine"));
        if let Some(defect) = &defect {
            browser.eval(&format!(
                "(() => {{ const s = document.getElementById('defect'); s.value = {defect:?}; \
                 s.dispatchEvent(new Event('change')); return s.value; }})()"
            ));
        }
        browser.click("#submit");
        if index == 2 {
            // A reload mid-session (a trainee's F5) resumes at the next case: the server keeps the place.
            browser.wait_for("document.body.dataset.case === '3'");
            browser.eval("window.beforeReload = true");
            browser.call("Page.reload", &json!({}));
            browser.wait_for("window.beforeReload === undefined && document.body.dataset.state === 'case'");
        }
        let row = expected.entry(truth).or_default();
        *row = (row.0 + 1, row.1 + u64::from(decision_right), row.2 + u64::from(defect_right));
    }
    browser.wait_for("document.body.dataset.state === 'report'");

    let page_rows = browser.eval(
        "[...document.querySelectorAll('#report-classes tbody tr')]
            .filter(r => r.dataset.shown !== '0').map(r => ({...r.dataset}))",
    );
    let page = tallies_of(&page_rows, "class", ["shown", "decisionCorrect", "defectCorrect"]);
    let overall = browser.eval("({...document.getElementById('report-overall').dataset})");
    let total = |i: usize| expected.values().map(|t| [t.0, t.1, t.2][i]).sum::<u64>();
    let expected_overall = (total(0), total(1), total(2));
    assert_eq!(expected_overall.0, CASES);
    assert_eq!(expected_overall.1, CASES - 1, "the script gives one wrong verdict on purpose");
    assert_eq!(page, expected, "the page's score per class");
    assert_eq!(
        tallies_of(&json!([overall]), "class", ["shown", "decisionCorrect", "defectCorrect"])["overall"],
        expected_overall,
        "the page's overall score"
    );
    let meta = browser.eval("document.getElementById('report-meta').textContent");
    let said = format!("{} of {CASES} documents fully right", expected_overall.2);
    assert!(meta.as_str().unwrap().contains(&said), "{meta}");

    let report = report_json(&db);
    assert!(report["session"]["finished"].is_string(), "{}", report["session"]);
    let shown_classes: Value =
        report["classes"].as_array().unwrap().iter().filter(|c| c["shown"] != 0).cloned().collect();
    assert_eq!(tallies_of(&shown_classes, "class", ["shown", "decision_correct", "defect_correct"]), expected);
    let o = &report["overall"];
    let report_overall =
        (o["shown"].as_u64().unwrap(), o["decision_correct"].as_u64().unwrap(), o["defect_correct"].as_u64().unwrap());
    assert_eq!(report_overall, expected_overall);
    for case in report["cases"].as_array().unwrap() {
        assert!(case["seconds"].as_f64().is_some_and(|s| s >= 0.0), "{case}");
        // White on arrival, then infrared by key and ultraviolet by button: what the page told the server.
        assert_eq!(case["lights_viewed"], json!(["white", "infrared", "ultraviolet"]), "{case}");
    }
    drop(browser);
    drop(server);
}
