//! What the sinks that post messages for people (Slack, Teams) share: the hook URL as
//! a secret ([`SecretUrl`]), the object's title and Slack/Teams text limits
//! ([`object_title`], [`cut`]), one message per event in order ([`post_each`]), and a
//! body template that must render JSON ([`JsonTemplate`]).

mod each;
mod json_template;
mod secret_url;
mod text;

pub(crate) use each::post_each;
pub(crate) use json_template::JsonTemplate;
pub(crate) use secret_url::SecretUrl;
pub(crate) use text::{cut, object_title};
