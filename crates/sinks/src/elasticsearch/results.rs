//! The bulk answer read item by item: the items before the first failure are
//! acknowledged; the first failure says whether the rest is retried (429, 5xx) or
//! refused (a mapping error), with the item's own error.

use std::collections::BTreeMap;

use kev_core::SinkError;
use serde::Deserialize;

use crate::http::one_line;

#[derive(Deserialize)]
pub(super) struct BulkResponse {
    #[serde(default)]
    errors: bool,
    #[serde(default)]
    items: Vec<BTreeMap<String, Item>>,
}

#[derive(Deserialize)]
struct Item {
    status: u16,
    #[serde(default)]
    error: Option<ItemError>,
}

#[derive(Deserialize)]
struct ItemError {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    reason: String,
}

impl BulkResponse {
    /// `Ok` when every one of `sent` items succeeded. A `create` answered 409 is a
    /// document written before (a retry of the same event): success.
    pub(super) fn outcome(&self, sent: usize, server: &str) -> Result<(), SinkError> {
        if self.items.len() != sent {
            return Err(SinkError::retryable(format!(
                "{server} answered {} bulk items for {sent} documents",
                self.items.len()
            )));
        }
        if !self.errors {
            return Ok(());
        }
        for (i, item) in self.items.iter().enumerate() {
            let Some((op, result)) = item.iter().next() else {
                continue;
            };
            let ok =
                (200..300).contains(&result.status) || (op == "create" && result.status == 409);
            if ok {
                continue;
            }
            let (kind, reason) = result
                .error
                .as_ref()
                .map_or(("", ""), |e| (e.kind.as_str(), e.reason.as_str()));
            let message = one_line(&format!(
                "{server} refused the document: HTTP {} {kind}: {reason}",
                result.status
            ));
            let error = if result.status == 429 || result.status >= 500 {
                SinkError::retryable(message)
            } else {
                SinkError::permanent(message)
            };
            return Err(error.with_delivered(i));
        }
        Ok(())
    }
}
