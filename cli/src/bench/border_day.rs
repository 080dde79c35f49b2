//! `khil bench border-day`: a day at a border point of many gates, every device simulated over its protocol, on
//! the paused clock: the wall time it takes, where the computing goes by device class, the flow's decision
//! compute per traveller and the modelled transaction times.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Args;
use khil_clearance::rules::Direction;
use khil_clearance::traffic::{self, ArrivalProfile};
use khil_scenario::run::{RunOptions, run_blocking};
use khil_scenario::{
    ArrivalSpec, DecisionWord, DeskSpec, Expectations, FingerReference, GateSpec, PointSpec, PopulationSpec, Scenario,
};
use khil_sim_docreader::{FraudClass, ParameterSpace};

use super::{round, write_json};

#[derive(Debug, Args)]
#[command(
    about = "A day at a border point of N gates with every device simulated: wall time, CPU share per device class, \
             decision compute, transaction times",
    after_help = "Example:\n  khil bench border-day --gates 16 --travellers 10000 --json day.json\n  \
                  khil bench border-day --gates 4 --travellers 200"
)]
pub(crate) struct BorderDayArgs {
    /// Gates at the point.
    #[arg(long, default_value_t = 16)]
    gates: usize,
    /// About this many travellers over the day (Poisson: the count varies a little).
    #[arg(long, default_value_t = 10_000)]
    travellers: usize,
    /// Whose day of traffic (its shape: waves of buses and trains, a stream of cars).
    #[arg(long, default_value = "zamiin-uud")]
    point: String,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// People on the point's watchlist besides the day's listed travellers (an assumed size: a point's list holds
    /// thousands; from 1,000 it is searched through the 1:N index, below by brute force).
    #[arg(long, default_value_t = 10_000)]
    watchlist: usize,
    /// Keep the point's record store here (default: a temporary folder, removed afterwards).
    #[arg(long)]
    out: Option<PathBuf>,
    #[arg(long)]
    json: Option<PathBuf>,
}

pub(crate) fn run(args: &BorderDayArgs) -> Result<(), String> {
    let profile_point = traffic::Point::from_name(&args.point)
        .ok_or_else(|| format!("--point {:?}: expected zamiin-uud, airport or altanbulag", args.point))?;
    if args.gates == 0 || args.travellers == 0 {
        return Err("--gates and --travellers: expected at least 1".into());
    }
    let expected = ArrivalProfile::of(profile_point, traffic::Surge::None).expected(Some(traffic::Direction::Exit));
    let rules_dir = tempdir("khil-border-day-rules")?;
    let rules = rules_dir.join("mongolia.toml");
    std::fs::write(&rules, crate::scenario::SHIPPED_RULES).map_err(|e| format!("{}: {e}", rules.display()))?;
    let scenario = day_scenario(args, profile_point, rules, args.travellers as f64 / expected);
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => rules_dir.join("run"),
    };
    let today = crate::scenario::today()?;
    let bar = crate::scenario::bar(args.travellers);
    let options = RunOptions { out, today, progress: Some(bar.callback()), central: None };
    let started = Instant::now();
    khil_sim_host::account::start();
    let ran = run_blocking(&scenario, &options);
    let shares = khil_sim_host::account::stop();
    let wall = started.elapsed();
    bar.finish();
    let _ = std::fs::remove_dir_all(&rules_dir);
    let (result, timing) = ran.map_err(|e| e.to_string())?;

    let n = result.travellers.len();
    let counted: Duration = shares.values().sum();
    println!("border day: {} gates, {n} travellers ({} leaving {}), seed {}", args.gates, n, args.point, args.seed);
    println!(
        "wall {:.1} s on this machine (target < 60 s), {:.1} ms per traveller; {:.1} s of it counted by class:",
        wall.as_secs_f64(),
        wall.as_secs_f64() * 1000.0 / n.max(1) as f64,
        counted.as_secs_f64()
    );
    let mut by_class: Vec<(&str, Duration)> = shares.iter().map(|(k, v)| (*k, *v)).collect();
    by_class.sort_by_key(|(_, d)| std::cmp::Reverse(*d));
    for (class, d) in &by_class {
        println!("  {:<22} {:>8.1} s  {:>5.1} %", class, d.as_secs_f64(), 100.0 * d.as_secs_f64() / wall.as_secs_f64());
    }
    let mut compute = timing.decision_cpu_ms.clone();
    compute.sort_by(f64::total_cmp);
    let q = |v: &[f64], p: f64| traffic::quantile(v, p);
    println!(
        "decision compute per traveller (extraction, matching, examination, rules, record; wall on the runtime \
         thread): p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms (target p99 < 50 ms)",
        q(&compute, 0.5),
        q(&compute, 0.95),
        q(&compute, 0.99)
    );
    let mut released: Vec<f64> = result
        .travellers
        .iter()
        .filter(|t| t.decision == DecisionWord::Release)
        .filter_map(|t| t.transaction)
        .collect();
    released.sort_by(f64::total_cmp);
    println!(
        "modelled transaction time of released travellers: p10 {:.1} s, p50 {:.1} s, p90 {:.1} s, max {:.1} s",
        q(&released, 0.1),
        q(&released, 0.5),
        q(&released, 0.9),
        released.last().copied().unwrap_or(f64::NAN)
    );
    let mut waits: Vec<f64> = result.travellers.iter().filter(|t| t.started.is_some()).map(|t| t.waited).collect();
    waits.sort_by(f64::total_cmp);
    let count = |d: DecisionWord| result.travellers.iter().filter(|t| t.decision == d).count();
    println!(
        "released {}, referred {}, not processed {}; queue p95 {:.1} min; records {} (verify: {})",
        count(DecisionWord::Release),
        count(DecisionWord::Refer),
        count(DecisionWord::NotProcessed),
        q(&waits, 0.95) / 60.0,
        result.records.committed,
        result.records.verify_detail
    );
    if let Some(path) = &args.json {
        let json = serde_json::json!({
            "gates": args.gates,
            "travellers": n,
            "point": args.point,
            "seed": args.seed,
            "wall_s": round(wall.as_secs_f64(), 2),
            "ms_per_traveller": round(wall.as_secs_f64() * 1000.0 / n.max(1) as f64, 2),
            "cpu_by_class_s": by_class.iter().map(|(k, v)| ((*k).to_owned(), serde_json::json!(round(v.as_secs_f64(), 3)))).collect::<serde_json::Map<_, _>>(),
            "decision_compute_ms": { "p50": round(q(&compute, 0.5), 2), "p95": round(q(&compute, 0.95), 2), "p99": round(q(&compute, 0.99), 2) },
            "transaction_s": { "p10": round(q(&released, 0.1), 2), "p50": round(q(&released, 0.5), 2), "p90": round(q(&released, 0.9), 2) },
            "released": count(DecisionWord::Release),
            "referred": count(DecisionWord::Refer),
            "not_processed": count(DecisionWord::NotProcessed),
            "queue_p95_min": round(q(&waits, 0.95) / 60.0, 2),
        });
        write_json(path, &json)?;
    }
    Ok(())
}

/// A busy day at the point: `share` of its traffic leaving (above 1: that many average days' worth), 16 gates by
/// default, an assumed fraud and watchlist mix.
fn day_scenario(args: &BorderDayArgs, profile_point: traffic::Point, rules: PathBuf, share: f64) -> Scenario {
    Scenario {
        name: "border-day".into(),
        description: format!(
            "{} gates, about {} travellers leaving through {}",
            args.gates, args.travellers, args.point
        ),
        file: "(khil bench border-day)".into(),
        seed: args.seed,
        rules,
        point: PointSpec {
            name: args.point.clone(),
            direction: Direction::Exit,
            upload_every_minutes: 5.0,
            finger_reference: FingerReference::Dg3,
        },
        gates: (1..=args.gates).map(|i| GateSpec { name: format!("gate-{i:02}"), ..GateSpec::default() }).collect(),
        desk: DeskSpec { officers: 4, median_minutes: 4.0, p90_minutes: 10.0 },
        arrivals: ArrivalSpec {
            profile: profile_point,
            surge: traffic::Surge::None,
            share,
            from: 0.0,
            until: 30.0 * 3600.0,
            limit: None,
        },
        population: PopulationSpec {
            finger_quality: "mixed".into(),
            // An assumed mix: 1 % forgeries across the classes, 0.2 % watchlist hits, 0.5 % impostors.
            fraud: FraudClass::ALL.into_iter().filter(|c| *c != FraudClass::Genuine).map(|c| (c, 0.01 / 9.0)).collect(),
            fraud_space: ParameterSpace::Development,
            watchlist: vec![("wanted".into(), 0.001), ("trafficking-suspect".into(), 0.001)],
            watchlist_others: args.watchlist,
            impostors: 0.005,
            foreigners: 0.0,
            first_entry: 0.0,
            visa_required: 0.0,
        },
        crafted: Vec::new(),
        incidents: Vec::new(),
        expect: Expectations::default(),
    }
}

/// A fresh folder under the system's temporary one.
fn tempdir(prefix: &str) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    Ok(dir)
}
