//! [`SubjectTemplate`]: the subject an event is published to, from its cluster and
//! namespace.

use kev_core::Event;

/// Token used for events without a namespace (cluster-scoped objects).
pub const CLUSTER_SCOPED: &str = "_cluster";
/// Token used for events whose cluster is not set.
pub const NO_CLUSTER: &str = "_unknown";

/// A parsed subject template: literal tokens and `{cluster}`/`{namespace}` placeholders.
///
/// ```
/// use kev_nats::SubjectTemplate;
/// let t = SubjectTemplate::parse("kev.events.{cluster}.{namespace}").unwrap();
/// let mut e = kev_core::Event::default();
/// e.cluster = "prod.eu 1".into();
/// assert_eq!(t.render(&e), "kev.events.prod_eu_1._cluster");
/// assert!(SubjectTemplate::parse("kev.{name}").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubjectTemplate {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(String),
    Cluster,
    Namespace,
}

impl SubjectTemplate {
    /// Parses `template`; each placeholder must be a whole token.
    pub fn parse(template: &str) -> Result<Self, String> {
        let tokens = template
            .split('.')
            .map(|token| match token {
                "{cluster}" => Ok(Token::Cluster),
                "{namespace}" => Ok(Token::Namespace),
                t if t.contains(['{', '}']) => Err(format!(
                    "{template:?}: only {{cluster}} and {{namespace}} are known, each as a whole token"
                )),
                t => Ok(Token::Literal(t.to_owned())),
            })
            .collect::<Result<Vec<_>, _>>()?;
        validate_subject(&template.replace(['{', '}'], ""), false)?;
        Ok(Self { tokens })
    }

    /// The subject of `event`; placeholder values are sanitized into single tokens.
    pub fn render(&self, event: &Event) -> String {
        let mut out = String::with_capacity(64);
        for (i, token) in self.tokens.iter().enumerate() {
            if i > 0 {
                out.push('.');
            }
            match token {
                Token::Literal(t) => out.push_str(t),
                Token::Cluster => push_token(&mut out, &event.cluster, NO_CLUSTER),
                Token::Namespace => push_token(&mut out, &event.namespace, CLUSTER_SCOPED),
            }
        }
        out
    }
}

/// A subject: dot-separated non-empty tokens without spaces; `*` and `>` (last) only
/// as whole tokens and only when `wildcards`.
pub(crate) fn validate_subject(subject: &str, wildcards: bool) -> Result<(), String> {
    let tokens: Vec<&str> = subject.split('.').collect();
    for (i, token) in tokens.iter().enumerate() {
        if token.is_empty() || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!(
                "{subject:?} is not a valid subject: empty token or whitespace"
            ));
        }
        let wild = *token == "*" || (*token == ">" && i == tokens.len() - 1);
        if (token.contains(['*', '>']) && !wild) || (wild && !wildcards) {
            return Err(format!(
                "{subject:?} is not a valid subject: '*' and '>' are whole tokens, '>' only last"
            ));
        }
    }
    Ok(())
}

/// Appends `value` as one subject token: separators, wildcards, whitespace and
/// control characters become `_`; empty becomes `empty`.
fn push_token(out: &mut String, value: &str, empty: &str) {
    if value.is_empty() {
        out.push_str(empty);
        return;
    }
    out.extend(value.chars().map(|c| {
        if matches!(c, '.' | '*' | '>') || c.is_whitespace() || c.is_control() {
            '_'
        } else {
            c
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(cluster: &str, namespace: &str) -> Event {
        Event {
            cluster: cluster.into(),
            namespace: namespace.into(),
            ..Event::default()
        }
    }

    #[test]
    fn tokens_are_sanitized_and_defaults_fill_empty_values() {
        let t = SubjectTemplate::parse("kev.events.{cluster}.{namespace}").unwrap();
        assert_eq!(
            t.render(&event("eu-1", "default")),
            "kev.events.eu-1.default"
        );
        assert_eq!(
            t.render(&event("a.b*c>d\te", "")),
            "kev.events.a_b_c_d_e._cluster"
        );
        assert_eq!(t.render(&event("", "")), "kev.events._unknown._cluster");
    }

    #[test]
    fn bad_templates_are_refused() {
        for bad in [
            "kev..{cluster}",
            "kev.{cluster}x",
            "kev.*.{cluster}",
            "kev.>",
            "kev. x",
            "",
        ] {
            assert!(SubjectTemplate::parse(bad).is_err(), "{bad}");
        }
        assert!(SubjectTemplate::parse("fleet.{namespace}.{cluster}").is_ok());
    }
}
