//! Config tests of the NATS sink and source (no server; the fleet suites run one).

use super::*;

#[test]
fn sink_config_errors_name_the_field() {
    let cases = [
        (
            "connection: {servers: []}",
            "connection.servers: at least one server URL",
        ),
        (
            "connection: {servers: ['nats://u:p@h:4222']}",
            "connection.servers[0]: credentials in the URL are refused: use creds_file or user + password_file",
        ),
        (
            "connection: {servers: [nats://h:4222], password: hunter2}",
            "connection.password: a password is not written in the config: use password_file or password_env",
        ),
        (
            "connection: {servers: [nats://h:4222], user: kev}",
            "connection.password_file: user needs password_file or password_env",
        ),
        (
            "connection: {servers: [nats://h:4222]}\nstream: {replicas: 7}",
            "stream.replicas: must be between 1 and 5",
        ),
        (
            "connection: {servers: [nats://h:4222]}\nstream: {duplicate_window: 2d, max_age: 1d}",
            "stream.duplicate_window: must not be longer than max_age",
        ),
        (
            "connection: {servers: [nats://h:4222]}\nsubject: 'kev.{name}'",
            "subject: \"kev.{name}\": only {cluster} and {namespace} are known, each as a whole token",
        ),
        (
            "connection: {servers: [nats://h:4222], tls: {cert_file: c.pem}}",
            "connection.tls.key_file: cert_file and key_file go together",
        ),
    ];
    for (yaml, want) in cases {
        let config: NatsSinkConfig = serde_norway::from_str(yaml).unwrap();
        assert_eq!(config.validate().unwrap_err().to_string(), want, "{yaml}");
    }
}

#[test]
fn source_config_errors_name_the_field() {
    let base = "connection: {servers: [nats://h:4222]}\n";
    let cases = [
        (
            "consumer: 'a.b'",
            "consumer: \"a.b\" is not a valid consumer name: use letters, digits, '-' or '_'",
        ),
        (
            "filter_subject: 'kev.>.x'",
            "filter_subject: \"kev.>.x\" is not a valid subject: '*' and '>' are whole tokens, '>' only last",
        ),
        (
            "fetch_max_messages: 0",
            "fetch_max_messages: must be between 1 and 10000",
        ),
        (
            "max_ack_pending: 10",
            "max_ack_pending: must be at least fetch_max_messages",
        ),
    ];
    for (extra, want) in cases {
        let config: NatsSourceConfig = serde_norway::from_str(&format!("{base}{extra}")).unwrap();
        assert_eq!(config.validate().unwrap_err().to_string(), want, "{extra}");
    }
    let err = serde_norway::from_str::<NatsSourceConfig>(&format!("{base}filter: x")).unwrap_err();
    assert!(err.to_string().contains("unknown field `filter`"), "{err}");
}

#[test]
fn a_source_id_names_stream_and_consumer() {
    let config: NatsSourceConfig = serde_norway::from_str(
        "connection: {servers: [nats://h:4222]}\nstream: {name: FLEET}\nconsumer: central-a\n",
    )
    .unwrap();
    let source = config.build().unwrap();
    assert_eq!(kev_core::EventSource::id(&source), "nats:FLEET:central-a");
}

#[test]
fn a_deprecated_retry_budget_still_loads() {
    let yaml = "connection: {servers: [nats://h:4222]}\nretry_budget: 10s";
    let config: NatsSinkConfig = serde_norway::from_str(yaml).unwrap();
    assert_eq!(
        config.retry_budget,
        Some(std::time::Duration::from_secs(10))
    );
    config.validate().unwrap();
    let bad: Result<NatsSinkConfig, _> =
        serde_norway::from_str("connection: {servers: [nats://h:4222]}\nretry_budget: soon");
    assert!(bad.is_err());
}
