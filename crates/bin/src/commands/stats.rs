//! `kev stats`: top reasons, top objects, and events per hour.

use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use kev_core::store::summary::SummaryReport;
use kev_daemon::api::QueryParams;

use super::store_args::StoreArgs;

#[derive(Debug, Args)]
pub struct StatsArgs {
    #[command(flatten)]
    pub params: QueryParams,
    /// How many reasons and objects to list.
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub fn stats(mut args: StatsArgs) -> anyhow::Result<ExitCode> {
    if args.params.since.is_none() {
        args.params.since = Some("24h".into());
    }
    super::runtime()?.block_on(async {
        let access = args.store.open().await?;
        let mut params = args.params.clone();
        params.collapse = true;
        let report = access.summary(&params, args.top).await?;
        let mut out = std::io::stdout().lock();
        write_stats(
            &mut out,
            &report,
            args.params.since.as_deref().unwrap_or("24h"),
        )?;
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })
}

pub fn write_stats(
    out: &mut impl Write,
    report: &SummaryReport,
    since: &str,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{} events, {} occurrences, since {since}",
        report.events, report.occurrences
    )?;
    writeln!(out, "\nTOP REASONS")?;
    for r in &report.reasons {
        writeln!(out, "{:>8}  {:<8} {}", r.occurrences, r.r#type, r.reason)?;
    }
    writeln!(out, "\nTOP OBJECTS")?;
    for o in &report.objects {
        writeln!(out, "{:>8}  {}", o.occurrences, o.object)?;
    }
    writeln!(out, "\nEVENTS PER HOUR (last seen)")?;
    let max = report
        .hours
        .iter()
        .map(|h| h.events)
        .max()
        .unwrap_or(1)
        .max(1);
    for h in &report.hours {
        let bar = "#".repeat(((h.events * 40).div_ceil(max)) as usize);
        let label = h.hour.strftime("%Y-%m-%d %H:00");
        writeln!(out, "{label}  {:>6}  {bar}", h.events)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use kev_core::{Event, EventType, ObjectRef};

    use super::*;
    use kev_core::store::summary::Summary;

    #[test]
    fn weighs_by_count_and_buckets_by_hour() {
        let event = |uid: &str, reason: &str, count: u32, at: &str| Event {
            uid: uid.into(),
            namespace: "shop".into(),
            r#type: EventType::Warning,
            reason: reason.into(),
            count,
            regarding: ObjectRef {
                kind: "Pod".into(),
                name: "web-0".into(),
                ..Default::default()
            },
            last_seen: Some(at.parse().unwrap()),
            ..Default::default()
        };
        let events = [
            event("a", "BackOff", 30, "2026-11-23T10:15:00Z"),
            event("b", "FailedMount", 2, "2026-11-23T10:45:00Z"),
            event("c", "BackOff", 1, "2026-11-23T11:05:00Z"),
        ];
        let mut summary = Summary::default();
        for e in &events {
            summary.add(e);
        }
        let report = summary.report(10);
        let mut out = Vec::new();
        write_stats(&mut out, &report, "24h").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.starts_with("3 events, 33 occurrences, since 24h"),
            "{text}"
        );
        assert!(
            text.contains("      31  Warning  BackOff\n       2  Warning  FailedMount"),
            "{text}"
        );
        assert!(text.contains("      33  shop/pod/web-0"), "{text}");
        assert!(
            text.contains("2026-11-23 10:00       2  ########################################"),
            "{text}"
        );
        assert!(
            text.contains("2026-11-23 11:00       1  ####################"),
            "{text}"
        );
        let mut summary = Summary::default();
        for e in &events {
            summary.add(e);
        }
        let top = summary.report(1);
        assert_eq!((top.reasons.len(), top.reasons[0].occurrences), (1, 31));
        assert_eq!(top.hours.len(), 2, "hours are not cut to the top");
    }
}
