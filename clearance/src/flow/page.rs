//! Reading a document off a page reader over khil's document-reader channel: the first DocumentPresent, a capture
//! under each light the reader offers (each checked to be of that document and light), and the VIZ, as a
//! [`khil_examine::Document`] without chip data. Moved here from `khil document examine` so that the command and
//! the clearance flow read a page the one same way.

use std::collections::BTreeMap;
use std::time::Duration;

use khil_biometrics::image::GrayImage;
use khil_docreader::{DeviceInfo, DocReader, DocReaderError, ErrorCode, Event, Light};
use khil_examine::{Captures, Document};
use khil_link::Link;

/// What the reader returned for one document.
#[derive(Debug)]
pub struct PageRead {
    /// The reader's number for the document (DocumentPresent's).
    pub number: u32,
    pub document: Document,
    /// Why something the examiner would have liked is missing (a light not offered, no VIZ).
    pub notes: Vec<String>,
}

/// Takes the document on the glass now (the last placement among the events already waiting that no removal
/// followed: a reader that was not in use has a backlog of earlier travellers' placements and removals), or waits
/// up to `wait` for the reader to report one; then asks for every light `info` declares and for the VIZ. `name` names the reader in errors (a URL, or `--device URL`). `request_timeout` bounds each request (a
/// 400 dpi page is ~2.8 MB: seconds on a slow line). Errors: no document in time, the reader reporting a fault, the
/// document removed during the read, a broken line.
pub async fn read_page<L: Link>(
    reader: &mut DocReader<L>,
    info: &DeviceInfo,
    name: &str,
    wait: Duration,
    request_timeout: Duration,
) -> Result<PageRead, String> {
    let mut on_glass = None;
    while let Some(event) = reader.next_event(Duration::ZERO).await.map_err(|e| format!("{name}: {e}"))? {
        match event {
            Event::DocumentPlaced { document, mrz } => on_glass = Some((document, mrz)),
            Event::DocumentRemoved { .. } => on_glass = None,
            Event::Fault { code, text } => return Err(format!("{name}: the reader reports {code}: {text}")),
        }
    }
    let deadline = tokio::time::Instant::now() + wait;
    let (number, mrz_lines) = if let Some(placed) = on_glass {
        placed
    } else {
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match reader.next_event(left).await.map_err(|e| format!("{name}: {e}"))? {
                Some(Event::DocumentPlaced { document, mrz }) => break (document, mrz),
                Some(Event::DocumentRemoved { .. }) => {}
                Some(Event::Fault { code, text }) => return Err(format!("{name}: the reader reports {code}: {text}")),
                None => return Err(format!("{name}: no document placed within {} s", wait.as_secs())),
            }
        }
    };
    let mut notes = Vec::new();
    let mut captures = Captures::default();
    for light in [Light::White, Light::Infrared, Light::Ultraviolet] {
        if !info.lights.iter().any(|l| l.light == light) {
            notes.push(format!("the reader offers no {light} light"));
            continue;
        }
        let capture = match reader.capture(light, request_timeout).await {
            Ok(c) => c,
            Err(DocReaderError::DeviceSaid { code: ErrorCode::NoDocument, .. }) => {
                return Err(format!("{name}: the document was removed during the examination"));
            }
            Err(DocReaderError::DeviceSaid { code, text, .. }) => {
                notes.push(format!("{light} capture refused: {code}: {text}"));
                continue;
            }
            Err(e) => return Err(format!("{name}: {light} capture: {e}")),
        };
        if capture.document != number || capture.light != light {
            notes.push(format!(
                "{light} capture set aside: it is of document {} under {}, asked for document {number} under {light}",
                capture.document, capture.light
            ));
            continue;
        }
        let image = GrayImage { width: capture.width.into(), height: capture.height.into(), pixels: capture.pixels };
        let capture = khil_examine::Capture { dpi: capture.dpi, image };
        match light {
            Light::White => captures.white = Some(capture),
            Light::Infrared => captures.infrared = Some(capture),
            _ => captures.ultraviolet = Some(capture),
        }
    }
    let viz = match reader.viz(request_timeout).await {
        Ok(v) if v.document == number => v.fields.into_iter().map(|f| (f.name, f.value)).collect(),
        Ok(v) => {
            notes.push(format!("VIZ set aside: it is of document {}, asked for {number}", v.document));
            BTreeMap::new()
        }
        Err(DocReaderError::DeviceSaid { code, text, .. }) => {
            notes.push(format!("no VIZ: {code}: {text}"));
            BTreeMap::new()
        }
        Err(e) => return Err(format!("{name}: VIZ: {e}")),
    };
    Ok(PageRead { number, document: Document { captures, mrz_lines, viz, chip: None }, notes })
}
