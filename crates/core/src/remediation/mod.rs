//! Remediation gates: [`RemediationGate`] lets an event through to a remediation route
//! only after `min_occurrences` of the same problem within a window, and then not again
//! for a cooldown, with its state in the [`crate::Store`] so that a restart or a leader
//! change does not fire the same remediation twice.

mod config;
mod gate;
mod owner;

pub use config::{RemediationConfig, RemediationKey};
pub use gate::{GateDecision, GateRecord, RemediationGate, STATE_NAMESPACE, WallClock};
pub use owner::{Owner, owner_of};
