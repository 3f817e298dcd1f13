//! Exit codes, mapped in one place from the error that ended a command.

use std::fmt;
use std::process::ExitCode;

use kev_core::StoreError;
use kev_core::config::ConfigError;

pub const USAGE: ExitCode = ExitCode::from(2);
pub const FAILURE: ExitCode = ExitCode::from(1);

/// An error that is the user's to fix (a wrong flag value, a missing file): exit code 2.
#[derive(Debug)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Prints the error chain and picks the exit code: 2 for usage and config errors and
/// unusable store files, 0 for a closed stdout, 1 for everything else.
pub fn report(error: &anyhow::Error) -> ExitCode {
    if is_broken_pipe(error) {
        return ExitCode::SUCCESS;
    }
    eprintln!("kev: {error:#}");
    if is_usage(error) { USAGE } else { FAILURE }
}

fn is_usage(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause.is::<UsageError>()
            || cause.is::<ConfigError>()
            || cause.downcast_ref::<crate::config::ConfigErrors>().is_some()
            || cause.downcast_ref::<StoreError>().is_some_and(StoreError::is_usage_error)
    })
}

pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}
