//! Stable stand-ins for a missing `metadata.uid` or `metadata.resourceVersion`, from a
//! fixed hash (FNV-1a), so the idempotency key of a replayed event is the same on every
//! run and every machine.

use std::fmt::Write as _;

use jiff::Timestamp;

use crate::event::ObjectRef;

const FNV128_OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
const FNV128_PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;

/// FNV-1a over the parts, each followed by a 0 byte so `("ab","c")` ≠ `("a","bc")`.
fn fnv1a128(parts: &[&[u8]]) -> u128 {
    let mut h = FNV128_OFFSET;
    for part in parts {
        for &b in part.iter().chain(std::iter::once(&0u8)) {
            h ^= u128::from(b);
            h = h.wrapping_mul(FNV128_PRIME);
        }
    }
    h
}

/// `kev-` and 32 hex digits of the hash of `namespace/name`; when the event has no
/// name either, of namespace, the regarding object (kind, namespace, name) and reason.
pub(crate) fn derive_uid(
    namespace: &str,
    name: &str,
    regarding: &ObjectRef,
    reason: &str,
) -> String {
    let h = if name.is_empty() {
        fnv1a128(&[
            b"noname",
            namespace.as_bytes(),
            regarding.kind.as_bytes(),
            regarding.namespace.as_bytes(),
            regarding.name.as_bytes(),
            reason.as_bytes(),
        ])
    } else {
        fnv1a128(&[b"name", namespace.as_bytes(), name.as_bytes()])
    };
    format!("kev-{h:032x}")
}

/// `kev-` and 16 hex digits of the hash of last_seen (RFC 3339), count and the
/// message as received (before truncation and redaction, so config changes keep it).
pub(crate) fn derive_resource_version(
    last_seen: Option<Timestamp>,
    count: u32,
    message: &str,
) -> String {
    let mut time = String::new();
    if let Some(t) = last_seen {
        let _ = write!(time, "{t}");
    }
    let h = fnv1a128(&[
        time.as_bytes(),
        count.to_string().as_bytes(),
        message.as_bytes(),
    ]);
    format!("kev-{:016x}", (h >> 64) as u64 ^ h as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_values_never_change() {
        // A change to these values changes the idempotency keys of stored events
        // (tests/normalize_mapping.rs pins one of each).
        assert_eq!(fnv1a128(&[]), FNV128_OFFSET);
        let uid = derive_uid("default", "web.1", &ObjectRef::default(), "");
        assert_eq!(
            uid,
            derive_uid("default", "web.1", &ObjectRef::default(), "x")
        );
        assert_eq!(uid.len(), 4 + 32);
        assert_ne!(
            uid,
            derive_uid("default", "web.2", &ObjectRef::default(), "")
        );
        assert_ne!(
            uid,
            derive_uid("defaul", "tweb.1", &ObjectRef::default(), "")
        );
    }

    #[test]
    fn resource_version_depends_on_time_count_and_message() {
        let t: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let a = derive_resource_version(Some(t), 1, "m");
        assert_eq!(a, derive_resource_version(Some(t), 1, "m"));
        assert_ne!(a, derive_resource_version(Some(t), 2, "m"));
        assert_ne!(a, derive_resource_version(Some(t), 1, "n"));
        assert_ne!(a, derive_resource_version(None, 1, "m"));
    }
}
