//! `khil train`: the training server's JSON API (bad requests get a 4xx naming the field; cases come in order;
//! an answer is on disk before the next case, so a killed server loses none) and `khil train report`.

mod common;
mod train_support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use serde_json::{Value, json};
use train_support::{report_json, start_train, truth};

use common::khil;

/// One HTTP/1.1 request on its own connection: (status, content type, body).
fn http(base: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String, Vec<u8>) {
    http_as(base, method, path, body, "application/json")
}

/// As [`http`], with the request's content type.
fn http_as(base: &str, method: &str, path: &str, body: Option<&str>, content_type: &str) -> (u16, String, Vec<u8>) {
    let host = base.strip_prefix("http://").and_then(|h| h.strip_suffix('/')).expect("http://host:port/");
    let mut stream = TcpStream::connect(host).expect("connect to the training server");
    stream.set_read_timeout(Some(Duration::from_mins(1))).unwrap();
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("a header block");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status: u16 = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let content_type = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-type:").map(|v| v.trim().to_owned()))
        .unwrap_or_default();
    (status, content_type, response[split + 4..].to_vec())
}

/// The `error` of a JSON error response with the expected status.
fn error(response: (u16, String, Vec<u8>), status: u16) -> String {
    let (got, content_type, body) = response;
    let text = String::from_utf8_lossy(&body).into_owned();
    assert_eq!(got, status, "{text}");
    assert!(content_type.starts_with("application/json"), "{content_type}: {text}");
    let value: Value = serde_json::from_str(&text).expect("a JSON error");
    value["error"].as_str().expect("an error message").to_owned()
}

fn json_of(response: (u16, String, Vec<u8>)) -> Value {
    let (status, _, body) = response;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("JSON")
}

#[test]
fn the_api_refuses_bad_requests_by_name_and_a_killed_server_keeps_every_answer() {
    let dir = khil_test_support::temp_dir("train-cli");
    let db = dir.join("train.db");
    let mut server = start_train(&db, 11, 3);
    let base = server.url.clone();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let (status, content_type, page) = http(&base, "GET", "/", None);
    assert_eq!(status, 200);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    let page = String::from_utf8(page).unwrap();
    // Self-contained: nothing fetched from elsewhere.
    assert!(page.contains("/api/session") && !page.contains("http://") && !page.contains("https://"));

    let session = json_of(http(&base, "GET", "/api/session", None));
    assert_eq!((session["cases"].as_u64(), session["answered"].as_u64()), (Some(3), Some(0)));
    assert_eq!(session["date"], train_support::DATE);
    let classes: Vec<&str> =
        session["classes"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    let catalogue = [
        "genuine",
        "counterfeit-office-paper",
        "ir-transparent-mrz",
        "altered-biodata",
        "altered-mrz-check-digit",
        "altered-mrz-recomputed",
        "photo-substitution",
        "fantasy",
        "stolen-blank",
        "expired",
    ];
    assert_eq!(classes, catalogue, "the forgery catalogue's classes, by default");

    // Cases in order only, and nothing can be answered before it was shown.
    assert!(error(http(&base, "GET", "/api/case/1", None), 409).contains("`index`"));
    assert!(error(http(&base, "GET", "/api/case/3", None), 404).contains("does not exist"));
    assert!(error(http(&base, "GET", "/api/case/x", None), 400).contains("`index`"));
    let answer = json!({"case": 0, "verdict": "genuine"}).to_string();
    assert!(error(http(&base, "POST", "/api/answer", Some(&answer)), 409).contains("not been shown"));
    assert!(error(http(&base, "GET", "/api/nothing", None), 404).contains("no such"));

    let case = json_of(http(&base, "GET", "/api/case/0", None));
    assert_eq!(case["lights"], json!(["white", "infrared", "ultraviolet"]));
    assert!(case.get("class").is_none() && case.get("key").is_none(), "the page is not told the truth: {case}");
    assert!(case["mrz"].as_array().is_some_and(|l| l.len() >= 2), "{case}");
    let (status, content_type, png) = http(&base, "GET", "/api/case/0/image/ultraviolet", None);
    assert_eq!((status, content_type.as_str()), (200, "image/png"));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "{} bytes", png.len());
    assert!(error(http(&base, "GET", "/api/case/0/image/x-ray", None), 404).contains("`light`"));

    for (body, field) in [
        ("not json", "body"),
        (r#"{"case": 0}"#, "`verdict`"),
        (r#"{"case": 0, "verdict": "perhaps"}"#, "`verdict`"),
        (r#"{"case": 0, "verdict": "forged"}"#, "`defect`"),
        (r#"{"case": 0, "verdict": "forged", "defect": "made-up"}"#, "`defect`"),
        (r#"{"case": "zero", "verdict": "genuine"}"#, "`case`"),
    ] {
        let message = error(http(&base, "POST", "/api/answer", Some(body)), 400);
        assert!(message.contains(field), "{body}: {message}");
    }
    assert!(
        error(http(&base, "POST", "/api/answer", Some(r#"{"case": 1, "verdict": "genuine"}"#)), 409).contains("`case`")
    );
    // What a form of another site could send without a preflight.
    let as_form = http_as(&base, "POST", "/api/answer", Some(r#"{"case": 0, "verdict": "genuine"}"#), "text/plain");
    assert!(error(as_form, 415).contains("`Content-Type`"));

    // A deliberately wrong answer to case 0 (its truth read from the trainer's report, not from the page).
    let truth0 = truth(&db, 0);
    let wrong = if truth0 == "genuine" {
        json!({"case": 0, "verdict": "forged", "defect": "expired"})
    } else {
        json!({"case": 0, "verdict": "genuine"})
    };
    let recorded = json_of(http(&base, "POST", "/api/answer", Some(&wrong.to_string())));
    assert_eq!(recorded, json!({"recorded": 0, "next": 1, "finished": false}));
    assert!(error(http(&base, "POST", "/api/answer", Some(&wrong.to_string())), 409).contains("`case`"));
    assert!(error(http(&base, "GET", "/api/case/0/image/white", None), 409).contains("not the case to examine now"));
    let case1 = json_of(http(&base, "GET", "/api/case/1", None));
    assert_eq!(case1["index"], 1);

    // SIGKILL, as a crash: nothing is flushed on the way out.
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let report = report_json(&db);
    assert_eq!(report["session"]["finished"], Value::Null);
    assert_eq!(report["session"]["seed"], 11);
    assert_eq!(report["overall"]["shown"], 2);
    assert_eq!(report["overall"]["answered"], 1);
    assert_eq!(report["overall"]["decision_correct"], 0);
    assert_eq!(report["cases"][0]["verdict"], wrong["verdict"]);
    assert_eq!(report["cases"][0]["decision_correct"], false);
    assert_eq!(report["cases"][0]["lights_viewed"], json!([]));
    assert_eq!(report["cases"][1]["verdict"], Value::Null);

    // The table names every class and the overall line.
    let out = khil().args(["train", "report", "--db"]).arg(&db).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let table = String::from_utf8(out.stdout).unwrap();
    for word in ["Test Officer", "not finished", "genuine", "stolen-blank", "expired", "overall", "wrong"] {
        assert!(table.contains(word), "{word} missing from:\n{table}");
    }
}

#[test]
fn bad_arguments_and_files_are_named() {
    let dir = khil_test_support::temp_dir("train-cli");
    let missing = dir.join("missing.db");
    let out = khil().args(["train", "report", "--db"]).arg(&missing).output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("missing.db") && stderr.contains("no such file"), "{stderr}");
    assert!(!missing.exists(), "report creates no database");

    let db = dir.join("train.db");
    let out = khil()
        .args(["train", "documents", "--date", "2026-13-01", "--db"])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--date") && stderr.contains("YYYY-MM-DD"), "{stderr}");
    assert!(out.stdout.is_empty(), "no ready line on failure");

    let out = khil().args(["train", "report", "--session", "5", "--db"]).arg(&db).output().unwrap();
    assert!(!out.status.success(), "no session 5 in a database that was never made");
}
