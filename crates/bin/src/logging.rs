//! Structured logs on stderr with `tracing`: text by default, JSON on request, filters
//! from `--log-level` or `RUST_LOG`.

use clap::{Args, ValueEnum};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct LogArgs {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "KEV_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log filter, `RUST_LOG` syntax (`info`, `kev_core=debug,info`). RUST_LOG wins when
    /// set. Default: `info` for `run` and `replay`, `warn` for the read commands.
    #[arg(long, global = true, env = "KEV_LOG_LEVEL")]
    pub log_level: Option<String>,
}

/// Sets up logging; `default_level` applies when neither `RUST_LOG` nor `--log-level`
/// (`KEV_LOG_LEVEL`) says otherwise.
pub fn init(args: &LogArgs, default_level: &str) -> anyhow::Result<()> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(f) if !f.is_empty() => EnvFilter::try_new(f),
        _ => EnvFilter::try_new(args.log_level.as_deref().unwrap_or(default_level)),
    }
    .map_err(|e| anyhow::anyhow!("invalid log filter: {e}"))?;
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    let result = match args.log_format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
    result.map_err(|e| anyhow::anyhow!("cannot set up logging: {e}"))
}
