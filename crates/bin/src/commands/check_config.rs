//! `kev check-config FILE`: validation only, no IO beyond reading the file.

use std::path::Path;
use std::process::ExitCode;

use crate::config::{ConfigErrors, RawConfig};

pub fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    let config = RawConfig::load(file, std::env::vars())?;
    let errors = config.validate();
    if !errors.is_empty() {
        return Err(ConfigErrors {
            origin: file.display().to_string(),
            errors,
        }
        .into());
    }
    println!("{}: ok ({} route(s))", file.display(), config.routes.len());
    Ok(ExitCode::SUCCESS)
}
