//! `docs/docreader-protocol.md` and the code agree: every hex example in it is exactly what the encoders write
//! for the message its text describes, and decodes back to that message.

use khil_docreader::frame;
use khil_docreader::message::{
    Capture, DeviceInfo, DocumentPresent, ErrorCode, Light, LightSource, Message, VizField, VizFields,
};
use khil_docreader::rte::{self, RteFormat, RteFrame};

const TD3: [&str; 2] = ["P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"];

fn doc() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/docreader-protocol.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ")
}

/// Every line of the document that is only hex bytes (the examples).
fn hex_lines(doc: &str) -> Vec<Vec<u8>> {
    doc.lines()
        .filter(|l| l.len() > 8 && l.split(' ').all(|w| w.len() == 2 && w.chars().all(|c| c.is_ascii_hexdigit())))
        .map(|l| l.split(' ').map(|w| u8::from_str_radix(w, 16).unwrap()).collect())
        .collect()
}

fn examples() -> Vec<(u16, Message)> {
    let lights = vec![
        LightSource { light: Light::White, wavelength_nm: 0 },
        LightSource { light: Light::Infrared, wavelength_nm: 900 },
        LightSource { light: Light::Ultraviolet, wavelength_nm: 365 },
    ];
    vec![
        (1, Message::Hello),
        (
            1,
            Message::DeviceInfo(DeviceInfo {
                model: "KR-1".into(),
                serial: "0042".into(),
                firmware: "1.0".into(),
                dpi: 400,
                page_width: 1984,
                page_height: 1400,
                lights,
            }),
        ),
        (0, Message::DocumentPresent(DocumentPresent { document: 7, mrz: TD3.map(String::from).to_vec() })),
        (0, Message::DocumentRemoved { document: 7 }),
        (2, Message::CaptureRequest { light: Light::Infrared }),
        (
            2,
            Message::Capture(Capture {
                document: 7,
                light: Light::Infrared,
                width: 4,
                height: 2,
                dpi: 400,
                pixels: vec![0x00, 0x40, 0x80, 0xFF, 0xFF, 0x80, 0x40, 0x00],
            }),
        ),
        (3, Message::VizRequest),
        (
            3,
            Message::VizFields(VizFields {
                document: 7,
                fields: vec![VizField { name: "surname".into(), value: "ЭРИКССОН".into() }],
            }),
        ),
        (4, Message::Error { code: ErrorCode::LightNotOffered, text: "no light 05".into() }),
    ]
}

#[test]
fn every_example_in_the_protocol_document_is_what_the_code_writes() {
    let doc = doc();
    let lines = hex_lines(&doc);
    let rte_block = RteFormat::default().encode(&RteFrame::from_mrz(b'0', &TD3).unwrap()).unwrap();
    assert_eq!(lines[0], rte_block, "the RTE example:\n{}", hex(&rte_block));
    let rte::Decoded::Frame { frame, .. } = RteFormat::default().decode(&lines[0]) else { panic!("RTE example") };
    assert_eq!(frame.mrz_lines(), TD3);

    let ours = examples();
    assert_eq!(lines.len(), 1 + ours.len(), "one hex example per message, in the document's order");
    for (written, (seq, message)) in lines[1..].iter().zip(&ours) {
        let encoded = message.to_frame(*seq).unwrap().encode().unwrap();
        assert_eq!(written, &encoded, "{}:\n{}", Message::name_of(message.kind()), hex(&encoded));
        let frame::Decoded::Frame { frame, .. } = frame::decode(written) else { panic!("example does not decode") };
        assert_eq!(&Message::from_frame(&frame).unwrap(), message);
    }
}
