//! [`SlackSinkConfig`]: `type: slack` in a route's `sinks:`.

use std::path::PathBuf;
use std::time::Duration;

use kev_core::config::ConfigError;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::SlackSink;
use crate::chat::JsonTemplate;
use crate::http::{TlsConfig, parse_url, validate_env_name, validate_token_fields};

const DEFAULT_API_URL: &str = "https://slack.com/api";

/// Config of the Slack sink: an incoming webhook (`webhook_url_file` /
/// `webhook_url_env`; the URL is a credential) or a bot token (`token_file` /
/// `token_env`) with a `channel`, for `chat.postMessage`.
///
/// ```
/// use kev_sinks::slack::SlackSinkConfig;
/// let c: SlackSinkConfig = serde_norway::from_str("token_env: SLACK_BOT_TOKEN\nchannel: '#alerts'\n").unwrap();
/// c.validate().unwrap();
/// let bad: SlackSinkConfig = serde_norway::from_str("webhook_url: https://hooks.slack.com/services/T/B/x\n").unwrap();
/// assert!(bad.validate().unwrap_err().to_string().starts_with("webhook_url: "));
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSinkConfig {
    /// File holding the incoming webhook's URL, read again per batch.
    #[serde(default)]
    pub webhook_url_file: Option<PathBuf>,
    /// Environment variable holding the incoming webhook's URL, read at start.
    #[serde(default)]
    pub webhook_url_env: Option<String>,
    /// File holding a bot token (`xoxb-…`) for `chat.postMessage`, read again per batch.
    #[serde(default)]
    pub token_file: Option<PathBuf>,
    /// Environment variable holding a bot token, read at start.
    #[serde(default)]
    pub token_env: Option<String>,
    /// The channel `chat.postMessage` posts to (an ID or `#name`); with a token only.
    #[serde(default)]
    pub channel: Option<String>,
    /// The Web API's base URL; default `https://slack.com/api`.
    #[serde(default = "default_api_url")]
    pub api_url: String,
    /// A template for the message (a JSON object: `text`, `blocks`), instead of kev's
    /// layout; `event` and `context` are its data. `channel` is added with a token.
    #[serde(default)]
    pub template: Option<String>,
    /// kev's UI (`https://kev.example.com`): the default message links to the object's
    /// page there.
    #[serde(default)]
    pub ui_url: Option<String>,
    #[serde(default)]
    pub tls: TlsConfig,
    /// Time allowed for a whole request; default `10s`.
    #[serde(
        default = "default_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub timeout: Duration,
    /// Time allowed to connect; default `5s`.
    #[serde(
        default = "default_connect_timeout",
        deserialize_with = "kev_core::config::duration"
    )]
    pub connect_timeout: Duration,
    /// Name in logs and in the `sink` metric label; default `slack`.
    #[serde(default)]
    pub name: Option<String>,
    /// Refused: the webhook URL (a credential) in clear in the config.
    #[serde(default)]
    pub(super) webhook_url: Option<IgnoredAny>,
    /// Refused: a token in clear in the config.
    #[serde(default)]
    pub(super) token: Option<IgnoredAny>,
}

fn default_api_url() -> String {
    DEFAULT_API_URL.to_owned()
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_connect_timeout() -> Duration {
    Duration::from_secs(5)
}

/// How the sink posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Webhook,
    PostMessage,
}

impl SlackSinkConfig {
    /// A config posting through the incoming webhook whose URL is in `path`.
    pub fn webhook_file(path: impl Into<PathBuf>) -> Self {
        Self {
            webhook_url_file: Some(path.into()),
            ..Self::empty()
        }
    }

    /// A config posting to `channel` with `chat.postMessage`, the bot token in `path`.
    pub fn bot(token_file: impl Into<PathBuf>, channel: impl Into<String>) -> Self {
        Self {
            token_file: Some(token_file.into()),
            channel: Some(channel.into()),
            ..Self::empty()
        }
    }

    fn empty() -> Self {
        Self {
            webhook_url_file: None,
            webhook_url_env: None,
            token_file: None,
            token_env: None,
            channel: None,
            api_url: default_api_url(),
            template: None,
            ui_url: None,
            tls: TlsConfig::default(),
            timeout: default_timeout(),
            connect_timeout: default_connect_timeout(),
            name: None,
            webhook_url: None,
            token: None,
        }
    }

    /// The Web API's base URL.
    #[must_use]
    pub fn api_url(mut self, url: impl Into<String>) -> Self {
        self.api_url = url.into();
        self
    }

    /// Links to kev's UI at `url`.
    #[must_use]
    pub fn ui_url(mut self, url: impl Into<String>) -> Self {
        self.ui_url = Some(url.into());
        self
    }

    /// Time allowed for a whole request.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub(super) fn mode(&self) -> Result<Mode, ConfigError> {
        let webhook = self.webhook_url_file.is_some() || self.webhook_url_env.is_some();
        let token = self.token_file.is_some() || self.token_env.is_some();
        match (webhook, token) {
            (true, false) => Ok(Mode::Webhook),
            (false, true) => Ok(Mode::PostMessage),
            _ => Err(ConfigError::new(
                "webhook_url_file",
                "set an incoming webhook (webhook_url_file or webhook_url_env) or a bot token (token_file or token_env), not both",
            )),
        }
    }

    pub(super) fn parsed_api_url(&self) -> Result<reqwest::Url, ConfigError> {
        let mut url = parse_url("api_url", &self.api_url, "token_file or token_env")?;
        let path = format!("{}/chat.postMessage", url.path().trim_end_matches('/'));
        url.set_path(&path);
        Ok(url)
    }

    pub(super) fn parsed_ui_url(&self) -> Result<Option<reqwest::Url>, ConfigError> {
        self.ui_url
            .as_deref()
            .map(|u| parse_url("ui_url", u, "a URL without credentials"))
            .transpose()
    }

    pub(super) fn compiled_template(&self) -> Result<Option<JsonTemplate>, ConfigError> {
        self.template
            .as_deref()
            .map(|source| JsonTemplate::compile("template", source))
            .transpose()
    }

    /// Checks the config without reading files or the environment.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.webhook_url.is_some() {
            return Err(ConfigError::new(
                "webhook_url",
                "the webhook URL is a credential and is not accepted in clear in the config: use webhook_url_file or webhook_url_env",
            ));
        }
        validate_token_fields(
            self.token.is_some(),
            self.token_file.is_some(),
            self.token_env.as_deref(),
            None,
        )?;
        if self.webhook_url_file.is_some() && self.webhook_url_env.is_some() {
            return Err(ConfigError::new(
                "webhook_url_file",
                "set only one of webhook_url_file and webhook_url_env",
            ));
        }
        if let Some(var) = &self.webhook_url_env {
            validate_env_name(var, "webhook_url_env")?;
        }
        match (self.mode()?, &self.channel) {
            (Mode::PostMessage, None) => {
                return Err(ConfigError::new(
                    "channel",
                    "chat.postMessage needs the channel to post to",
                ));
            }
            (Mode::PostMessage, Some(c)) if c.trim().is_empty() => {
                return Err(ConfigError::new("channel", "must not be empty"));
            }
            (Mode::Webhook, Some(_)) => {
                return Err(ConfigError::new(
                    "channel",
                    "an incoming webhook posts to the channel it was made for: remove channel",
                ));
            }
            _ => {}
        }
        self.parsed_api_url()?;
        self.parsed_ui_url()?;
        self.compiled_template()?;
        self.tls.validate().map_err(|e| e.within("tls"))?;
        if self.timeout.is_zero() {
            return Err(ConfigError::new("timeout", "must be more than 0"));
        }
        if self.connect_timeout.is_zero() {
            return Err(ConfigError::new("connect_timeout", "must be more than 0"));
        }
        kev_core::config::validate_sink_name(self.name.as_deref())
    }

    /// Validates, reads the webhook URL or the token, and builds the HTTP client.
    pub fn build(&self) -> Result<SlackSink, ConfigError> {
        self.validate()?;
        SlackSink::new(self)
    }
}
