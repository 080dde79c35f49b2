//! Nationality codes as MRZs write them: ISO 3166-1 alpha-3, with ICAO 9303-3's own codes (§5: `D` for Germany,
//! the British nationality classes, the United Nations, stateless persons and refugees, ...).

/// ISO 3166-1 alpha-3, every officially assigned code except `DEU` (an MRZ writes Germany as `D`).
const ISO_3166: &[&str] = &[
    "ABW", "AFG", "AGO", "AIA", "ALA", "ALB", "AND", "ARE", "ARG", "ARM", "ASM", "ATA", "ATF", "ATG", "AUS", "AUT",
    "AZE", "BDI", "BEL", "BEN", "BES", "BFA", "BGD", "BGR", "BHR", "BHS", "BIH", "BLM", "BLR", "BLZ", "BMU", "BOL",
    "BRA", "BRB", "BRN", "BTN", "BVT", "BWA", "CAF", "CAN", "CCK", "CHE", "CHL", "CHN", "CIV", "CMR", "COD", "COG",
    "COK", "COL", "COM", "CPV", "CRI", "CUB", "CUW", "CXR", "CYM", "CYP", "CZE", "DJI", "DMA", "DNK", "DOM", "DZA",
    "ECU", "EGY", "ERI", "ESH", "ESP", "EST", "ETH", "FIN", "FJI", "FLK", "FRA", "FRO", "FSM", "GAB", "GBR", "GEO",
    "GGY", "GHA", "GIB", "GIN", "GLP", "GMB", "GNB", "GNQ", "GRC", "GRD", "GRL", "GTM", "GUF", "GUM", "GUY", "HKG",
    "HMD", "HND", "HRV", "HTI", "HUN", "IDN", "IMN", "IND", "IOT", "IRL", "IRN", "IRQ", "ISL", "ISR", "ITA", "JAM",
    "JEY", "JOR", "JPN", "KAZ", "KEN", "KGZ", "KHM", "KIR", "KNA", "KOR", "KWT", "LAO", "LBN", "LBR", "LBY", "LCA",
    "LIE", "LKA", "LSO", "LTU", "LUX", "LVA", "MAC", "MAF", "MAR", "MCO", "MDA", "MDG", "MDV", "MEX", "MHL", "MKD",
    "MLI", "MLT", "MMR", "MNE", "MNG", "MNP", "MOZ", "MRT", "MSR", "MTQ", "MUS", "MWI", "MYS", "MYT", "NAM", "NCL",
    "NER", "NFK", "NGA", "NIC", "NIU", "NLD", "NOR", "NPL", "NRU", "NZL", "OMN", "PAK", "PAN", "PCN", "PER", "PHL",
    "PLW", "PNG", "POL", "PRI", "PRK", "PRT", "PRY", "PSE", "PYF", "QAT", "REU", "ROU", "RUS", "RWA", "SAU", "SDN",
    "SEN", "SGP", "SGS", "SHN", "SJM", "SLB", "SLE", "SLV", "SMR", "SOM", "SPM", "SRB", "SSD", "STP", "SUR", "SVK",
    "SVN", "SWE", "SWZ", "SXM", "SYC", "SYR", "TCA", "TCD", "TGO", "THA", "TJK", "TKL", "TKM", "TLS", "TON", "TTO",
    "TUN", "TUR", "TUV", "TWN", "TZA", "UGA", "UKR", "UMI", "URY", "USA", "UZB", "VAT", "VCT", "VEN", "VGB", "VIR",
    "VNM", "VUT", "WLF", "WSM", "YEM", "ZAF", "ZMB", "ZWE",
];

/// ICAO 9303-3 §5's codes that are not ISO 3166-1 alpha-3 (`UTO`, Utopia, is the specimen state).
const ICAO_9303: &[&str] = &[
    "D", "GBD", "GBN", "GBO", "GBP", "GBS", "UNO", "UNA", "UNK", "XBA", "XIM", "XCC", "XCE", "XCO", "XEC", "XPO",
    "XES", "XMP", "XOM", "XDC", "XXA", "XXB", "XXC", "XXX", "EUE", "RKS", "UTO",
];

/// Whether `code` is a nationality an MRZ can carry.
pub(crate) fn is_known(code: &str) -> bool {
    ISO_3166.contains(&code) || ICAO_9303.contains(&code)
}

/// What to say about a code that is not one: `DEU` gets its MRZ spelling.
pub(crate) fn expected_for(code: &str) -> String {
    if code == "DEU" {
        "Germany is `D` in an MRZ (ICAO 9303-3 §5), not `DEU`".to_owned()
    } else {
        "a nationality as an MRZ writes it: ISO 3166-1 alpha-3 (`MNG`, `CHN`) or an ICAO 9303-3 code (`D`, `XXA`)"
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_sorted_unique_and_upper_case() {
        assert_eq!(ISO_3166.len(), 248, "249 ISO codes less DEU");
        assert!(ISO_3166.windows(2).all(|w| w[0] < w[1]));
        assert!(ISO_3166.iter().chain(ICAO_9303).all(|c| c.bytes().all(|b| b.is_ascii_uppercase())));
        assert!(ICAO_9303.iter().all(|c| !ISO_3166.contains(c)));
        assert!(is_known("MNG") && is_known("D") && !is_known("DEU") && !is_known("mng"));
    }
}
