//! [`encode_event`] / [`decode_event`]: the compact binary record the embedded stores keep.
//!
//! Format version 2, one record per event:
//!
//! ```text
//! u8 version (=2) · u8 flags · u8 more-flags · fields in declaration order
//! · owner chain: u8 (1 = inferred) · count · per owner kind, name, uid (u8 1 + 16 bytes
//!   for an RFC 4122 uid, else u8 0 + string)
//! strings: LEB128 length + UTF-8 · integers: LEB128 (signed: zigzag)
//! ```
//!
//! Version 1 records (kev before owner chains) have no chain; they decode with an empty one.
//!
//! Repetition typical of Kubernetes Events is not written twice: a regarding namespace equal
//! to the event's, an event name of the form `<regarding name>.<suffix>`, RFC 4122 uids (16
//! bytes instead of 36), decimal resourceVersions (a varint), and `lastSeen` as a delta
//! from `firstSeen`.

use std::collections::BTreeMap;

use jiff::Timestamp;

use crate::event::{Event, EventType, ObjectRef};
use crate::owners::{OwnerChain, OwnerLink};

/// The version byte every record starts with.
pub const RECORD_VERSION: u8 = 2;

/// Records before owner chains: still read.
const RECORD_VERSION_NO_OWNERS: u8 = 1;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    #[error("record is empty")]
    Empty,
    #[error("record version {0} is not known (this kev writes version {RECORD_VERSION})")]
    Version(u8),
    #[error("record ends early while reading {0}")]
    Truncated(&'static str),
    #[error("field {0} is not valid UTF-8")]
    Utf8(&'static str),
    #[error("field {0} is out of range")]
    Range(&'static str),
    #[error("{0} bytes left over after the record")]
    Trailing(usize),
}

// flags
const RELATED: u8 = 1;
const TRUNCATED: u8 = 1 << 1;
const REGARDING_NS_SAME: u8 = 1 << 2;
const NAME_FROM_REGARDING: u8 = 1 << 3;
const FIRST_SEEN: u8 = 1 << 4;
const LAST_SEEN: u8 = 1 << 5;
const UID_UUID: u8 = 1 << 6;
const REGARDING_UID_UUID: u8 = 1 << 7;
// more-flags
const RV_NUMERIC: u8 = 1;
const TYPE_WARNING: u8 = 1 << 1;
const TYPE_OTHER: u8 = 1 << 2;
const RELATED_UID_UUID: u8 = 1 << 3;

/// Appends the record of `event` to `out`.
///
/// ```
/// use kev_core::store::codec::{decode_event, encode_event};
/// let e = kev_core::Event { uid: "u1".into(), resource_version: "7".into(), ..Default::default() };
/// let mut buf = Vec::new();
/// encode_event(&e, &mut buf);
/// assert_eq!(decode_event(&buf).unwrap(), e);
/// ```
pub fn encode_event(event: &Event, out: &mut Vec<u8>) {
    let r = &event.regarding;
    let mut flags = 0u8;
    let mut more = 0u8;
    if event.related.is_some() {
        flags |= RELATED;
    }
    if event.truncated {
        flags |= TRUNCATED;
    }
    if r.namespace == event.namespace {
        flags |= REGARDING_NS_SAME;
    }
    let name_suffix = name_suffix(&event.name, &r.name);
    if name_suffix.is_some() {
        flags |= NAME_FROM_REGARDING;
    }
    if event.first_seen.is_some() {
        flags |= FIRST_SEEN;
    }
    if event.last_seen.is_some() {
        flags |= LAST_SEEN;
    }
    let uid = parse_uuid(&event.uid);
    if uid.is_some() {
        flags |= UID_UUID;
    }
    let r_uid = parse_uuid(&r.uid);
    if r_uid.is_some() {
        flags |= REGARDING_UID_UUID;
    }
    let rv = parse_decimal(&event.resource_version);
    if rv.is_some() {
        more |= RV_NUMERIC;
    }
    match event.r#type {
        EventType::Normal => {}
        EventType::Warning => more |= TYPE_WARNING,
        EventType::Other(_) => more |= TYPE_OTHER,
    }
    let related_uid = event.related.as_ref().and_then(|o| parse_uuid(&o.uid));
    if related_uid.is_some() {
        more |= RELATED_UID_UUID;
    }

    out.extend_from_slice(&[RECORD_VERSION, flags, more]);
    put_str(out, &event.cluster);
    put_str(out, &event.namespace);
    put_str(out, name_suffix.unwrap_or(&event.name));
    put_uid(out, &event.uid, uid);
    match rv {
        Some(n) => put_varint(out, n),
        None => put_str(out, &event.resource_version),
    }
    if let EventType::Other(t) = &event.r#type {
        put_str(out, t);
    }
    put_str(out, &event.reason);
    put_str(out, &event.message);
    put_str(out, &event.action);
    put_object(out, r, flags & REGARDING_NS_SAME == 0, r_uid);
    if let Some(related) = &event.related {
        put_object(out, related, true, related_uid);
    }
    put_str(out, &event.reporting_controller);
    put_str(out, &event.reporting_instance);
    put_str(out, &event.source_host);
    if let Some(first) = event.first_seen {
        put_time(out, first, 0);
    }
    if let Some(last) = event.last_seen {
        let base = event.first_seen.map_or(0, |f| f.as_second());
        put_time(out, last, base);
    }
    put_varint(out, u64::from(event.count));
    put_map(out, &event.labels);
    put_map(out, &event.annotations);
    put_owners(out, &event.owners);
}

/// Decodes a record written by [`encode_event`].
pub fn decode_event(bytes: &[u8]) -> Result<Event, DecodeError> {
    let mut r = Reader { bytes, pos: 0 };
    let version = r.byte("version").map_err(|_| DecodeError::Empty)?;
    if version != RECORD_VERSION && version != RECORD_VERSION_NO_OWNERS {
        return Err(DecodeError::Version(version));
    }
    let flags = r.byte("flags")?;
    let more = r.byte("flags")?;
    let cluster = r.string("cluster")?;
    let namespace = r.string("namespace")?;
    let name_or_suffix = r.string("name")?;
    let uid = r.uid(flags & UID_UUID != 0, "uid")?;
    let resource_version = if more & RV_NUMERIC != 0 {
        r.varint("resourceVersion")?.to_string()
    } else {
        r.string("resourceVersion")?
    };
    let r#type = if more & TYPE_OTHER != 0 {
        EventType::Other(r.string("type")?)
    } else if more & TYPE_WARNING != 0 {
        EventType::Warning
    } else {
        EventType::Normal
    };
    let reason = r.string("reason")?;
    let message = r.string("message")?;
    let action = r.string("action")?;
    let same_ns = flags & REGARDING_NS_SAME != 0;
    let regarding = r.object(
        same_ns.then(|| namespace.clone()),
        flags & REGARDING_UID_UUID != 0,
    )?;
    let related = if flags & RELATED != 0 {
        Some(r.object(None, more & RELATED_UID_UUID != 0)?)
    } else {
        None
    };
    let reporting_controller = r.string("reportingController")?;
    let reporting_instance = r.string("reportingInstance")?;
    let source_host = r.string("sourceHost")?;
    let first_seen = if flags & FIRST_SEEN != 0 {
        Some(r.time(0, "firstSeen")?)
    } else {
        None
    };
    let last_seen = if flags & LAST_SEEN != 0 {
        let base = first_seen.map_or(0, |f: Timestamp| f.as_second());
        Some(r.time(base, "lastSeen")?)
    } else {
        None
    };
    let count = u32::try_from(r.varint("count")?).map_err(|_| DecodeError::Range("count"))?;
    let labels = r.map("labels")?;
    let annotations = r.map("annotations")?;
    let owners = if version == RECORD_VERSION {
        r.owners()?
    } else {
        OwnerChain::default()
    };
    if r.pos != bytes.len() {
        return Err(DecodeError::Trailing(bytes.len() - r.pos));
    }
    let name = if flags & NAME_FROM_REGARDING != 0 {
        format!("{}.{}", regarding.name, name_or_suffix)
    } else {
        name_or_suffix
    };
    Ok(Event {
        cluster,
        namespace,
        name,
        uid,
        resource_version,
        r#type,
        reason,
        message,
        action,
        regarding,
        related,
        owners,
        reporting_controller,
        reporting_instance,
        source_host,
        first_seen,
        last_seen,
        count,
        labels,
        annotations,
        truncated: flags & TRUNCATED != 0,
    })
}

/// `name` = `<regarding>.<suffix>` → the suffix (what kubectl/client-go name events).
fn name_suffix<'a>(name: &'a str, regarding: &str) -> Option<&'a str> {
    name.strip_prefix(regarding)?.strip_prefix('.')
}

/// Only the canonical lowercase form, so decoding gives back the same string.
pub(crate) fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return None;
    }
    let mut out = [0u8; 16];
    let mut hex = b.iter().filter(|&&c| c != b'-');
    for slot in &mut out {
        let hi = lower_hex(*hex.next()?)?;
        let lo = lower_hex(*hex.next()?)?;
        *slot = hi << 4 | lo;
    }
    Some(out)
}

fn lower_hex(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn format_uuid(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 15)]));
    }
    s
}

/// Plain decimal without leading zeros (so it prints back identically).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    if s.is_empty() || (s.len() > 1 && s.starts_with('0')) || !s.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    s.parse().ok()
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    put_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

fn put_uid(out: &mut Vec<u8>, s: &str, parsed: Option<[u8; 16]>) {
    match parsed {
        Some(b) => out.extend_from_slice(&b),
        None => put_str(out, s),
    }
}

fn put_object(out: &mut Vec<u8>, o: &ObjectRef, with_namespace: bool, uid: Option<[u8; 16]>) {
    put_str(out, &o.api_version);
    put_str(out, &o.kind);
    if with_namespace {
        put_str(out, &o.namespace);
    }
    put_str(out, &o.name);
    put_uid(out, &o.uid, uid);
    put_str(out, &o.field_path);
}

fn put_time(out: &mut Vec<u8>, t: Timestamp, base_seconds: i64) {
    put_varint(out, zigzag(t.as_second().wrapping_sub(base_seconds)));
    put_varint(out, zigzag(i64::from(t.subsec_nanosecond())));
}

fn put_map(out: &mut Vec<u8>, map: &BTreeMap<String, String>) {
    put_varint(out, map.len() as u64);
    for (k, v) in map {
        put_str(out, k);
        put_str(out, v);
    }
}

fn put_owners(out: &mut Vec<u8>, chain: &OwnerChain) {
    out.push(u8::from(chain.inferred));
    put_varint(out, chain.links.len() as u64);
    for link in &chain.links {
        put_str(out, &link.kind);
        put_str(out, &link.name);
        let uid = parse_uuid(&link.uid);
        out.push(u8::from(uid.is_some()));
        put_uid(out, &link.uid, uid);
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&[u8], DecodeError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or(DecodeError::Truncated(what))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn byte(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn varint(&mut self, what: &'static str) -> Result<u64, DecodeError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.byte(what)?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Range(what))
    }

    fn string(&mut self, what: &'static str) -> Result<String, DecodeError> {
        let len = usize::try_from(self.varint(what)?).map_err(|_| DecodeError::Range(what))?;
        let raw = self.take(len, what)?;
        std::str::from_utf8(raw)
            .map(str::to_owned)
            .map_err(|_| DecodeError::Utf8(what))
    }

    fn uid(&mut self, uuid: bool, what: &'static str) -> Result<String, DecodeError> {
        if uuid {
            let raw = self.take(16, what)?;
            let mut b = [0u8; 16];
            b.copy_from_slice(raw);
            Ok(format_uuid(&b))
        } else {
            self.string(what)
        }
    }

    fn object(&mut self, namespace: Option<String>, uuid: bool) -> Result<ObjectRef, DecodeError> {
        let api_version = self.string("object apiVersion")?;
        let kind = self.string("object kind")?;
        let namespace = match namespace {
            Some(ns) => ns,
            None => self.string("object namespace")?,
        };
        let name = self.string("object name")?;
        let uid = self.uid(uuid, "object uid")?;
        let field_path = self.string("object fieldPath")?;
        Ok(ObjectRef {
            api_version,
            kind,
            namespace,
            name,
            uid,
            field_path,
        })
    }

    fn owners(&mut self) -> Result<OwnerChain, DecodeError> {
        let inferred = match self.byte("owners")? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::Range("owners")),
        };
        let n = self.varint("owners")?;
        let mut links = Vec::new();
        for _ in 0..n {
            let kind = self.string("owner kind")?;
            let name = self.string("owner name")?;
            let uuid = self.byte("owner uid")? == 1;
            let uid = self.uid(uuid, "owner uid")?;
            links.push(OwnerLink { kind, name, uid });
        }
        Ok(OwnerChain { links, inferred })
    }

    fn time(&mut self, base_seconds: i64, what: &'static str) -> Result<Timestamp, DecodeError> {
        let secs = unzigzag(self.varint(what)?).wrapping_add(base_seconds);
        let nanos =
            i32::try_from(unzigzag(self.varint(what)?)).map_err(|_| DecodeError::Range(what))?;
        Timestamp::new(secs, nanos).map_err(|_| DecodeError::Range(what))
    }

    fn map(&mut self, what: &'static str) -> Result<BTreeMap<String, String>, DecodeError> {
        let n = self.varint(what)?;
        let mut map = BTreeMap::new();
        for _ in 0..n {
            let k = self.string(what)?;
            let v = self.string(what)?;
            map.insert(k, v);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(e: &Event) -> usize {
        let mut buf = Vec::new();
        encode_event(e, &mut buf);
        assert_eq!(&decode_event(&buf).unwrap(), e);
        buf.len()
    }

    #[test]
    fn typical_event_round_trips_smaller_than_json() {
        let t = Timestamp::from_second(1_700_000_000).unwrap();
        let e = Event {
            cluster: "prod".into(),
            namespace: "default".into(),
            name: "web-0.17a2b3c4d5e6f708".into(),
            uid: "0b6f2c1e-6c8a-4d8e-9f1a-2b3c4d5e6f70".into(),
            resource_version: "123456".into(),
            r#type: EventType::Warning,
            reason: "BackOff".into(),
            message: "Back-off restarting failed container".into(),
            regarding: ObjectRef {
                api_version: "v1".into(),
                kind: "Pod".into(),
                namespace: "default".into(),
                name: "web-0".into(),
                uid: "1b6f2c1e-6c8a-4d8e-9f1a-2b3c4d5e6f70".into(),
                field_path: "spec.containers{web}".into(),
            },
            reporting_controller: "kubelet".into(),
            first_seen: Some(t),
            last_seen: Some(t + jiff::SignedDuration::from_secs(90)),
            count: 12,
            ..Default::default()
        };
        let len = roundtrip(&e);
        let json = serde_json::to_vec(&e).unwrap().len();
        assert!(len * 2 < json, "{len} vs {json}");
    }

    #[test]
    fn unusual_values_round_trip() {
        let e = Event {
            name: "web-0".into(),
            uid: "0B6F2C1E-6C8A-4D8E-9F1A-2B3C4D5E6F70".into(),
            resource_version: "007".into(),
            r#type: EventType::Other(String::new()),
            regarding: ObjectRef {
                name: "web-0".into(),
                namespace: "other".into(),
                ..Default::default()
            },
            related: Some(ObjectRef {
                uid: "0b6f2c1e-6c8a-4d8e-9f1a-2b3c4d5e6f70".into(),
                ..Default::default()
            }),
            last_seen: Some(Timestamp::new(-5, -7).unwrap()),
            count: u32::MAX,
            labels: [("a".to_owned(), "b".to_owned())].into(),
            annotations: [("ü".to_owned(), String::new())].into(),
            truncated: true,
            owners: OwnerChain {
                links: vec![
                    OwnerLink {
                        uid: "2b6f2c1e-6c8a-4d8e-9f1a-2b3c4d5e6f70".into(),
                        ..OwnerLink::new("ReplicaSet", "web-7d4b9c8f6")
                    },
                    OwnerLink {
                        uid: "not-a-uuid".into(),
                        ..OwnerLink::new("Deployment", "web")
                    },
                ],
                inferred: false,
            },
            ..Default::default()
        };
        roundtrip(&e);
        roundtrip(&Event::default());
    }

    #[test]
    fn version_1_records_decode_without_owners() {
        let e = Event {
            reason: "BackOff".into(),
            ..Default::default()
        };
        let mut buf = Vec::new();
        encode_event(&e, &mut buf);
        // A version 1 record is a version 2 record without the chain (2 bytes when empty).
        buf.truncate(buf.len() - 2);
        buf[0] = 1;
        assert_eq!(decode_event(&buf), Ok(e));
    }

    #[test]
    fn damaged_records_are_errors_not_panics() {
        let mut buf = Vec::new();
        encode_event(
            &Event {
                message: "hello".into(),
                ..Default::default()
            },
            &mut buf,
        );
        for cut in 0..buf.len() {
            assert!(decode_event(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut bad = buf.clone();
        bad[0] = 9;
        assert_eq!(decode_event(&bad), Err(DecodeError::Version(9)));
        buf.push(0);
        assert_eq!(decode_event(&buf), Err(DecodeError::Trailing(1)));
    }
}
