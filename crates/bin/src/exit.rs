//! Exit codes, mapped in one place from the error that ended a command.

use std::process::ExitCode;

use kev_core::StoreError;
use kev_core::config::ConfigError;
use kev_daemon::{ConfigErrors, DaemonError};

pub const USAGE: u8 = 2;
pub const FAILURE: u8 = 1;

/// Prints the error chain and picks the exit code: 2 for usage and config errors and
/// unusable store files, 0 for a closed stdout, 1 for everything else.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    eprintln!("kev: {}", chain_message(error));
    ExitCode::from(if is_usage(error) { USAGE } else { FAILURE })
}

fn is_usage(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<ConfigError>()
            || cause.is::<ConfigErrors>()
            || cause
                .downcast_ref::<DaemonError>()
                .is_some_and(DaemonError::is_usage)
            || cause
                .downcast_ref::<StoreError>()
                .is_some_and(StoreError::is_usage_error)
    })
}

pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// The error and its causes joined by `: `, each cause once.
pub fn chain_message(error: &anyhow::Error) -> String {
    kev_daemon::error::chain_message(error.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_in_the_message_are_not_repeated() {
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(io)
            .context("writing kev-data/kev.redb: disk on fire")
            .context("store failed");
        assert_eq!(
            chain_message(&e),
            "store failed: writing kev-data/kev.redb: disk on fire"
        );
    }
}
