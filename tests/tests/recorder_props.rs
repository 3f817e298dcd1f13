//! Property: whatever controllers publish, the API objects created stay within the
//! bound the spam filter's parameters give, and the counts on the server add up to the
//! events the recorder allowed.

mod recorder_support;

use std::collections::HashSet;
use std::time::Duration;

use kev_core::EventType;
use kev_recorder::{EventRecorder, RecorderConfig};
use proptest::prelude::*;
use recorder_support::{env, live_events, occurrences, pod};

const BURST: u32 = 3;
const REFILL_SECS: u64 = 300;

#[derive(Debug, Clone)]
struct Publish {
    object: u8,
    warning: bool,
    reason: u8,
    note: u8,
    advance_secs: u64,
}

fn publish() -> impl Strategy<Value = Publish> {
    (
        0u8..4,
        any::<bool>(),
        0u8..3,
        0u8..3,
        prop_oneof![Just(0u64), 0u64..30, 0u64..700],
    )
        .prop_map(|(object, warning, reason, note, advance_secs)| Publish {
            object,
            warning,
            reason,
            note,
            advance_secs,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn objects_created_stay_within_the_spam_filter_bound(ops in prop::collection::vec(publish(), 1..120)) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let config = RecorderConfig { spam_burst: BURST, ..RecorderConfig::default() };
            let e = env(config, false).await;
            let reasons = ["Failed", "BackOff", "Unhealthy"];
            let mut keys = HashSet::new();
            let mut elapsed = 0u64;
            let mut accepted = 0u64;
            for op in &ops {
                e.clock.advance(Duration::from_secs(op.advance_secs));
                elapsed += op.advance_secs;
                let ty = if op.warning { EventType::Warning } else { EventType::Normal };
                keys.insert((op.object, op.warning));
                let p = e.recorder.publish(
                    &pod(&format!("p-{}", op.object)),
                    ty,
                    reasons[usize::from(op.reason)],
                    &format!("note {}", op.note),
                    "Reconcile",
                );
                accepted += u64::from(p.is_accepted());
            }
            e.recorder.flush().await;
            let created = e.server.live().len() as u64;
            // Each (source, object, type) key passes at most its burst plus one per
            // refill interval of the elapsed time.
            let bound = keys.len() as u64 * (u64::from(BURST) + elapsed / REFILL_SECS);
            prop_assert!(accepted <= bound, "accepted {} > bound {}", accepted, bound);
            prop_assert!(created <= accepted, "created {} > accepted {}", created, accepted);
            prop_assert_eq!(e.recorder.stats().creates, created);
            // Let every series finish: the server's counts add up to what was allowed.
            e.clock.advance(Duration::from_secs(7 * 60));
            e.recorder.flush().await;
            let total: u64 = live_events(&e.server).iter().map(occurrences).sum();
            prop_assert_eq!(total, accepted);
            Ok(())
        })?;
    }
}
