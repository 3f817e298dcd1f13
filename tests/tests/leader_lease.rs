//! kev-kube-source's `LeaderElector` against the fake API server's Leases: one winner
//! among racing candidates, takeover only after the Lease stopped changing for its
//! duration, immediate takeover after a release, and a leader that loses the Lease when
//! it cannot renew within the renew deadline or sees another holder.
#![allow(clippy::unwrap_used)] // helpers of a test file, like its tests

use std::time::Duration;

use kev_daemon::leader::{HoldEnd, LeaderElector, LeaseConfig};
use kev_tests::fake_api::FakeApiServer;
use serde_json::Value;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Short settings so takeovers happen within about a second.
fn config(identity: &str) -> LeaseConfig {
    LeaseConfig {
        lease_duration: Duration::from_millis(1000),
        renew_deadline: Duration::from_millis(600),
        retry_period: Duration::from_millis(100),
        ..LeaseConfig::new("kev", "kev", identity)
    }
}

fn holder(server: &FakeApiServer) -> Value {
    server.lease("kev", "kev").unwrap()["spec"]["holderIdentity"].clone()
}

#[tokio::test]
async fn of_two_candidates_racing_for_a_free_lease_exactly_one_wins() {
    let server = FakeApiServer::start().await.unwrap();
    for round in 0..5 {
        let name = format!("race-{round}");
        let mut a = LeaderElector::new(
            server.client(),
            LeaseConfig {
                lease_name: name.clone(),
                ..config("a")
            },
        );
        let mut b = LeaderElector::new(
            server.client(),
            LeaseConfig {
                lease_name: name.clone(),
                ..config("b")
            },
        );
        let (ra, rb) = tokio::join!(a.try_acquire_or_renew(), b.try_acquire_or_renew());
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        assert!(ra ^ rb, "round {round}: a={ra} b={rb}");
        let stored = server.lease("kev", &name).unwrap();
        let winner = if ra { "a" } else { "b" };
        assert_eq!(stored["spec"]["holderIdentity"], winner);
        // The loser respects the winner's fresh Lease on its next attempt.
        let again = if ra {
            b.try_acquire_or_renew().await
        } else {
            a.try_acquire_or_renew().await
        };
        assert!(!again.unwrap());
    }
}

#[tokio::test]
async fn a_standby_takes_over_only_after_the_lease_stopped_changing_for_its_duration() {
    let server = FakeApiServer::start().await.unwrap();
    let stop = CancellationToken::new();
    let mut a = LeaderElector::new(server.client(), config("a"));
    assert!(a.acquire(&stop).await);
    assert!(a.status().is_leader());
    let mut b = LeaderElector::new(server.client(), config("b"));
    assert!(
        !b.try_acquire_or_renew().await.unwrap(),
        "a's lease is fresh"
    );

    // a keeps renewing for a while: b stays a standby all along.
    let renewing = CancellationToken::new();
    let hold = {
        let renewing = renewing.clone();
        tokio::spawn(async move {
            let end = a.hold(&renewing).await;
            (a, end)
        })
    };
    let b_stop = CancellationToken::new();
    let b_try = tokio::time::timeout(Duration::from_millis(1500), b.acquire(&b_stop)).await;
    assert!(
        b_try.is_err(),
        "b must not take a lease that is being renewed"
    );
    assert_eq!(holder(&server), "a");

    // a stops renewing (as if it died): b takes over after about one lease duration.
    renewing.cancel();
    let (_a, end) = hold.await.unwrap();
    assert_eq!(end, HoldEnd::Cancelled);
    let died = Instant::now();
    assert!(b.acquire(&b_stop).await);
    let waited = died.elapsed();
    assert!(
        waited >= Duration::from_millis(900),
        "took over after {waited:?}, before the lease duration"
    );
    assert!(
        waited < Duration::from_millis(1000 + 600 + 300),
        "took {waited:?}"
    );
    let lease = server.lease("kev", "kev").unwrap();
    assert_eq!(lease["spec"]["holderIdentity"], "b");
    assert_eq!(lease["spec"]["leaseTransitions"], 1);
}

#[tokio::test]
async fn a_released_lease_is_taken_at_the_next_attempt() {
    let server = FakeApiServer::start().await.unwrap();
    let stop = CancellationToken::new();
    let mut a = LeaderElector::new(server.client(), config("a"));
    assert!(a.acquire(&stop).await);
    a.release().await.unwrap();
    assert!(!a.status().is_leader());
    assert_eq!(holder(&server), "");
    let mut b = LeaderElector::new(server.client(), config("b"));
    assert!(
        b.try_acquire_or_renew().await.unwrap(),
        "a free lease is taken at once"
    );
    // Releasing a lease held by someone else changes nothing.
    a.release().await.unwrap();
    assert_eq!(holder(&server), "b");
}

#[tokio::test]
async fn a_leader_that_cannot_renew_within_the_deadline_loses_the_lease() {
    let server = FakeApiServer::start().await.unwrap();
    let stop = CancellationToken::new();
    let mut a = LeaderElector::new(server.client(), config("a"));
    assert!(a.acquire(&stop).await);
    server.go_down();
    let started = Instant::now();
    let end = tokio::time::timeout(Duration::from_secs(5), a.hold(&stop))
        .await
        .unwrap();
    let HoldEnd::Lost { valid_for } = end else {
        panic!("expected a lost lease, got {end:?}");
    };
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert!(valid_for <= Duration::from_millis(400), "{valid_for:?}");
    assert!(!a.status().is_leader());
}

#[tokio::test]
async fn a_leader_that_sees_another_holder_stops_at_once() {
    let server = FakeApiServer::start().await.unwrap();
    let stop = CancellationToken::new();
    let mut a = LeaderElector::new(server.client(), config("a"));
    assert!(a.acquire(&stop).await);
    // Someone overwrites the Lease without asking (an unconditional PUT).
    let mut lease = server.lease("kev", "kev").unwrap();
    lease["spec"]["holderIdentity"] = Value::from("intruder");
    lease["metadata"]["resourceVersion"] = Value::from("");
    let r = reqwest::Client::new()
        .put(format!(
            "{}/apis/coordination.k8s.io/v1/namespaces/kev/leases/kev",
            server.url()
        ))
        .json(&lease)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let end = tokio::time::timeout(Duration::from_secs(2), a.hold(&stop))
        .await
        .unwrap();
    assert!(matches!(end, HoldEnd::Lost { .. }), "{end:?}");
    assert_eq!(holder(&server), "intruder");
}
