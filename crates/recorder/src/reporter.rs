//! [`Reporter`]: who reports an event (`reportingController`, `reportingInstance`),
//! checked once when the recorder is built.

use kev_core::config::ConfigError;

use super::validate::{MAX_FIELD_CHARS, qualified_name_error};

/// Who reports: `reportingController` (a qualified name such as
/// `example.com/my-controller`) and `reportingInstance` (at most 128 characters, e.g.
/// the pod name). Set once per recorder.
///
/// ```
/// use kev_recorder::Reporter;
/// assert!(Reporter::new("example.com/db-operator", "db-operator-7f9c").is_ok());
/// let err = Reporter::new("DB Operator", "x").unwrap_err();
/// assert!(err.to_string().starts_with("reporting_controller"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reporter {
    pub(crate) controller: String,
    pub(crate) instance: String,
}

impl Reporter {
    /// Checks both names as the API server does for events.k8s.io/v1.
    pub fn new(controller: &str, instance: &str) -> Result<Self, ConfigError> {
        if let Some(e) = qualified_name_error(controller) {
            return Err(ConfigError::new(
                "reporting_controller",
                format!("{controller:?} is not a qualified name: {e}"),
            ));
        }
        if instance.is_empty() || instance.chars().count() > MAX_FIELD_CHARS {
            return Err(ConfigError::new(
                "reporting_instance",
                "must be 1 to 128 characters",
            ));
        }
        Ok(Self {
            controller: controller.to_owned(),
            instance: instance.to_owned(),
        })
    }

    /// `controller` with the instance client-go would use: `<controller>-<hostname>`
    /// (hostname from `$HOSTNAME`, which Kubernetes sets to the pod name), cut to 128
    /// characters.
    pub fn for_this_host(controller: &str) -> Result<Self, ConfigError> {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "unknown".to_owned());
        let base = controller.rsplit('/').next().unwrap_or(controller);
        let instance: String = format!("{base}-{host}")
            .chars()
            .take(MAX_FIELD_CHARS)
            .collect();
        Self::new(controller, &instance)
    }

    /// The reporting controller.
    pub fn controller(&self) -> &str {
        &self.controller
    }

    /// The reporting instance.
    pub fn instance(&self) -> &str {
        &self.instance
    }
}
