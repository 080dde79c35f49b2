//! Training cases from `khil-sim-docreader`'s forgery catalogue: every fraud class of issue 14 (altered biodata and
//! MRZ, photo substitution, fantasy documents and the rest), rendered as the reader captures them, with the chip
//! content and the lost/stolen list the catalogue gives each specimen.

use khil_mrtd::mrz::{CivilDate, Format};
use khil_sim_docreader::{Catalogue, FraudClass, ParameterSpace, Renderer, Specimen};

use super::case::{
    CaseError, CaseSource, ChipLine, ClassInfo, LIGHTS, LightImage, LineStatus, TrainingCase, seeded_order,
};

/// Cases drawn from the catalogue's `space` (population seed = session seed); each run of ten cases holds each
/// class once, in a seeded order.
#[derive(Debug)]
pub(crate) struct CatalogueCases {
    renderer: Renderer,
    space: ParameterSpace,
    name: String,
}

impl CatalogueCases {
    pub(crate) fn new(renderer: Renderer, space: ParameterSpace) -> CatalogueCases {
        CatalogueCases { renderer, space, name: format!("khil-sim-docreader/catalogue-1/{}", space.name()) }
    }
}

/// A short label for the defect list (the catalogue's descriptions are sentences).
fn label(class: FraudClass) -> &'static str {
    match class {
        FraudClass::Genuine => "Genuine and valid",
        FraudClass::CounterfeitOfficePaper => "Counterfeit on ordinary paper (UV-bright, no UV feature)",
        FraudClass::IrTransparentMrz => "MRZ printed in IR-transparent ink",
        FraudClass::AlteredBiodata => "Altered biodata (VIZ differs from the MRZ)",
        FraudClass::AlteredMrzCheckDigit => "Altered MRZ (a check digit is wrong)",
        FraudClass::AlteredMrzRecomputed => "Altered MRZ, check digits recomputed (differs from the chip)",
        FraudClass::PhotoSubstitution => "Photo substitution (page portrait differs from the chip's)",
        FraudClass::Fantasy => "Fantasy document (no such issuer)",
        FraudClass::StolenBlank => "Stolen blank (number on the lost/stolen list)",
        FraudClass::Expired => "Expired",
    }
}

impl CaseSource for CatalogueCases {
    fn name(&self) -> &str {
        &self.name
    }

    fn classes(&self) -> Vec<ClassInfo> {
        FraudClass::ALL.iter().map(|c| ClassInfo::new(c.name(), label(*c))).collect()
    }

    fn case(&self, seed: u64, index: u32, day: CivilDate) -> Result<TrainingCase, CaseError> {
        let class = seeded_order(&FraudClass::ALL, seed, index);
        let specimen = Catalogue::new(seed, day, self.space).specimen(class, u64::from(index));
        let captures =
            self.renderer.render_set(&specimen.page, &specimen.design, &specimen.conditions, specimen.capture_seed);
        let images =
            LIGHTS.into_iter().zip(captures).map(|(light, c)| LightImage { light, png: c.image.to_png() }).collect();
        let format = match specimen.page.layout.format {
            Format::Td1 => "TD1 card",
            Format::Td2 => "TD2 card",
            Format::Td3 => "TD3 passport book",
            Format::MrvA => "MRV-A visa",
            Format::MrvB => "MRV-B visa",
        };
        Ok(TrainingCase {
            class: class.name().to_owned(),
            key: format!("catalogue={};class={};index={index}", self.space.name(), class.name()),
            summary: format!("a {format}-sized data page"),
            images,
            chip: chip_lines(&specimen),
            mrz: specimen.page.mrz_lines.clone(),
            chip_portrait: specimen.chip.as_ref().map(|c| c.dg2_portrait.to_png()),
        })
    }
}

fn chip_lines(specimen: &Specimen) -> Vec<ChipLine> {
    let line = |label: &str, value: String, status| ChipLine { label: label.to_owned(), value, status };
    let mut lines = match &specimen.chip {
        None => vec![line("Chip", "no chip answers".to_owned(), LineStatus::Info)],
        Some(chip) => vec![
            line("Chip access", "established".to_owned(), LineStatus::Pass),
            if chip.passive_authentication_passed {
                line("Passive authentication", "SOD signature and data group hashes valid".to_owned(), LineStatus::Pass)
            } else {
                line(
                    "Passive authentication",
                    "FAILED: the SOD is not signed by a Document Signer of the issuer".to_owned(),
                    LineStatus::Alert,
                )
            },
            line("DG1 (chip MRZ)", chip.dg1_mrz.join("\n"), LineStatus::Info),
        ],
    };
    lines.push(match &specimen.listed {
        Some((state, _)) => {
            line("Lost/stolen database", format!("HIT: reported stolen as a blank by {state}"), LineStatus::Alert)
        }
        None => line("Lost/stolen database", "no record".to_owned(), LineStatus::Pass),
    });
    lines
}
