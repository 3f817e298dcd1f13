//! The [`Filter`] trait: keep or drop an [`Event`]; [`SelectorFilter`] builds one from
//! a [`FilterConfig`] of `match` / `drop` rules.

use crate::event::Event;

mod config;
mod rule;
mod selector;

pub use config::{FilterConfig, OneOrMany, RuleConfig};
pub use selector::SelectorFilter;

/// Keeps or drops events. Built once from config; `keep` must be cheap.
pub trait Filter: Send + Sync + std::fmt::Debug {
    fn keep(&self, event: &Event) -> bool;
}

/// Keeps everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct KeepAll;

impl Filter for KeepAll {
    fn keep(&self, _event: &Event) -> bool {
        true
    }
}
