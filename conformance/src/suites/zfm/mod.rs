//! ZFM fingerprint modules (ZhianTec ZFM, Synochip AS60x, Grow R30x/R503): the ICS keys of the class, the
//! device handle, and the purposes, one file per clause group.
//!
//! Clauses cite the sources in `shared/reference/fingerprint-zfm.md`: the R503 user manual v1.2 and the R30x/ZFM
//! manual text (instruction table, confirmation codes, packet format), and, where a client library's needs are
//! the requirement, that library (adafruit-circuitpython-fingerprint reads fixed lengths).

mod dut;
mod purposes;

pub use dut::ZfmDut;

use khil_fingerprint::command::{Command, ProductInfo};
use khil_fingerprint::{ConfirmationCode as Cc, Reply};
use khil_link::DeviceUrl;
use serde::Deserialize;

use crate::ics::Ics;
use crate::purpose::{Purpose, Stop};
use crate::suite::{Connector, Identity, Preflight, SetupError, Suite};

pub const TITLE: &str = "ZFM fingerprint modules (Grow R30x, R503, ZhianTec ZFM, Synochip AS60x)";

/// What the operator is asked before a capture, and before a purpose that needs nobody at the sensor.
pub const PLACE_FINGER: &str = "place a finger on the sensor and keep it there";
pub const LIFT_FINGER: &str = "lift every finger off the sensor";

/// Every key of a ZFM ICS, commented: what `khil conformance ics --class zfm` writes.
pub const ICS_TEMPLATE: &str = include_str!("../../../ics/template-zfm.toml");
/// The ICS of the khil simulator's `r307` profile.
pub const ICS_R307: &str = include_str!("../../../ics/r307.toml");
/// The ICS of the khil simulator's `r503` profile.
pub const ICS_R503: &str = include_str!("../../../ics/r503.toml");

fn default_true() -> bool {
    true
}
fn default_reply_ms() -> u64 {
    1000
}
fn default_slow_ms() -> u64 {
    3000
}
fn default_attempts() -> u32 {
    20
}
fn default_address() -> u32 {
    khil_fingerprint::DEFAULT_ADDRESS
}

/// `[capabilities]` of a ZFM ICS.
#[allow(clippy::struct_excessive_bools)] // Each optional instruction is declared present or absent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZfmCaps {
    pub image_width: u16,
    pub image_height: u16,
    pub library_size: u16,
    pub char_buffers: u8,
    pub template_size: usize,
    pub packet_sizes: Vec<usize>,
    pub baud_multipliers: Vec<u8>,
    #[serde(default)]
    pub product_info: bool,
    #[serde(default)]
    pub led: bool,
    #[serde(default)]
    pub soft_reset: bool,
    #[serde(default)]
    pub handshake_byte: bool,
    #[serde(default)]
    pub check_sensor: bool,
    #[serde(default)]
    pub versions: bool,
    #[serde(default)]
    pub get_image_ex: bool,
    #[serde(default = "default_true")]
    pub notepad: bool,
    #[serde(default = "default_reply_ms")]
    pub reply_timeout_ms: u64,
    #[serde(default = "default_slow_ms")]
    pub slow_reply_timeout_ms: u64,
}

/// How a finger gets onto the sensor during the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FingerSource {
    /// Presented whenever the suite captures (a simulator with `--finger auto:<id>`, a test rig).
    Auto,
    /// Nobody: purposes that need a finger are not applicable.
    None,
    /// A person, asked on the terminal to place and lift a finger (`khil conformance run --operator`): every
    /// purpose applies, with and without a finger.
    Operator,
}

/// `[ixit]` of a ZFM ICS.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ZfmIxit {
    #[serde(default = "default_address")]
    pub address: u32,
    #[serde(default)]
    pub password: u32,
    pub finger: FingerSource,
    pub scratch_first: u16,
    pub scratch_count: u16,
    #[serde(default)]
    pub destructive: bool,
    #[serde(default)]
    pub line_baud: u32,
    #[serde(default = "default_attempts")]
    pub capture_attempts: u32,
}

/// A ZFM ICS, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZfmIcs {
    pub caps: ZfmCaps,
    pub ixit: ZfmIxit,
}

impl ZfmIcs {
    /// Reads and checks the class's keys.
    pub fn from_ics(ics: &Ics) -> Result<ZfmIcs, String> {
        let caps: ZfmCaps = ics.section("capabilities").map_err(|e| e.to_string())?;
        let ixit: ZfmIxit = ics.section("ixit").map_err(|e| e.to_string())?;
        let name = ics.name();
        let bad = |key: &str, expected: &str, found: String| {
            Err(format!("ICS {name}: {key}: expected {expected}, found {found}"))
        };
        if caps.char_buffers < 2 {
            return bad("[capabilities] char_buffers", "2 or more", caps.char_buffers.to_string());
        }
        if caps.library_size == 0 {
            return bad("[capabilities] library_size", "at least 1", "0".into());
        }
        if let Some(p) = caps.packet_sizes.iter().find(|p| ![32, 64, 128, 256].contains(*p)) {
            return bad("[capabilities] packet_sizes", "values from 32, 64, 128, 256", p.to_string());
        }
        if caps.packet_sizes.is_empty() {
            return bad("[capabilities] packet_sizes", "at least one size", "[]".into());
        }
        let end = u32::from(ixit.scratch_first) + u32::from(ixit.scratch_count);
        if ixit.scratch_count < 2 || end != u32::from(caps.library_size) {
            return bad(
                "[ixit] scratch_first, scratch_count",
                &format!("at least 2 pages ending at the last page ({})", caps.library_size - 1),
                format!("pages {}..{end}", ixit.scratch_first),
            );
        }
        Ok(ZfmIcs { caps, ixit })
    }

    /// The parsed class keys of `ics`, for applicability functions (an invalid ICS never gets that far).
    pub fn of(ics: &Ics) -> Option<ZfmIcs> {
        ZfmIcs::from_ics(ics).ok()
    }
}

/// Applicability helpers.
pub(crate) mod when {
    use super::{FingerSource, ZfmIcs};
    use crate::ics::Ics;
    use crate::purpose::Applicability;

    pub(crate) use crate::purpose::always;

    fn cond(ics: &Ics, test: impl Fn(&ZfmIcs) -> bool, why: &str) -> Applicability {
        Applicability::when_typed(ZfmIcs::of(ics), test, why)
    }

    pub(crate) fn finger(ics: &Ics) -> Applicability {
        cond(ics, |z| z.ixit.finger != FingerSource::None, "IXIT finger = none: nobody presents a finger")
    }
    pub(crate) fn no_finger(ics: &Ics) -> Applicability {
        cond(ics, |z| z.ixit.finger != FingerSource::Auto, "IXIT finger = auto: a finger is always presented")
    }
    pub(crate) fn soft_reset(ics: &Ics) -> Applicability {
        cond(ics, |z| z.caps.soft_reset, "ICS soft_reset = false: no SoftRst, no way to power-cycle from the host")
    }
    pub(crate) fn finger_and_reset(ics: &Ics) -> Applicability {
        finger(ics).and(soft_reset(ics))
    }
    pub(crate) fn led(ics: &Ics) -> Applicability {
        cond(ics, |z| z.caps.led, "ICS led = false: no LED ring")
    }
    pub(crate) fn reports_identity(ics: &Ics) -> Applicability {
        cond(
            ics,
            |z| z.caps.product_info || z.caps.versions,
            "ICS product_info = false and versions = false: the module reports no model or firmware",
        )
    }
    pub(crate) fn product_info(ics: &Ics) -> Applicability {
        cond(ics, |z| z.caps.product_info, "ICS product_info = false: no ReadProdInfo")
    }
    pub(crate) fn check_sensor(ics: &Ics) -> Applicability {
        cond(ics, |z| z.caps.check_sensor, "ICS check_sensor = false")
    }
    pub(crate) fn versions(ics: &Ics) -> Applicability {
        cond(ics, |z| z.caps.versions, "ICS versions = false: no GetFwVer / GetAlgVer")
    }
    pub(crate) fn get_image_ex(ics: &Ics) -> Applicability {
        cond(ics, |z| z.caps.get_image_ex, "ICS get_image_ex = false").and(finger(ics))
    }
    pub(crate) fn notepad(ics: &Ics) -> Applicability {
        cond(ics, |z| z.caps.notepad, "ICS notepad = false")
    }
    pub(crate) fn destructive(ics: &Ics) -> Applicability {
        cond(ics, |z| z.ixit.destructive, "IXIT destructive = false: the library may not be emptied or filled")
    }
}

/// The ZFM suite.
pub struct ZfmSuite {
    purposes: Vec<Purpose<ZfmDut>>,
}

impl std::fmt::Debug for ZfmSuite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ZfmSuite").field("purposes", &self.purposes.len()).finish()
    }
}

impl Default for ZfmSuite {
    fn default() -> Self {
        ZfmSuite::new()
    }
}

impl ZfmSuite {
    pub fn new() -> ZfmSuite {
        ZfmSuite { purposes: purposes::all() }
    }
}

fn is_fingerprint_sim(url: &DeviceUrl) -> Option<&khil_link::url::SimUrl> {
    match url {
        DeviceUrl::Sim(s) if s.device == "fingerprint" => Some(s),
        _ => None,
    }
}

impl Suite for ZfmSuite {
    type Dut = ZfmDut;

    fn class(&self) -> &'static str {
        "zfm"
    }

    fn title(&self) -> &'static str {
        TITLE
    }

    fn purposes(&self) -> &[Purpose<ZfmDut>] {
        &self.purposes
    }

    /// An in-process simulator without a finger gets `finger=auto:1`: the suite plays the operator.
    fn device_url(&self, url: &DeviceUrl) -> DeviceUrl {
        match is_fingerprint_sim(url) {
            Some(s) if s.get("finger").is_none() => {
                let mut s = s.clone();
                s.set("finger", "auto:1");
                DeviceUrl::Sim(s)
            }
            _ => url.clone(),
        }
    }

    fn validate_ics(&self, ics: &Ics) -> Result<(), String> {
        ZfmIcs::from_ics(ics).map(drop)
    }

    async fn open(&self, connector: &dyn Connector, url: &DeviceUrl, ics: &Ics) -> Result<ZfmDut, Stop> {
        let link = connector.connect(url).await.map_err(Stop::Error)?;
        let z = ZfmIcs::from_ics(ics).map_err(Stop::Error)?;
        let mut dut = ZfmDut::new(link, z);
        // Whatever an earlier session or a power-up left on the line (an R503's 0x55) is not this purpose's.
        let mut scratch = crate::purpose::Ctx::new(ics.clone());
        dut.drain(&mut scratch, std::time::Duration::from_millis(30)).await?;
        // Log in leniently: any ack will do here. Whether acks are right (address, length, checksum) is what the
        // purposes check, each with its own evidence.
        let password = dut.ics.ixit.password;
        dut.send(&mut scratch, &Command::VfyPwd(password)).await?;
        let limit = std::time::Duration::from_millis(dut.ics.caps.reply_timeout_ms.max(1000));
        let ack = loop {
            match dut.recv(&mut scratch, limit).await? {
                Some(f) if f.kind == khil_fingerprint::PacketKind::Ack => break f,
                Some(_) => {}
                None => {
                    return Err(Stop::Error(format!(
                        "the module does not answer VfyPwd at address {:08X}: check [ixit] address, the line's speed \
                         (the URL's baud=) and the wiring",
                        dut.ics.ixit.address
                    )));
                }
            }
        };
        let cc = Cc::from_code(ack.payload.first().copied().unwrap_or(0xFF));
        if !cc.is_ok() {
            return Err(Stop::Error(format!("the module refuses [ixit] password: VfyPwd answered {cc}")));
        }
        if let Ok(Reply::SystemParameters { params, .. }) = dut.call(&mut scratch, &Command::ReadSysPara).await {
            dut.packet_size = params.packet_size.bytes().unwrap_or(128);
        }
        Ok(dut)
    }

    async fn identify(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Identity, SetupError> {
        // Without an ICS the module is reached as it leaves the factory: address FFFFFFFF, password 0.
        let reach = match given {
            Some(ics) => ics.clone(),
            None => Ics::builtin(ICS_R307, "built-in r307").map_err(|e| SetupError(e.to_string()))?,
        };
        let mut dut = self.open(connector, url, &reach).await.map_err(|stop| SetupError(stop.to_string()))?;
        let mut scratch = crate::purpose::Ctx::new(reach.clone());
        Ok(identity(&mut dut, &mut scratch).await)
    }

    async fn preflight(
        &self,
        connector: &dyn Connector,
        url: &DeviceUrl,
        given: Option<&Ics>,
    ) -> Result<Preflight, SetupError> {
        let identity = self.identify(connector, url, given).await?;
        let ics = match given {
            Some(ics) => ics.clone(),
            None => builtin_ics(url, &identity)?,
        };
        Ok(Preflight { identity, ics })
    }

    /// The operator places and lifts the finger.
    fn with_operator(&self, mut ics: Ics) -> Ics {
        ics.ixit.insert("finger".into(), toml::Value::String("operator".into()));
        ics
    }

    fn ics_template(&self) -> &'static str {
        ICS_TEMPLATE
    }
}

/// What the module reports about itself: ReadSysPara always, ReadProdInfo and GetFwVer when it answers them.
/// The frames go into `ctx`'s evidence.
pub(crate) async fn identity(dut: &mut ZfmDut, ctx: &mut crate::purpose::Ctx) -> Identity {
    let mut fields = Vec::new();
    if let Ok(Reply::SystemParameters { params, .. }) = dut.call(ctx, &Command::ReadSysPara).await {
        fields.push(("library size".to_owned(), params.library_size.to_string()));
        fields.push(("address".to_owned(), format!("{:08X}", params.address)));
        fields.push(("packet size".to_owned(), params.packet_size.bytes().map_or("invalid".into(), |b| b.to_string())));
        fields.push(("security level".to_owned(), params.security_level.to_string()));
        fields.push(("system id".to_owned(), format!("{:04X}", params.system_id)));
    }
    if let Ok(Reply::ProductInfo { cc: Cc::Ok, info }) = dut.call(ctx, &Command::ReadProdInfo).await {
        fields.push(("model".to_owned(), ProductInfo::text(&info.model)));
        fields.push(("serial".to_owned(), ProductInfo::text(&info.serial)));
        fields.push(("sensor".to_owned(), ProductInfo::text(&info.sensor_type)));
        fields.push(("image".to_owned(), format!("{} x {}", info.width, info.height)));
    }
    if let Ok(Reply::Version { cc: Cc::Ok, text }) = dut.call(ctx, &Command::GetFwVer).await {
        fields.push(("firmware".to_owned(), ProductInfo::text(&text)));
    }
    Identity { fields }
}

/// The built-in declaration of the model the module identifies as: the simulator's R307 (no ReadProdInfo, a
/// library of 1000) or R503 (model, firmware and library as declared). Its IXIT fits the URL: a finger and
/// destructive purposes only on an in-process simulator the suite puts a finger on; on anything else nobody is
/// at the sensor and nothing in the library is overwritten. Any other module needs the vendor's ICS.
fn builtin_ics(url: &DeviceUrl, identity: &Identity) -> Result<Ics, SetupError> {
    for (text, name) in [(ICS_R307, "built-in r307"), (ICS_R503, "built-in r503")] {
        let mut ics = Ics::builtin(text, name).map_err(|e| SetupError(e.to_string()))?;
        let Ok(z) = ZfmIcs::from_ics(&ics) else { continue };
        let library = identity.get("library size") == Some(z.caps.library_size.to_string().as_str());
        let model_known = identity.get("model").is_some() == z.caps.product_info;
        if !(library && model_known && identity.agrees_with(&ics.device)) {
            continue;
        }
        let sim = is_fingerprint_sim(url);
        let finger = sim.is_some_and(|s| s.get("finger").is_some_and(|f| f.starts_with("auto")));
        ics.ixit.insert("finger".into(), toml::Value::String(if finger { "auto" } else { "none" }.into()));
        if sim.is_none() {
            ics.ixit.insert("destructive".into(), toml::Value::Boolean(false));
        }
        return Ok(ics);
    }
    let what = identity
        .title()
        .unwrap_or_else(|| format!("no model (library size {})", identity.get("library size").unwrap_or("unknown")));
    Err(SetupError(format!(
        "the module reports {what}, which no built-in ICS describes (khil declares only its simulated R307 and \
         R503): give the vendor's declaration with --ics (`khil conformance ics --class zfm --from-device URL` \
         writes one to start from)"
    )))
}
