//! Who walks into the gate and what they carry.

use std::time::Duration;

use khil_sim_docreader::{FraudClass, ParameterSpace};
use khil_sim_gate::Behaviour;

/// The document a traveller lays on the reader.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Papers {
    /// Population document `id`, genuine (its page on the reader, its chip in the field).
    Population(u64),
    /// Specimen `index` of a forgery-catalogue class (its page; in the field, the chip of the population document
    /// it was made from, when the specimen has a chip).
    Specimen { class: FraudClass, index: u64, space: ParameterSpace },
}

/// One traveller: papers, finger, how they walk and how long they take at each device.
#[derive(Debug, Clone, PartialEq)]
pub struct Traveller {
    pub papers: Papers,
    /// Whose finger goes on the scanner: the holder's own (a population id), or someone else's.
    pub finger: Option<u64>,
    pub behaviour: Behaviour,
    /// From standing in the mantrap to the document lying on the reader.
    pub document_after: Duration,
    /// From the document lying on the reader to the finger on the scanner.
    pub finger_after: Duration,
    /// Faults of their document's chip (`sim:passport?fault=...` grammar; `mute:at=0`: a chip that will not
    /// answer at all).
    pub chip_faults: Vec<String>,
}

impl Traveller {
    /// A cooperative holder of population document `id` with their own finger.
    pub fn holder(id: u64) -> Traveller {
        Traveller {
            papers: Papers::Population(id),
            finger: Some(id),
            behaviour: Behaviour::Normal,
            // Documents ready in hand, as the gate's signs ask (an assumption: no published figure was found).
            document_after: Duration::from_millis(1500),
            finger_after: Duration::from_secs(1),
            chip_faults: Vec::new(),
        }
    }

    /// The same traveller with someone else's finger.
    #[must_use]
    pub fn with_finger(self, finger: Option<u64>) -> Traveller {
        Traveller { finger, ..self }
    }

    /// The same traveller carrying `papers`.
    #[must_use]
    pub fn with_papers(self, papers: Papers) -> Traveller {
        Traveller { papers, ..self }
    }
}
