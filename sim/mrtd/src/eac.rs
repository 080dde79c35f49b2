//! The test PKI of Extended Access Control (BSI TR-03110-3 section 2): per issuing state a CVCA whose key the
//! state's chips trust; one Mongolian document verifier (the border police) certified by every state's CVCA
//! (domestic by Mongolia's, foreign by the others'); and one inspection system certified by that DV: the test
//! terminal certificates with which `khil document read` reads DG3 of every simulated passport.
//!
//! Keys are P-256, derived from the seed like the rest of the test PKI; dates are relative to its reference
//! (the quarter's first day): CVCAs valid three years, DV certificates 120 days, the terminal's 100 days. That
//! covers the whole quarter, so a simulator and a reader started in the same quarter agree.

use der::DateTime;
use khil_mrtd::cvc::{CvBody, CvCertificate, CvDate, CvRole, CvcError, ID_IS, ID_TA_ECDSA_SHA_256, READ_DG3, READ_DG4};
use khil_mrtd::ta::TerminalCredentials;

use crate::pki::{PkiError, State, derive_key, shift};

/// The DV's holder reference: Mongolia, mnemonic KHILDV, sequence 00001.
pub const DV_CHR: &str = "MNKHILDV00001";
/// The inspection system's holder reference.
pub const IS_CHR: &str = "MNKHILIS00001";

/// The EAC part of the test PKI.
#[derive(Clone, Debug)]
pub struct EacPki {
    /// Per state, in `State::ALL` order.
    pub cvcas: Vec<(State, CvCertificate)>,
    /// The test inspection system: a DV certificate from every CVCA, its IS certificate and key.
    pub terminal: TerminalCredentials,
    /// The same terminal with an IS certificate that expired the day before the DV certificates took effect: a
    /// chip that accepted the DV certificate refuses it.
    pub expired_terminal: TerminalCredentials,
}

/// A state's CVCA holder reference (`KRKHILCVCA00001`).
pub fn cvca_chr(state: State) -> String {
    format!("{}KHILCVCA00001", state.country())
}

fn date(reference: DateTime, days: i64) -> Result<CvDate, PkiError> {
    let t = shift(reference, days)?;
    CvDate::of(t).ok_or_else(|| PkiError::Date(format!("{t} (CV certificate dates run 2000 to 2099)")))
}

fn signed(body: CvBody, by: &[u8]) -> Result<CvCertificate, PkiError> {
    CvCertificate::sign(body, by).map_err(|e: CvcError| PkiError::Cvc(e.to_string()))
}

struct Holder<'a> {
    car: &'a str,
    chr: &'a str,
    role: CvRole,
    rights: u8,
    key: &'a [u8],
    from: CvDate,
    to: CvDate,
}

fn body(h: &Holder<'_>) -> Result<CvBody, PkiError> {
    let point =
        khil_mrtd::pace::PaceCurve::P256.public_key(h.key).map_err(|e| PkiError::Cvc(format!("a derived key: {e}")))?;
    Ok(CvBody {
        car: h.car.into(),
        algorithm: ID_TA_ECDSA_SHA_256.to_vec(),
        with_domain: h.role == CvRole::Cvca,
        point,
        chr: h.chr.into(),
        chat_type: ID_IS.to_vec(),
        role: h.role,
        rights: h.rights,
        effective: h.from,
        expiration: h.to,
    })
}

impl EacPki {
    pub fn new(seed: u64, reference: DateTime) -> Result<EacPki, PkiError> {
        let scalar = |label: &str| derive_key(seed, label).to_bytes().to_vec();
        let dv_key = scalar("MNG EAC DV");
        let is_key = scalar("MNG EAC IS");
        let mut cvcas = Vec::new();
        let mut dvs = Vec::new();
        for state in State::ALL {
            let key = scalar(&format!("{} CVCA", state.code()));
            let chr = cvca_chr(state);
            let holder = Holder {
                car: &chr,
                chr: &chr,
                role: CvRole::Cvca,
                rights: READ_DG3 | READ_DG4,
                key: &key,
                from: date(reference, -365)?,
                to: date(reference, 2 * 365)?,
            };
            let certificate = signed(body(&holder)?, &key)?;
            // Foreign states let Mongolia's border police read fingerprints, not iris; Mongolia lets it read both.
            let (role, rights) = if state == State::Mongolia {
                (CvRole::DvDomestic, READ_DG3 | READ_DG4)
            } else {
                (CvRole::DvForeign, READ_DG3)
            };
            let dv = Holder {
                car: &chr,
                chr: DV_CHR,
                role,
                rights,
                key: &dv_key,
                from: date(reference, 0)?,
                to: date(reference, 120)?,
            };
            dvs.push(signed(body(&dv)?, &key)?);
            cvcas.push((state, certificate));
        }
        let is = |from, to| -> Result<CvCertificate, PkiError> {
            let h = Holder {
                car: DV_CHR,
                chr: IS_CHR,
                role: CvRole::Terminal,
                rights: READ_DG3 | READ_DG4,
                key: &is_key,
                from,
                to,
            };
            signed(body(&h)?, &dv_key)
        };
        let credentials = |is_cert: CvCertificate| {
            TerminalCredentials::new([dvs.clone(), vec![is_cert]].concat(), is_key.clone())
                .map_err(|e| PkiError::Cvc(e.to_string()))
        };
        Ok(EacPki {
            cvcas,
            terminal: credentials(is(date(reference, 0)?, date(reference, 100)?)?)?,
            expired_terminal: credentials(is(date(reference, -30)?, date(reference, -1)?)?)?,
        })
    }

    /// The CVCA certificate a chip of `state` trusts.
    pub fn cvca(&self, state: State) -> &CvCertificate {
        &self.cvcas.iter().find(|(s, _)| *s == state).expect("every state has a CVCA").1
    }
}
