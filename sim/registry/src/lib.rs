//! The one list of khil's simulators. `khil sim <device>` builds its subcommands from it and `sim:<device>?...`
//! URLs resolve through it, so a simulator is added in one place and both surfaces take the same parameters
//! (each simulator crate declares them once: [`khil_sim_host::Simulator`]).

use khil_apdu::{BoxApdu, SimCardConnector, TransportError};
use khil_link::url::SimUrl;
use khil_link::{BoxLink, DeviceUrl, LinkError, SimConnector};
use khil_sim_host::config::{Params, Surface};
use khil_sim_host::{Build, Simulator};

/// Every simulator, in the order `khil sim --help` lists them. Adding a device class adds one line here.
pub const SIMULATORS: &[&Simulator] = &[
    &khil_sim_host::echo::SIMULATOR,
    &khil_sim_fingerprint::SIMULATOR,
    &khil_sim_osdp::SIMULATOR,
    &khil_sim_gate::SIMULATOR,
    &khil_sim_mrtd::SIMULATOR,
    &khil_sim_docreader::SIMULATOR,
];

/// The simulator called `name`.
pub fn find(name: &str) -> Option<&'static Simulator> {
    SIMULATORS.iter().copied().find(|s| s.name == name)
}

/// The names, for messages: `echo, fingerprint, osdp-pd, gate`.
pub fn names() -> String {
    SIMULATORS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
}

/// Resolves `sim:<device>?...` URLs: a fresh simulator in this process behind an in-memory link, configured
/// exactly as `khil sim <device>` would be by the same names. Must be used inside a tokio runtime.
#[derive(Debug, Default, Clone, Copy)]
pub struct Simulators;

impl SimConnector for Simulators {
    fn connect_sim(&self, url: &SimUrl) -> Result<BoxLink, LinkError> {
        let unsupported = |why: String| LinkError::Unsupported { url: DeviceUrl::Sim(url.clone()).to_string(), why };
        let sim = find(&url.device)
            .ok_or_else(|| unsupported(format!("no simulator {:?}: expected one of {}", url.device, names())))?;
        let params = Params::new(Surface::Url, sim.name, sim.params, url.params.clone())
            .map_err(|e| unsupported(e.to_string()))?;
        let Build::Stream(build) = sim.build else {
            return Err(unsupported(format!(
                "{} is a smart card: it answers APDUs, not bytes (read it with `khil document read`)",
                sim.name
            )));
        };
        let built = build(&params).map_err(|e| unsupported(e.to_string()))?;
        Ok(built.in_process())
    }
}

impl SimCardConnector for Simulators {
    fn connect_sim_card(&self, url: &SimUrl) -> Result<BoxApdu, TransportError> {
        let unsupported =
            |why: String| TransportError::Unsupported { url: DeviceUrl::Sim(url.clone()).to_string(), why };
        let sim = find(&url.device)
            .ok_or_else(|| unsupported(format!("no simulator {:?}: expected one of {}", url.device, names())))?;
        let Build::Card(build) = sim.build else {
            return Err(unsupported(format!("{} is not a smart card: it talks over a byte stream", sim.name)));
        };
        let params = Params::new(Surface::Url, sim.name, sim.params, url.params.clone())
            .map_err(|e| unsupported(e.to_string()))?;
        let built = build(&params).map_err(|e| unsupported(e.to_string()))?;
        Ok(Box::new(built.in_memory()))
    }
}

#[cfg(test)]
mod tests {
    /// The document reader and the passport chip lay the same population documents on the desk: document 3 on
    /// `sim:docreader` is document 3 on `sim:passport` of the same seed.
    #[test]
    fn the_reader_and_the_chip_date_the_population_alike() {
        assert_eq!(khil_sim_docreader::sim::REFERENCE_DAY, khil_sim_mrtd::sim::REFERENCE_DAY);
    }
}
