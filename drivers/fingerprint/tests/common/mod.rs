//! Shared samples for the integration tests.
#![allow(dead_code, unreachable_pub)]

pub mod fake;

use khil_fingerprint::command::opcode;
use khil_fingerprint::{Command, ConfirmationCode, IndexBitmap, PacketSize, ProductInfo, Reply, SystemParameters};

/// One value of every Command variant.
pub fn every_command() -> Vec<Command> {
    let mut notes = [0u8; 32];
    notes.iter_mut().enumerate().for_each(|(i, b)| *b = i as u8 * 7);
    vec![
        Command::GenImg,
        Command::Img2Tz { buffer: 2 },
        Command::Match,
        Command::Search { buffer: 1, start: 0x0102, count: 0x0304 },
        Command::RegModel,
        Command::Store { buffer: 1, page: 0x0A0B },
        Command::LoadChar { buffer: 2, page: 5 },
        Command::UpChar { buffer: 1 },
        Command::DownChar { buffer: 2 },
        Command::UpImage,
        Command::DownImage,
        Command::DeleteChar { page: 3, count: 1 },
        Command::Empty,
        Command::SetSysPara { param: 6, value: 3 },
        Command::ReadSysPara,
        Command::SetPwd(0xDEAD_BEEF),
        Command::VfyPwd(0),
        Command::SetAddr(0x1234_5678),
        Command::GetRandomCode,
        Command::ReadInfPage,
        Command::WriteNotepad { page: 15, data: notes },
        Command::ReadNotepad { page: 3 },
        Command::HiSpeedSearch { buffer: 1, start: 0, count: 200 },
        Command::TemplateNum,
        Command::ReadIndexTable { page: 3 },
        Command::GetImageEx,
        Command::AuraLedConfig { ctrl: 1, speed: 0x80, colour: 3, count: 0 },
        Command::CheckSensor,
        Command::GetAlgVer,
        Command::GetFwVer,
        Command::ReadProdInfo,
        Command::SoftRst,
        Command::Unknown { code: 0x40, params: vec![] },
        Command::Unknown { code: 0x31, params: vec![1, 2, 3] },
    ]
}

pub fn sample_params() -> SystemParameters {
    SystemParameters {
        status: 0b0100,
        system_id: 9,
        library_size: 200,
        security_level: 3,
        address: 0xFFFF_FFFF,
        packet_size: PacketSize::Bytes128,
        baud_multiplier: 6,
    }
}

/// One ack per reply shape, paired with an instruction it answers.
pub fn every_reply() -> Vec<(u8, Reply)> {
    let ok = ConfirmationCode::Ok;
    let mut bitmap = IndexBitmap([0; 32]);
    bitmap.set(0);
    bitmap.set(9);
    bitmap.set(255);
    let info = ProductInfo {
        model: *b"R503\0\0\0\0\0\0\0\0\0\0\0\0",
        batch: *b"B001",
        serial: *b"SN000042",
        hw_version: [1, 2],
        sensor_type: *b"CAP\0\0\0\0\0",
        width: 192,
        height: 192,
        template_size: 1536,
        capacity: 200,
    };
    let mut text = [0u8; 32];
    text[..7].copy_from_slice(b"v1.2.3a");
    vec![
        (opcode::GEN_IMG, Reply::Status(ok)),
        (opcode::GEN_IMG, Reply::Status(ConfirmationCode::NoFinger)),
        (opcode::MATCH, Reply::Match { cc: ok, score: 0x0123 }),
        (opcode::SEARCH, Reply::Search { cc: ok, page: 7, score: 99 }),
        (opcode::HI_SPEED_SEARCH, Reply::Search { cc: ConfirmationCode::NotFound, page: 0, score: 0 }),
        (opcode::READ_SYS_PARA, Reply::SystemParameters { cc: ok, params: sample_params() }),
        (
            opcode::READ_SYS_PARA,
            Reply::SystemParameters {
                cc: ok,
                params: SystemParameters { packet_size: PacketSize::Invalid(9), ..sample_params() },
            },
        ),
        (opcode::GET_RANDOM_CODE, Reply::RandomCode { cc: ok, value: 0xCAFE_F00D }),
        (opcode::TEMPLATE_NUM, Reply::TemplateNum { cc: ok, count: 17 }),
        (opcode::READ_INDEX_TABLE, Reply::IndexTable { cc: ok, bitmap }),
        (opcode::READ_NOTEPAD, Reply::Notepad { cc: ok, data: [0xA5; 32] }),
        (opcode::GET_ALG_VER, Reply::Version { cc: ok, text }),
        (opcode::GET_FW_VER, Reply::Version { cc: ok, text }),
        (opcode::READ_PROD_INFO, Reply::ProductInfo { cc: ok, info }),
        (opcode::CHECK_SENSOR, Reply::Status(ConfirmationCode::SensorHardwareError)),
        (0x40, Reply::Raw { cc: ok, data: vec![1, 2] }),
    ]
}

pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits.chunks(2).map(|p| u8::from_str_radix(std::str::from_utf8(p).unwrap(), 16).unwrap()).collect()
}
