//! The chip side of this crate against a reader no one here wrote: the `dmrtd` crate (a port of the Dart dmrtd
//! reader) runs BAC and PACE (with the MRZ and with a CAN, on both curves, each AES size) against a small chip
//! built from [`BacChip`], [`PaceChip`] and [`SecureMessaging`], then reads EF.COM through the session.
//!
//! The chip here is the least a reader needs (SELECT, READ BINARY by SFI and offset, GET CHALLENGE, EXTERNAL
//! AUTHENTICATE, MSE:Set AT, GENERAL AUTHENTICATE); the real simulator lives in sim/mrtd.

use dmrtd::com::{TransceiveError, Transceiver};
use dmrtd::lds::mrz::Mrz;
use dmrtd::passport::Passport;
use dmrtd::proto::can_key::CanKey;
use dmrtd::proto::dba_key::DBAKey;
use khil_apdu::{Command, Response, StatusWord};
use khil_mrtd::bac::{BacChip, BacKeys};
use khil_mrtd::lds::{EfCardAccess, SecurityInfos};
use khil_mrtd::pace::{ChipStep, PaceChip, PaceCurve, PaceParams, PaceProtocol, PaceSecrets, Password};
use khil_mrtd::sm::SecureMessaging;
use sha2::{Digest, Sha256};

const MRZ_LINES: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10";
/// Document number L898902C3 and its check digit, birth 740812 2, expiry 120415 9.
const MRZ_INFORMATION: &str = "L898902C3674081221204159";
const CAN: &str = "123456";
const EF_COM: &str = "60145F0104303130365F36063034303030305C026175";

struct MiniChip {
    card_access: Vec<u8>,
    ef_com: Vec<u8>,
    current: Option<Vec<u8>>,
    bac: BacChip,
    pace: PaceChip,
    sm: Option<SecureMessaging>,
}

impl MiniChip {
    fn new(params: PaceParams, mrz_information: &str) -> MiniChip {
        let key = |label: &str| {
            (0u32..100)
                .map(|i| Sha256::new().chain_update(label).chain_update(i.to_be_bytes()).finalize().to_vec())
                .find(|k| params.curve.public_key(k).is_ok())
                .unwrap()
        };
        let secrets = PaceSecrets {
            map_private_key: key("map"),
            ephemeral_private_key: key("ephemeral"),
            nonce: Sha256::digest("nonce")[..16].to_vec(),
        };
        let passwords = vec![Password::Mrz(mrz_information.into()), Password::Can(CAN.into())];
        MiniChip {
            card_access: EfCardAccess(SecurityInfos(vec![params.security_info()])).encode().unwrap(),
            ef_com: hex(EF_COM),
            current: None,
            bac: BacChip::new(BacKeys::from_mrz_information(mrz_information), [0x46; 8], [0x0B; 16]),
            pace: PaceChip::new(passwords, vec![params], secrets),
            sm: None,
        }
    }

    fn answer(&mut self, command: &Command) -> Response {
        if command.cla & 0x0C == 0x0C {
            let Some(sm) = self.sm.as_mut() else { return Response::status(StatusWord::SM_OBJECTS_MISSING) };
            let plain = match sm.unprotect_command(command) {
                Ok(plain) => plain,
                Err(e) => {
                    self.sm = None;
                    return Response::status(e.status_word());
                }
            };
            let response = self.plain(&plain);
            return self.sm.as_mut().expect("still open").protect_response(&response);
        }
        self.plain(command)
    }

    fn plain(&mut self, command: &Command) -> Response {
        match command.ins {
            0xA4 => {
                self.current = match command.data() {
                    [0x01, 0x1E] => Some(self.ef_com.clone()),
                    [0x01, 0x1C] => Some(self.card_access.clone()),
                    _ => None,
                };
                Response::status(StatusWord::SUCCESS)
            }
            0xB0 => {
                let offset = if command.p1 & 0x80 != 0 {
                    self.current = match command.p1 & 0x1F {
                        0x1E if self.sm.is_some() => Some(self.ef_com.clone()),
                        0x1C => Some(self.card_access.clone()),
                        _ => return Response::status(StatusWord::FILE_NOT_FOUND),
                    };
                    usize::from(command.p2)
                } else {
                    usize::from(u16::from_be_bytes([command.p1, command.p2]))
                };
                let Some(file) = &self.current else { return Response::status(StatusWord::NO_CURRENT_EF) };
                let end = file.len().min(offset + command.ne().unwrap_or(256));
                Response::ok(file.get(offset..end).unwrap_or_default().to_vec()).unwrap()
            }
            0x84 => self.bac.challenge_response(),
            0x82 => match self.bac.external_authenticate(command) {
                Ok((response, sm)) => {
                    self.sm = Some(sm);
                    response
                }
                Err(e) => Response::status(e.status_word()),
            },
            0x22 | 0x86 => match self.pace.answer(command) {
                Ok(ChipStep::Reply(response)) => response,
                Ok(ChipStep::Established(response, sm)) => {
                    self.sm = Some(sm);
                    response
                }
                Err(e) => Response::status(e.status_word()),
            },
            _ => Response::status(StatusWord::INS_NOT_SUPPORTED),
        }
    }
}

impl Transceiver for MiniChip {
    fn transceive(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransceiveError> {
        let command = Command::parse(apdu).map_err(|e| TransceiveError::new(e.to_string()))?;
        Ok(self.answer(&command).encode())
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn bac_key() -> DBAKey {
    let mrz = Mrz::from_bytes(MRZ_LINES.as_bytes().to_vec()).unwrap();
    DBAKey::from_mrz(&mrz).unwrap()
}

#[test]
fn dmrtd_runs_bac_against_our_chip_and_reads_ef_com() {
    let chip = MiniChip::new(
        PaceParams { protocol: PaceProtocol::EcdhGmAes128, curve: PaceCurve::BrainpoolP256r1 },
        MRZ_INFORMATION,
    );
    let mut passport = Passport::new(chip);
    passport.start_session(bac_key()).unwrap();
    assert_eq!(passport.read_ef_com().unwrap().dg_tags().len(), 2, "EF.COM lists DG1 and DG2");
    // Reading EF.COM again goes through the same 3DES session (SSC moving on on both sides).
    passport.read_ef_com().unwrap();
}

#[test]
fn dmrtd_runs_pace_against_our_chip_on_both_curves_with_every_aes_size() {
    for curve in [PaceCurve::P256, PaceCurve::BrainpoolP256r1] {
        for protocol in [PaceProtocol::EcdhGmAes128, PaceProtocol::EcdhGmAes192, PaceProtocol::EcdhGmAes256] {
            let chip = MiniChip::new(PaceParams { protocol, curve }, MRZ_INFORMATION);
            let mut passport = Passport::new(chip);
            let card_access = passport.read_ef_card_access().unwrap();
            passport
                .start_session_pace(CanKey::new(CAN).unwrap(), &card_access)
                .unwrap_or_else(|e| panic!("{protocol} on {curve:?}: {e}"));
            let com = passport.read_ef_com().unwrap_or_else(|e| panic!("{protocol} on {curve:?}: EF.COM: {e}"));
            assert_eq!(com.dg_tags().len(), 2, "EF.COM lists DG1 and DG2");
        }
    }
}
