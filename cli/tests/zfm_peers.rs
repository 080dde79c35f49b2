//! Independent clients against `khil sim fingerprint`: pyfingerprint 1.5 and adafruit-circuitpython-fingerprint
//! 2.2.25 (on CPython) run their own flows over the simulator's pty, as a user's program would against a real
//! R307 or R503. The flows live in `tests/peers/*.py` (one step per flow, documented there); each script asserts
//! every result and exits non-zero naming the first mismatch, and each test here asserts that exit status and
//! prints the script's output when it fails.

mod common;

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::{Sim, peer_python, peer_script, start_sim, terminate_sim};
use khil_test_support::temp_dir;

/// Seed of every simulator here: the same seed gives the same fingers, so a second process on the same state
/// file sees the finger the first one enrolled.
const SEED: &str = "1";
/// A script that has not finished by then is stuck (every flow takes a few seconds here).
const SCRIPT_LIMIT: Duration = Duration::from_secs(30);

/// `khil sim fingerprint --pty` with `profile`, `finger` and the flash in `state`.
fn start_fingerprint(profile: &str, finger: &str, state: &Path, extra: &[&str]) -> Sim {
    let state = state.to_str().expect("temp paths are UTF-8");
    let mut args =
        vec!["fingerprint", "--pty", "--profile", profile, "--finger", finger, "--state", state, "--seed", SEED];
    args.extend_from_slice(extra);
    start_sim(&args)
}

fn drain(mut from: impl Read + Send + 'static) -> std::thread::JoinHandle<String> {
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = from.read_to_end(&mut text);
        String::from_utf8_lossy(&text).into_owned()
    })
}

/// Runs `python tests/peers/<script> <step> <port of sim> <args>` and returns its stdout. Panics with the
/// script's stdout and stderr unless it exits 0 within [`SCRIPT_LIMIT`].
fn run_peer(python: &Path, script: &str, step: &str, sim: &Sim, args: &[&str]) -> String {
    let port = sim.pty_path();
    let mut child = peer_script(python, script)
        .arg(step)
        .arg(port)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = drain(child.stdout.take().unwrap());
    let stderr = drain(child.stderr.take().unwrap());
    let deadline = Instant::now() + SCRIPT_LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let (stdout, stderr) = (stdout.join().unwrap(), stderr.join().unwrap());
    let what = format!("{script} {step} {port} {}", args.join(" "));
    match status {
        Some(s) if s.success() => {
            print!("{what}:\n{stdout}");
            stdout
        }
        Some(s) => panic!("{what}: {s}\n--- stdout\n{stdout}--- stderr\n{stderr}"),
        None => {
            panic!("{what}: still running after {SCRIPT_LIMIT:?}, killed\n--- stdout\n{stdout}--- stderr\n{stderr}")
        }
    }
}

/// The slots the state file holds.
fn state_slots(state: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(state).unwrap_or_else(|e| panic!("{}: {e}", state.display()));
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["library"].as_object().unwrap_or_else(|| panic!("no library in {text}")).keys().cloned().collect()
}

/// pyfingerprint's enrol example (read, convert 1, search, read again, convert 2, compare, create, store) in
/// one simulator process, its search example in a second one on the same state file: the slot stored in the
/// first is found, three touches in a row, with a positive score. A third process with another finger on
/// the sensor finds nothing. Finger presence is hesitant (`--no-finger 0.3`), so the examples' polling loops
/// run.
#[test]
fn pyfingerprint_enrols_and_a_second_process_finds_the_slot() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-enrol-search");
    let state = scratch.join("library.json");

    let mut first = start_fingerprint("r307", "auto:7", &state, &["--no-finger", "0.3"]);
    let out = run_peer(&python, "pyfingerprint_flows.py", "enrol", &first, &[]);
    assert!(out.contains("enrolled slot 0"), "{out}");
    let status = terminate_sim(&mut first, Duration::from_secs(10));
    assert!(status.success(), "first simulator: exit status {status}");
    assert_eq!(state_slots(&state), ["0"], "state file after the first process");

    let second = start_fingerprint("r307", "auto:7", &state, &["--no-finger", "0.3"]);
    let out = run_peer(&python, "pyfingerprint_flows.py", "search", &second, &["0", "3"]);
    assert!(out.contains("touch 2: found slot 0"), "{out}");
    drop(second);

    let stranger = start_fingerprint("r307", "auto:8", &state, &[]);
    run_peer(&python, "pyfingerprint_flows.py", "search-absent", &stranger, &[]);
}

/// One capture, downloadImage at packet sizes 32, 128 and 256: each BMP is 256 x 288 at 8 bits a pixel, has
/// ridges, and all three are identical (the image buffer survives the downloads); the data packets have the
/// size set; a second touch replaces the image.
#[test]
fn pyfingerprint_downloads_one_capture_identically_at_packet_sizes_32_128_256() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-image");
    let sim = start_fingerprint("r307", "auto:7", &scratch.join("library.json"), &[]);
    let dir = scratch.to_str().unwrap();
    run_peer(&python, "pyfingerprint_flows.py", "image", &sim, &[dir]);
    for size in [32, 128, 256] {
        let bmp = std::fs::read(scratch.join(format!("image-{size}.bmp"))).unwrap();
        assert_eq!(&bmp[..2], b"BM", "image-{size}.bmp");
    }
}

/// downloadCharacteristics / uploadCharacteristics at packet sizes 32, 128 and 256: what goes up comes back;
/// a search with uploaded characteristics finds the enrolled slot (and with uploaded zeros finds nothing).
#[test]
fn pyfingerprint_characteristics_come_back_and_find_the_slot() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-chars");
    let sim = start_fingerprint("r307", "auto:7", &scratch.join("library.json"), &[]);
    run_peer(&python, "pyfingerprint_flows.py", "chars", &sim, &[]);
}

/// getTemplateIndex and getTemplateCount with slots 0, 5, 300 and 999 (all four index pages), storeTemplate()
/// picking the lowest free slot; then, in a second client session, deleteTemplate one slot at a time, each
/// deletion seen by count, index and search.
#[test]
fn pyfingerprint_template_index_and_delete() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-index");
    let state = scratch.join("library.json");
    let sim = start_fingerprint("r307", "auto:7", &state, &[]);
    run_peer(&python, "pyfingerprint_flows.py", "index", &sim, &[]);
    let mut slots = state_slots(&state);
    slots.sort_by_key(|s| s.parse::<u16>().unwrap());
    assert_eq!(slots, ["0", "5", "300", "999"], "state file after `index`");
    run_peer(&python, "pyfingerprint_flows.py", "delete", &sim, &[]);
    assert!(state_slots(&state).is_empty(), "state file after `delete`");
}

/// generateRandomNumber: 32-bit values, consecutive calls differ.
#[test]
fn pyfingerprint_random_numbers_differ() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-random");
    let sim = start_fingerprint("r307", "none", &scratch.join("library.json"), &[]);
    run_peer(&python, "pyfingerprint_flows.py", "random", &sim, &[]);
}

/// adafruit_fingerprint on an R503: read_templates, enrol into slot 5, finger_search and finger_fast_search
/// find it, delete_model and empty_library empty the library (searches then answer NOTFOUND).
#[test]
fn adafruit_enrols_searches_deletes_and_empties() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-adafruit-library");
    let state = scratch.join("library.json");
    let sim = start_fingerprint("r503", "auto:7", &state, &["--no-finger", "0.3"]);
    run_peer(&python, "adafruit_flows.py", "library", &sim, &[]);
    assert!(state_slots(&state).is_empty(), "state file after empty_library");
}

/// adafruit_fingerprint on an R503: get_fpdata("image") (192 x 192, the same at 128- and 256-byte packets,
/// with ridges), get_fpdata("char"), send_fpdata(char) at 32 and 128, compare_templates.
#[test]
fn adafruit_transfers_images_and_characteristics() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-adafruit-transfers");
    let sim = start_fingerprint("r503", "auto:7", &scratch.join("library.json"), &[]);
    run_peer(&python, "adafruit_flows.py", "transfers", &sim, &[]);
}

/// adafruit_fingerprint on an R503: set_led in every mode and colour, soft_reset with its 0x55 handshake.
#[test]
fn adafruit_sets_the_led_ring_and_soft_resets() {
    let Some(python) = peer_python() else { return };
    let scratch = temp_dir("zfm-peers-adafruit-led");
    let sim = start_fingerprint("r503", "none", &scratch.join("library.json"), &[]);
    run_peer(&python, "adafruit_flows.py", "led", &sim, &[]);
}
