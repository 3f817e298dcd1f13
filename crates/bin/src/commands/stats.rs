//! `kev stats`: top reasons, top objects, and events per hour.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::process::ExitCode;

use clap::Args;
use kev_core::StoredEvent;

use super::store_args::StoreArgs;
use crate::query::QueryParams;

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
        let events = access.query(&params).await?;
        let mut out = std::io::stdout().lock();
        write_stats(
            &mut out,
            &events,
            args.top,
            args.params.since.as_deref().unwrap_or("24h"),
        )?;
        out.flush()?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Occurrences are counted with each event's `count` (its latest version), so an event
/// that repeated 300 times weighs 300.
pub fn write_stats(
    out: &mut impl Write,
    events: &[StoredEvent],
    top: usize,
    since: &str,
) -> std::io::Result<()> {
    let occurrences: u64 = events.iter().map(|e| u64::from(e.event.count.max(1))).sum();
    writeln!(
        out,
        "{} events, {occurrences} occurrences, since {since}",
        events.len()
    )?;

    let mut reasons: HashMap<(String, String), u64> = HashMap::new();
    let mut objects: HashMap<String, u64> = HashMap::new();
    let mut hours: BTreeMap<jiff::Timestamp, u64> = BTreeMap::new();
    for s in events {
        let e = &s.event;
        let n = u64::from(e.count.max(1));
        *reasons
            .entry((e.r#type.to_string(), e.reason.clone()))
            .or_default() += n;
        let object = match e.namespace.as_str() {
            "" => e.regarding.kind_name(),
            ns => format!("{ns}/{}", e.regarding.kind_name()),
        };
        *objects.entry(object).or_default() += n;
        if let Some(t) = e.time() {
            let hour = jiff::Timestamp::from_second(t.as_second() - t.as_second().rem_euclid(3600))
                .unwrap_or(t);
            *hours.entry(hour).or_default() += 1;
        }
    }

    writeln!(out, "\nTOP REASONS")?;
    for ((kind, reason), n) in sorted(reasons).into_iter().take(top) {
        writeln!(out, "{n:>8}  {kind:<8} {reason}")?;
    }
    writeln!(out, "\nTOP OBJECTS")?;
    for (object, n) in sorted(objects).into_iter().take(top) {
        writeln!(out, "{n:>8}  {object}")?;
    }
    writeln!(out, "\nEVENTS PER HOUR (last seen)")?;
    let max = hours.values().copied().max().unwrap_or(1).max(1);
    for (hour, n) in hours {
        let bar = "#".repeat(((n * 40).div_ceil(max)) as usize);
        let label = hour.strftime("%Y-%m-%d %H:00");
        writeln!(out, "{label}  {n:>6}  {bar}")?;
    }
    Ok(())
}

fn sorted<K: Ord>(counts: HashMap<K, u64>) -> Vec<(K, u64)> {
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

#[cfg(test)]
mod tests {
    use kev_core::{Event, EventType, ObjectRef};

    use super::*;

    #[test]
    fn weighs_by_count_and_buckets_by_hour() {
        let event = |uid: &str, reason: &str, count: u32, at: &str| StoredEvent {
            seq: 1,
            event: Event {
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
            },
        };
        let events = [
            event("a", "BackOff", 30, "2026-11-23T10:15:00Z"),
            event("b", "FailedMount", 2, "2026-11-23T10:45:00Z"),
            event("c", "BackOff", 1, "2026-11-23T11:05:00Z"),
        ];
        let mut out = Vec::new();
        write_stats(&mut out, &events, 10, "24h").unwrap();
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
    }
}
