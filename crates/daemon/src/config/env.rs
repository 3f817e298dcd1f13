//! `KEV_…` environment overrides of config scalars: `KEV_CLUSTER=prod`,
//! `KEV_STORE__PATH=/data`, `KEV_STORE__RETENTION__MAX_AGE=3d` — a double underscore
//! separates levels, names are the config's field names in upper case.

use kev_core::config::ConfigError;
use serde_norway::Value;

/// Variables that configure something else than the config file.
const NOT_CONFIG: &[&str] = &[
    "KEV_LOG_FORMAT",
    "KEV_LOG_LEVEL",
    "KEV_CONFIG",
    "KEV_REAL_EVENTS_DIR",
    "KEV_REQUIRE_PROMETHEUS",
    "KEV_REQUIRE_ALERTMANAGER",
];

/// Applies every `KEV_…` variable in `vars` to `root`. Values are read as YAML scalars
/// (so `KEV_STORE__RETENTION__MAX_EVENTS=1000` is a number); a path that does not exist
/// in the config is caught afterwards as an unknown field.
pub fn apply_overrides(
    root: &mut Value,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Result<(), ConfigError> {
    let mut vars: Vec<_> = vars
        .into_iter()
        .filter(|(k, _)| {
            k.starts_with("KEV_")
                && !NOT_CONFIG.contains(&k.as_str())
                && !k.starts_with("KEV_RECORDER_")
        })
        .collect();
    vars.sort();
    for (name, raw) in vars {
        let path: Vec<String> = name["KEV_".len()..]
            .split("__")
            .map(str::to_ascii_lowercase)
            .collect();
        if path.iter().any(String::is_empty) {
            return Err(ConfigError::new(
                name,
                "empty path segment in environment override",
            ));
        }
        let scalar: Value = serde_norway::from_str(&raw).unwrap_or(Value::String(raw.clone()));
        if matches!(scalar, Value::Mapping(_) | Value::Sequence(_)) {
            return Err(ConfigError::new(
                path.join("."),
                format!("{name} must be a scalar, not a list or map"),
            ));
        }
        set(root, &path, scalar).map_err(|at| {
            ConfigError::new(
                path.join("."),
                format!("{name} overrides a field inside `{at}`, which is not a map"),
            )
        })?;
    }
    Ok(())
}

fn set(root: &mut Value, path: &[String], scalar: Value) -> Result<(), String> {
    let mut node = root;
    for (i, key) in path.iter().enumerate() {
        if node.is_null() {
            *node = Value::Mapping(Default::default());
        }
        let Value::Mapping(map) = node else {
            return Err(path[..i].join("."));
        };
        let key = Value::String(key.clone());
        if i + 1 == path.len() {
            map.insert(key, scalar);
            return Ok(());
        }
        node = map.entry(key).or_insert(Value::Null);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn policies_are_switched_on_from_the_environment() {
        let config = crate::config::RawConfig::parse(
            "{}",
            "t",
            vars(&[
                ("KEV_POLICIES__SOURCE", "crd"),
                ("KEV_POLICIES__STATUS_INTERVAL", "2s"),
                ("KEV_POLICIES__NAMESPACE", "team-a"),
            ]),
        )
        .unwrap();
        assert_eq!(config.policies.source, crate::config::PolicySource::Crd);
        assert_eq!(
            config.policies.status_interval,
            std::time::Duration::from_secs(2)
        );
        assert_eq!(config.policies.namespace.as_deref(), Some("team-a"));
        let default = crate::config::RawConfig::parse("{}", "t", vars(&[])).unwrap();
        assert_eq!(default.policies.source, crate::config::PolicySource::None);
        assert_eq!(
            default.policies.status_interval,
            std::time::Duration::from_secs(10)
        );
    }

    #[test]
    fn nested_scalars_are_set_with_yaml_types() {
        let mut v: Value = serde_norway::from_str("store: {path: a}").unwrap();
        apply_overrides(
            &mut v,
            vars(&[
                ("KEV_STORE__PATH", "/data"),
                ("KEV_STORE__RETENTION__MAX_EVENTS", "1000"),
                ("KEV_CLUSTER", "prod"),
            ]),
        )
        .unwrap();
        assert_eq!(v["store"]["path"], Value::String("/data".into()));
        assert_eq!(
            v["store"]["retention"]["max_events"],
            Value::Number(1000.into())
        );
        assert_eq!(v["cluster"], Value::String("prod".into()));
    }

    #[test]
    fn unrelated_variables_and_lists_are_refused_or_ignored() {
        let mut v = Value::Mapping(Default::default());
        apply_overrides(
            &mut v,
            vars(&[("KEV_LOG_LEVEL", "debug"), ("HOME", "/root")]),
        )
        .unwrap();
        assert_eq!(v, Value::Mapping(Default::default()));
        let err = apply_overrides(&mut v, vars(&[("KEV_ROUTES", "[1, 2]")])).unwrap_err();
        assert_eq!(err.path, "routes");
    }
}
