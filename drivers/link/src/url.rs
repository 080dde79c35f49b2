//! Device URLs: the one way a device is named everywhere in khil.
//!
//! ```text
//! serial:///dev/ttyUSB0?baud=57600&parity=none   a serial port (real or the slave side of a pty)
//! tcp://127.0.0.1:4001                           a ser2net-style serial server, or a simulator on TCP
//! pty                                            a new pty pair (device side; the client gets serial://...)
//! sim:fingerprint?profile=r307                   an in-process simulator over an in-memory link
//! pcsc://Virtual%20PCD%2000%2000                 a smart card in a PC/SC reader (APDUs, not a byte stream)
//! ```
//!
//! Written by hand rather than with the `url` crate: our grammar is five schemes wide, errors must name the
//! part that is wrong and show an example (the WHATWG parser reports only a generic kind), and the `url`
//! crate's IDNA tables are a large build for hosts we never need to internationalise.

use std::fmt;
use std::str::FromStr;

/// A parsed device URL. `Display` writes the canonical form, which parses back to an equal value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceUrl {
    Serial(SerialUrl),
    Tcp(TcpUrl),
    /// Make a new pty pair; only a device (a simulator) can be "opened" on it.
    Pty,
    Sim(SimUrl),
    /// A card in a PC/SC reader. Not a byte link: `khil_link::connect` refuses it, `khil_apdu` opens it.
    Pcsc(PcscUrl),
}

/// `serial://<absolute path>?baud=..&data_bits=..&parity=..&stop_bits=..&flow=..`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialUrl {
    pub path: String,
    /// `None`: the driver of the device picks its protocol's default rate.
    pub baud: Option<u32>,
    pub framing: Framing,
    pub flow: FlowControl,
}

/// `tcp://host:port`; `host` is a name, an IPv4 address or an IPv6 address (written in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TcpUrl {
    pub host: String,
    pub port: u16,
}

/// `sim:<device>?<key>=<value>&...`. Keys may repeat (`fault=..&fault=..`): the simulator's configuration says
/// which keys take several values, so the URL keeps every pair in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimUrl {
    pub device: String,
    pub params: Vec<(String, String)>,
}

impl SimUrl {
    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value` in place of any values it had (keeping the canonical order, by key).
    pub fn set(&mut self, key: &str, value: &str) {
        self.params.retain(|(k, _)| k != key);
        let at = self.params.partition_point(|(k, _)| k.as_str() < key);
        self.params.insert(at, (key.to_owned(), value.to_owned()));
    }
}

/// `pcsc://<reader name>`, the name percent-encoded (PC/SC reader names contain spaces:
/// `pcsc://Virtual%20PCD%2000%2000` is pcscd's reader `Virtual PCD 00 00`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcscUrl {
    /// The reader's name exactly as PC/SC lists it (case and spaces matter).
    pub reader: String,
}

/// Character framing on an asynchronous serial line, written `8N1`, `7E2`, ...
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Framing {
    pub data_bits: u8,
    pub parity: Parity,
    pub stop_bits: u8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Parity {
    None,
    Odd,
    Even,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlowControl {
    None,
    Software,
    Hardware,
}

impl Default for Framing {
    fn default() -> Self {
        Self::EIGHT_N_ONE
    }
}

impl Framing {
    pub const EIGHT_N_ONE: Self = Self { data_bits: 8, parity: Parity::None, stop_bits: 1 };

    /// Bits on the wire per character: start bit, data bits, parity bit, stop bits.
    pub fn bits_per_char(self) -> u32 {
        1 + u32::from(self.data_bits) + u32::from(self.parity != Parity::None) + u32::from(self.stop_bits)
    }
}

impl fmt::Display for Framing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = match self.parity {
            Parity::None => 'N',
            Parity::Odd => 'O',
            Parity::Even => 'E',
        };
        write!(f, "{}{}{}", self.data_bits, p, self.stop_bits)
    }
}

impl FromStr for Framing {
    type Err = String;
    /// `8N1`, `7E2`, `8o1` ...: data bits 5-8, parity N/O/E, stop bits 1-2.
    fn from_str(s: &str) -> Result<Self, String> {
        let expected =
            || format!("expected framing like 8N1 or 7E2 (data bits 5-8, parity N/O/E, stop bits 1-2), got {s:?}");
        let b = s.as_bytes();
        if b.len() != 3 {
            return Err(expected());
        }
        let data_bits = match b[0] {
            c @ b'5'..=b'8' => c - b'0',
            _ => return Err(expected()),
        };
        let parity = match b[1].to_ascii_uppercase() {
            b'N' => Parity::None,
            b'O' => Parity::Odd,
            b'E' => Parity::Even,
            _ => return Err(expected()),
        };
        let stop_bits = match b[2] {
            c @ b'1'..=b'2' => c - b'0',
            _ => return Err(expected()),
        };
        Ok(Self { data_bits, parity, stop_bits })
    }
}

/// What was wrong with a device URL: the URL, the part, what was expected, and an example that works.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid device URL {url:?}: {part}: {expected} (example: {example})")]
pub struct UrlError {
    pub url: String,
    pub part: String,
    pub expected: String,
    pub example: &'static str,
}

const EX_SERIAL: &str = "serial:///dev/ttyUSB0?baud=57600";
const EX_TCP: &str = "tcp://127.0.0.1:4001";
const EX_SIM: &str = "sim:fingerprint?profile=r307";
const EX_PCSC: &str = "pcsc://Virtual%20PCD%2000%2000";
const EX_ANY: &str =
    "serial:///dev/ttyUSB0?baud=57600, tcp://127.0.0.1:4001, pty, sim:echo or pcsc://Virtual%20PCD%2000%2000";

impl FromStr for DeviceUrl {
    type Err = UrlError;

    fn from_str(url: &str) -> Result<Self, UrlError> {
        let err = |part: &str, expected: String, example: &'static str| error(url, part, expected, example);
        // A bare absolute path is a serial port, as everyone writes one: `/dev/ttyUSB0`, `/dev/pts/3`. Written
        // as a URL, a path is percent-encoded; bare, it is taken as it is (only `?` starts the parameters).
        if url.starts_with('/') {
            let (path, query) = url.split_once('?').map_or((url, None), |(p, q)| (p, Some(q)));
            let encoded = encode(path, PATH_KEEP);
            return parse_serial(url, &format!("//{encoded}"), query);
        }
        let Some((scheme, rest)) = url.split_once(':') else {
            return if url.eq_ignore_ascii_case("pty") {
                Ok(DeviceUrl::Pty)
            } else {
                Err(err("scheme", "expected one of serial:, tcp:, pty, sim:, pcsc:".into(), EX_ANY))
            };
        };
        if rest.contains('#') {
            return Err(err("fragment", "device URLs have no #fragment".into(), EX_ANY));
        }
        let (body, query) = match rest.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (rest, None),
        };
        match scheme.to_ascii_lowercase().as_str() {
            "serial" => parse_serial(url, body, query),
            "tcp" => parse_tcp(url, body, query),
            "pty" => {
                if body.is_empty() && query.is_none() {
                    Ok(DeviceUrl::Pty)
                } else {
                    Err(err("pty", "expected just `pty` (the device side makes a new pair)".into(), "pty"))
                }
            }
            "sim" => parse_sim(url, body, query),
            "pcsc" => parse_pcsc(url, body, query),
            other => Err(err("scheme", format!("expected serial, tcp, pty, sim or pcsc, got {other:?}"), EX_ANY)),
        }
    }
}

fn error(url: &str, part: &str, expected: String, example: &'static str) -> UrlError {
    UrlError { url: url.to_owned(), part: part.to_owned(), expected, example }
}

fn parse_serial(url: &str, body: &str, query: Option<&str>) -> Result<DeviceUrl, UrlError> {
    let err = |part: &str, expected: String, example: &'static str| error(url, part, expected, example);
    let Some(path) = body.strip_prefix("//") else {
        return Err(err("serial path", "expected serial:// followed by an absolute path".into(), EX_SERIAL));
    };
    if !path.starts_with('/') {
        let host = path.split('/').next().unwrap_or_default();
        return Err(err(
            "serial path",
            format!("expected an empty host and an absolute path (three slashes), found host {host:?}"),
            EX_SERIAL,
        ));
    }
    let path = decode(path).map_err(|e| err("serial path", e, EX_SERIAL))?;
    let mut serial = SerialUrl { path, baud: None, framing: Framing::default(), flow: FlowControl::None };
    for (key, value) in params(query, Repeats::Refused).map_err(|e| err("query", e, EX_SERIAL))? {
        let bad = |what: &str| err(&format!("parameter {key:?}"), format!("expected {what}, got {value:?}"), EX_SERIAL);
        match key.as_str() {
            "baud" => {
                serial.baud = Some(
                    value.parse().ok().filter(|b| *b > 0).ok_or_else(|| bad("a baud rate such as 9600 or 57600"))?,
                );
            }
            "data_bits" => {
                serial.framing.data_bits =
                    value.parse().ok().filter(|b| (5..=8).contains(b)).ok_or_else(|| bad("5, 6, 7 or 8"))?;
            }
            "parity" => {
                serial.framing.parity = match value.as_str() {
                    "none" => Parity::None,
                    "odd" => Parity::Odd,
                    "even" => Parity::Even,
                    _ => return Err(bad("none, odd or even")),
                };
            }
            "stop_bits" => {
                serial.framing.stop_bits =
                    value.parse().ok().filter(|b| (1..=2).contains(b)).ok_or_else(|| bad("1 or 2"))?;
            }
            "flow" => {
                serial.flow = match value.as_str() {
                    "none" => FlowControl::None,
                    "software" => FlowControl::Software,
                    "hardware" => FlowControl::Hardware,
                    _ => return Err(bad("none, software or hardware")),
                };
            }
            _ => {
                return Err(err(
                    &format!("parameter {key:?}"),
                    "expected one of baud, data_bits, parity, stop_bits, flow".into(),
                    EX_SERIAL,
                ));
            }
        }
    }
    Ok(DeviceUrl::Serial(serial))
}

fn parse_tcp(url: &str, body: &str, query: Option<&str>) -> Result<DeviceUrl, UrlError> {
    let err = |part: &str, expected: String, example: &'static str| error(url, part, expected, example);
    let Some(authority) = body.strip_prefix("//") else {
        return Err(err("tcp address", "expected tcp:// followed by host:port".into(), EX_TCP));
    };
    let authority = authority.strip_suffix('/').unwrap_or(authority);
    if query.is_some() {
        return Err(err("query", "tcp URLs take no parameters".into(), EX_TCP));
    }
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let Some((host, port)) = v6.split_once("]:") else {
            return Err(err("tcp address", "expected [ipv6-address]:port".into(), "tcp://[::1]:4001"));
        };
        if host.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(err(
                "tcp host",
                format!("expected an IPv6 address in brackets, got {host:?}"),
                "tcp://[::1]:4001",
            ));
        }
        (host, port)
    } else {
        let Some((host, port)) = authority.rsplit_once(':') else {
            return Err(err("tcp address", format!("expected host:port, got {authority:?}"), EX_TCP));
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_') {
            return Err(err("tcp host", format!("expected a host name or IPv4 address, got {host:?}"), EX_TCP));
        }
        (host, port)
    };
    let port = port
        .parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| err("tcp port", format!("expected a port 1-65535, got {port:?}"), EX_TCP))?;
    Ok(DeviceUrl::Tcp(TcpUrl { host: host.to_ascii_lowercase(), port }))
}

fn parse_sim(url: &str, body: &str, query: Option<&str>) -> Result<DeviceUrl, UrlError> {
    let err = |part: &str, expected: String, example: &'static str| error(url, part, expected, example);
    let device = body;
    if device.starts_with("//") {
        return Err(err("sim device", "expected sim:<device> without //".into(), EX_SIM));
    }
    if !is_name(device) {
        return Err(err(
            "sim device",
            format!("expected a device name of lower-case letters, digits and '-', got {device:?}"),
            EX_SIM,
        ));
    }
    let mut params = params(query, Repeats::Allowed).map_err(|e| err("query", e, EX_SIM))?;
    // Canonical order: by key, a repeated key's values in the order written (the sort is stable).
    params.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(DeviceUrl::Sim(SimUrl { device: device.to_owned(), params }))
}

fn parse_pcsc(url: &str, body: &str, query: Option<&str>) -> Result<DeviceUrl, UrlError> {
    let err = |part: &str, expected: String| error(url, part, expected, EX_PCSC);
    let Some(name) = body.strip_prefix("//") else {
        return Err(err("pcsc reader", "expected pcsc:// followed by the percent-encoded reader name".into()));
    };
    if query.is_some() {
        return Err(err("query", "pcsc URLs take no parameters (write '?' in a reader name as %3F)".into()));
    }
    let reader = decode(name).map_err(|e| err("pcsc reader", e))?;
    if reader.trim().is_empty() {
        return Err(err("pcsc reader", format!("expected a reader name as PC/SC lists it, got {reader:?}")));
    }
    // PC/SC takes the name as a C string.
    if let Some(at) = reader.find(|c: char| c.is_control()) {
        return Err(err(
            "pcsc reader",
            format!("expected no control characters in a reader name, found one at byte {at}"),
        ));
    }
    Ok(DeviceUrl::Pcsc(PcscUrl { reader }))
}

/// `[a-z0-9][a-z0-9_-]*`: device names and parameter keys.
fn is_name(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-' || *c == b'_')
}

/// Whether a key may be given more than once.
#[derive(Clone, Copy, PartialEq)]
enum Repeats {
    Allowed,
    Refused,
}

/// Splits `k=v&k2=v2` into decoded pairs, rejecting empty keys (and duplicates where they are refused).
fn params(query: Option<&str>, repeats: Repeats) -> Result<Vec<(String, String)>, String> {
    let Some(query) = query else { return Ok(Vec::new()) };
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in query.split('&') {
        if pair.is_empty() {
            continue;
        }
        let Some((key, value)) = pair.split_once('=') else {
            return Err(format!("expected key=value, got {pair:?}"));
        };
        if !is_name(key) {
            return Err(format!("expected a parameter name of lower-case letters, digits, '-' and '_', got {key:?}"));
        }
        if repeats == Repeats::Refused && out.iter().any(|(k, _)| k == key) {
            return Err(format!("parameter {key:?} is given twice"));
        }
        out.push((key.to_owned(), decode(value)?));
    }
    Ok(out)
}

/// Percent-decoding; the result must be UTF-8.
fn decode(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            let Some(byte) = hex else {
                return Err(format!("expected two hex digits after '%' at byte {i} of {s:?}"));
            };
            out.push(byte);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("expected UTF-8 text after percent-decoding {s:?}"))
}

/// Percent-encodes everything but unreserved characters and `keep`.
fn encode(s: &str, keep: &[u8]) -> String {
    use fmt::Write;
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) || keep.contains(&c) {
            out.push(c as char);
        } else {
            let _ = write!(out, "%{c:02X}");
        }
    }
    out
}

const PATH_KEEP: &[u8] = b"/:@!$'()*+,;";
/// A reader name keeps the path's characters; spaces, `%`, `?` and `#` are encoded.
const READER_KEEP: &[u8] = PATH_KEEP;
const VALUE_KEEP: &[u8] = b"/:@!$'()*+,;";

impl fmt::Display for DeviceUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceUrl::Serial(s) => {
                write!(f, "serial://{}", encode(&s.path, PATH_KEEP))?;
                let mut sep = '?';
                let mut param = |f: &mut fmt::Formatter<'_>, k: &str, v: &dyn fmt::Display| {
                    let r = write!(f, "{sep}{k}={v}");
                    sep = '&';
                    r
                };
                if let Some(baud) = s.baud {
                    param(f, "baud", &baud)?;
                }
                let d = Framing::default();
                if s.framing.data_bits != d.data_bits {
                    param(f, "data_bits", &s.framing.data_bits)?;
                }
                match s.framing.parity {
                    Parity::None => {}
                    Parity::Odd => param(f, "parity", &"odd")?,
                    Parity::Even => param(f, "parity", &"even")?,
                }
                if s.framing.stop_bits != d.stop_bits {
                    param(f, "stop_bits", &s.framing.stop_bits)?;
                }
                match s.flow {
                    FlowControl::None => {}
                    FlowControl::Software => param(f, "flow", &"software")?,
                    FlowControl::Hardware => param(f, "flow", &"hardware")?,
                }
                Ok(())
            }
            DeviceUrl::Tcp(t) if t.host.contains(':') => write!(f, "tcp://[{}]:{}", t.host, t.port),
            DeviceUrl::Tcp(t) => write!(f, "tcp://{}:{}", t.host, t.port),
            DeviceUrl::Pty => f.write_str("pty"),
            DeviceUrl::Sim(s) => {
                write!(f, "sim:{}", s.device)?;
                for (i, (k, v)) in s.params.iter().enumerate() {
                    write!(f, "{}{k}={}", if i == 0 { '?' } else { '&' }, encode(v, VALUE_KEEP))?;
                }
                Ok(())
            }
            DeviceUrl::Pcsc(p) => write!(f, "pcsc://{}", encode(&p.reader, READER_KEEP)),
        }
    }
}

impl DeviceUrl {
    /// Serial URL for a path with default settings, as a simulator announces its pty.
    pub fn serial(path: impl Into<String>) -> Self {
        DeviceUrl::Serial(SerialUrl {
            path: path.into(),
            baud: None,
            framing: Framing::default(),
            flow: FlowControl::None,
        })
    }

    /// `pcsc://<reader>` for a reader name as PC/SC lists it, as a card simulator announces its reader.
    pub fn pcsc(reader: impl Into<String>) -> Self {
        DeviceUrl::Pcsc(PcscUrl { reader: reader.into() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> DeviceUrl {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn examples_parse_to_what_they_say() {
        assert_eq!(
            parse("serial:///dev/ttyUSB0?baud=57600&parity=none"),
            DeviceUrl::Serial(SerialUrl {
                path: "/dev/ttyUSB0".into(),
                baud: Some(57600),
                framing: Framing::EIGHT_N_ONE,
                flow: FlowControl::None
            })
        );
        assert_eq!(parse("tcp://127.0.0.1:4001"), DeviceUrl::Tcp(TcpUrl { host: "127.0.0.1".into(), port: 4001 }));
        assert_eq!(parse("tcp://[::1]:4001"), DeviceUrl::Tcp(TcpUrl { host: "::1".into(), port: 4001 }));
        assert_eq!(parse("/dev/pts/3"), DeviceUrl::serial("/dev/pts/3"), "a bare path is a serial port");
        assert_eq!(parse("/dev/ttyUSB0?baud=57600"), parse("serial:///dev/ttyUSB0?baud=57600"));
        assert_eq!(parse("/dev/serial/by-id/usb-FTDI 1"), DeviceUrl::serial("/dev/serial/by-id/usb-FTDI 1"));
        assert_eq!(parse("pty"), DeviceUrl::Pty);
        assert_eq!(parse("pty:"), DeviceUrl::Pty);
        let DeviceUrl::Sim(sim) = parse("sim:fingerprint?profile=r307&finger=auto%3A7") else { panic!() };
        assert_eq!(sim.device, "fingerprint");
        assert_eq!(sim.get("profile"), Some("r307"));
        assert_eq!(sim.get("finger"), Some("auto:7"));
        let DeviceUrl::Sim(sim) = parse("sim:osdp-pd?fault=slow:every=5&quirk=needs-mark&fault=bad-crc:at=4") else {
            panic!()
        };
        let faults: Vec<&str> = sim.params.iter().filter(|(k, _)| k == "fault").map(|(_, v)| v.as_str()).collect();
        assert_eq!(faults, ["slow:every=5", "bad-crc:at=4"], "repeated keys are kept in order");
        let DeviceUrl::Serial(s) = parse("serial:///dev/ttyS0?data_bits=7&parity=even&stop_bits=2&flow=hardware")
        else {
            panic!()
        };
        assert_eq!(s.framing.to_string(), "7E2");
        assert_eq!(s.framing.bits_per_char(), 11);
        assert_eq!(parse("pcsc://Virtual%20PCD%2000%2000"), DeviceUrl::pcsc("Virtual PCD 00 00"));
        assert_eq!(
            parse("pcsc://Gemalto%20PC%20Twin%20Reader%20(A1B2)%2000%2000"),
            DeviceUrl::pcsc("Gemalto PC Twin Reader (A1B2) 00 00")
        );
        // Reader names are case-sensitive: only the scheme is not.
        assert_eq!(parse("PCSC://acs/ACR%3F%2300"), DeviceUrl::pcsc("acs/ACR?#00"));
    }

    #[test]
    fn canonical_form() {
        for (input, canonical) in [
            ("SERIAL:///dev/pts/3", "serial:///dev/pts/3"),
            ("serial:///dev/my%20port?parity=none&baud=9600", "serial:///dev/my%20port?baud=9600"),
            ("tcp://LocalHost:4001/", "tcp://localhost:4001"),
            ("sim:echo?b=2&a=x%26y", "sim:echo?a=x%26y&b=2"),
            ("Pcsc://Virtual PCD 00 01", "pcsc://Virtual%20PCD%2000%2001"),
            ("pcsc://Reader%2fA%3a1", "pcsc://Reader/A:1"),
        ] {
            assert_eq!(parse(input).to_string(), canonical, "{input}");
        }
    }

    /// Every error names the URL, the part that is wrong and what was expected, and shows an example.
    #[test]
    fn errors_name_the_part() {
        for (input, part, expected) in [
            ("ttyUSB0", "scheme", "serial:"),
            ("usb:///dev/x", "scheme", "\"usb\""),
            ("serial://dev/ttyUSB0", "serial path", "found host \"dev\""),
            ("serial:/dev/ttyUSB0", "serial path", "absolute path"),
            ("serial:///dev/ttyUSB0?baud=fast", "parameter \"baud\"", "\"fast\""),
            ("serial:///dev/ttyUSB0?baud=0", "parameter \"baud\"", "baud rate"),
            ("serial:///dev/ttyUSB0?parity=mark", "parameter \"parity\"", "none, odd or even"),
            ("serial:///dev/ttyUSB0?speed=9600", "parameter \"speed\"", "one of baud"),
            ("serial:///dev/ttyUSB0?baud=1&baud=2", "query", "twice"),
            ("serial:///dev/tty%G1", "serial path", "hex digits"),
            ("tcp://host", "tcp address", "host:port"),
            ("tcp://:4001", "tcp host", "host name"),
            ("tcp://h:70000", "tcp port", "1-65535"),
            ("tcp://h:0", "tcp port", "1-65535"),
            ("tcp://[zz]:1", "tcp host", "IPv6"),
            ("tcp://h:1?x=1", "query", "no parameters"),
            ("pty:/dev/x", "pty", "just `pty`"),
            ("sim:", "sim device", "device name"),
            ("sim:Echo", "sim device", "device name"),
            ("sim://echo", "sim device", "without //"),
            ("sim:echo?novalue", "query", "key=value"),
            ("sim:echo#x", "fragment", "no #fragment"),
            ("pcsc:Virtual%20PCD", "pcsc reader", "pcsc://"),
            ("pcsc://", "pcsc reader", "reader name"),
            ("pcsc://%20%20", "pcsc reader", "reader name"),
            ("pcsc://Reader%0A00", "pcsc reader", "control characters"),
            ("pcsc://Reader%ZZ", "pcsc reader", "hex digits"),
            ("pcsc://Reader?slot=1", "query", "no parameters"),
            ("pcsc://Reader#1", "fragment", "no #fragment"),
        ] {
            let e = input.parse::<DeviceUrl>().expect_err(input);
            assert_eq!(e.url, input);
            assert_eq!(e.part, part, "{input}: {e}");
            assert!(e.expected.contains(expected), "{input}: {e}");
            let text = e.to_string();
            assert!(text.contains(input) && text.contains("example: "), "{text}");
            assert!(!e.example.is_empty());
        }
    }

    #[test]
    fn framing_strings() {
        for s in ["8N1", "7E2", "5O1", "8e1"] {
            let f: Framing = s.parse().unwrap();
            assert_eq!(f.to_string(), s.to_ascii_uppercase());
        }
        for s in ["", "9N1", "8X1", "8N3", "8N11"] {
            assert!(s.parse::<Framing>().is_err(), "{s}");
        }
        assert_eq!(Framing::EIGHT_N_ONE.bits_per_char(), 10);
    }

    mod props {
        use super::super::*;
        use proptest::prelude::*;

        fn framing() -> impl Strategy<Value = Framing> {
            (5u8..=8, prop_oneof![Just(Parity::None), Just(Parity::Odd), Just(Parity::Even)], 1u8..=2)
                .prop_map(|(data_bits, parity, stop_bits)| Framing { data_bits, parity, stop_bits })
        }

        fn url() -> impl Strategy<Value = DeviceUrl> {
            prop_oneof![
                (
                    "/[^\u{0}]{0,40}",
                    proptest::option::of(1u32..=4_000_000),
                    framing(),
                    prop_oneof![Just(FlowControl::None), Just(FlowControl::Software), Just(FlowControl::Hardware)]
                )
                    .prop_map(|(path, baud, framing, flow)| DeviceUrl::Serial(SerialUrl {
                        path,
                        baud,
                        framing,
                        flow
                    })),
                ("[a-z0-9][a-z0-9.-]{0,20}", 1u16..).prop_map(|(host, port)| DeviceUrl::Tcp(TcpUrl { host, port })),
                (any::<std::net::Ipv6Addr>(), 1u16..)
                    .prop_map(|(ip, port)| DeviceUrl::Tcp(TcpUrl { host: ip.to_string(), port })),
                Just(DeviceUrl::Pty),
                ("[a-z0-9][a-z0-9_-]{0,12}", proptest::collection::vec(("[a-z0-9][a-z0-9_-]{0,8}", ".{0,20}"), 0..4))
                    .prop_map(|(device, mut params)| {
                        params.sort_by(|a, b| a.0.cmp(&b.0));
                        DeviceUrl::Sim(SimUrl { device, params })
                    }),
                "[A-Za-z0-9][A-Za-z0-9 ()/%?#&=:.,_~é-]{0,30}".prop_map(DeviceUrl::pcsc),
            ]
        }

        proptest! {
            #[test]
            fn never_panics(s in ".{0,80}") {
                let _ = s.parse::<DeviceUrl>();
            }

            #[test]
            fn never_panics_near_valid(scheme in prop_oneof!["serial://", "tcp://", "sim:", "pty", "pcsc://", ""], rest in "[/a-z0-9%:?&=\\[\\].#]{0,40}") {
                let s = format!("{scheme}{rest}");
                if let Ok(u) = s.parse::<DeviceUrl>() {
                    // Whatever parses has a canonical form that parses to the same value.
                    prop_assert_eq!(u.to_string().parse::<DeviceUrl>().unwrap(), u);
                }
            }

            #[test]
            fn round_trips(u in url()) {
                let text = u.to_string();
                prop_assert_eq!(text.parse::<DeviceUrl>().map_err(|e| TestCaseError::fail(e.to_string()))?, u);
            }
        }
    }
}
