//! One configuration surface for every simulator. A simulator declares its parameters once ([`ParamSpec`]); the
//! same names are `--name VALUE` on `khil sim <device>` and `name=VALUE` in `sim:<device>?...`, and both surfaces
//! hand the simulator the same [`Params`], so the two cannot drift apart. Defaults live in the spec (the help
//! shows them, and a value not given reads as its default on either surface).
//!
//! Every simulator takes the line parameters [`LINE_PARAMS`] (`seed`, `pace`, `framing`, `fault`); [`line`]
//! builds its [`Line`] and hands back the faults that are not line faults, for the device to read as its own.

use std::fmt;
use std::str::FromStr;

use khil_link::{Fault, Framing, LineRate};

use crate::Line;

/// One parameter a simulator takes.
#[derive(Debug, Clone, Copy)]
pub struct ParamSpec {
    /// `--name` and `name=`: lower-case words joined by '-'.
    pub name: &'static str,
    /// What the value is, for the help: `SPEC`, `N`, `HEX`.
    pub value: &'static str,
    pub help: &'static str,
    /// Given when absent; shown in the help.
    pub default: Option<&'static str>,
    /// May be given more than once (faults, quirks).
    pub repeat: bool,
    /// On the command line, read from this environment variable when the flag is absent (keys: a command line
    /// is visible to every user of the machine in the process list, the environment is not).
    pub env: Option<&'static str>,
}

impl ParamSpec {
    /// A parameter given at most once, without a default.
    pub const fn new(name: &'static str, value: &'static str, help: &'static str) -> ParamSpec {
        ParamSpec { name, value, help, default: None, repeat: false, env: None }
    }

    #[must_use]
    pub const fn default(self, value: &'static str) -> ParamSpec {
        ParamSpec { default: Some(value), ..self }
    }

    #[must_use]
    pub const fn repeat(self) -> ParamSpec {
        ParamSpec { repeat: true, ..self }
    }

    #[must_use]
    pub const fn env(self, var: &'static str) -> ParamSpec {
        ParamSpec { env: Some(var), ..self }
    }
}

/// The parameters every simulator takes: what is on the line between the device and its client.
pub const LINE_PARAMS: &[ParamSpec] = &[
    ParamSpec::new(
        "seed",
        "N",
        "Seed for everything random in the device and on the line (fingers, faults, random numbers)",
    )
    .default("0"),
    ParamSpec::new("pace", "BAUD", "Pace the device's line at this baud rate, both directions, like a real UART"),
    ParamSpec::new("framing", "FRAMING", "Character framing for pace: 8N1, 7E2, ...").default("8N1"),
    ParamSpec::new(
        "fault",
        "SPEC",
        "A line fault (drop, flip, dup, garbage, delay, stall, close; e.g. flip:p=0.001,dir=tx) or one of the \
         device's own faults; repeatable",
    )
    .repeat(),
];

/// The line fault kinds, told apart from a device's own fault kinds by the word before ':'.
pub const LINE_FAULT_KINDS: &[&str] = &["drop", "flip", "dup", "garbage", "delay", "stall", "close"];

/// Where a configuration came from: its errors name the parameter as the user wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// `khil sim <device> --name VALUE`
    Cli,
    /// `sim:<device>?name=VALUE`
    Url,
}

impl Surface {
    fn name(self, key: &str) -> String {
        match self {
            Surface::Cli => format!("--{key}"),
            Surface::Url => key.to_owned(),
        }
    }
}

/// A parameter that cannot be used, named as the user wrote it, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParamError {
    /// `--profile` or `profile`.
    pub param: String,
    /// The value given, if the fault is in the value.
    pub value: Option<String>,
    pub expected: String,
}

impl fmt::Display for ParamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{} {v:?}: {}", self.param, self.expected),
            None => write!(f, "{}: {}", self.param, self.expected),
        }
    }
}

/// The parameters given to one simulator, checked against its specs: no unknown names, no repeats of a
/// parameter that takes one value.
#[derive(Debug, Clone)]
pub struct Params {
    surface: Surface,
    device: String,
    specs: Vec<ParamSpec>,
    pairs: Vec<(String, String)>,
}

impl Params {
    /// `pairs` as given (in order, repeated names kept) to `device`, whose own parameters are `specs` (the line
    /// parameters are added). Refuses a name the device does not take and a second value where one is allowed.
    pub fn new(
        surface: Surface,
        device: &str,
        specs: &[ParamSpec],
        pairs: Vec<(String, String)>,
    ) -> Result<Params, ParamError> {
        let specs: Vec<ParamSpec> = LINE_PARAMS.iter().chain(specs).copied().collect();
        for (i, (key, value)) in pairs.iter().enumerate() {
            let Some(spec) = specs.iter().find(|s| s.name == key) else {
                let known: Vec<&str> = specs.iter().map(|s| s.name).collect();
                return Err(ParamError {
                    param: surface.name(key),
                    value: None,
                    expected: format!(
                        "device {device:?} takes no such parameter; expected one of {}",
                        known.join(", ")
                    ),
                });
            };
            if !spec.repeat && pairs[..i].iter().any(|(k, _)| k == key) {
                return Err(ParamError {
                    param: surface.name(key),
                    value: Some(value.clone()),
                    expected: "given twice; expected one value".into(),
                });
            }
        }
        Ok(Params { surface, device: device.to_owned(), specs, pairs })
    }

    pub fn surface(&self) -> Surface {
        self.surface
    }

    /// The device these parameters are for.
    pub fn device(&self) -> &str {
        &self.device
    }

    /// `key`'s value: given, else its default; `None` when neither.
    pub fn get(&self, key: &str) -> Option<Param<'_>> {
        let given = self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
        let value = given.or_else(|| self.specs.iter().find(|s| s.name == key).and_then(|s| s.default))?;
        Some(Param { surface: self.surface, key: self.name_of(key), value })
    }

    /// `key`'s value, given or its default, for a parameter the simulator declared with a default. Reading one
    /// declared without a default this way is a mistake in the simulator's specs (every simulator's defaults are
    /// built in `khil-sim-registry`'s tests), hence the panic.
    pub fn value(&self, key: &str) -> Param<'_> {
        self.get(key).unwrap_or_else(|| panic!("simulator {:?}: parameter {key:?} has no default", self.device))
    }

    /// Whether `key` was given (not merely defaulted).
    pub fn given(&self, key: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == key)
    }

    /// Every value given for a repeatable `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = Param<'a>> + 'a {
        self.pairs.iter().filter(move |(k, _)| k == key).map(move |(_, v)| Param {
            surface: self.surface,
            key: self.name_of(key),
            value: v,
        })
    }

    /// The spec's `&'static` name for `key` (so a `Param` outlives nothing but `self`).
    fn name_of(&self, key: &str) -> &'static str {
        self.specs.iter().find(|s| s.name == key).map_or("?", |s| s.name)
    }

    /// An error about the configuration as a whole (two parameters that do not go together), naming `key`.
    pub fn error(&self, key: &str, expected: impl Into<String>) -> ParamError {
        ParamError { param: self.surface.name(key), value: None, expected: expected.into() }
    }
}

/// One value, read as the type its parameter needs; a bad value is named with its parameter.
#[derive(Debug, Clone, Copy)]
pub struct Param<'a> {
    surface: Surface,
    key: &'static str,
    pub value: &'a str,
}

impl Param<'_> {
    /// The value is not what `expected` says.
    pub fn bad(&self, expected: impl Into<String>) -> ParamError {
        ParamError { param: self.surface.name(self.key), value: Some(self.value.to_owned()), expected: expected.into() }
    }

    /// A value with its own parser (finger, quirk, fault), whose error says what was expected. The parser's
    /// own naming of the value (`finger "x": ...`) is dropped: the parameter names it already.
    pub fn parsed<T: FromStr<Err: fmt::Display>>(&self) -> Result<T, ParamError> {
        self.value.parse().map_err(|e: T::Err| {
            let text = e.to_string();
            let why = text.find("expected ").map_or(text.as_str(), |i| &text[i..]);
            self.bad(why)
        })
    }

    pub fn u64(&self) -> Result<u64, ParamError> {
        self.value.parse().map_err(|_| self.bad("expected an integer"))
    }

    pub fn baud(&self) -> Result<u32, ParamError> {
        self.value.parse().ok().filter(|b| *b > 0).ok_or_else(|| self.bad("expected a baud rate"))
    }

    /// A whole number from `min` to `max`.
    pub fn range(&self, min: u64, max: u64) -> Result<u64, ParamError> {
        self.value
            .parse()
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| self.bad(format!("expected {min}-{max}")))
    }

    pub fn probability(&self) -> Result<f64, ParamError> {
        self.value
            .parse()
            .ok()
            .filter(|p| (0.0..=1.0).contains(p))
            .ok_or_else(|| self.bad("expected a probability from 0 to 1"))
    }

    /// A count of at least 1.
    pub fn count(&self) -> Result<u32, ParamError> {
        self.value.parse().ok().filter(|n| *n > 0).ok_or_else(|| self.bad("expected a count of at least 1"))
    }

    /// One of `names` (lower case), mapped by `pick`.
    pub fn one_of<T>(&self, names: &str, pick: impl FnOnce(&str) -> Option<T>) -> Result<T, ParamError> {
        pick(self.value).ok_or_else(|| self.bad(format!("expected one of {names}")))
    }

    /// The contents of the file the value names, trimmed: a secret (a key) that must not be on a command line.
    /// The file must be readable by its owner only.
    pub fn secret_file(&self) -> Result<String, ParamError> {
        read_secret_file(std::path::Path::new(self.value)).map_err(|e| self.bad(e))
    }
}

/// Reads a secret (a key in hex) from `path`, refusing a file that others may read: whoever can read it has the
/// key. Errors say what to do.
pub fn read_secret_file(path: &std::path::Path) -> Result<String, String> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the key file: {e}"))?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(format!(
            "the key file is readable by others (mode {:o}); expected owner-only access (chmod 600)",
            mode & 0o777
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read the key file: {e}"))?;
    Ok(text.trim().to_owned())
}

/// The line parameters of `params` as a [`Line`], and the faults that are not line faults (the device's own,
/// for it to parse). A fault whose kind is neither is refused naming both lists; `device_kinds` is the device's
/// list (`""`: it has none).
pub fn line<'a>(params: &'a Params, device_kinds: &str) -> Result<(Line, Vec<Param<'a>>), ParamError> {
    let seed = params.get("seed").map_or(Ok(0), |p| p.u64())?;
    let framing: Framing = params.get("framing").map_or(Ok(Framing::default()), |p| p.parsed())?;
    if params.given("framing") && !params.given("pace") {
        return Err(params.error("framing", "expected together with pace (the line is not paced without it)"));
    }
    let pace = params.get("pace").map(|p| p.baud()).transpose()?.map(|baud| LineRate { baud, framing });
    let mut faults = Vec::new();
    let mut own = Vec::new();
    for p in params.all("fault") {
        let kind = p.value.split_once(':').map_or(p.value, |(k, _)| k);
        if LINE_FAULT_KINDS.contains(&kind) {
            faults.push(p.parsed::<Fault>()?);
        } else if device_kinds.split([',', ' ']).any(|k| !k.is_empty() && k != "or" && k == kind) {
            own.push(p);
        } else {
            let device = if device_kinds.is_empty() {
                String::new()
            } else {
                format!(" or a {} fault ({device_kinds})", params.device())
            };
            return Err(p.bad(format!(
                "unknown kind {kind:?}: expected a line fault ({}){device}",
                LINE_FAULT_KINDS.join(", ")
            )));
        }
    }
    Ok((Line { pace, faults, seed }, own))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[ParamSpec] = &[
        ParamSpec::new("profile", "NAME", "model").default("r307"),
        ParamSpec::new("quirk", "NAME", "mis-implementation").repeat(),
    ];

    fn params(surface: Surface, pairs: &[(&str, &str)]) -> Result<Params, ParamError> {
        Params::new(surface, "thing", SPECS, pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect())
    }

    #[test]
    fn both_surfaces_read_the_same_values_and_defaults() {
        for surface in [Surface::Cli, Surface::Url] {
            let p = params(surface, &[("quirk", "a"), ("seed", "7"), ("quirk", "b")]).unwrap();
            assert_eq!(p.get("profile").unwrap().value, "r307", "default");
            assert!(!p.given("profile"));
            assert_eq!(p.get("seed").unwrap().u64(), Ok(7));
            assert_eq!(p.all("quirk").map(|q| q.value).collect::<Vec<_>>(), ["a", "b"]);
        }
    }

    #[test]
    fn errors_name_the_parameter_as_written() {
        let e = params(Surface::Cli, &[("colour", "red")]).unwrap_err().to_string();
        assert_eq!(
            e,
            "--colour: device \"thing\" takes no such parameter; expected one of seed, pace, framing, fault, profile, quirk"
        );
        let e = params(Surface::Url, &[("profile", "a"), ("profile", "b")]).unwrap_err().to_string();
        assert_eq!(e, "profile \"b\": given twice; expected one value");
        let p = params(Surface::Url, &[("seed", "x")]).unwrap();
        assert_eq!(p.get("seed").unwrap().u64().unwrap_err().to_string(), "seed \"x\": expected an integer");
        let finger = p.get("seed").unwrap().parsed::<Framing>().unwrap_err().to_string();
        assert!(finger.starts_with("seed \"x\": expected "), "the parser's own naming is dropped: {finger}");
    }

    #[test]
    fn faults_split_into_line_and_device_faults() {
        let p = params(Surface::Cli, &[("fault", "flip:p=0.5"), ("fault", "hang:at=3")]).unwrap();
        let (wired, own) = line(&p, "hang, busy").unwrap();
        assert_eq!(wired.faults.len(), 1);
        assert_eq!(own.iter().map(|f| f.value).collect::<Vec<_>>(), ["hang:at=3"]);
        let e = line(&p, "").unwrap_err().to_string();
        assert!(e.starts_with("--fault \"hang:at=3\": unknown kind \"hang\": expected a line fault (drop,"), "{e}");
        let p = params(Surface::Url, &[("framing", "7E2")]).unwrap();
        assert_eq!(
            line(&p, "").unwrap_err().to_string(),
            "framing: expected together with pace (the line is not paced without it)"
        );
    }
}
