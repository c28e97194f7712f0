//! Configuration, loaded once per process (a Lambda's cold start).
//!
//! Sources, lowest precedence first: the Secrets Manager secret named by
//! `SECRET_NAME` (when set), then environment variables of the same names.
//! Without `SECRET_NAME` no AWS call is made. Each component takes a typed
//! view of what it needs ([`KafkaSettings::from_settings`]), so a missing or
//! malformed setting is reported by name when the process starts.

mod elasticsearch;
mod kafka;
mod log_format;
mod secret;
mod tls;

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

pub use elasticsearch::{AwsService, AwsSigning, ElasticsearchAuth, ElasticsearchSettings};
pub use kafka::{Compression, KafkaAuth, KafkaSettings, SaslMechanism};
pub use log_format::log_format;
pub use secret::Secret;
pub use tls::TlsVerification;

/// The settings we read, with what they are for. Documented in the README.
pub const KNOWN_SETTINGS: &[(&str, &str)] = &[
    (
        "KAFKA_BOOTSTRAP_SERVER",
        "Kafka bootstrap servers, `host:port[,host:port]`",
    ),
    (
        "KAFKA_TOPIC",
        "topic of the access logs (default `billion_website_logs`)",
    ),
    (
        "KAFKA_SASL_USERNAME",
        "SASL user; when set, SASL_SSL + PLAIN (Confluent Cloud) by default",
    ),
    ("KAFKA_SASL_PASSWORD", "SASL password"),
    (
        "KAFKA_SASL_MECHANISM",
        "PLAIN (default with a user), SCRAM-SHA-512, SCRAM-SHA-256 or AWS_MSK_IAM",
    ),
    (
        "KAFKA_SECURITY_PROTOCOL",
        "PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (default from the above)",
    ),
    (
        "KAFKA_COMPRESSION",
        "producer compression: lz4 (default) or zstd",
    ),
    (
        "KAFKA_GROUP_ID",
        "consumer group of the indexer's drain mode (default `mwaa_log_indexer`)",
    ),
    (
        "KAFKA_CA_CERT",
        "CA certificate (PEM text or file path) the brokers' certificates are checked against, besides the system's",
    ),
    (
        "KAFKA_TLS_VERIFY",
        "true (default) or false: false skips checking the brokers' certificates, for local test brokers only",
    ),
    (
        "KAFKA_LINGER_MS",
        "producer batching delay in ms (default 5)",
    ),
    (
        "KAFKA_MESSAGE_TIMEOUT_MS",
        "give up delivering a record after this many ms (default 30000)",
    ),
    (
        "AWS_REGION",
        "region for AWS_MSK_IAM tokens and aws-sigv4 signatures (set by Lambda)",
    ),
    ("ELASTICSEARCH_URL", "Elasticsearch endpoint"),
    (
        "ELASTICSEARCH_API_KEY",
        "Elasticsearch API key: the encoded key, as the original system, or `id:key`",
    ),
    (
        "ELASTICSEARCH_USERNAME",
        "Elasticsearch basic-auth user (instead of an API key)",
    ),
    (
        "ELASTICSEARCH_PASSWORD",
        "Elasticsearch basic-auth password",
    ),
    (
        "ELASTICSEARCH_AUTH",
        "api-key, basic, none or aws-sigv4 (default: from the credentials set; aws-sigv4 for a `*.aoss.amazonaws.com` endpoint)",
    ),
    (
        "ELASTICSEARCH_AWS_SERVICE",
        "what aws-sigv4 signs for: es (OpenSearch Service domain) or aoss (OpenSearch Serverless); default from the endpoint's host, else es",
    ),
    (
        "ELASTICSEARCH_AWS_REGION",
        "region aws-sigv4 signs for (default AWS_REGION, else the endpoint's host)",
    ),
    (
        "ELASTICSEARCH_CA_CERT",
        "CA certificate (PEM text or file path) the server's certificate is checked against, besides the system's",
    ),
    (
        "ELASTICSEARCH_TLS_VERIFY",
        "true (default) or false: false skips checking the server's certificate, for local test servers only",
    ),
    (
        "ELASTICSEARCH_INDEX",
        "index of the documents (default `billion_website_logs`)",
    ),
    (
        "ELASTICSEARCH_DEADLETTER_INDEX",
        "index of the dead letters (default `<index>-deadletter`)",
    ),
    (
        "ELASTICSEARCH_GZIP",
        "gzip `_bulk` request bodies: true or false (default false)",
    ),
    (
        "ELASTICSEARCH_BULK_MAX_BYTES",
        "largest `_bulk` body in bytes (default 5242880)",
    ),
    (
        "ELASTICSEARCH_BULK_MAX_ACTIONS",
        "most documents in one `_bulk` request (default 5000)",
    ),
    (
        "ELASTICSEARCH_TIMEOUT_MS",
        "timeout of one Elasticsearch request in ms (default 10000)",
    ),
    (
        "LOG_FORMAT",
        "access-log format: auto (default; every built-in format, detected per line), a preset name, or your NGINX log_format / Apache LogFormat string",
    ),
    (
        "SECRET_NAME",
        "Secrets Manager secret holding any of the above (e.g. MWAA_Secrets_V2)",
    ),
];

/// A configuration problem, named so the user knows what to fix. Messages
/// never contain a secret value.
#[derive(Debug, Error)]
pub enum ConfigError {
    #[error("missing setting {name}: {why}")]
    Missing {
        name: &'static str,
        why: &'static str,
    },
    #[error("setting {name} (from {origin}) is invalid: {reason}")]
    Invalid {
        name: &'static str,
        origin: Origin,
        reason: String,
    },
    #[error("settings conflict: {0}")]
    Conflict(String),
    #[error("could not read secret `{secret}` from Secrets Manager: {reason}")]
    SecretFetch { secret: String, reason: String },
    #[error("secret `{secret}` {reason}")]
    SecretContent { secret: String, reason: String },
}

/// Where a setting's value came from, for error messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Environment,
    Secret(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Environment => f.write_str("the environment"),
            Origin::Secret(name) => write!(f, "secret `{name}`"),
        }
    }
}

/// All settings found, before any component has looked at them.
#[derive(Clone, Default)]
pub struct Settings {
    values: BTreeMap<String, (String, Origin)>,
}

impl fmt::Debug for Settings {
    /// Names and origins only: values may be secrets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.values.iter().map(|(k, (_, origin))| (k, origin)))
            .finish()
    }
}

impl Settings {
    /// Reads the process environment and, if `SECRET_NAME` is set, the secret.
    pub async fn load() -> Result<Self, ConfigError> {
        let env: BTreeMap<String, String> = std::env::vars()
            .filter(|(name, _)| KNOWN_SETTINGS.iter().any(|(known, _)| known == name))
            .collect();
        let secret = match env.get("SECRET_NAME").filter(|s| !s.is_empty()) {
            Some(name) => {
                let text = secret::fetch_secret_string(name).await?;
                Some((name.clone(), secret::parse_secret_json(name, &text)?))
            }
            None => None,
        };
        Ok(Self::from_sources(env, secret))
    }

    /// Merges a secret's settings with environment variables, which win.
    pub fn from_sources(
        env: impl IntoIterator<Item = (String, String)>,
        secret: Option<(String, BTreeMap<String, String>)>,
    ) -> Self {
        let mut values = BTreeMap::new();
        if let Some((name, settings)) = secret {
            for (key, value) in settings {
                values.insert(key, (value, Origin::Secret(name.clone())));
            }
        }
        for (key, value) in env {
            values.insert(key, (value, Origin::Environment));
        }
        Settings { values }
    }

    /// Settings from a secret's JSON text, as if read from Secrets Manager.
    pub fn from_secret_json(
        env: impl IntoIterator<Item = (String, String)>,
        secret_name: &str,
        json: &str,
    ) -> Result<Self, ConfigError> {
        let secret = secret::parse_secret_json(secret_name, json)?;
        Ok(Self::from_sources(
            env,
            Some((secret_name.to_owned(), secret)),
        ))
    }

    /// A setting's value, if set and not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values
            .get(name)
            .map(|(value, _)| value.trim())
            .filter(|value| !value.is_empty())
    }

    pub fn origin(&self, name: &str) -> Option<&Origin> {
        self.values.get(name).map(|(_, origin)| origin)
    }

    pub(crate) fn require(
        &self,
        name: &'static str,
        why: &'static str,
    ) -> Result<&str, ConfigError> {
        self.get(name).ok_or(ConfigError::Missing { name, why })
    }

    /// Parses a setting, or gives `default` when it is not set.
    pub(crate) fn parse_or<T: FromStr>(
        &self,
        name: &'static str,
        default: T,
        expected: &'static str,
    ) -> Result<T, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(text) => text
                .parse()
                .map_err(|_| self.invalid(name, expected.to_owned())),
        }
    }

    pub(crate) fn invalid(&self, name: &'static str, reason: String) -> ConfigError {
        ConfigError::Invalid {
            name,
            origin: self.origin(name).cloned().unwrap_or(Origin::Environment),
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn environment_overrides_the_secret() {
        let s = Settings::from_secret_json(
            env(&[("KAFKA_TOPIC", "from-env")]),
            "MWAA_Secrets_V2",
            r#"{"KAFKA_TOPIC": "from-secret", "kafka_bootstrap_server": "b:9092"}"#,
        )
        .unwrap();
        assert_eq!(s.get("KAFKA_TOPIC"), Some("from-env"));
        assert_eq!(s.origin("KAFKA_TOPIC"), Some(&Origin::Environment));
        assert_eq!(s.get("KAFKA_BOOTSTRAP_SERVER"), Some("b:9092"));
        assert_eq!(
            s.origin("KAFKA_BOOTSTRAP_SERVER"),
            Some(&Origin::Secret("MWAA_Secrets_V2".into()))
        );
    }

    #[test]
    fn debug_shows_names_not_values() {
        let s = Settings::from_secret_json(
            env(&[]),
            "s",
            r#"{"kafka_secret": "hunter2", "elasticsearch_API_Key": "k3y"}"#,
        )
        .unwrap();
        let debug = format!("{s:?}");
        assert!(debug.contains("KAFKA_SASL_PASSWORD"), "{debug}");
        assert!(
            !debug.contains("hunter2") && !debug.contains("k3y"),
            "{debug}"
        );
    }

    #[test]
    fn empty_values_count_as_unset() {
        let s = Settings::from_sources(env(&[("KAFKA_TOPIC", " ")]), None);
        assert_eq!(s.get("KAFKA_TOPIC"), None);
    }
}
