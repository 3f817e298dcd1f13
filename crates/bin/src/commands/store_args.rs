//! Where the read commands find the history.

use std::path::PathBuf;

use clap::Args;

use kev_daemon::api::Access;
use kev_daemon::config::{RawConfig, StoreType};

/// `--config`, `--store`, `--store-path`, `--server` of the read commands.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// The config file of the `kev run` whose history to read.
    #[arg(long, short = 'c', env = "KEV_CONFIG")]
    pub config: Option<PathBuf>,
    /// Store backend.
    #[arg(long, value_enum)]
    pub store: Option<StoreType>,
    /// Store directory.
    #[arg(long)]
    pub store_path: Option<PathBuf>,
    /// Ask a running kev at this URL (`http://127.0.0.1:9465`) instead of opening the
    /// store. Without it kev opens the store and falls back to the local daemon's API
    /// when the store is in use.
    #[arg(long)]
    pub server: Option<String>,
}

impl StoreArgs {
    pub async fn open(&self) -> anyhow::Result<Access> {
        Ok(Access::open(&self.raw_config()?, self.server.as_deref()).await?)
    }

    /// The config these flags name: the file (or the environment), then the flags.
    pub fn raw_config(&self) -> anyhow::Result<RawConfig> {
        let mut config = match &self.config {
            Some(path) => RawConfig::load(path, std::env::vars())?,
            None => RawConfig::from_env(std::env::vars())?,
        };
        if let Some(store) = self.store {
            config.store.r#type = store;
        }
        if let Some(path) = &self.store_path {
            config.store.path.clone_from(path);
        }
        Ok(config)
    }
}
