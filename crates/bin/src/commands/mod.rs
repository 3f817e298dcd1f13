//! One module per subcommand, each with its arguments.

pub mod check_config;
pub mod dead_letter;
pub mod query;
pub mod run;
pub mod stats;
mod store_args;
pub mod tail;

/// A multi-threaded tokio runtime for the commands that need one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// `kev crd`: the EventPolicy CustomResourceDefinition on stdout.
#[cfg(feature = "kube")]
pub fn crd() -> anyhow::Result<std::process::ExitCode> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(kev_daemon::policy::crd_yaml().as_bytes())?;
    Ok(std::process::ExitCode::SUCCESS)
}
