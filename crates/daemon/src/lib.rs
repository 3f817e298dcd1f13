//! kev-daemon: `kev run` as a library. What the `kev` binary runs, without its CLI:
//!
//! - [`config`]: the config file in three stages — [`RawConfig`] (YAML and `KEV_…`
//!   overrides), [`ValidatedConfig`] (every field checked, filters and addresses
//!   compiled once, a store type this build lacks refused), and the built run
//!   ([`assemble`]);
//! - [`backends`]: the stores, sources, sinks and enrichers this build has, chosen by
//!   Cargo features in that one module;
//! - [`Daemon`]: the run itself — metrics and health listener ([`server`]), signals,
//!   leader election ([`leader`]), the pipeline with its compactor, EventPolicies
//!   ([`policy`]: the CRD types and their controller) and the read API ([`api`]: server,
//!   client and what they exchange);
//! - [`DaemonError`]: why any of it failed, with [`DaemonError::is_usage`] for the
//!   caller's exit code.
//!
//! ```
//! use kev_daemon::RawConfig;
//!
//! let yaml = "
//! source: {type: replay, path: events.json}
//! store: {type: memory}
//! routes:
//!   - name: warnings
//!     match: [{type: Warning}]
//!     sinks: [{type: stdout}]
//! ";
//! let config = RawConfig::parse(yaml, "kev.yaml", Vec::new()).unwrap();
//! let validated = config.validate().unwrap();
//! assert_eq!(validated.routes().len(), 1);
//! // `kev_daemon::Daemon::from_config(validated).run()` would run it until the replay ends.
//!
//! let bad = RawConfig::parse("routes: [{name: 'a b', sinks: []}]", "kev.yaml", Vec::new());
//! let errors = bad.unwrap().validate().unwrap_err();
//! assert_eq!(errors[0].path, "routes[0].name");
//! assert_eq!(errors[1].path, "routes[0].sinks");
//! ```

pub mod api;
pub mod assemble;
pub mod backends;
pub mod config;
mod daemon;
pub mod error;
#[cfg(feature = "kube")]
pub mod leader;
mod listener;
#[cfg(feature = "kube")]
pub mod policy;
mod replay_check;
pub mod server;

pub use config::{ConfigErrors, RawConfig, ValidatedConfig};
pub use daemon::Daemon;
pub use error::DaemonError;
