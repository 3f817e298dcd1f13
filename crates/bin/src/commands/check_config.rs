//! `kev check-config FILE`: validation only, no IO beyond reading the file.

use std::path::Path;
use std::process::ExitCode;

use kev_daemon::config::{ConfigErrors, RawConfig};

pub fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    let config = RawConfig::load(file, std::env::vars())?;
    let validated = config.validate().map_err(|errors| ConfigErrors {
        origin: file.display().to_string(),
        errors,
    })?;
    println!(
        "{}: ok ({} route(s))",
        file.display(),
        validated.routes().len()
    );
    Ok(ExitCode::SUCCESS)
}
