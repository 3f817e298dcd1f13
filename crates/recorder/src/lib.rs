#![doc = include_str!("../README.md")]

mod api;
mod config;
mod fake;
mod gate;
mod handle;
mod legacy;
mod new_event;
mod objects;
mod reporter;
mod sanitize;
mod series;
mod shared;
mod sink;
mod stats;
mod transitions;
mod validate;
mod writer;

pub use api::ApiGroup;
pub use config::RecorderConfig;
pub use fake::{FakeRecorder, RecordedEvent};
pub use handle::{Recorder, RecorderError};
pub use new_event::{DropReason, EventRecorder, NewEvent, Published};
pub use reporter::Reporter;
pub use sink::RecorderSink;
pub use stats::RecorderStats;
pub use validate::is_upper_camel_case;

#[doc(no_inline)]
pub use kev_core::normalize::Redactor;
#[doc(no_inline)]
pub use kev_core::{EventType, ObjectRef};
