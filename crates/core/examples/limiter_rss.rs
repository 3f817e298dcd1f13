//! Offers many distinct keys to a rate limiter of bounded capacity and prints the
//! process's memory (VmRSS, VmHWM from /proc/self/status) as it goes, to show that
//! memory is bounded by the capacity, not by the number of keys seen.
//!
//! ```text
//! cargo run --release -p kev-core --example limiter_rss -- [KEYS] [CAPACITY]
//! ```
//! Defaults: 1,000,000 keys, capacity 100,000.

use std::error::Error;
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Duration;

use kev_core::{
    Event, EventType, ManualClock, ObjectRef, RateLimitConfig, RateLimiter, TokenBucketLimiter,
};

/// (VmRSS, VmHWM) in KiB, from /proc/self/status (Linux).
fn memory_kib() -> Result<(u64, u64), Box<dyn Error>> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let field = |name: &str| -> Result<u64, Box<dyn Error>> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .ok_or_else(|| format!("{name} missing from /proc/self/status"))?;
        let kib = line[name.len()..].trim().trim_end_matches("kB").trim();
        Ok(kib.parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

fn arg(n: usize, default: usize) -> Result<usize, Box<dyn Error>> {
    match std::env::args().nth(n) {
        Some(a) => Ok(a
            .replace('_', "")
            .parse()
            .map_err(|e| format!("argument {n} {a:?}: {e}"))?),
        None => Ok(default),
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let keys = arg(1, 1_000_000)?;
    let capacity = arg(2, 100_000)?;
    let config = RateLimitConfig {
        per_minute: 10.0,
        burst: 5,
        cooldown: Some(Duration::from_secs(300)),
        max_keys: capacity,
        ..Default::default()
    };
    let clock = Arc::new(ManualClock::new());
    // One event, renamed in place for each key, so the loop allocates nothing per key
    // and what grows is the limiter alone.
    let mut event = Event {
        cluster: "prod-eu-1".into(),
        namespace: "team-a".into(),
        r#type: EventType::Warning,
        reason: "BackOff".into(),
        regarding: ObjectRef {
            kind: "Pod".into(),
            namespace: "team-a".into(),
            name: String::with_capacity(32),
            ..Default::default()
        },
        ..Default::default()
    };
    let (rss0, _) = memory_kib()?;
    let mut limiter = TokenBucketLimiter::new(&config, "rss", clock.clone())?;
    println!("limiter capacity {capacity}, offering {keys} distinct keys");
    println!(
        "{:>10} {:>10} {:>10} {:>12} {:>10} {:>10}",
        "offered", "tracked", "evicted", "allowed", "VmRSS KiB", "VmHWM KiB"
    );
    let report =
        |offered: usize, allowed: u64, l: &TokenBucketLimiter| -> Result<(), Box<dyn Error>> {
            let (rss, hwm) = memory_kib()?;
            println!(
                "{offered:>10} {:>10} {:>10} {allowed:>12} {rss:>10} {hwm:>10}",
                l.tracked_keys(),
                l.evictions()
            );
            Ok(())
        };
    report(0, 0, &limiter)?;
    let checkpoints = [capacity / 2, capacity, 2 * capacity, 5 * capacity, keys];
    let mut allowed = 0u64;
    for i in 0..keys {
        event.regarding.name.clear();
        write!(event.regarding.name, "web-{i}")?;
        clock.advance(Duration::from_micros(10));
        if limiter.decide(&event) == kev_core::Decision::Allow {
            allowed += 1;
        }
        if checkpoints.contains(&(i + 1)) {
            report(i + 1, allowed, &limiter)?;
        }
    }
    let (rss, hwm) = memory_kib()?;
    println!(
        "limiter growth: {} KiB RSS ({} bytes per tracked key), peak {} KiB above the start",
        rss.saturating_sub(rss0),
        rss.saturating_sub(rss0) * 1024 / limiter.tracked_keys().max(1) as u64,
        hwm.saturating_sub(rss0)
    );
    Ok(())
}
