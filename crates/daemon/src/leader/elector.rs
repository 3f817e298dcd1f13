//! [`LeaderElector`]: leader election on a `coordination.k8s.io/v1` Lease with
//! client-go's semantics (`leaseDuration`, `renewDeadline`, `retryPeriod`).
//!
//! The Lease is read with GET and written with POST/PUT carrying the resourceVersion that
//! was read, so two candidates never both win: the second write is a 409 Conflict. A
//! candidate takes a Lease that is free (no holder) or whose record has not changed for
//! `lease_duration` by its *own* clock (client-go's observed time, so clock skew between
//! nodes does not matter). The leader renews every `retry_period`; when it could not
//! renew for `renew_deadline` it has lost the lease ([`HoldEnd::Lost`]) and must stop
//! acting before the others may take over: [`HoldEnd::Lost::valid_for`] says how long
//! the lease was still its own. A graceful stop [`release`](LeaderElector::release)s the
//! Lease (holder cleared), so a standby takes over at its next retry.
//!
//! kube-lease-manager (the maintained crate for kube 5) was not used: it takes the Lease
//! with server-side apply and field-manager conflicts and has no renew deadline, while
//! kev wants client-go's deadline semantics and a plain GET/PUT protocol.
//!
//! ```no_run
//! # async fn demo(client: kube::Client) -> Result<(), kev_daemon::leader::LeaderError> {
//! use kev_daemon::leader::{HoldEnd, LeaderElector, LeaseConfig};
//! let stop = tokio_util::sync::CancellationToken::new();
//! let mut elector = LeaderElector::new(client, LeaseConfig::new("kev", "kev", "pod-a"));
//! if elector.acquire(&stop).await {
//!     // ... lead ...
//!     if let HoldEnd::Cancelled = elector.hold(&stop).await {
//!         elector.release().await?;
//!     }
//! }
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kev_core::metrics::{LEADER, LEADER_TRANSITIONS_TOTAL};
use kube::Api;
use kube::api::{ObjectMeta, PostParams};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// Where the Lease is and how it is held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseConfig {
    pub namespace: String,
    pub lease_name: String,
    /// This candidate's `holderIdentity`; unique per process.
    pub identity: String,
    /// How long a Lease whose record did not change is respected by the others.
    pub lease_duration: Duration,
    /// How long the leader keeps trying to renew before it gives up leading.
    pub renew_deadline: Duration,
    /// Time between two attempts to acquire or renew.
    pub retry_period: Duration,
}

impl LeaseConfig {
    /// client-go's defaults: 15 s lease, 10 s renew deadline, 2 s retry period.
    #[must_use]
    pub fn new(namespace: &str, lease_name: &str, identity: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            lease_name: lease_name.to_owned(),
            identity: identity.to_owned(),
            lease_duration: Duration::from_secs(15),
            renew_deadline: Duration::from_secs(10),
            retry_period: Duration::from_secs(2),
        }
    }
}

/// A Lease request that failed (conflicts are not errors: they mean "not this time").
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeaderError {
    #[error("lease {namespace}/{name}: {source}")]
    Api {
        namespace: String,
        name: String,
        #[source]
        source: kube::Error,
    },
}

/// Why [`LeaderElector::hold`] returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldEnd {
    /// The stop token was cancelled while leading: release the Lease when done.
    Cancelled,
    /// Renewing failed for `renew_deadline`, or another holder took the Lease. The
    /// others respect the Lease for `valid_for` more at most: stop before it ends.
    Lost { valid_for: Duration },
}

/// Whether this process leads now; cheap to clone and read (for `/readyz`).
#[derive(Debug, Clone, Default)]
pub struct LeaderStatus(Arc<AtomicBool>);

impl LeaderStatus {
    pub fn is_leader(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    fn set(&self, leading: bool) {
        self.0.store(leading, Ordering::Relaxed);
        metrics::gauge!(LEADER).set(if leading { 1.0 } else { 0.0 });
    }
}

/// The part of a Lease that says who holds it; a change of any field renews it in the
/// eyes of the others.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Record {
    holder: String,
    lease_duration_secs: i32,
    acquire_time: Option<Timestamp>,
    renew_time: Option<Timestamp>,
    transitions: i32,
}

impl Record {
    fn of(lease: &Lease) -> Self {
        let spec = lease.spec.clone().unwrap_or_default();
        Self {
            holder: spec.holder_identity.unwrap_or_default(),
            lease_duration_secs: spec.lease_duration_seconds.unwrap_or_default(),
            acquire_time: spec.acquire_time.map(|t| t.0),
            renew_time: spec.renew_time.map(|t| t.0),
            transitions: spec.lease_transitions.unwrap_or_default(),
        }
    }

    fn spec(&self) -> LeaseSpec {
        LeaseSpec {
            holder_identity: Some(self.holder.clone()),
            lease_duration_seconds: Some(self.lease_duration_secs),
            acquire_time: self.acquire_time.map(MicroTime),
            renew_time: self.renew_time.map(MicroTime),
            lease_transitions: Some(self.transitions),
            ..LeaseSpec::default()
        }
    }
}

/// What a candidate does with a Lease it just read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decision {
    /// Another holder's Lease is still valid.
    Respect,
    /// Ours: renew it (same acquire time and transitions).
    Renew,
    /// Free or expired: take it (new acquire time, one more transition).
    Take,
}

/// client-go's rule: a Lease held by someone else is respected until its record has not
/// changed for `lease_duration` by our own clock.
fn decide(
    record: &Record,
    me: &str,
    observed_at: Instant,
    now: Instant,
    lease_duration: Duration,
) -> Decision {
    if record.holder == me {
        Decision::Renew
    } else if !record.holder.is_empty() && now < observed_at + lease_duration {
        Decision::Respect
    } else {
        Decision::Take
    }
}

/// One candidate; see the module docs.
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaseConfig,
    /// The last record read or written, and when (our clock) it last changed.
    observed: Option<(Record, Instant)>,
    /// When we last renewed successfully while leading.
    last_renew: Option<Instant>,
    status: LeaderStatus,
}

impl LeaderElector {
    pub fn new(client: kube::Client, config: LeaseConfig) -> Self {
        let status = LeaderStatus::default();
        status.set(false);
        Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
            last_renew: None,
            status,
        }
    }

    pub fn config(&self) -> &LeaseConfig {
        &self.config
    }

    /// Shared view of whether this candidate leads.
    pub fn status(&self) -> LeaderStatus {
        self.status.clone()
    }

    /// The holder of the Lease as last read (empty: none), for logs.
    pub fn observed_holder(&self) -> Option<&str> {
        self.observed.as_ref().map(|(r, _)| r.holder.as_str())
    }

    fn api_error(&self, source: kube::Error) -> LeaderError {
        LeaderError::Api {
            namespace: self.config.namespace.clone(),
            name: self.config.lease_name.clone(),
            source,
        }
    }

    fn observe(&mut self, record: Record, now: Instant) {
        match &self.observed {
            Some((old, _)) if *old == record => {}
            _ => self.observed = Some((record, now)),
        }
    }

    /// One attempt: read the Lease and create, renew or take it if allowed. `Ok(true)`:
    /// we hold it now. A write that lost a race (409) is `Ok(false)`.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool, LeaderError> {
        let now = Instant::now();
        let wall = Timestamp::now();
        let duration_secs =
            i32::try_from(self.config.lease_duration.as_secs().max(1)).unwrap_or(i32::MAX);
        let identity = self.config.identity.clone();
        let mine = |acquire: Timestamp, transitions: i32| Record {
            holder: identity.clone(),
            lease_duration_secs: duration_secs,
            acquire_time: Some(acquire),
            renew_time: Some(wall),
            transitions,
        };
        let current = match self.api.get_opt(&self.config.lease_name).await {
            Ok(c) => c,
            Err(e) => return Err(self.api_error(e)),
        };
        let Some(mut lease) = current else {
            let record = mine(wall, 0);
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.config.lease_name.clone()),
                    namespace: Some(self.config.namespace.clone()),
                    ..ObjectMeta::default()
                },
                spec: Some(record.spec()),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(created) => {
                    self.observe(Record::of(&created), now);
                    Ok(true)
                }
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
                Err(e) => Err(self.api_error(e)),
            };
        };
        let record = Record::of(&lease);
        self.observe(record.clone(), now);
        let observed_at = self.observed.as_ref().map_or(now, |(_, at)| *at);
        let next = match decide(
            &record,
            &self.config.identity,
            observed_at,
            now,
            self.config.lease_duration,
        ) {
            Decision::Respect => return Ok(false),
            Decision::Renew => mine(record.acquire_time.unwrap_or(wall), record.transitions),
            Decision::Take => mine(wall, record.transitions.saturating_add(1)),
        };
        lease.spec = Some(next.spec());
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(written) => {
                self.observe(Record::of(&written), now);
                Ok(true)
            }
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
            Err(e) => Err(self.api_error(e)),
        }
    }

    /// Tries every `retry_period` until this candidate leads (`true`) or `stop` is
    /// cancelled (`false`). API errors are logged and retried.
    pub async fn acquire(&mut self, stop: &CancellationToken) -> bool {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    self.last_renew = Some(Instant::now());
                    self.status.set(true);
                    metrics::counter!(LEADER_TRANSITIONS_TOTAL, "event" => "acquired").increment(1);
                    tracing::info!(
                        lease = %self.config.lease_name,
                        identity = %self.config.identity,
                        "became the leader"
                    );
                    return true;
                }
                Ok(false) => tracing::debug!(holder = ?self.observed_holder(), "standby"),
                Err(e) => tracing::warn!(error = %e, "cannot acquire the leader lease"),
            }
            tokio::select! {
                () = stop.cancelled() => return false,
                () = tokio::time::sleep(jittered(self.config.retry_period)) => {}
            }
        }
    }

    /// Renews every `retry_period` while leading, until `stop` is cancelled or the
    /// Lease is lost (not renewed for `renew_deadline`, or taken by another holder).
    pub async fn hold(&mut self, stop: &CancellationToken) -> HoldEnd {
        let mut last = self.last_renew.unwrap_or_else(Instant::now);
        loop {
            tokio::select! {
                () = stop.cancelled() => return HoldEnd::Cancelled,
                () = tokio::time::sleep(self.config.retry_period) => {}
            }
            let left = self.config.renew_deadline.saturating_sub(last.elapsed());
            let attempt = tokio::time::timeout(left, self.try_acquire_or_renew());
            let outcome = tokio::select! {
                () = stop.cancelled() => return HoldEnd::Cancelled,
                outcome = attempt => outcome,
            };
            match outcome {
                Ok(Ok(true)) => {
                    last = Instant::now();
                    self.last_renew = Some(last);
                    continue;
                }
                Ok(Ok(false)) if self.held_by_other() => {
                    tracing::error!(holder = ?self.observed_holder(), "another candidate holds the leader lease");
                    return self.lost(last);
                }
                Ok(Ok(false)) => tracing::warn!("renewing the leader lease lost a race; retrying"),
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot renew the leader lease"),
                Err(_) => {}
            }
            if last.elapsed() >= self.config.renew_deadline {
                tracing::error!(
                    renew_deadline = ?self.config.renew_deadline,
                    "could not renew the leader lease within the renew deadline"
                );
                return self.lost(last);
            }
        }
    }

    fn held_by_other(&self) -> bool {
        self.observed
            .as_ref()
            .is_some_and(|(r, _)| !r.holder.is_empty() && r.holder != self.config.identity)
    }

    fn lost(&mut self, last_renew: Instant) -> HoldEnd {
        self.status.set(false);
        metrics::counter!(LEADER_TRANSITIONS_TOTAL, "event" => "lost").increment(1);
        HoldEnd::Lost {
            valid_for: self
                .config
                .lease_duration
                .saturating_sub(last_renew.elapsed()),
        }
    }

    /// Gives the Lease up if we hold it (holder cleared, as client-go's
    /// `ReleaseOnCancel`), so a standby takes over at its next attempt.
    pub async fn release(&mut self) -> Result<(), LeaderError> {
        self.status.set(false);
        let Some(mut lease) = self
            .api
            .get_opt(&self.config.lease_name)
            .await
            .map_err(|e| self.api_error(e))?
        else {
            return Ok(());
        };
        let mut record = Record::of(&lease);
        if record.holder != self.config.identity {
            return Ok(());
        }
        let now = Timestamp::now();
        record.holder.clear();
        record.lease_duration_secs = 1;
        record.acquire_time = Some(now);
        record.renew_time = Some(now);
        lease.spec = Some(record.spec());
        match self
            .api
            .replace(&self.config.lease_name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => {
                metrics::counter!(LEADER_TRANSITIONS_TOTAL, "event" => "released").increment(1);
                tracing::info!(lease = %self.config.lease_name, "released the leader lease");
                Ok(())
            }
            // Someone wrote it in between: then it is no longer ours to release.
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(()),
            Err(e) => Err(self.api_error(e)),
        }
    }
}

/// client-go's `JitterFactor` 1.2: up to 20 % more, so candidates do not retry in step.
fn jittered(period: Duration) -> Duration {
    period.mul_f64(1.0 + rand::random::<f64>() * 0.2)
}

/// This process's identity: `$POD_NAME` in a pod, else `hostname_pid`.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/proc/sys/kernel/hostname")
                .ok()
                .map(|h| h.trim().to_owned())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "kev".into());
    format!("{host}_{}", std::process::id())
}

/// The namespace of the Lease when none is configured: `$POD_NAMESPACE`, else the
/// service account's namespace file; `None` outside a pod.
pub fn default_namespace() -> Option<String> {
    if let Ok(ns) = std::env::var("POD_NAMESPACE")
        && !ns.is_empty()
    {
        return Some(ns);
    }
    std::fs::read_to_string("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held_by(holder: &str) -> Record {
        Record {
            holder: holder.into(),
            lease_duration_secs: 15,
            ..Record::default()
        }
    }

    #[test]
    fn a_valid_lease_of_another_holder_is_respected_until_it_did_not_change_for_its_duration() {
        let t0 = Instant::now();
        let d = Duration::from_secs(15);
        let r = held_by("b");
        assert_eq!(decide(&r, "a", t0, t0, d), Decision::Respect);
        assert_eq!(
            decide(&r, "a", t0, t0 + d - Duration::from_millis(1), d),
            Decision::Respect
        );
        assert_eq!(decide(&r, "a", t0, t0 + d, d), Decision::Take);
    }

    #[test]
    fn our_own_lease_is_renewed_and_a_free_one_is_taken_at_once() {
        let t0 = Instant::now();
        let d = Duration::from_secs(15);
        assert_eq!(decide(&held_by("a"), "a", t0, t0, d), Decision::Renew);
        assert_eq!(decide(&held_by(""), "a", t0, t0, d), Decision::Take);
    }

    #[test]
    fn a_record_round_trips_through_the_lease_spec() {
        let r = Record {
            holder: "a".into(),
            lease_duration_secs: 3,
            acquire_time: Some(Timestamp::UNIX_EPOCH),
            renew_time: Some(Timestamp::UNIX_EPOCH),
            transitions: 4,
        };
        let lease = Lease {
            metadata: ObjectMeta::default(),
            spec: Some(r.spec()),
        };
        assert_eq!(Record::of(&lease), r);
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..1000 {
            let j = jittered(Duration::from_secs(1));
            assert!(j >= Duration::from_secs(1) && j <= Duration::from_millis(1200));
        }
    }

    #[test]
    fn the_default_identity_is_unique_per_process() {
        let id = default_identity();
        assert!(!id.is_empty());
        if std::env::var("POD_NAME").is_err() {
            assert!(id.ends_with(&format!("_{}", std::process::id())), "{id}");
        }
    }
}
