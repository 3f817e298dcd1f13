//! Maps sled's errors onto [`StoreError`], naming the database.

use kev_core::StoreError;
use kev_core::store::StoreOp;

/// The `backend` label of the store's metrics and the name in its errors.
pub(crate) const BACKEND: &str = "sled";

/// Turns a sled error about the database at `path`, met during `op`, into a [`StoreError`].
pub(crate) fn store_error(path: &str, op: StoreOp, err: sled::Error) -> StoreError {
    let path = path.to_owned();
    match err {
        // sled 0.34 reports its file lock as an `Other` I/O error with this text.
        sled::Error::Io(e) if e.to_string().contains("could not acquire lock") => {
            StoreError::Locked { path }
        }
        sled::Error::Io(source) if source.kind() == std::io::ErrorKind::UnexpectedEof => {
            StoreError::Corrupt {
                path,
                detail: format!("a file is truncated ({source})"),
            }
        }
        sled::Error::Io(source) => StoreError::Io { op, path, source },
        sled::Error::Corruption { at, .. } => StoreError::Corrupt {
            path,
            detail: match at {
                Some(at) => format!("sled found damaged data at {at}"),
                None => "sled found damaged data".into(),
            },
        },
        sled::Error::Unsupported(detail) => StoreError::Corrupt { path, detail },
        other => StoreError::Backend {
            op,
            backend: BACKEND,
            path,
            source: other.into(),
        },
    }
}
