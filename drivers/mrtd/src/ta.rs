//! Terminal authentication, version 1 (BSI TR-03110-3 B.3 and B.11; ICAO 9303-11 7.1), both sides, pure. After
//! chip authentication the terminal proves it is an inspection system its document verifier certified under the
//! issuing state's CVCA; only then does the chip let it read DG3 (fingerprints) and DG4 (iris).
//!
//! Under secure messaging:
//! 1. MSE:Set DST `0022 81B6 {83 CAR}` then PSO:Verify Certificate `002A 00BE {7F4E body, 5F37 signature}`, for
//!    each certificate from the chip's trust point down (CVCA link certificates, the DV certificate, the IS
//!    certificate);
//! 2. MSE:Set AT `0022 81A4 {83 CHR of the IS certificate}`;
//! 3. GET CHALLENGE: r_PICC, 8 bytes;
//! 4. EXTERNAL AUTHENTICATE `0082 0000 {signature}`: the terminal signs ID_PICC || r_PICC || Comp(PK_PCD) with the
//!    IS key, where ID_PICC is the document number with its check digit (after BAC; the x-coordinate of the chip's
//!    PACE ephemeral key after PACE) and Comp(PK_PCD) the x-coordinate of the terminal's ephemeral chip
//!    authentication key.
//!
//! The chip grants the effective authorization: the AND of the CHAT rights of the CVCA, DV and IS certificates.
//! Its current date is the latest effective date of a CVCA, DV or accurate (domestic DV's) terminal certificate it
//! accepted; DV and IS certificates that expired before it are refused.

use std::fmt;

use khil_apdu::{Command, Response, StatusWord};
use sha2::{Digest, Sha256};

use crate::cvc::{CvCertificate, CvDate, CvRole, CvcError};
use crate::pace::PaceCurve;
use crate::tlv::{self, Tag};

pub const INS_MSE: u8 = 0x22;
pub const INS_PSO: u8 = 0x2A;
pub const INS_EXTERNAL_AUTHENTICATE: u8 = 0x82;
pub const INS_GET_CHALLENGE: u8 = 0x84;

/// 6300: verification failed (a certificate's or the terminal's signature).
const VERIFICATION_FAILED: StatusWord = StatusWord(0x6300);

/// MSE:Set DST: the key that verifies the next certificate, by its reference.
pub fn mse_set_dst(reference: &str) -> Command {
    Command::new(0x00, INS_MSE, 0x81, 0xB6).with_data(tlv::encode(Tag(0x83), reference.as_bytes())).expect("short")
}

/// PSO:Verify Certificate: body and signature (extended length when the certificate carries domain parameters).
pub fn pso_verify_certificate(certificate: &CvCertificate) -> Command {
    Command::new(0x00, INS_PSO, 0x00, 0xBE).with_data(certificate.parts()).expect("a certificate fits")
}

/// MSE:Set AT for terminal authentication: the terminal's key, by its certificate holder reference.
pub fn mse_set_at(reference: &str) -> Command {
    Command::new(0x00, INS_MSE, 0x81, 0xA4).with_data(tlv::encode(Tag(0x83), reference.as_bytes())).expect("short")
}

/// EXTERNAL AUTHENTICATE with the terminal's signature.
pub fn external_authenticate(signature: &[u8]) -> Command {
    Command::new(0x00, INS_EXTERNAL_AUTHENTICATE, 0x00, 0x00).with_data(signature.to_vec()).expect("a signature")
}

/// ID_PICC after BAC: the document number field and its check digit, the first ten characters of the MRZ
/// information.
pub fn id_picc_after_bac(mrz_information: &str) -> Vec<u8> {
    mrz_information.as_bytes().iter().take(10).copied().collect()
}

/// ID_PICC after PACE: Comp of the chip's ephemeral PACE public key (its x-coordinate).
pub fn id_picc_after_pace(chip_ephemeral_key: &[u8]) -> Vec<u8> {
    comp(chip_ephemeral_key).to_vec()
}

/// What the terminal signs: ID_PICC || r_PICC || Comp(PK_PCD), Comp being the x-coordinate of the terminal's
/// ephemeral chip-authentication point (SEC1 uncompressed `04 || x || y`).
pub fn signed_input(id_picc: &[u8], r_picc: &[u8; 8], terminal_ca_point: &[u8]) -> Vec<u8> {
    [id_picc, r_picc, comp(terminal_ca_point)].concat()
}

/// Comp(): the x-coordinate of an uncompressed point (TR-03110-3 A.2.2.3), as PACE and chip authentication take it.
fn comp(point: &[u8]) -> &[u8] {
    crate::pace::x_coordinate(point)
}

/// An inspection system's credentials: DV certificates (one per CVCA it reads documents of, and any link
/// certificates), its own IS certificate(s) and private key.
#[derive(Clone)]
pub struct TerminalCredentials {
    pub certificates: Vec<CvCertificate>,
    private_key: Vec<u8>,
}

impl fmt::Debug for TerminalCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TerminalCredentials({:?}, private key set)", self.certificates)
    }
}

impl TerminalCredentials {
    /// `private_key` is the P-256 scalar of the terminal certificates' public key; the certificates in any order.
    pub fn new(certificates: Vec<CvCertificate>, private_key: Vec<u8>) -> Result<TerminalCredentials, CvcError> {
        let point = PaceCurve::P256.public_key(&private_key).map_err(|e| CvcError::Refused {
            chr: "(the terminal's key)".into(),
            why: format!("not a P-256 private key: {e}"),
        })?;
        if !certificates.iter().any(|c| c.body.role == CvRole::Terminal && c.body.point == point) {
            return Err(CvcError::Refused {
                chr: "(the terminal's key)".into(),
                why: "no terminal certificate among the certificates holds its public key".into(),
            });
        }
        Ok(TerminalCredentials { certificates, private_key })
    }

    /// The certificates to present to a chip whose trust point is `cvca` (a CHR), from the certificate that
    /// names it as authority down to the terminal's: `None` when no chain starts there.
    pub fn chain_from(&self, cvca: &str) -> Option<Vec<&CvCertificate>> {
        let mut chain: Vec<&CvCertificate> = Vec::new();
        let mut authority = cvca.to_owned();
        // At most one certificate per step; a chain longer than the certificates held would loop.
        for _ in 0..=self.certificates.len() {
            let next = self.certificates.iter().find(|c| c.body.car == authority && c.body.chr != authority)?;
            chain.push(next);
            if next.body.role == CvRole::Terminal {
                return Some(chain);
            }
            authority.clone_from(&next.body.chr);
        }
        None
    }

    /// Credentials from a DER private key (P-256): PKCS#8, or SEC1 `ECPrivateKey` (RFC 5915), which
    /// `cvc-create --out-key` and `openssl genpkey -outform DER` write.
    pub fn from_key_der(certificates: Vec<CvCertificate>, der: &[u8]) -> Result<TerminalCredentials, CvcError> {
        use p256::pkcs8::DecodePrivateKey;
        let key = p256::SecretKey::from_pkcs8_der(der).or_else(|pkcs8| {
            p256::SecretKey::from_sec1_der(der).map_err(|sec1| CvcError::Refused {
                chr: "(the terminal's key)".into(),
                why: format!("not a P-256 private key in PKCS#8 DER ({pkcs8}) nor SEC1 DER ({sec1})"),
            })
        })?;
        TerminalCredentials::new(certificates, key.to_bytes().to_vec())
    }

    /// The CVCAs (by CHR) some chain of these credentials starts at.
    pub fn authorities(&self) -> Vec<String> {
        let holders: Vec<&str> = self.certificates.iter().map(|c| c.body.chr.as_str()).collect();
        let mut out: Vec<String> = Vec::new();
        for c in &self.certificates {
            if !holders.contains(&c.body.car.as_str()) && !out.contains(&c.body.car) {
                out.push(c.body.car.clone());
            }
        }
        out
    }

    /// The terminal's signature over [`signed_input`].
    pub fn sign(&self, input: &[u8]) -> Vec<u8> {
        PaceCurve::P256.sign_prehash(&self.private_key, &Sha256::digest(input)).expect("checked in new")
    }
}

/// A public key the chip knows: a trust point or a key imported from a verified certificate.
#[derive(Clone, PartialEq, Eq, Debug)]
struct KnownKey {
    chr: String,
    point: Vec<u8>,
    role: CvRole,
    /// The effective authorization so far: the AND of the chain's rights down to this key.
    rights: u8,
}

impl KnownKey {
    fn of(c: &CvCertificate, rights: u8) -> KnownKey {
        KnownKey { chr: c.body.chr.clone(), point: c.body.point.clone(), role: c.body.role, rights }
    }
}

/// The chip side of terminal authentication.
#[derive(Clone)]
pub struct TaChip {
    trust_points: Vec<KnownKey>,
    /// The chip's current date (it has no clock): persistent, moved forward by certificates.
    date: CvDate,
    id_picc: Vec<u8>,
    check_expiry: bool,
    // Volatile: gone with the session.
    imported: Vec<KnownKey>,
    selected: Option<KnownKey>,
    terminal: Option<KnownKey>,
    challenge: Option<[u8; 8]>,
    terminal_ca_point: Option<Vec<u8>>,
    granted: Option<u8>,
}

impl fmt::Debug for TaChip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TaChip({} trust points, date {}, granted {:?})", self.trust_points.len(), self.date, self.granted)
    }
}

impl TaChip {
    /// A chip trusting the CVCA certificate(s) `trust_points`, whose current date is `personalised` at first,
    /// identified by `id_picc` (see [`id_picc_after_bac`]).
    pub fn new(trust_points: &[CvCertificate], personalised: CvDate, id_picc: Vec<u8>) -> TaChip {
        TaChip {
            trust_points: trust_points.iter().map(|c| KnownKey::of(c, c.body.rights)).collect(),
            date: personalised,
            id_picc,
            check_expiry: true,
            imported: Vec::new(),
            selected: None,
            terminal: None,
            challenge: None,
            terminal_ca_point: None,
            granted: None,
        }
    }

    /// A defective chip for lower testers: expired DV and terminal certificates are accepted (a real-world defect
    /// the chip conformance class looks for).
    pub fn ignore_expiry(&mut self) {
        self.check_expiry = false;
    }

    /// The chip's current date.
    pub fn date(&self) -> CvDate {
        self.date
    }

    /// The CHRs of the trust points, most recent first (EF.CVCA's content).
    pub fn trust_point_references(&self) -> Vec<String> {
        self.trust_points.iter().rev().map(|k| k.chr.clone()).collect()
    }

    /// Ends the session: imported keys, the challenge and the granted access are gone (the date and the trust
    /// points stay).
    pub fn end_session(&mut self) {
        self.imported.clear();
        self.selected = None;
        self.terminal = None;
        self.challenge = None;
        self.terminal_ca_point = None;
        self.granted = None;
    }

    /// The chip's identifier for this session: set after access control ([`id_picc_after_bac`] or
    /// [`id_picc_after_pace`]).
    pub fn set_id_picc(&mut self, id_picc: Vec<u8>) {
        self.id_picc = id_picc;
    }

    /// Chip authentication succeeded with the terminal's ephemeral point: terminal authentication may follow.
    pub fn chip_authenticated(&mut self, terminal_point: Vec<u8>) {
        self.terminal_ca_point = Some(terminal_point);
    }

    /// GET CHALLENGE under secure messaging gave `r_picc`.
    pub fn challenge_given(&mut self, r_picc: [u8; 8]) {
        self.challenge = Some(r_picc);
    }

    /// The access rights granted to an authenticated terminal (`cvc::READ_DG3` ...), if one is.
    pub fn granted(&self) -> Option<u8> {
        self.granted
    }

    /// Whether the command is one of terminal authentication's (MSE:Set DST, MSE:Set AT for TA, PSO, EXTERNAL
    /// AUTHENTICATE).
    pub fn handles(command: &Command) -> bool {
        matches!(
            (command.ins, command.p1, command.p2),
            (INS_MSE, 0x81, 0xB6 | 0xA4) | (INS_PSO, 0x00, 0xBE) | (INS_EXTERNAL_AUTHENTICATE, _, _)
        )
    }

    /// Answers one terminal-authentication command (see [`TaChip::handles`]).
    pub fn answer(&mut self, command: &Command) -> Response {
        let sw = match (command.ins, command.p2) {
            (INS_MSE, 0xB6) => self.set_dst(command),
            (INS_MSE, _) => self.set_at(command),
            (INS_PSO, _) => self.verify_certificate(command),
            _ => self.external_authenticate(command),
        };
        Response::status(sw)
    }

    fn reference(command: &Command) -> Option<String> {
        let objects = tlv::parse_all(command.data()).ok()?;
        let r = objects.iter().find(|o| o.tag == Tag(0x83))?;
        Some(String::from_utf8_lossy(r.value).into_owned())
    }

    fn set_dst(&mut self, command: &Command) -> StatusWord {
        let Some(reference) = TaChip::reference(command) else {
            return StatusWord::WRONG_DATA;
        };
        // A DV or IS key only after it was imported in this session; a trust point always.
        let key =
            self.imported.iter().chain(&self.trust_points).find(|k| k.chr == reference && k.role != CvRole::Terminal);
        self.selected = key.cloned();
        if self.selected.is_some() { StatusWord::SUCCESS } else { StatusWord::REFERENCE_NOT_FOUND }
    }

    fn verify_certificate(&mut self, command: &Command) -> StatusWord {
        let Some(issuer) = self.selected.take() else {
            return StatusWord::CONDITIONS_NOT_SATISFIED;
        };
        let Ok(cert) = CvCertificate::parse_parts(command.data(), 0) else {
            return StatusWord::WRONG_DATA;
        };
        let b = &cert.body;
        let in_order = match issuer.role {
            CvRole::Cvca => matches!(b.role, CvRole::Cvca | CvRole::DvDomestic | CvRole::DvForeign),
            CvRole::DvDomestic | CvRole::DvForeign => b.role == CvRole::Terminal,
            CvRole::Terminal => false,
        };
        if b.car != issuer.chr || !in_order {
            return StatusWord::WRONG_DATA;
        }
        if cert.verify(&issuer.point).is_err() {
            return VERIFICATION_FAILED;
        }
        // Expired CVCA link certificates are still accepted (TR-03110-3 2.5); DV and terminal ones are not.
        if self.check_expiry && b.role != CvRole::Cvca && b.expiration < self.date {
            return VERIFICATION_FAILED;
        }
        let accurate = b.role != CvRole::Terminal || issuer.role == CvRole::DvDomestic;
        if accurate && b.effective > self.date {
            self.date = b.effective;
        }
        let key = KnownKey::of(&cert, issuer.rights & b.rights);
        if b.role == CvRole::Cvca {
            // A link certificate: a new trust point, permanently.
            self.trust_points.retain(|k| k.chr != key.chr);
            self.trust_points.push(key);
        } else {
            self.imported.retain(|k| k.chr != key.chr);
            self.imported.push(key);
        }
        StatusWord::SUCCESS
    }

    fn set_at(&mut self, command: &Command) -> StatusWord {
        let Some(reference) = TaChip::reference(command) else {
            return StatusWord::WRONG_DATA;
        };
        self.terminal = self.imported.iter().find(|k| k.chr == reference && k.role == CvRole::Terminal).cloned();
        if self.terminal.is_some() { StatusWord::SUCCESS } else { StatusWord::REFERENCE_NOT_FOUND }
    }

    fn external_authenticate(&mut self, command: &Command) -> StatusWord {
        let challenge = self.challenge.take();
        if self.granted.is_some() {
            return StatusWord::SECURITY_STATUS_NOT_SATISFIED;
        }
        let (Some(terminal), Some(r_picc), Some(point)) = (&self.terminal, challenge, &self.terminal_ca_point) else {
            return StatusWord::CONDITIONS_NOT_SATISFIED;
        };
        let input = signed_input(&self.id_picc, &r_picc, point);
        match PaceCurve::P256.verify_prehash(&terminal.point, &Sha256::digest(&input), command.data()) {
            Ok(()) => {
                self.granted = Some(terminal.rights);
                StatusWord::SUCCESS
            }
            Err(_) => VERIFICATION_FAILED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cvc::{CvBody, ID_IS, ID_TA_ECDSA_SHA_256, READ_DG3, READ_DG4};

    fn key(n: u8) -> Vec<u8> {
        let mut k = vec![0x22; 32];
        k[31] = n;
        k
    }

    fn cert(car: &str, chr: &str, role: CvRole, rights: u8, own: u8, by: u8, expiration: CvDate) -> CvCertificate {
        let body = CvBody {
            car: car.into(),
            algorithm: ID_TA_ECDSA_SHA_256.to_vec(),
            with_domain: role == CvRole::Cvca,
            point: PaceCurve::P256.public_key(&key(own)).unwrap(),
            chr: chr.into(),
            chat_type: ID_IS.to_vec(),
            role,
            rights,
            effective: CvDate::new(2026, 10, 1).unwrap(),
            expiration,
        };
        CvCertificate::sign(body, &key(by)).unwrap()
    }

    fn day(y: u16, m: u8, d: u8) -> CvDate {
        CvDate::new(y, m, d).unwrap()
    }

    struct Setup {
        cvca: CvCertificate,
        creds: TerminalCredentials,
    }

    fn setup(is_rights: u8, is_expiry: CvDate) -> Setup {
        let cvca = cert("KRCVCA00001", "KRCVCA00001", CvRole::Cvca, READ_DG3 | READ_DG4, 1, 1, day(2029, 1, 1));
        let dv = cert("KRCVCA00001", "MNKHILDV00001", CvRole::DvForeign, READ_DG3, 2, 1, day(2027, 1, 1));
        let is = cert("MNKHILDV00001", "MNKHILIS00001", CvRole::Terminal, is_rights, 3, 2, is_expiry);
        Setup { cvca, creds: TerminalCredentials::new(vec![is, dv], key(3)).unwrap() }
    }

    /// Runs terminal authentication as an inspection system would; the last status word.
    fn run(chip: &mut TaChip, creds: &TerminalCredentials, terminal_point: &[u8]) -> StatusWord {
        chip.chip_authenticated(terminal_point.to_vec());
        let chain = creds.chain_from("KRCVCA00001").expect("a chain");
        for c in &chain {
            for command in [mse_set_dst(&c.body.car), pso_verify_certificate(c)] {
                let sw = chip.answer(&command).sw;
                if sw != StatusWord::SUCCESS {
                    return sw;
                }
            }
        }
        let is = chain.last().unwrap();
        assert_eq!(chip.answer(&mse_set_at(&is.body.chr)).sw, StatusWord::SUCCESS);
        let r = [7u8; 8];
        chip.challenge_given(r);
        let signature = creds.sign(&signed_input(&id_picc_after_bac("L898902C<3690806..."), &r, terminal_point));
        chip.answer(&external_authenticate(&signature)).sw
    }

    #[test]
    fn an_inspection_system_is_granted_the_and_of_its_chain() {
        let s = setup(READ_DG3 | READ_DG4, day(2026, 12, 31));
        assert_eq!(s.creds.authorities(), ["KRCVCA00001"]);
        let mut chip =
            TaChip::new(std::slice::from_ref(&s.cvca), day(2026, 6, 1), id_picc_after_bac("L898902C<3690806..."));
        let terminal_point = PaceCurve::P256.public_key(&key(9)).unwrap();
        assert_eq!(run(&mut chip, &s.creds, &terminal_point), StatusWord::SUCCESS);
        // CVCA DG3+DG4, DV DG3 only, IS DG3+DG4: DG3.
        assert_eq!(chip.granted(), Some(READ_DG3));
        // The foreign DV moved the date on; the foreign DV's terminal certificate is not accurate.
        assert_eq!(chip.date(), day(2026, 10, 1));
        // Once authenticated, again is refused; a new session starts from nothing.
        assert_eq!(chip.answer(&external_authenticate(&[0; 64])).sw, StatusWord::SECURITY_STATUS_NOT_SATISFIED);
        chip.end_session();
        assert_eq!(chip.granted(), None);
        assert_eq!(chip.answer(&mse_set_at("MNKHILIS00001")).sw, StatusWord::REFERENCE_NOT_FOUND);
    }

    #[test]
    fn the_chip_refuses_what_it_must() {
        let terminal_point = PaceCurve::P256.public_key(&key(9)).unwrap();
        let id = id_picc_after_bac("L898902C<3690806...");
        // An expired terminal certificate (the chip's date is already past it).
        let s = setup(READ_DG3, day(2026, 9, 30));
        let mut chip = TaChip::new(std::slice::from_ref(&s.cvca), day(2026, 6, 1), id.clone());
        assert_eq!(run(&mut chip, &s.creds, &terminal_point), VERIFICATION_FAILED);
        // A chip of another CVCA: the DV's authority is unknown.
        let other = cert("CNCVCA00001", "CNCVCA00001", CvRole::Cvca, 3, 5, 5, day(2029, 1, 1));
        let s = setup(READ_DG3, day(2026, 12, 31));
        let mut chip = TaChip::new(&[other], day(2026, 6, 1), id.clone());
        assert_eq!(run(&mut chip, &s.creds, &terminal_point), StatusWord::REFERENCE_NOT_FOUND);
        // A signature over another terminal key than the one chip authentication used.
        let mut chip = TaChip::new(std::slice::from_ref(&s.cvca), day(2026, 6, 1), id.clone());
        chip.chip_authenticated(PaceCurve::P256.public_key(&key(8)).unwrap());
        for c in s.creds.chain_from("KRCVCA00001").unwrap() {
            chip.answer(&mse_set_dst(&c.body.car));
            assert_eq!(chip.answer(&pso_verify_certificate(c)).sw, StatusWord::SUCCESS);
        }
        chip.answer(&mse_set_at("MNKHILIS00001"));
        chip.challenge_given([1; 8]);
        let signature = s.creds.sign(&signed_input(&id, &[1; 8], &terminal_point));
        assert_eq!(chip.answer(&external_authenticate(&signature)).sw, VERIFICATION_FAILED);
        assert_eq!(chip.granted(), None);
        // A certificate whose signature was made by another key, and EXTERNAL AUTHENTICATE without a challenge.
        let forged = cert("KRCVCA00001", "MNKHILDV00001", CvRole::DvForeign, 3, 2, 7, day(2027, 1, 1));
        let mut chip = TaChip::new(std::slice::from_ref(&s.cvca), day(2026, 6, 1), id);
        chip.answer(&mse_set_dst("KRCVCA00001"));
        assert_eq!(chip.answer(&pso_verify_certificate(&forged)).sw, VERIFICATION_FAILED);
        assert_eq!(chip.answer(&external_authenticate(&[0; 64])).sw, StatusWord::CONDITIONS_NOT_SATISFIED);
    }

    proptest::proptest! {
        /// Whatever a terminal sends, the chip answers a status word and grants nothing it should not.
        #[test]
        fn the_chip_never_panics_and_grants_nothing_to_garbage(
            commands in proptest::collection::vec(
                (proptest::sample::select(vec![INS_MSE, INS_PSO, INS_EXTERNAL_AUTHENTICATE]),
                 proptest::sample::select(vec![0x00u8, 0x81]),
                 proptest::sample::select(vec![0x00u8, 0xA4, 0xB6, 0xBE]),
                 proptest::collection::vec(proptest::prelude::any::<u8>(), 0..120)),
                0..12),
        ) {
            let s = setup(READ_DG3, day(2026, 12, 31));
            let mut chip = TaChip::new(std::slice::from_ref(&s.cvca), day(2026, 6, 1), vec![1; 10]);
            chip.chip_authenticated(PaceCurve::P256.public_key(&key(9)).unwrap());
            chip.challenge_given([3; 8]);
            for (ins, p1, p2, data) in commands {
                let Ok(c) = Command::new(0x00, ins, p1, p2).with_data(data) else { continue };
                let _ = chip.answer(&c);
            }
            proptest::prop_assert_eq!(chip.granted(), None);
        }
    }

    #[test]
    fn credentials_must_hold_the_terminal_key() {
        let s = setup(READ_DG3, day(2026, 12, 31));
        let e = TerminalCredentials::new(s.creds.certificates.clone(), key(4)).unwrap_err();
        assert!(e.to_string().contains("no terminal certificate"), "{e}");
    }
}
