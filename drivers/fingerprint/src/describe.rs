//! Commands and replies in words (`Display`), for conformance evidence, errors and logs that people read:
//! `Search (04) buffer 1, pages 0-199`, `09 no matching template found, page 0, score 0`.
//!
//! What must not leave the host stays out: passwords are `<password>`, notepad contents and template or image
//! data are counted, never shown.

use std::fmt;

use crate::command::{Command, PacketSize, ProductInfo, Reply, SystemParameters};

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Command::Unknown { code, params } = self {
            return write!(f, "unknown instruction {code:02X}, {} parameter bytes", params.len());
        }
        write!(f, "{} ({:02X})", self.name(), self.opcode())?;
        match self {
            Command::Img2Tz { buffer } | Command::UpChar { buffer } | Command::DownChar { buffer } => {
                write!(f, " buffer {buffer}")
            }
            Command::Search { buffer, start, count } | Command::HiSpeedSearch { buffer, start, count } => {
                write!(f, " buffer {buffer}, ")?;
                match count {
                    0 => write!(f, "no pages (count 0 from page {start})"),
                    1 => write!(f, "page {start}"),
                    n => write!(f, "pages {start}-{}", u32::from(*start) + u32::from(*n) - 1),
                }
            }
            Command::Store { buffer, page } => write!(f, " buffer {buffer} at page {page}"),
            Command::LoadChar { buffer, page } => write!(f, " page {page} into buffer {buffer}"),
            Command::DeleteChar { page, count } => {
                write!(f, " {count} {} from page {page}", if *count == 1 { "template" } else { "templates" })
            }
            Command::SetSysPara { param, value } => write!(f, " register {param} = {value}"),
            Command::SetPwd(_) | Command::VfyPwd(_) => f.write_str(" <password>"),
            Command::SetAddr(address) => write!(f, " address {address:08X}"),
            Command::WriteNotepad { page, .. } | Command::ReadNotepad { page } | Command::ReadIndexTable { page } => {
                write!(f, " page {page}")
            }
            Command::AuraLedConfig { ctrl, speed, colour, count } => {
                write!(f, " control {ctrl}, speed {speed}, colour {colour}, count {count}")
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for PacketSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes() {
            Some(n) => write!(f, "{n} bytes"),
            None => write!(f, "invalid size code {}", self.code()),
        }
    }
}

impl fmt::Display for SystemParameters {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "library size {}, security level {}, address {:08X}, packet size {}, baud {} x 9600, status {:04X}",
            self.library_size, self.security_level, self.address, self.packet_size, self.baud_multiplier, self.status
        )
    }
}

impl fmt::Display for ProductInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "model {:?}, serial {:?}, sensor {:?}, image {}x{}, template {} bytes, capacity {}",
            ProductInfo::text(&self.model),
            ProductInfo::text(&self.serial),
            ProductInfo::text(&self.sensor_type),
            self.width,
            self.height,
            self.template_size,
            self.capacity
        )
    }
}

impl fmt::Display for Reply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.cc())?;
        match self {
            Reply::Status(_) => Ok(()),
            Reply::Match { score, .. } => write!(f, ", score {score}"),
            Reply::Search { page, score, .. } => write!(f, ", page {page}, score {score}"),
            Reply::SystemParameters { params, .. } => write!(f, "; {params}"),
            Reply::RandomCode { value, .. } => write!(f, ", random number {value:08X}"),
            Reply::TemplateNum { count, .. } => write!(f, ", {count} templates stored"),
            Reply::IndexTable { bitmap, .. } => {
                write!(f, ", index bitmap with {} slots used", bitmap.0.iter().map(|b| b.count_ones()).sum::<u32>())
            }
            Reply::Notepad { .. } => f.write_str(", 32 notepad bytes"),
            Reply::Version { text, .. } => write!(f, ", version {:?}", ProductInfo::text(text)),
            Reply::ProductInfo { info, .. } => write!(f, "; {info}"),
            Reply::Raw { data, .. } => write!(f, ", {} more bytes", data.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::command::{ConfirmationCode as Cc, IndexBitmap};

    use super::*;

    #[test]
    fn commands_read_as_words() {
        let cases = [
            (Command::Search { buffer: 1, start: 0, count: 200 }, "Search (04) buffer 1, pages 0-199"),
            (Command::Store { buffer: 2, page: 7 }, "Store (06) buffer 2 at page 7"),
            (Command::DeleteChar { page: 5, count: 1 }, "DeleteChar (0C) 1 template from page 5"),
            (Command::VfyPwd(0x1234_5678), "VfyPwd (13) <password>"),
            (Command::WriteNotepad { page: 3, data: [0xAB; 32] }, "WriteNotepad (18) page 3"),
            (Command::GenImg, "GenImg (01)"),
            (Command::Unknown { code: 0x77, params: vec![1, 2] }, "unknown instruction 77, 2 parameter bytes"),
        ];
        for (cmd, words) in cases {
            assert_eq!(cmd.to_string(), words);
        }
    }

    #[test]
    fn replies_read_as_words_and_keep_secrets_out() {
        let not_found = Reply::Search { cc: Cc::NotFound, page: 0, score: 0 };
        assert_eq!(not_found.to_string(), format!("{}, page 0, score 0", Cc::NotFound));
        assert_eq!(Reply::Status(Cc::NotFound).to_string(), Cc::NotFound.to_string());
        let mut bitmap = IndexBitmap([0; 32]);
        bitmap.set(3);
        bitmap.set(200);
        assert!(Reply::IndexTable { cc: Cc::Ok, bitmap }.to_string().ends_with("with 2 slots used"));
        let notepad = Reply::Notepad { cc: Cc::Ok, data: [0x5A; 32] }.to_string();
        assert!(!notepad.contains("5A") && !notepad.contains("90"), "{notepad}");
        for reply in [not_found, Reply::Status(Cc::Ok), Reply::Raw { cc: Cc::Ok, data: vec![1] }] {
            let words = reply.to_string();
            assert!(!words.contains('{') && !words.contains('('), "{words}");
        }
    }
}
