//! [`RawConfig::validate`]: every check that needs no IO, each error with the path of
//! its field, giving a [`ValidatedConfig`] that keeps what the checks compiled.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kev_core::config::ConfigError;
use kev_core::{DefaultNormalizer, SelectorFilter};

use super::sections::{
    DEFAULT_API_LISTEN, DEFAULT_LISTEN, LeaderElectionConfig, PolicySource, RawConfig, RouteConfig,
    StoreType,
};
use crate::backends;
use crate::backends::source::SourceConfig;
use crate::backends::store::StoreBackend;

/// A config that passed [`RawConfig::validate`], with what validation compiled, so
/// nothing is compiled twice and nothing is built from an unchecked config.
#[derive(Debug)]
pub struct ValidatedConfig {
    raw: RawConfig,
    pub(crate) store: StoreBackend,
    pub(crate) normalizer: Arc<DefaultNormalizer>,
    pub(crate) filter: Arc<SelectorFilter>,
    pub(crate) routes: Vec<ValidatedRoute>,
    /// `server.listen`, `None` when the listener is disabled.
    pub(crate) listen: Option<SocketAddr>,
    /// `server.api_listen`, `None` when `off`.
    pub(crate) api_listen: Option<SocketAddr>,
}

impl ValidatedConfig {
    /// The config as it was read.
    pub fn raw(&self) -> &RawConfig {
        &self.raw
    }

    /// The routes of the config file, in its order.
    pub fn routes(&self) -> &[ValidatedRoute] {
        &self.routes
    }
}

/// A route whose filter is compiled: what [`crate::assemble::build_route`] builds.
#[derive(Debug)]
pub struct ValidatedRoute {
    config: RouteConfig,
    filter: Arc<SelectorFilter>,
}

impl ValidatedRoute {
    /// Compiles the route's filter: the one check a route of an EventPolicy (already
    /// checked by `EventPolicy::validate`, and named `policy:…`) still needs.
    pub fn compile(config: RouteConfig) -> Result<Self, ConfigError> {
        let filter = Arc::new(SelectorFilter::compile(&config.filter_config())?);
        Ok(Self { config, filter })
    }

    pub fn config(&self) -> &RouteConfig {
        &self.config
    }

    pub fn filter(&self) -> &Arc<SelectorFilter> {
        &self.filter
    }
}

impl LeaderElectionConfig {
    /// client-go's checks: lease_duration > renew_deadline > 1.2 × retry_period > 0.
    fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if !self.enabled {
            return errors;
        }
        if !backends::KUBE {
            errors.push(ConfigError::new(
                "leader_election.enabled",
                "this kev was built without the `kube` feature, which leader election needs",
            ));
        }
        let dns_name = |s: &str| {
            !s.is_empty()
                && s.len() <= 253
                && s.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
                && s.starts_with(|c: char| c.is_ascii_alphanumeric())
                && s.ends_with(|c: char| c.is_ascii_alphanumeric())
        };
        if !dns_name(&self.lease_name) {
            errors.push(ConfigError::new(
                "leader_election.lease_name",
                format!(
                    "{:?} is not a valid object name (lower-case letters, digits, `-`, `.`)",
                    self.lease_name
                ),
            ));
        }
        if let Some(ns) = &self.namespace
            && !dns_name(ns)
        {
            errors.push(ConfigError::new(
                "leader_election.namespace",
                format!("{ns:?} is not a valid namespace name"),
            ));
        }
        if self.identity.as_deref() == Some("") {
            errors.push(ConfigError::new(
                "leader_election.identity",
                "must not be empty (leave it out for the default)",
            ));
        }
        if self.lease_duration < Duration::from_secs(1) {
            errors.push(ConfigError::new(
                "leader_election.lease_duration",
                "must be at least 1s (the Lease holds whole seconds)",
            ));
        }
        if self.retry_period.is_zero() {
            errors.push(ConfigError::new(
                "leader_election.retry_period",
                "must be more than 0s",
            ));
        }
        if self.renew_deadline >= self.lease_duration {
            errors.push(ConfigError::new(
                "leader_election.renew_deadline",
                format!(
                    "{:?} must be shorter than lease_duration ({:?})",
                    self.renew_deadline, self.lease_duration
                ),
            ));
        }
        if self.renew_deadline <= self.retry_period.mul_f64(1.2) {
            errors.push(ConfigError::new(
                "leader_election.renew_deadline",
                format!(
                    "{:?} must be longer than 1.2 × retry_period ({:?})",
                    self.renew_deadline, self.retry_period
                ),
            ));
        }
        errors
    }
}

impl RawConfig {
    /// Why EventPolicies cannot be read with this config, if they cannot: they come from
    /// the cluster the events come from.
    fn policies_without_their_source(&self) -> Option<&'static str> {
        if self.policies.source == PolicySource::None {
            return None;
        }
        if !backends::KUBE {
            return Some(
                "`crd` needs the Kubernetes API: this kev was built without the `kube` feature",
            );
        }
        if !self.source.is_kube() {
            return Some(
                "`crd` (or --policies crd) reads EventPolicies from the cluster the events come from, so it needs the kube source (source.type: kube)",
            );
        }
        None
    }

    /// Checks everything that can be checked without IO; every error names its field.
    /// All of them are reported, not only the first.
    pub fn validate(self) -> Result<ValidatedConfig, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let normalizer = DefaultNormalizer::new(&self.normalize)
            .map_err(|e| errors.push(e.within("normalize")))
            .ok();
        let filter = SelectorFilter::compile(&self.filter)
            .map_err(|e| errors.push(e.within("filter")))
            .ok();
        if self.pipeline.batch_max_events == 0 {
            errors.push(ConfigError::new(
                "pipeline.batch_max_events",
                "must be at least 1",
            ));
        }
        if self.store.path.as_os_str().is_empty() && self.store.r#type != StoreType::Memory {
            errors.push(ConfigError::new("store.path", "must not be empty"));
        }
        let store = backends::store::backend(self.store.r#type)
            .map_err(|e| errors.push(e))
            .ok();
        // A replay is a one-off local command: it opens no port unless asked to.
        let local = matches!(self.source, SourceConfig::Replay { .. });
        let listen = self
            .server
            .listen
            .as_deref()
            .filter(|_| self.server.enabled)
            .or((self.server.enabled && !local).then_some(DEFAULT_LISTEN))
            .and_then(|listen| {
                parse_listen(listen, "server.listen", "an address like 127.0.0.1:9464")
                    .map_err(|e| errors.push(e))
                    .ok()
            });
        let api_listen = match self.server.api_listen.as_deref() {
            Some("off") => None,
            Some(listen) => Some(listen),
            None => (!local).then_some(DEFAULT_API_LISTEN),
        }
        .and_then(|listen| {
            parse_listen(
                listen,
                "server.api_listen",
                "an address like 127.0.0.1:9465, or `off`",
            )
            .map_err(|e| errors.push(e))
            .ok()
        });
        if let Err(e) = self.source.validate() {
            errors.push(e);
        }
        if let Some(reason) = self.policies_without_their_source() {
            errors.push(ConfigError::new("policies.source", reason));
        }
        if self.policies.status_interval.is_zero() {
            errors.push(ConfigError::new(
                "policies.status_interval",
                "must be longer than 0",
            ));
        }
        if self.policies.secret_refresh.is_zero() {
            errors.push(ConfigError::new(
                "policies.secret_refresh",
                "must be longer than 0",
            ));
        }
        if self.policies.namespace.as_deref() == Some("") {
            errors.push(ConfigError::new(
                "policies.namespace",
                "must not be empty; leave it out for all namespaces",
            ));
        }
        errors.extend(self.leader_election.validate());
        errors.extend(self.conditions.validate());
        let mut routes = Vec::new();
        let mut names = std::collections::HashSet::new();
        for (i, route) in self.routes.iter().enumerate() {
            let at = format!("routes[{i}]");
            match route.validate() {
                Ok(route) => routes.push(route),
                Err(e) => errors.extend(e.into_iter().map(|e| e.within(&at))),
            }
            if !names.insert(route.name.as_str()) {
                errors.push(ConfigError::new(
                    format!("{at}.name"),
                    format!("duplicate route name {:?}", route.name),
                ));
            }
        }
        match (normalizer, filter, store) {
            (Some(normalizer), Some(filter), Some(store)) if errors.is_empty() => {
                Ok(ValidatedConfig {
                    raw: self,
                    store,
                    normalizer: Arc::new(normalizer),
                    filter: Arc::new(filter),
                    routes,
                    listen,
                    api_listen,
                })
            }
            _ => Err(errors),
        }
    }
}

impl RouteConfig {
    /// The route's checks, errors relative to the route; its filter compiled once.
    fn validate(&self) -> Result<ValidatedRoute, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 63
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !name_ok {
            errors.push(ConfigError::new(
                "name",
                format!("{:?}: use 1 to 63 letters, digits, `-` or `_`", self.name),
            ));
        }
        let filter = SelectorFilter::compile(&self.filter_config())
            .map_err(|e| errors.push(e))
            .ok();
        if let Some(limit) = &self.rate_limit
            && let Err(e) = limit.validate()
        {
            errors.push(e.within("rate_limit"));
        }
        if let Some(remediation) = &self.remediation
            && let Err(e) = remediation.validate()
        {
            errors.push(e.within("remediation"));
        }
        if let Some(enrich) = &self.enrich
            && let Err(e) = enrich.validate()
        {
            errors.push(e.within("enrich"));
        }
        if self.batch.max_events == 0 {
            errors.push(ConfigError::new("batch.max_events", "must be at least 1"));
        }
        if self.retry.initial.is_zero() || self.retry.max < self.retry.initial {
            errors.push(ConfigError::new("retry", "need 0 < initial <= max"));
        }
        if self.sinks.is_empty() {
            errors.push(ConfigError::new("sinks", "a route needs at least one sink"));
        }
        for (i, sink) in self.sinks.iter().enumerate() {
            if let Err(e) = sink.validate() {
                errors.push(e.within(&format!("sinks[{i}]")));
            }
        }
        match filter {
            Some(filter) if errors.is_empty() => Ok(ValidatedRoute {
                config: self.clone(),
                filter: Arc::new(filter),
            }),
            _ => Err(errors),
        }
    }
}

/// `listen` as a socket address, or the error for `field` saying what it should be.
fn parse_listen(listen: &str, field: &str, expected: &str) -> Result<SocketAddr, ConfigError> {
    listen
        .parse()
        .map_err(|_| ConfigError::new(field, format!("{listen:?} is not {expected}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `yaml` with `vars`, on the memory store (every build has it; the default redb
    /// is a feature), unless `vars` name another.
    fn parse(yaml: &str, vars: &[(&str, &str)]) -> RawConfig {
        let mut all: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if all.iter().all(|(k, _)| k != "KEV_STORE__TYPE") {
            all.push(("KEV_STORE__TYPE".into(), "memory".into()));
        }
        RawConfig::parse(yaml, "test", all).unwrap()
    }

    #[test]
    fn leader_election_is_off_by_default_with_client_go_timings() {
        let c = parse("{}", &[]);
        let le = &c.leader_election;
        assert!(!le.enabled);
        assert_eq!(le.lease_name, "kev");
        assert_eq!(le.lease_duration, Duration::from_secs(15));
        assert_eq!(le.renew_deadline, Duration::from_secs(10));
        assert_eq!(le.retry_period, Duration::from_secs(2));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn leader_election_takes_environment_overrides() {
        let c = parse(
            "leader_election: {enabled: false}",
            &[
                ("KEV_LEADER_ELECTION__ENABLED", "true"),
                ("KEV_LEADER_ELECTION__LEASE_DURATION", "3s"),
                ("KEV_LEADER_ELECTION__RENEW_DEADLINE", "2s"),
                ("KEV_LEADER_ELECTION__RETRY_PERIOD", "500ms"),
                ("KEV_LEADER_ELECTION__IDENTITY", "pod-a"),
            ],
        );
        let le = &c.leader_election;
        assert!(le.enabled);
        assert_eq!(le.lease_duration, Duration::from_secs(3));
        assert_eq!(le.retry_period, Duration::from_millis(500));
        assert_eq!(le.identity.as_deref(), Some("pod-a"));
        let paths: Vec<String> = c
            .validate()
            .err()
            .unwrap_or_default()
            .into_iter()
            .map(|e| e.path)
            .collect();
        // Without the Kubernetes API there is no election to take part in.
        let expected: &[&str] = if backends::KUBE {
            &[]
        } else {
            &["leader_election.enabled"]
        };
        assert_eq!(paths, expected);
    }

    #[test]
    fn bad_leader_election_timings_and_names_are_refused_with_their_path() {
        let c = parse(
            "leader_election: {enabled: true, lease_name: Kev_1, lease_duration: 5s, renew_deadline: 5s, retry_period: 0s}",
            &[],
        );
        let errors: Vec<String> = c
            .validate()
            .unwrap_err()
            .iter()
            .map(ToString::to_string)
            .collect();
        let without_kube = usize::from(!backends::KUBE);
        assert_eq!(errors.len(), 3 + without_kube, "{errors:?}");
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("leader_election.lease_name")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("leader_election.retry_period")),
            "{errors:?}"
        );
        assert!(
            errors
                .iter()
                .any(|e| e.starts_with("leader_election.renew_deadline")
                    && e.contains("shorter than lease_duration")),
            "{errors:?}"
        );
        // Disabled, the section is not checked.
        let off = parse("leader_election: {renew_deadline: 20s}", &[]);
        assert!(off.validate().is_ok());
    }

    #[test]
    fn unknown_leader_election_fields_are_errors() {
        let err = RawConfig::parse("leader_election: {lease: x}", "t", Vec::new()).unwrap_err();
        assert_eq!(err.errors[0].path, "leader_election.lease");
    }

    #[test]
    fn validation_compiles_the_routes_and_the_listeners_once() {
        let c = parse(
            "server: {listen: '127.0.0.1:9999', api_listen: 'off'}\n\
             store: {type: memory}\n\
             routes:\n\
             - {name: a, match: [{message: 'back-?off'}], sinks: [{type: stdout}]}\n\
             - {name: b, drop: [{reason: Pulled}], sinks: [{type: stdout}]}\n",
            &[],
        );
        let v = c.validate().unwrap();
        assert_eq!(v.listen, Some("127.0.0.1:9999".parse().unwrap()));
        assert_eq!(v.api_listen, None);
        let names: Vec<&str> = v
            .routes()
            .iter()
            .map(|r| r.config().name.as_str())
            .collect();
        assert_eq!(names, ["a", "b"]);
        assert_eq!(v.raw().routes.len(), 2);
    }

    #[test]
    fn a_replay_opens_no_port_unless_asked_and_a_daemon_binds_loopback() {
        let replay = |server: &str| {
            let c = parse(
                &format!("source: {{type: replay, path: x}}\nstore: {{type: memory}}\n{server}"),
                &[],
            );
            let v = c.validate().unwrap();
            (v.listen, v.api_listen)
        };
        assert_eq!(replay(""), (None, None));
        assert_eq!(
            replay("server: {listen: '0.0.0.0:1', api_listen: '127.0.0.1:2'}"),
            (
                Some("0.0.0.0:1".parse().unwrap()),
                Some("127.0.0.1:2".parse().unwrap())
            )
        );
        #[cfg(feature = "kube")]
        {
            let v = parse("store: {type: memory}", &[]).validate().unwrap();
            assert_eq!(v.listen, Some(DEFAULT_LISTEN.parse().unwrap()));
            assert_eq!(v.api_listen, Some(DEFAULT_API_LISTEN.parse().unwrap()));
        }
    }

    #[test]
    fn every_bad_field_is_reported_with_its_path_in_file_order() {
        let c = parse(
            "pipeline: {batch_max_events: 0}\n\
             server: {listen: nowhere}\n\
             source: {type: replay, path: ''}\n\
             routes:\n\
             - {name: 'bad name', match: [{message: '(unclosed'}], batch: {max_events: 0}, sinks: []}\n\
             - {name: ok, sinks: [{type: stdout}]}\n\
             - {name: ok, sinks: [{type: stdout}]}\n",
            &[],
        );
        let paths: Vec<String> = c
            .validate()
            .unwrap_err()
            .into_iter()
            .map(|e| e.path)
            .collect();
        assert_eq!(
            paths,
            [
                "pipeline.batch_max_events",
                "server.listen",
                "source.path",
                "routes[0].name",
                "routes[0].match[0].message",
                "routes[0].batch.max_events",
                "routes[0].sinks",
                "routes[2].name",
            ]
        );
    }

    #[test]
    fn a_store_type_not_compiled_in_is_an_error_of_store_type() {
        for (name, compiled) in [
            ("redb", cfg!(feature = "redb")),
            ("sled", cfg!(feature = "sled")),
        ] {
            let validated = parse("{}", &[("KEV_STORE__TYPE", name)]).validate();
            if compiled {
                assert!(validated.is_ok(), "{name}");
                continue;
            }
            let errors = validated.unwrap_err();
            assert_eq!(errors.len(), 1, "{errors:?}");
            assert_eq!(errors[0].path, "store.type");
            assert!(
                errors[0].message.contains(&format!("--features {name}")),
                "{errors:?}"
            );
        }
        assert!(parse("store: {type: memory}", &[]).validate().is_ok());
    }
}
