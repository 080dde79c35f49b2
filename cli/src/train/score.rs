//! Scoring a session against the ground truth: a pure function of the classes, the cases shown and the answers.
//!
//! A case's decision is right when the trainee called a genuine document genuine or any other forged; the defect
//! is right when, on top, a forged document's named defect is its class (for a genuine document: when it was
//! called genuine). Unanswered cases count as shown and wrong.

use serde::Serialize;

use super::case::{ClassInfo, GENUINE};

/// The trainee's call on a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Verdict {
    Genuine,
    Forged,
}

impl Verdict {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verdict::Genuine => "genuine",
            Verdict::Forged => "forged",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Verdict> {
        [Verdict::Genuine, Verdict::Forged].into_iter().find(|v| v.name() == name)
    }
}

/// The trainee's answer to one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) verdict: Verdict,
    /// The defect named (a class name); `None` for a genuine verdict.
    pub(crate) defect: Option<String>,
    /// Milliseconds from the case being shown to the answer.
    pub(crate) millis: i64,
    /// The lights the trainee looked under, in the order first used (the trainer sees who never used UV).
    pub(crate) lights_viewed: Vec<String>,
}

/// A case shown, with its answer once given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) index: u32,
    pub(crate) truth: String,
    pub(crate) answer: Option<Answer>,
}

/// One case judged.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct CaseResult {
    pub(crate) index: u32,
    pub(crate) truth: String,
    pub(crate) verdict: Option<Verdict>,
    pub(crate) defect: Option<String>,
    pub(crate) decision_correct: bool,
    pub(crate) defect_correct: bool,
    pub(crate) seconds: Option<f64>,
    pub(crate) lights_viewed: Vec<String>,
}

/// Totals over a set of cases (one class, or all).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Tally {
    pub(crate) shown: u32,
    pub(crate) answered: u32,
    pub(crate) decision_correct: u32,
    pub(crate) defect_correct: u32,
    /// Mean time per answered case.
    pub(crate) mean_seconds: Option<f64>,
}

/// A class's tally.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ClassScore {
    pub(crate) class: String,
    pub(crate) label: String,
    #[serde(flatten)]
    pub(crate) tally: Tally,
}

/// The whole session scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Score {
    /// One row per class of the source, in its order, shown or not.
    pub(crate) classes: Vec<ClassScore>,
    pub(crate) overall: Tally,
    pub(crate) cases: Vec<CaseResult>,
}

/// Judges one case.
pub(crate) fn judge(outcome: &Outcome) -> CaseResult {
    let genuine = outcome.truth == GENUINE;
    let (decision_correct, defect_correct) = match &outcome.answer {
        None => (false, false),
        Some(a) => {
            let decision = (a.verdict == Verdict::Genuine) == genuine;
            let defect = decision && (genuine || a.defect.as_deref() == Some(outcome.truth.as_str()));
            (decision, defect)
        }
    };
    CaseResult {
        index: outcome.index,
        truth: outcome.truth.clone(),
        verdict: outcome.answer.as_ref().map(|a| a.verdict),
        defect: outcome.answer.as_ref().and_then(|a| a.defect.clone()),
        decision_correct,
        defect_correct,
        seconds: outcome.answer.as_ref().map(|a| a.millis as f64 / 1000.0),
        lights_viewed: outcome.answer.as_ref().map(|a| a.lights_viewed.clone()).unwrap_or_default(),
    }
}

fn tally<'a>(results: impl Iterator<Item = &'a CaseResult>) -> Tally {
    let mut t = Tally { shown: 0, answered: 0, decision_correct: 0, defect_correct: 0, mean_seconds: None };
    let mut seconds = 0.0;
    for r in results {
        t.shown += 1;
        t.decision_correct += u32::from(r.decision_correct);
        t.defect_correct += u32::from(r.defect_correct);
        if let Some(s) = r.seconds {
            t.answered += 1;
            seconds += s;
        }
    }
    t.mean_seconds = (t.answered > 0).then(|| seconds / f64::from(t.answered));
    t
}

/// Scores `outcomes` per class of `classes` (a truth outside `classes` gets a row of its own, labelled by name).
pub(crate) fn score(classes: &[ClassInfo], outcomes: &[Outcome]) -> Score {
    let cases: Vec<CaseResult> = outcomes.iter().map(judge).collect();
    let mut rows: Vec<ClassInfo> = classes.to_vec();
    for r in &cases {
        if !rows.iter().any(|c| c.name == r.truth) {
            rows.push(ClassInfo::new(&r.truth, &r.truth));
        }
    }
    let classes = rows
        .into_iter()
        .map(|c| {
            let tally = tally(cases.iter().filter(|r| r.truth == c.name));
            ClassScore { class: c.name, label: c.label, tally }
        })
        .collect();
    Score { classes, overall: tally(cases.iter()), cases }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<ClassInfo> {
        vec![ClassInfo::new(GENUINE, "Genuine"), ClassInfo::new("expired", "Expired"), ClassInfo::new("fantasy", "F")]
    }

    fn outcome(index: u32, truth: &str, answer: Option<(Verdict, Option<&str>, i64)>) -> Outcome {
        Outcome {
            index,
            truth: truth.to_owned(),
            answer: answer.map(|(verdict, defect, millis)| Answer {
                verdict,
                defect: defect.map(str::to_owned),
                millis,
                lights_viewed: vec!["white".to_owned()],
            }),
        }
    }

    #[test]
    fn decisions_and_defects_are_judged_against_the_truth() {
        let j = |truth, verdict, defect| judge(&outcome(0, truth, Some((verdict, defect, 1000))));
        let both = |r: CaseResult| (r.decision_correct, r.defect_correct);
        assert_eq!(both(j(GENUINE, Verdict::Genuine, None)), (true, true));
        assert_eq!(both(j(GENUINE, Verdict::Forged, Some("expired"))), (false, false));
        assert_eq!(both(j("expired", Verdict::Forged, Some("expired"))), (true, true));
        assert_eq!(both(j("expired", Verdict::Forged, Some("fantasy"))), (true, false));
        assert_eq!(both(j("expired", Verdict::Forged, None)), (true, false));
        assert_eq!(both(j("expired", Verdict::Genuine, None)), (false, false));
        assert_eq!(both(judge(&outcome(0, "expired", None))), (false, false));
    }

    #[test]
    fn a_session_is_tallied_per_class_and_overall() {
        let outcomes = vec![
            outcome(0, GENUINE, Some((Verdict::Genuine, None, 2000))),
            outcome(1, "expired", Some((Verdict::Forged, Some("expired"), 4000))),
            outcome(2, "expired", Some((Verdict::Forged, Some("fantasy"), 6000))),
            outcome(3, "expired", Some((Verdict::Genuine, None, 1000))),
            outcome(4, GENUINE, None),
            outcome(5, "stolen-blank", Some((Verdict::Forged, Some("stolen-blank"), 3000))),
        ];
        let s = score(&classes(), &outcomes);
        let names: Vec<&str> = s.classes.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(names, [GENUINE, "expired", "fantasy", "stolen-blank"]);
        let row = |n: &str| s.classes.iter().find(|c| c.class == n).unwrap().tally.clone();
        let t = |shown, answered, decision, defect, mean| Tally {
            shown,
            answered,
            decision_correct: decision,
            defect_correct: defect,
            mean_seconds: mean,
        };
        assert_eq!(row(GENUINE), t(2, 1, 1, 1, Some(2.0)));
        assert_eq!(row("expired"), t(3, 3, 2, 1, Some(11.0 / 3.0)));
        assert_eq!(row("fantasy"), t(0, 0, 0, 0, None));
        assert_eq!(row("stolen-blank"), t(1, 1, 1, 1, Some(3.0)));
        assert_eq!(s.overall, t(6, 5, 4, 3, Some(16.0 / 5.0)));
        assert_eq!(s.cases.len(), 6);
    }

    #[test]
    fn verdicts_round_trip_through_their_names() {
        for v in [Verdict::Genuine, Verdict::Forged] {
            assert_eq!(Verdict::from_name(v.name()), Some(v));
        }
        assert_eq!(Verdict::from_name("maybe"), None);
    }
}
