//! [`DaemonError`]: why a run, a config or a read of the history failed. The bin maps
//! it to an exit code; [`DaemonError::is_usage`] says which ones are the user's to fix.
//! Each variant that wraps another error keeps it as its `source`, so the whole chain
//! (and the types in it, such as a [`StoreError`] or an `io::Error`) stays visible.

use std::error::Error;
use std::net::SocketAddr;
use std::path::PathBuf;

use kev_core::StoreError;
use kev_core::config::ConfigError;
use kev_core::pipeline::PipelineError;

/// An error of a backend (a source, a kube client, an event recorder) kept as it is.
pub type BoxError = Box<dyn Error + Send + Sync>;

/// Every problem found in a config, each with its path; shown one per line.
#[derive(Debug)]
pub struct ConfigErrors {
    pub origin: String,
    pub errors: Vec<ConfigError>,
}

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid config {}:", self.origin)?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    /// The config file (or the flags and environment over it) is invalid.
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    /// A part could not be built from its config.
    #[error("{0}")]
    Invalid(#[from] ConfigError),
    /// A route of the config file could not be built.
    #[error("routes[{index}] ({name})")]
    Route {
        index: usize,
        name: String,
        #[source]
        source: ConfigError,
    },
    /// A wrong flag or query parameter, or a store that is not there.
    #[error("{0}")]
    Usage(String),
    #[error("no kev store at {} (use --store-path, or --config with the file `kev run` uses)", .0.display())]
    NoStore(PathBuf),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// A source, a kube client or another backend failed to start.
    #[error("{0}")]
    Backend(#[source] BoxError),
    #[error("{what}")]
    Start {
        what: &'static str,
        #[source]
        source: BoxError,
    },
    #[error("cannot listen on {addr}: {source}; pick another address with {field}")]
    Listen {
        addr: SocketAddr,
        field: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Pipeline(#[from] PipelineError),
    #[error(
        "lost the leader lease {lease} (not renewed within leader_election.renew_deadline, or taken by another replica); the pipeline was stopped, exiting so this replica restarts as a standby"
    )]
    LeaseLost { lease: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The read API of a running kev did not answer.
    #[error("cannot reach the running kev at {url}")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// The read API answered with an error status.
    #[error("{url}: {status}: {body}")]
    Refused {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
    /// The read API answered something that is not what was asked for.
    #[error("{url}: unexpected answer")]
    Unexpected {
        url: String,
        #[source]
        source: reqwest::Error,
    },
}

impl DaemonError {
    /// Whether this error itself is the user's to fix (exit code 2); the errors it wraps
    /// answer for themselves further down the chain.
    pub fn is_usage(&self) -> bool {
        match self {
            Self::Config(_) | Self::Invalid(_) | Self::Route { .. } => true,
            Self::Usage(_) | Self::NoStore(_) | Self::Listen { .. } => true,
            Self::Store(e) => e.is_usage_error(),
            _ => false,
        }
    }

    /// Whether the store was locked by another process (a previous leader closing it).
    pub fn is_locked(&self) -> bool {
        matches!(self, Self::Store(StoreError::Locked { .. }))
    }
}

/// `error` and its causes joined by `: `, leaving out a cause whose text the message
/// before it already contains (many error types print their source themselves, and the
/// variants of [`DaemonError`] that only wrap print it too).
pub fn chain_message(error: &(dyn Error + 'static)) -> String {
    let mut message = String::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let text = e.to_string();
        if !message.contains(&text) {
            if !message.is_empty() {
                message.push_str(": ");
            }
            message.push_str(&text);
        }
        cause = e.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapped_errors_are_not_repeated_and_stay_in_the_chain() {
        let e = DaemonError::Route {
            index: 2,
            name: "hook".into(),
            source: ConfigError::new("sinks[0].url", "must be absolute"),
        };
        assert_eq!(
            chain_message(&e),
            "routes[2] (hook): sinks[0].url: must be absolute"
        );
        let io = DaemonError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        let source = io.source().and_then(|s| s.downcast_ref::<std::io::Error>());
        assert_eq!(
            source.map(std::io::Error::kind),
            Some(std::io::ErrorKind::BrokenPipe)
        );
        assert_eq!(chain_message(&io), io.to_string());
    }

    #[test]
    fn config_and_locked_store_errors_are_usage_errors() {
        let locked = DaemonError::from(StoreError::Locked { path: "/d".into() });
        assert!(locked.is_usage() && locked.is_locked());
        assert!(DaemonError::Usage("--type".into()).is_usage());
        let lost = DaemonError::LeaseLost {
            lease: "kev".into(),
        };
        assert!(!lost.is_usage() && !lost.is_locked());
    }
}
