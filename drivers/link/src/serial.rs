//! Real serial ports and the slave side of ptys, through tokio-serial.

use tokio_serial::SerialPortBuilderExt;

use crate::error::LinkError;
use crate::url::{FlowControl, Parity, SerialUrl};

/// Baud rate used when neither the URL nor the device's driver names one.
pub const FALLBACK_BAUD: u32 = 9600;

/// Opens a serial port in raw mode (tokio-serial always applies raw mode, and takes an exclusive lock:
/// a second open of the same path fails, as two programs on one line would corrupt each other).
pub fn open_serial(url: &SerialUrl, default_baud: Option<u32>) -> Result<tokio_serial::SerialStream, LinkError> {
    let baud = url.baud.or(default_baud).unwrap_or(FALLBACK_BAUD);
    let data_bits = match url.framing.data_bits {
        5 => tokio_serial::DataBits::Five,
        6 => tokio_serial::DataBits::Six,
        7 => tokio_serial::DataBits::Seven,
        _ => tokio_serial::DataBits::Eight,
    };
    let parity = match url.framing.parity {
        Parity::None => tokio_serial::Parity::None,
        Parity::Odd => tokio_serial::Parity::Odd,
        Parity::Even => tokio_serial::Parity::Even,
    };
    let stop_bits = if url.framing.stop_bits == 2 { tokio_serial::StopBits::Two } else { tokio_serial::StopBits::One };
    let flow = match url.flow {
        FlowControl::None => tokio_serial::FlowControl::None,
        FlowControl::Software => tokio_serial::FlowControl::Software,
        FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
    };
    tokio_serial::new(&url.path, baud)
        .data_bits(data_bits)
        .parity(parity)
        .stop_bits(stop_bits)
        .flow_control(flow)
        .open_native_async()
        .map_err(|e| LinkError::Open {
            url: crate::url::DeviceUrl::Serial(url.clone()).to_string(),
            source: std::io::Error::other(e.to_string()),
        })
}
