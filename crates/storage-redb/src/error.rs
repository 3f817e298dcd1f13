//! Maps redb's errors onto [`StoreError`], naming the file.

use kev_core::StoreError;
use kev_core::store::StoreOp;

/// The `backend` label of the store's metrics and the name in its errors.
pub(crate) const BACKEND: &str = "redb";

/// Turns any redb error about the file at `path`, met during `op`, into a [`StoreError`].
pub(crate) fn store_error(path: &str, op: StoreOp, err: impl Into<redb::Error>) -> StoreError {
    let path = path.to_owned();
    match err.into() {
        redb::Error::DatabaseAlreadyOpen => StoreError::Locked { path },
        redb::Error::Corrupted(detail) => StoreError::Corrupt { path, detail },
        redb::Error::UpgradeRequired(v) => StoreError::UnsupportedFormat {
            path,
            found: format!("redb file format {v}"),
            supported: crate::tables::FORMAT_VERSION,
        },
        redb::Error::RepairAborted => StoreError::Corrupt {
            path,
            detail: "the file was not closed cleanly and cannot be repaired read-only; \
                     open it once read-write (stop readers, start `kev run`)"
                .into(),
        },
        redb::Error::Io(source) if source.kind() == std::io::ErrorKind::InvalidData => {
            StoreError::Corrupt {
                path,
                detail: format!("not a redb file or its header is damaged ({source})"),
            }
        }
        redb::Error::Io(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
            StoreError::Corrupt {
                path,
                detail: format!("file is truncated ({source})"),
            }
        }
        redb::Error::Io(source) => StoreError::Io { op, path, source },
        redb::Error::TableTypeMismatch { table, .. } | redb::Error::TableIsMultimap(table) => {
            StoreError::Corrupt {
                path,
                detail: format!("table {table} has an unexpected type; not a kev store?"),
            }
        }
        other => StoreError::Backend {
            op,
            backend: BACKEND,
            path,
            source: other.into(),
        },
    }
}

/// A counter or key in `meta` that is not what kev writes.
pub(crate) fn bad_meta(path: &str, key: &str) -> StoreError {
    StoreError::Corrupt {
        path: path.to_owned(),
        detail: format!("meta key {key} is not an 8-byte number"),
    }
}
