//! [`ThrottleLayer`]: a token bucket in front of every request of kev's kube client,
//! as client-go's `QPS` and `Burst`.
//!
//! Up to `burst` requests go at once; after that one request per `1/qps` seconds. A
//! request that must wait is held in `poll_ready`, so kube's request buffer queues the
//! rest behind it in order. A watch is one request however long it streams, so the
//! limit only paces (re)connects, lists and enrichment reads. `qps: 0` turns it off.
//!
//! ```
//! use kev_kube_source::ThrottleLayer;
//! let layer = ThrottleLayer::new(50.0, 100); // the defaults of `qps` and `burst`
//! let off = ThrottleLayer::new(0.0, 0);      // unlimited
//! # let _ = (layer, off);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::time::{Instant, Sleep};
use tower::{Layer, Service};

/// The shared bucket: tokens refill at `qps` per second up to `burst`.
#[derive(Debug)]
struct Bucket {
    qps: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    /// Takes a token, going into debt when there is none; returns when the request may go.
    fn reserve(&mut self, now: Instant) -> Instant {
        let refill = now.saturating_duration_since(self.last).as_secs_f64() * self.qps;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = now;
        self.tokens -= 1.0;
        if self.tokens >= 0.0 {
            now
        } else {
            now + Duration::from_secs_f64(-self.tokens / self.qps)
        }
    }
}

/// Adds the `qps`/`burst` limit to a service stack (`kube::client::ClientBuilder::with_layer`).
#[derive(Debug, Clone)]
pub struct ThrottleLayer {
    bucket: Option<Arc<Mutex<Bucket>>>,
}

impl ThrottleLayer {
    /// `qps` requests per second after a burst of `burst`; `qps <= 0` (or not finite):
    /// no limit. A `burst` of 0 counts as 1.
    pub fn new(qps: f64, burst: u32) -> Self {
        let bucket = (qps > 0.0 && qps.is_finite()).then(|| {
            let burst = f64::from(burst.max(1));
            Arc::new(Mutex::new(Bucket {
                qps,
                burst,
                tokens: burst,
                last: Instant::now(),
            }))
        });
        Self { bucket }
    }
}

impl<S> Layer<S> for ThrottleLayer {
    type Service = Throttle<S>;

    fn layer(&self, inner: S) -> Throttle<S> {
        Throttle {
            inner,
            bucket: self.bucket.clone(),
            wait: None,
            permitted: false,
        }
    }
}

/// The service [`ThrottleLayer`] makes.
#[derive(Debug)]
pub struct Throttle<S> {
    inner: S,
    bucket: Option<Arc<Mutex<Bucket>>>,
    /// The wait for the reserved token, when there was none left.
    wait: Option<Pin<Box<Sleep>>>,
    /// A token is reserved for the next `call`.
    permitted: bool,
}

impl<S, R> Service<R> for Throttle<S>
where
    S: Service<R>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        if let Some(bucket) = &self.bucket
            && !self.permitted
        {
            if self.wait.is_none() {
                let now = Instant::now();
                // A poisoned lock only means another request panicked: no limit is safer
                // than no client.
                let at = bucket.lock().map_or(now, |mut b| b.reserve(now));
                if at > now {
                    self.wait = Some(Box::pin(tokio::time::sleep_until(at)));
                }
            }
            if let Some(wait) = &mut self.wait {
                ready!(wait.as_mut().poll(cx));
                self.wait = None;
            }
            self.permitted = true;
        }
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: R) -> S::Future {
        self.permitted = false;
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::convert::Infallible;
    use tower::ServiceExt;

    /// Sends `n` requests one after another; returns when each one went, from the start.
    async fn send_times(layer: &ThrottleLayer, n: usize) -> Vec<Duration> {
        let start = Instant::now();
        let mut service = layer.layer(tower::service_fn(|()| async {
            Ok::<_, Infallible>(Instant::now())
        }));
        let mut times = Vec::new();
        for _ in 0..n {
            let at = service.ready().await.unwrap().call(()).await.unwrap();
            times.push(at - start);
        }
        times
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_then_one_request_per_interval() {
        let times = send_times(&ThrottleLayer::new(10.0, 5), 8).await;
        let ms: Vec<u128> = times.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 0, 0, 100, 200, 300]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_client_earns_its_burst_back() {
        let layer = ThrottleLayer::new(10.0, 3);
        let first = send_times(&layer, 4).await;
        assert_eq!(first[3], Duration::from_millis(100));
        tokio::time::sleep(Duration::from_secs(1)).await; // refills 10, capped at 3
        let again = send_times(&layer, 4).await;
        let ms: Vec<u128> = again.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 0, 100]);
    }

    #[tokio::test(start_paused = true)]
    async fn qps_zero_is_unlimited() {
        let times = send_times(&ThrottleLayer::new(0.0, 0), 1000).await;
        assert!(times.iter().all(Duration::is_zero));
    }

    #[tokio::test(start_paused = true)]
    async fn clients_sharing_the_layer_share_the_budget() {
        let layer = ThrottleLayer::new(2.0, 2);
        let a = send_times(&layer, 2).await;
        let b = send_times(&layer, 2).await;
        assert_eq!(a, [Duration::ZERO, Duration::ZERO]);
        assert_eq!(b, [Duration::from_millis(500), Duration::from_millis(1000)]);
    }
}
