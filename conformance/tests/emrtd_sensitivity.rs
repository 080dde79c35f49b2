//! The eMRTD chip suite against khil's simulated passport: the correct chip passes every applicable purpose, and
//! each chip fault is failed by the purposes named for it (every purpose fails against some faulty variant).

use std::future::Future;
use std::pin::Pin;

use khil_apdu::BoxApdu;
use khil_conformance::suites::emrtd::EmrtdSuite;
use khil_conformance::{Connector, Ics, Quiet, RunOptions, RunVerdict, Verdict, run};
use khil_link::{BoxLink, DeviceUrl};

struct Cards;

impl Connector for Cards {
    fn connect<'a>(&'a self, url: &'a DeviceUrl) -> Pin<Box<dyn Future<Output = Result<BoxLink, String>> + Send + 'a>> {
        Box::pin(async move { Err(format!("{url}: no byte links here")) })
    }

    fn connect_apdu<'a>(
        &'a self,
        url: &'a DeviceUrl,
    ) -> Pin<Box<dyn Future<Output = Result<BoxApdu, String>> + Send + 'a>> {
        Box::pin(
            async move { khil_apdu::connect(url, &khil_sim_registry::Simulators).await.map_err(|e| e.to_string()) },
        )
    }
}

fn test_pki(seed: u64) -> Result<khil_mrtd::pa::TrustStore, String> {
    Ok(khil_sim_mrtd::sim::test_pki(seed)?.trust_store())
}

/// The MRZ of population document 3 (seed 0), as `sim:passport?document=3` issues it.
fn document_3_mrz() -> String {
    let (y, m, d) = khil_sim_mrtd::sim::REFERENCE_DAY;
    let day = khil_mrtd::mrz::CivilDate::new(y, m, d).unwrap();
    khil_sim_population::documents::Documents::new(0, day).document(3).mrz().lines.join("\n")
}

#[test]
fn the_built_in_passport_ics_holds_document_3s_mrz() {
    let ics = Ics::parse(khil_conformance::suites::emrtd::ICS_PASSPORT, "passport").unwrap();
    let declared = ics.ixit.get("mrz").and_then(|v| v.as_str()).unwrap();
    assert!(declared == document_3_mrz(), "passport.toml's [ixit] mrz must be document 3's: {:?}", document_3_mrz());
}
