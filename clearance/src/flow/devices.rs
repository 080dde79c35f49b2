//! The gate's devices as the flow holds them: each behind its driver, opened on a link or transport the caller
//! gives (a serial port, TCP, PC/SC, or a simulator's in-memory end: the flow cannot tell).

use std::time::Duration;

use khil_apdu::BoxApdu;
use khil_docreader::{DeviceInfo, DocReader};
use khil_fingerprint::driver::{Options as ZfmOptions, Zfm};
use khil_link::BoxLink;
use khil_osdp::cp::{BusHandle, CpConfig, OsdpBus, PdSetup};
use tokio::task::JoinHandle;

use super::sensor::{FingerSensor, OsdpBioReader};
use crate::gate::{Gate, GateSetup};

/// The driver-side ends of a gate's devices.
pub struct DeviceLinks {
    /// The line to the gate's OSDP I/O board.
    pub gate_io: BoxLink,
    /// The document readers' khil channels: the first is used, the others are its fallbacks, in order.
    pub readers: Vec<BoxLink>,
    /// The reader's RF chip reader.
    pub chip: BoxApdu,
    /// The fingerprint sensors: the first is used, the others are its fallbacks, in order.
    pub sensors: Vec<SensorLink>,
}

/// How the fingerprint sensor is reached.
pub enum SensorLink {
    /// A ZFM module's serial line.
    Zfm(BoxLink),
    /// A biometric reader PD on the gate I/O board's OSDP bus: its address and secure-channel key (`None`: plain).
    OsdpBio { address: u8, key: Option<[u8; 16]> },
}

impl std::fmt::Debug for SensorLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SensorLink::Zfm(_) => f.write_str("SensorLink::Zfm"),
            // Never the key.
            SensorLink::OsdpBio { address, key } => {
                write!(f, "SensorLink::OsdpBio {{ address: {address}, secure: {} }}", key.is_some())
            }
        }
    }
}

impl std::fmt::Debug for DeviceLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceLinks").finish_non_exhaustive()
    }
}

/// How the devices are reached.
#[derive(Debug, Clone)]
pub struct DeviceSetup {
    /// The gate I/O board's address and secure-channel key (`None`: plain OSDP).
    pub gate_address: u8,
    pub gate_key: Option<[u8; 16]>,
    pub cp: CpConfig,
    pub gate: GateSetup,
    /// The scanner driver's options (set `geometry` for modules without ReadProdInfo, such as the R307).
    pub scanner: ZfmOptions,
    /// How long one request to the reader may take.
    pub reader_timeout: Duration,
}

impl DeviceSetup {
    pub fn new(gate_address: u8, gate_key: Option<[u8; 16]>) -> DeviceSetup {
        DeviceSetup {
            gate_address,
            gate_key,
            cp: CpConfig::default(),
            gate: GateSetup::new(gate_address),
            scanner: ZfmOptions::default(),
            reader_timeout: Duration::from_secs(30),
        }
    }
}

/// Whether a device's error (in words: the flow keeps drivers' errors as text in evidence) says its line is gone
/// for good: the ZFM driver's "the line broke", or the link's own peer-closed error that every driver passes on.
/// A device whose line is gone does not come back by itself; the flow stops using it.
pub(crate) fn line_gone(error: &str) -> bool {
    error.contains("the line broke") || error.contains(&khil_link::LinkError::PeerClosed.to_string())
}

/// A document reader, connected: its driver and what it said of itself.
pub struct PageReader {
    pub driver: DocReader<BoxLink>,
    pub info: DeviceInfo,
}

impl std::fmt::Debug for PageReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PageReader").field("model", &self.info.model).finish_non_exhaustive()
    }
}

/// The gate's devices, connected.
pub struct Devices {
    pub gate: Gate,
    bus: JoinHandle<()>,
    /// The document readers, the one in use first; one that fails hands the page over to the next, and one gone
    /// for good (its line broke) leaves the list.
    pub readers: Vec<PageReader>,
    pub chip: BoxApdu,
    /// The fingerprint sensors, the one in use first; a sensor that fails hands over to the next, and one gone for
    /// good (a ZFM line broke) leaves the list. Empty: the flow goes on without fingers, every traveller is
    /// referred.
    pub sensors: Vec<FingerSensor>,
    pub reader_timeout: Duration,
}

impl std::fmt::Debug for Devices {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Devices")
            .field("gate", &self.gate.state())
            .field("readers", &self.readers.iter().map(|r| r.info.model.as_str()).collect::<Vec<_>>())
            .field("sensors", &self.sensors)
            .finish_non_exhaustive()
    }
}

impl Devices {
    /// Starts the OSDP bus and the gate controller, says Hello to the reader and connects to the fingerprint
    /// sensor (a bio reader on the bus must come online within [`DeviceSetup::reader_timeout`]). Errors name the
    /// device.
    pub async fn connect(links: DeviceLinks, setup: DeviceSetup) -> Result<Devices, String> {
        let mut bus = OsdpBus::new(links.gate_io, setup.cp.clone());
        let pd = match setup.gate_key {
            Some(key) => PdSetup::secure(setup.gate_address, key),
            None => PdSetup::plain(setup.gate_address),
        };
        bus.add_pd(pd).map_err(|e| format!("gate I/O board: {e}"))?;
        for link in &links.sensors {
            if let SensorLink::OsdpBio { address, key } = link {
                let pd = key.map_or_else(|| PdSetup::plain(*address), |key| PdSetup::secure(*address, key));
                bus.add_pd(pd).map_err(|e| format!("OSDP bio reader: {e}"))?;
            }
        }
        let handle = bus.handle();
        let events = bus.take_events().ok_or("gate I/O board: the bus's events were taken")?;
        let gate = Gate::spawn(bus.handle(), events, setup.gate.clone());
        let bus = tokio::spawn(async move {
            if let Err(e) = bus.run().await {
                tracing::warn!(error = %e, "the gate's OSDP bus stopped");
            }
        });
        let mut readers = Vec::with_capacity(links.readers.len());
        for (n, link) in links.readers.into_iter().enumerate() {
            let mut driver = DocReader::new(link);
            let info = driver
                .hello(setup.reader_timeout)
                .await
                .map_err(|e| format!("document reader {}: Hello: {e}", n + 1))?;
            readers.push(PageReader { driver, info });
        }
        let mut sensors = Vec::with_capacity(links.sensors.len());
        for link in links.sensors {
            sensors.push(connect_sensor(link, &setup, &handle).await?);
        }
        Ok(Devices { gate, bus, readers, chip: links.chip, sensors, reader_timeout: setup.reader_timeout })
    }
}

/// Connects one fingerprint sensor: a ZFM module on its line, or a bio reader PD on the running bus (online
/// within the reader timeout).
async fn connect_sensor(link: SensorLink, setup: &DeviceSetup, bus: &BusHandle) -> Result<FingerSensor, String> {
    match link {
        SensorLink::Zfm(line) => Ok(FingerSensor::Zfm(Box::new(
            Zfm::connect(line, setup.scanner.clone()).await.map_err(|e| format!("fingerprint scanner: {e}"))?,
        ))),
        SensorLink::OsdpBio { address, .. } => {
            match tokio::time::timeout(setup.reader_timeout, bus.wait_online(address)).await {
                Ok(Ok(_)) => Ok(FingerSensor::Osdp(OsdpBioReader { bus: bus.clone(), address, reader: 0 })),
                Ok(Err(e)) => Err(format!("OSDP bio reader: {e}")),
                Err(_) => {
                    Err(format!("OSDP bio reader: PD {address} not online within {} s", setup.reader_timeout.as_secs()))
                }
            }
        }
    }
}

impl Drop for Devices {
    fn drop(&mut self) {
        self.bus.abort();
    }
}
