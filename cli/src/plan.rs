//! `khil plan gates`: how many gates a border point needs for a day of its traffic, by queueing simulation
//! (khil-clearance's `traffic`), against the sizing rule of the Frontex ABC guidelines (queue under 5 minutes for
//! 95 % of travellers). Transaction times come from a file of measured times (a scenario's) or from a stated
//! log-normal, whose default is an assumption and is printed as one.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand, ValueEnum};
use khil_clearance::traffic::{
    ArrivalProfile, Direction, GatePlan, Point, ServiceTimes, SizingRule, Surge, plan_gates,
};
use serde_json::json;

#[derive(Debug, Args)]
#[command(about = "Plan a border point: how many gates its traffic needs")]
pub(crate) struct PlanArgs {
    #[command(subcommand)]
    command: PlanCommand,
}

#[derive(Debug, Subcommand)]
enum PlanCommand {
    Gates(GatesArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum PointArg {
    Airport,
    ZamiinUud,
    Altanbulag,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DayArg {
    Ordinary,
    TsagaanSar,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DirectionArg {
    Entry,
    Exit,
    Both,
}

/// The fewest gates that keep the queue within the sizing rule over simulated days of a point's traffic.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  khil plan gates --point zamiin-uud\n  khil plan gates --point altanbulag \
    --day tsagaan-sar --direction both --service-median 14 --service-p90 25\n  khil plan gates --point airport \
    --share 0.6 --times measured-times.txt --json plan.json")]
struct GatesArgs {
    #[arg(long, value_enum)]
    point: PointArg,
    #[arg(long, value_enum, default_value = "ordinary")]
    day: DayArg,
    /// The gates serve travellers crossing this way (a bank of gates per direction is usual).
    #[arg(long, value_enum, default_value = "entry")]
    direction: DirectionArg,
    /// Share of those travellers who use the gates (the rest go to the desks).
    #[arg(long, default_value_t = 1.0)]
    share: f64,
    /// Measured transaction times, seconds: a JSON array of numbers, or one number per line.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["service_median", "service_p90"])]
    times: Option<PathBuf>,
    /// Median transaction time (seconds) of a log-normal [assumed default: 12].
    #[arg(long)]
    service_median: Option<f64>,
    /// 90th percentile of the transaction time (seconds) [assumed default: 20].
    #[arg(long)]
    service_p90: Option<f64>,
    /// The sizing rule's wait, seconds.
    #[arg(long, default_value_t = 300.0)]
    max_wait: f64,
    /// The sizing rule's share of travellers who must wait at most --max-wait.
    #[arg(long, default_value_t = 0.95)]
    within: f64,
    /// Simulated days, pooled.
    #[arg(long, default_value_t = 5)]
    days: u64,
    #[arg(long, default_value_t = 100)]
    max_gates: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Also write the plan as JSON.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

pub(crate) fn run(args: PlanArgs) -> ExitCode {
    let PlanCommand::Gates(args) = args.command;
    match gates(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("khil plan gates: {e}");
            ExitCode::from(2)
        }
    }
}

/// Prints the plan; `Ok(false)` when no gate count up to --max-gates meets the rule.
fn gates(args: &GatesArgs) -> Result<bool, String> {
    if !(0.0..=1.0).contains(&args.share) {
        return Err(format!("--share {}: expected a fraction between 0 and 1", args.share));
    }
    if !(args.within > 0.0 && args.within <= 1.0) {
        return Err(format!("--within {}: expected a fraction above 0, at most 1", args.within));
    }
    if !(args.max_wait.is_finite() && args.max_wait >= 0.0) {
        return Err(format!("--max-wait {}: expected seconds, 0 or more", args.max_wait));
    }
    let (service, service_text) = service(args)?;
    let point = match args.point {
        PointArg::Airport => Point::Airport,
        PointArg::ZamiinUud => Point::ZamiinUud,
        PointArg::Altanbulag => Point::Altanbulag,
    };
    let surge = match args.day {
        DayArg::Ordinary => Surge::None,
        DayArg::TsagaanSar => Surge::TsagaanSar,
    };
    let direction = match args.direction {
        DirectionArg::Entry => Some(Direction::Entry),
        DirectionArg::Exit => Some(Direction::Exit),
        DirectionArg::Both => None,
    };
    let profile = ArrivalProfile::of(point, surge);
    let rule = SizingRule { max_wait: args.max_wait, share: args.within };
    let plan = plan_gates(&profile, direction, args.share, &service, rule, args.days, args.max_gates, args.seed);

    println!(
        "{} ({}), {:.0} crossings a day at the point, {:.0} expected at these gates; {} simulated days",
        point.name(),
        match surge {
            Surge::None => "an ordinary day",
            Surge::TsagaanSar => "Tsagaan Sar",
        },
        profile.daily_crossings,
        profile.expected(direction) * args.share,
        args.days.max(1)
    );
    println!("traffic shape (assumed): {}", profile.assumptions);
    println!("transaction time: {service_text}");
    println!("rule: {:.0} % of travellers queue at most {:.0} s\n", args.within * 100.0, args.max_wait);
    println!(
        "{:>5} {:>10} {:>10} {:>10} {:>10} {:>10} {:>9} {:>6}",
        "gates", "within", "worst day", "p95 wait", "max wait", "max queue", "busy", "meets"
    );
    for row in &plan.rows {
        println!(
            "{:>5} {:>9.1}% {:>9.1}% {:>9.0}s {:>9.0}s {:>10} {:>8.0}% {:>6}",
            row.gates,
            row.share_within * 100.0,
            row.worst_day_share * 100.0,
            row.p95_wait,
            row.max_wait,
            row.max_queue,
            row.utilisation * 100.0,
            if row.meets { "yes" } else { "no" }
        );
    }
    match plan.needed {
        Some(n) => println!("\nneeded: {n} gate{}", if n == 1 { "" } else { "s" }),
        None => println!("\nneeded: more than {} gates (raise --max-gates, or shorten transactions)", args.max_gates),
    }
    if let Some(path) = &args.json {
        write(path, args, point, &plan, &service_text)?;
    }
    Ok(plan.needed.is_some())
}

fn service(args: &GatesArgs) -> Result<(ServiceTimes, String), String> {
    if let Some(path) = &args.times {
        let times = read_times(path)?;
        let service = ServiceTimes::Measured(times);
        let n = match &service {
            ServiceTimes::Measured(t) => t.len(),
            _ => 0,
        };
        let text = format!("{n} measured times from {} (mean {:.1} s)", path.display(), service.mean());
        return Ok((service, text));
    }
    let assumed = args.service_median.is_none() && args.service_p90.is_none();
    let median = args.service_median.unwrap_or(12.0);
    let p90 = args.service_p90.unwrap_or(20.0);
    if !(median > 0.0 && median.is_finite()) {
        return Err(format!("--service-median {median}: expected seconds above 0"));
    }
    if !(p90 >= median && p90.is_finite()) {
        return Err(format!("--service-p90 {p90}: expected seconds, at least the median ({median})"));
    }
    let service = ServiceTimes::LogNormal { median, p90 };
    let text = format!(
        "log-normal, median {median} s, 90th percentile {p90} s (mean {:.1} s){}",
        service.mean(),
        if assumed {
            " - ASSUMED (the best e-gates take 10-15 s; pass --times with measured transaction times)"
        } else {
            ""
        }
    );
    Ok((service, text))
}

/// Reads seconds from `path`: a JSON array of numbers, or one number per line (blank lines and `#` comments
/// allowed). Every value must be a finite number of seconds above zero.
fn read_times(path: &Path) -> Result<Vec<f64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--times {}: {e}", path.display()))?;
    let times: Vec<f64> = if text.trim_start().starts_with('[') {
        serde_json::from_str(&text)
            .map_err(|e| format!("--times {}: {e} (expected a JSON array of seconds)", path.display()))?
    } else {
        let mut out = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            out.push(line.parse::<f64>().map_err(|_| {
                format!("--times {} line {}: {line:?} is not a number of seconds", path.display(), i + 1)
            })?);
        }
        out
    };
    if let Some((i, bad)) = times.iter().enumerate().find(|(_, t)| !(t.is_finite() && **t > 0.0)) {
        return Err(format!("--times {}: value {} is {bad}: expected seconds above 0", path.display(), i + 1));
    }
    if times.is_empty() {
        return Err(format!("--times {}: no transaction times in it", path.display()));
    }
    Ok(times)
}

fn write(path: &Path, args: &GatesArgs, point: Point, plan: &GatePlan, service: &str) -> Result<(), String> {
    let rows: Vec<_> = plan
        .rows
        .iter()
        .map(|r| {
            json!({"gates": r.gates, "travellers": r.travellers, "share_within": r.share_within,
                "worst_day_share": r.worst_day_share, "p95_wait_s": r.p95_wait, "max_wait_s": r.max_wait,
                "max_queue": r.max_queue, "utilisation": r.utilisation, "meets": r.meets})
        })
        .collect();
    let value = json!({"point": point.name(), "share": args.share, "days": args.days, "seed": args.seed,
        "rule": {"max_wait_s": args.max_wait, "within": args.within}, "service": service,
        "needed": plan.needed, "rows": rows});
    crate::bench::write_json(path, &value)
}
