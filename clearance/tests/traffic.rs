//! The border point's traffic model: the queue against queueing theory, the day's arrivals against their
//! sourced totals, and the gate plan's answer against its own rows.

use khil_clearance::traffic::arrivals::poisson_arrivals;
use khil_clearance::traffic::{
    ArrivalProfile, Direction, Point, ServiceTimes, SizingRule, Surge, plan_gates, quantile, simulate,
};

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// M/M/1: mean queueing time rho / (mu - lambda).
#[test]
fn one_gate_with_poisson_arrivals_and_exponential_service_queues_as_m_m_1_does() {
    let (rate, service) = (1.0 / 20.0, 15.0);
    let arrivals = poisson_arrivals(rate, 8.0e6, 1);
    let run = simulate(&arrivals, 1, &ServiceTimes::Exponential { mean: service }, 2);
    let rho = rate * service;
    let expected = rho / (1.0 / service - rate);
    let got = mean(&run.waits());
    assert!((got - expected).abs() / expected < 0.05, "mean wait {got:.1} s, M/M/1 says {expected:.1} s");
    assert!((run.utilisation() - rho).abs() < 0.01, "utilisation {:.3}, rho {rho}", run.utilisation());
}

/// M/M/c: mean queueing time C(c, a) / (c mu - lambda), C the Erlang C probability of waiting.
#[test]
fn three_gates_queue_as_erlang_c_says() {
    let (c, service) = (3usize, 12.0);
    let rate = 0.8 * c as f64 / service;
    let a = rate * service;
    let sum: f64 = (0..c).map(|k| a.powi(k as i32) / factorial(k)).sum();
    let last = a.powi(c as i32) / factorial(c) * c as f64 / (c as f64 - a);
    let erlang_c = last / (sum + last);
    let expected = erlang_c / (c as f64 / service - rate);
    let arrivals = poisson_arrivals(rate, 2.0e6, 3);
    let run = simulate(&arrivals, c, &ServiceTimes::Exponential { mean: service }, 4);
    let waits = run.waits();
    let got = mean(&waits);
    assert!((got - expected).abs() / expected < 0.05, "mean wait {got:.2} s, Erlang C says {expected:.2} s");
    let waited = waits.iter().filter(|&&w| w > 0.0).count() as f64 / waits.len() as f64;
    assert!((waited - erlang_c).abs() < 0.02, "{waited:.3} waited, Erlang C says {erlang_c:.3}");
}

fn factorial(n: usize) -> f64 {
    (1..=n).map(|k| k as f64).product()
}

#[test]
fn waits_and_the_longest_queue_of_a_small_day_are_exact() {
    let run = simulate(&[0.0, 1.0, 2.0, 40.0], 1, &ServiceTimes::Measured(vec![10.0]), 0);
    assert_eq!(run.waits(), vec![0.0, 9.0, 18.0, 0.0]);
    assert_eq!(run.max_queue(), 2, "travellers 1 and 2 queue together");
    assert!((run.share_within(9.0) - 0.75).abs() < 1e-12, "three of four waited at most 9 s");
    let two = simulate(&[0.0, 1.0, 2.0, 40.0], 2, &ServiceTimes::Measured(vec![10.0]), 0);
    assert_eq!(two.waits(), vec![0.0, 0.0, 8.0, 0.0]);
    assert_eq!(two.max_queue(), 1);
}

#[test]
fn a_log_normal_service_has_the_median_and_90th_percentile_it_was_given() {
    let arrivals: Vec<f64> = (0..40_000).map(|i| f64::from(i) * 1000.0).collect();
    let run = simulate(&arrivals, 1, &ServiceTimes::LogNormal { median: 12.0, p90: 20.0 }, 5);
    let times: Vec<f64> = run.starts.iter().zip(&run.ends).map(|(s, e)| e - s).collect();
    assert!((quantile(&times, 0.5) - 12.0).abs() < 0.3, "median {}", quantile(&times, 0.5));
    assert!((quantile(&times, 0.9) - 20.0).abs() < 0.6, "p90 {}", quantile(&times, 0.9));
    let m = ServiceTimes::LogNormal { median: 12.0, p90: 20.0 }.mean();
    assert!((mean(&times) - m).abs() / m < 0.02, "mean {} vs closed form {m}", mean(&times));
}

#[test]
fn each_point_s_day_adds_up_to_its_sourced_total() {
    for (point, daily) in [(Point::Airport, 6300.0), (Point::ZamiinUud, 8000.0), (Point::Altanbulag, 1800.0)] {
        let profile = ArrivalProfile::of(point, Surge::None);
        assert!((profile.expected(None) - daily).abs() < 1.0, "{}: {}", point.name(), profile.expected(None));
        assert!((profile.expected(Some(Direction::Entry)) - daily / 2.0).abs() < 1.0);
        let days: Vec<usize> = (0..20).map(|seed| profile.day(None, 1.0, seed).len()).collect();
        let average = days.iter().sum::<usize>() as f64 / days.len() as f64;
        // Poisson counts: the average of 20 days lies within a few standard errors of the total.
        assert!((average - daily).abs() < 4.0 * (daily / 20.0).sqrt() + 1.0, "{}: {average}", point.name());
        let half = profile.day(Some(Direction::Exit), 0.5, 7).len() as f64;
        assert!((half - daily / 4.0).abs() < 5.0 * (daily / 4.0).sqrt(), "{}: exit half {half}", point.name());
    }
    let surge = ArrivalProfile::of(Point::Altanbulag, Surge::TsagaanSar);
    assert!(surge.expected(None) > 1.5 * 1800.0, "Tsagaan Sar is a surge at Altanbulag");
}

#[test]
fn a_day_is_sorted_inside_the_day_and_seeded() {
    let profile = ArrivalProfile::of(Point::ZamiinUud, Surge::None);
    let day = profile.day(None, 1.0, 11);
    assert!(day.windows(2).all(|w| w[0] <= w[1]));
    assert!(day.iter().all(|&t| (6.0 * 3600.0..24.0 * 3600.0).contains(&t)), "the road opens at 08:00");
    assert_eq!(day, profile.day(None, 1.0, 11));
    assert_ne!(day, profile.day(None, 1.0, 12));
    // Trains come in waves: the ten minutes after 14:05 see several times the road's average rate.
    let wave = day.iter().filter(|&&t| (14.0 * 3600.0 + 300.0..14.0 * 3600.0 + 900.0).contains(&t)).count();
    let quiet = day.iter().filter(|&&t| (16.0 * 3600.0..16.0 * 3600.0 + 600.0).contains(&t)).count();
    assert!(wave > 3 * quiet, "train wave {wave} vs a quiet ten minutes {quiet}");
}

#[test]
fn the_plan_names_the_fewest_gates_that_meet_the_rule_and_more_gates_never_wait_longer() {
    let profile = ArrivalProfile::of(Point::Airport, Surge::None);
    let service = ServiceTimes::LogNormal { median: 12.0, p90: 18.0 };
    let plan = plan_gates(&profile, Some(Direction::Entry), 1.0, &service, SizingRule::default(), 2, 60, 1);
    let needed = plan.needed.expect("an airport day can be served by at most 60 gates");
    for row in &plan.rows {
        assert_eq!(row.meets, row.share_within >= 0.95, "gates {}", row.gates);
        assert_eq!(row.meets, row.gates >= needed, "gates {}: the first that meets is {needed}", row.gates);
    }
    assert!(plan.rows.windows(2).all(|w| w[1].p95_wait <= w[0].p95_wait + 1e-9), "{:?}", plan.rows);
    assert_eq!(plan.rows.last().map(|r| r.gates), Some(needed + 1), "one row past the answer, for the margin");
    // Harder targets need at least as many gates.
    let strict = SizingRule { max_wait: 60.0, share: 0.99 };
    let more = plan_gates(&profile, Some(Direction::Entry), 1.0, &service, strict, 2, 60, 1);
    assert!(more.needed.expect("60 gates suffice") >= needed);
}

#[test]
fn nobody_to_serve_needs_one_gate_and_an_endless_transaction_needs_more_than_any() {
    let profile = ArrivalProfile::of(Point::Altanbulag, Surge::None);
    let service = ServiceTimes::Measured(vec![12.0]);
    let plan = plan_gates(&profile, None, 0.0, &service, SizingRule::default(), 1, 10, 1);
    assert_eq!(plan.needed, Some(1));
    let endless = ServiceTimes::Measured(vec![1.0e9]);
    let plan = plan_gates(&profile, None, 1.0, &endless, SizingRule::default(), 1, 5, 1);
    assert_eq!(plan.needed, None);
    assert_eq!(plan.rows.len(), 5);
}
