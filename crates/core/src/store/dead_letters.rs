//! Which dead letters a `kev dead-letter retry`/`drop` applies to ([`DeadLetterSelect`]),
//! and how many each route holds ([`held_by_route`]).

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{DeadLetter, Result, Store};

/// A choice of dead letters: all of them when every field is empty; otherwise those that
/// match every field given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterSelect {
    /// Only this route's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<String>,
    /// Only those dead-lettered at or after this time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// Only those of these event seqs (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub seqs: Vec<u64>,
}

impl DeadLetterSelect {
    /// ```
    /// use kev_core::store::dead_letters::DeadLetterSelect;
    /// let mut letter: kev_core::DeadLetter = serde_json::from_str(
    ///     r#"{"route":"r","sink":"webhook","seq":7,"error":"HTTP 401","at":"2026-01-01T00:00:00Z","event":{}}"#,
    /// ).unwrap();
    /// assert!(DeadLetterSelect::default().matches(&letter));
    /// let seven = DeadLetterSelect { seqs: vec![7], ..Default::default() };
    /// assert!(seven.matches(&letter));
    /// letter.route = "other".into();
    /// assert!(!DeadLetterSelect { route: Some("r".into()), ..seven }.matches(&letter));
    /// ```
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        self.route.as_ref().is_none_or(|r| *r == letter.route)
            && self.since.is_none_or(|t| letter.at >= t)
            && (self.seqs.is_empty() || self.seqs.contains(&letter.seq))
    }

    /// The held dead letters this selects, oldest first.
    pub fn pick(&self, store: &dyn Store) -> Result<Vec<DeadLetter>> {
        let mut letters = store.dead_letters(self.route.as_deref(), usize::MAX)?;
        letters.retain(|l| self.matches(l));
        Ok(letters)
    }
}

/// How many dead letters each route holds (routes holding none are absent).
pub fn held_by_route(store: &dyn Store) -> Result<BTreeMap<String, u64>> {
    let mut held = BTreeMap::new();
    for letter in store.dead_letters(None, usize::MAX)? {
        *held.entry(letter.route).or_insert(0) += 1;
    }
    Ok(held)
}
