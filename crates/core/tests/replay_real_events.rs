//! Every real Event in `tests/fixtures/real-events` replays and normalizes: counts
//! per file match SOURCES.md, the events.k8s.io/v1 twins equal their core/v1
//! originals, and eventTime-only events take their times from eventTime.

#![allow(clippy::unwrap_used, clippy::expect_used)] // helpers outside #[test] fns may unwrap too: a panic is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use kev_core::{
    DefaultNormalizer, Event, EventSource, KubeEvent, NormalizeConfig, Normalizer, RawEvent,
    ReplaySource, SourceItem,
};

/// The fixture folder: the repository's copy (`tests/fixtures/real-events`), or
/// `$KEV_REAL_EVENTS_DIR` to try another corpus laid out the same way.
fn fixtures_dir() -> PathBuf {
    let dir = std::env::var_os("KEV_REAL_EVENTS_DIR").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/real-events"),
        PathBuf::from,
    );
    assert!(
        dir.join("SOURCES.md").is_file(),
        "{} holds no SOURCES.md: not a real-event fixture folder",
        dir.display()
    );
    dir
}

/// File name → event count, from the table in SOURCES.md.
fn expected_counts(dir: &Path) -> BTreeMap<String, usize> {
    let text = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    let mut counts = BTreeMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | `file` | repo | path | commit | license | events | notes |
        if cells.len() < 8 || !cells[1].starts_with('`') {
            continue;
        }
        let file = cells[1].trim_matches('`').to_owned();
        let events: usize = cells[6].parse().unwrap();
        counts.insert(file, events);
    }
    counts
}

async fn replay(path: &Path) -> (Vec<KubeEvent>, kev_core::source::replay::ReplayStats) {
    let mut source = ReplaySource::open(path.to_str().unwrap()).unwrap();
    source.start(None).await.unwrap();
    let mut raws = Vec::new();
    while let Some(item) = source.next().await {
        match item.unwrap() {
            SourceItem::Event {
                raw: RawEvent::Kube(raw),
                ..
            } => raws.push(*raw),
            SourceItem::Event { raw, location, .. } => {
                panic!("{location}: expected a Kubernetes Event, got {raw:?}")
            }
            SourceItem::Progress(_) => {}
        }
    }
    (raws, source.stats())
}

fn normalizer() -> DefaultNormalizer {
    DefaultNormalizer::new(&NormalizeConfig::default()).unwrap()
}

#[tokio::test]
async fn all_real_events_replay_and_normalize() {
    let dir = fixtures_dir();
    let expected = expected_counts(&dir);
    assert_eq!(expected.len(), 22, "SOURCES.md lists 22 files");
    assert_eq!(expected.values().sum::<usize>(), 739);
    let n = normalizer();
    let mut total = 0;
    for (file, want) in &expected {
        let (raws, stats) = replay(&dir.join(file)).await;
        assert_eq!(stats.errors, 0, "{file}: {:?}", stats.issues);
        assert_eq!(raws.len(), *want, "{file}: event count");
        for raw in raws {
            let name = raw.metadata.name.clone();
            let event = n
                .normalize(raw)
                .unwrap_or_else(|e| panic!("{file}: {name:?}: {e}"));
            assert!(!event.uid.is_empty() && !event.resource_version.is_empty());
            assert!(event.count >= 1);
            assert!(event.last_seen.is_some(), "{file}: {name:?} has no time");
            assert!(event.first_seen <= event.last_seen);
            total += 1;
        }
    }
    assert_eq!(total, 739);
}

async fn normalized_by_uid(path: &Path) -> BTreeMap<String, Event> {
    let n = normalizer();
    let (raws, _) = replay(path).await;
    raws.into_iter()
        .map(|raw| {
            let e = n.normalize(raw).unwrap();
            (e.uid.clone(), e)
        })
        .collect()
}

#[tokio::test]
async fn events_k8s_io_twins_equal_their_core_v1_originals() {
    let dir = fixtures_dir();
    for stem in [
        "rancher-support-bundle-kit-default",
        "rancher-support-bundle-kit-harvester-system",
    ] {
        let core = normalized_by_uid(&dir.join(format!("{stem}-core-v1.yaml"))).await;
        let events = normalized_by_uid(&dir.join(format!("{stem}-events-k8s-io-v1.yaml"))).await;
        assert!(!core.is_empty());
        assert_eq!(
            core.keys().collect::<Vec<_>>(),
            events.keys().collect::<Vec<_>>()
        );
        for (uid, c) in &core {
            assert_eq!(c, &events[uid], "{stem}: twin {uid} differs");
        }
    }
}

#[tokio::test]
async fn event_time_only_events_take_their_times_from_event_time() {
    let dir = fixtures_dir();
    let n = normalizer();
    let absent = |v: &Option<String>| v.as_deref().is_none_or(|s| s.is_empty() || s == "null");
    let mut checked = 0;
    for file in expected_counts(&dir).keys() {
        let (raws, _) = replay(&dir.join(file)).await;
        for raw in raws {
            let only_event_time = absent(&raw.first_timestamp)
                && absent(&raw.last_timestamp)
                && absent(&raw.deprecated_first_timestamp)
                && absent(&raw.deprecated_last_timestamp)
                && raw.series.is_none()
                && !absent(&raw.event_time);
            if !only_event_time {
                continue;
            }
            let want: jiff::Timestamp = raw.event_time.as_deref().unwrap().parse().unwrap();
            let e = n.normalize(raw).unwrap();
            assert_eq!(e.first_seen, Some(want), "{file}: {}", e.name);
            assert_eq!(e.last_seen, Some(want), "{file}: {}", e.name);
            checked += 1;
        }
    }
    assert!(
        checked >= 10,
        "expected many eventTime-only events, found {checked}"
    );
}

#[tokio::test]
async fn the_one_series_event_counts_its_series() {
    let dir = fixtures_dir();
    let path = dir.join("replicatedhq-troubleshoot-analyze-image-pull-fail.json");
    let n = normalizer();
    let (raws, _) = replay(&path).await;
    let with_series: Vec<Event> = raws
        .into_iter()
        .filter(|r| r.series.is_some())
        .map(|r| n.normalize(r).unwrap())
        .collect();
    assert_eq!(with_series.len(), 1);
    let e = &with_series[0];
    assert_eq!(e.count, 3);
    assert!(e.first_seen < e.last_seen, "{e:?}");
}
