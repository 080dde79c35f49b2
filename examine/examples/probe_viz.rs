use khil_examine::*;
use khil_mrtd::mrz::CivilDate;
use khil_sim_docreader::*;
fn main() {
    let today = CivilDate::new(2026, 12, 6).unwrap();
    let cat = Catalogue::new(1, today, ParameterSpace::Development);
    for i in 0..400 {
        let s = cat.specimen(FraudClass::Genuine, i);
        let d = s.reader_data();
        let r = Examiner::default().examine(&d, &StopList::new(), today);
        if let Some(c) = r.check(CheckId::MrzVsViz) { if c.state == CheckState::Fail {
            println!("{i}: {} | {:?} | {:?}", c.note, s.page.mrz_lines, s.page.viz);
        }}
    }
}
