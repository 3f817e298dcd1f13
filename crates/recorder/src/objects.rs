//! Building blocks of the Event objects: object references, names, and wall-clock
//! times derived from the recorder's monotonic clock.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use k8s_openapi::api::core::v1::ObjectReference;
use kev_core::ObjectRef;

/// A kev object reference as the API's `ObjectReference`; empty fields are left out.
pub(crate) fn reference(o: &ObjectRef) -> ObjectReference {
    let some = |s: &String| (!s.is_empty()).then(|| s.clone());
    ObjectReference {
        api_version: some(&o.api_version),
        kind: some(&o.kind),
        namespace: some(&o.namespace),
        name: some(&o.name),
        uid: some(&o.uid),
        field_path: some(&o.field_path),
        resource_version: None,
    }
}

/// The namespace an event about `o` lives in: the object's, or `default` for
/// cluster-scoped objects (as client-go).
pub(crate) fn namespace_of(o: &ObjectRef) -> String {
    if o.namespace.is_empty() {
        "default".to_owned()
    } else {
        o.namespace.clone()
    }
}

/// Wall-clock times and unique names from one monotonic clock reading.
#[derive(Debug)]
pub(crate) struct Times {
    /// Wall time when the monotonic clock read zero.
    origin: Timestamp,
    /// The last nanosecond stamp used in a name; names never repeat.
    last_name_nanos: i128,
}

impl Times {
    pub(crate) fn new(origin: Timestamp) -> Self {
        Self {
            origin,
            last_name_nanos: 0,
        }
    }

    /// The wall time at monotonic reading `at`.
    pub(crate) fn wall(&self, at: Duration) -> Timestamp {
        let at = SignedDuration::try_from(at).unwrap_or(SignedDuration::MAX);
        self.origin.saturating_add(at).unwrap_or(self.origin)
    }

    /// `<object name>.<nanoseconds as hex>` as client-go names events; strictly
    /// increasing stamps, so two events in the same nanosecond get different names.
    pub(crate) fn name(&mut self, object: &str, at: Duration) -> String {
        let nanos = self.wall(at).as_nanosecond().max(self.last_name_nanos + 1);
        self.last_name_nanos = nanos;
        format!("{object}.{nanos:x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_within_one_nanosecond() {
        let mut t = Times::new(Timestamp::UNIX_EPOCH);
        let a = t.name("web", Duration::from_nanos(16));
        let b = t.name("web", Duration::from_nanos(16));
        assert_eq!(a, "web.10");
        assert_eq!(b, "web.11");
    }
}
