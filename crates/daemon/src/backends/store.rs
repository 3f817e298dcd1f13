//! `store.type`: which [`Store`] backends this build has, and how each is opened.

use std::path::Path;
use std::sync::Arc;

use kev_core::config::ConfigError;
use kev_core::{MemoryStore, Store, StoreError};

use crate::config::StoreType;
use crate::error::DaemonError;

type Open = fn(&Path) -> Result<Arc<dyn Store>, StoreError>;

/// How to open a store type compiled into this build. Only [`backend`] makes one, so a
/// type that is not compiled in is a config error, found before anything starts.
#[derive(Debug, Clone, Copy)]
pub struct StoreBackend {
    write: Open,
    /// `None`: the type keeps no history to read (memory).
    read: Option<Open>,
    /// Opens an existing store for writing without creating one (`kev dead-letter`);
    /// `None` as for `read`.
    existing: Option<Open>,
}

/// The backend of `store.type`, or the config error of a type not compiled in.
pub fn backend(store_type: StoreType) -> Result<StoreBackend, ConfigError> {
    match store_type {
        StoreType::Memory => Ok(StoreBackend {
            write: |_| Ok(Arc::new(MemoryStore::new())),
            read: None,
            existing: None,
        }),
        #[cfg(feature = "redb")]
        StoreType::Redb => Ok(StoreBackend {
            write: |path| {
                let options = kev_storage_redb::RedbOptions::default();
                Ok(Arc::new(kev_storage_redb::RedbStore::open(path, options)?))
            },
            read: Some(|path| {
                let options = kev_storage_redb::RedbOptions::read_only();
                Ok(Arc::new(kev_storage_redb::RedbStore::open(path, options)?))
            }),
            existing: Some(|path| {
                let file = path.join(kev_storage_redb::FILE_NAME);
                if !file.exists() {
                    return Err(StoreError::Io {
                        op: kev_core::store::StoreOp::Open,
                        path: file.display().to_string(),
                        source: std::io::Error::new(std::io::ErrorKind::NotFound, "no store here"),
                    });
                }
                let options = kev_storage_redb::RedbOptions::default();
                Ok(Arc::new(kev_storage_redb::RedbStore::open(path, options)?))
            }),
        }),
        #[cfg(feature = "sled")]
        StoreType::Sled => {
            let open: Open = |path| {
                let options = kev_storage_sled::SledOptions::default();
                Ok(Arc::new(kev_storage_sled::SledStore::open(path, options)?))
            };
            // sled opens for reading as for writing.
            Ok(StoreBackend {
                write: open,
                read: Some(open),
                existing: Some(open),
            })
        }
        #[allow(unreachable_patterns)] // every type compiled in
        other => {
            let name = format!("{other:?}").to_lowercase();
            Err(ConfigError::new(
                "store.type",
                format!(
                    "store type {name} is not compiled into this kev; rebuild with `--features {name}`"
                ),
            ))
        }
    }
}

impl StoreBackend {
    /// Opens (or creates) the store at `path` for writing.
    pub fn open(&self, path: &Path) -> Result<Arc<dyn Store>, StoreError> {
        (self.write)(path)
    }

    /// Opens the store at `path` for the read commands, without creating one.
    pub fn open_for_reading(&self, path: &Path) -> Result<Arc<dyn Store>, DaemonError> {
        let read = self.read.ok_or_else(|| {
            DaemonError::Backend(
                "a memory store keeps nothing after `kev run` exits: there is no history to read"
                    .into(),
            )
        })?;
        Ok(read(path)?)
    }

    /// Opens the existing store at `path` for writing, without creating one.
    pub fn open_existing(&self, path: &Path) -> Result<Arc<dyn Store>, DaemonError> {
        let open = self.existing.ok_or_else(|| {
            DaemonError::Backend(
                "a memory store keeps nothing after `kev run` exits: there are no dead letters to change"
                    .into(),
            )
        })?;
        Ok(open(path)?)
    }
}
