//! `echo`: a loopback device. Every byte it receives goes straight back. It proves the plumbing (links,
//! ptys, pacing, faults, the `ready` line) before any real protocol is involved.

use std::sync::Arc;

use khil_link::{BoxLink, LinkError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::Device;
use crate::config::{self, ParamError, Params};
use crate::simulator::{Build, Built, Simulator};

#[derive(Debug, Default)]
pub struct Echo;

/// `khil sim echo`, `sim:echo`: only the line parameters.
pub const SIMULATOR: Simulator = Simulator {
    name: "echo",
    about: "A loopback device: every byte it receives goes straight back (proves links, pacing and faults)",
    help: "Examples:\n  khil sim echo --pty\n  khil sim echo --tcp 127.0.0.1:4001 --pace 57600 --fault flip:p=0.001",
    params: &[],
    build: Build::Stream(build),
};

fn build(params: &Params) -> Result<Built, ParamError> {
    let (line, _) = config::line(params, "")?;
    Ok(Built::new(Arc::new(Echo), line))
}

impl Device for Echo {
    fn name(&self) -> &'static str {
        "echo"
    }

    async fn serve(self: Arc<Self>, mut link: BoxLink) -> Result<(), LinkError> {
        let mut buf = vec![0u8; 4096];
        loop {
            let n = link.read(&mut buf).await?;
            if n == 0 {
                return Ok(());
            }
            link.write_all(&buf[..n]).await?;
            link.flush().await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Line, in_process};
    use khil_link::LineRate;

    #[tokio::test]
    async fn echoes_every_byte_value() {
        let mut link = in_process(Arc::new(Echo), &Line::default());
        let all: Vec<u8> = (0..=255).collect();
        link.write_all(&all).await.unwrap();
        let mut back = vec![0; 256];
        link.read_exact(&mut back).await.unwrap();
        assert_eq!(back, all);
    }

    /// Paced at 9600 8N1 both ways, 960 bytes take one second to arrive; the echo goes back as they arrive,
    /// so the last byte is home one character time later.
    #[tokio::test(start_paused = true)]
    async fn paced_echo_takes_line_time() {
        let line = Line { pace: Some(LineRate::new(9600)), ..Line::default() };
        let mut link = in_process(Arc::new(Echo), &line);
        let start = tokio::time::Instant::now();
        let data = vec![0x5A; 960];
        let mut back = vec![0; 960];
        link.write_all(&data).await.unwrap();
        link.read_exact(&mut back).await.unwrap();
        assert_eq!(back, data);
        let elapsed = start.elapsed();
        assert!(elapsed >= std::time::Duration::from_secs(1), "{elapsed:?}");
        assert!(elapsed <= std::time::Duration::from_millis(1100), "{elapsed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn line_faults_reach_the_client() {
        let line = Line { faults: vec!["drop:at=2,dir=tx".parse().unwrap()], ..Line::default() };
        let mut link = in_process(Arc::new(Echo), &line);
        link.write_all(b"abcd").await.unwrap();
        let mut back = [0u8; 3];
        link.read_exact(&mut back).await.unwrap();
        assert_eq!(&back, b"abd");
    }
}
