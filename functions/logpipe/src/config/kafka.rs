//! What a Kafka client needs: where the brokers are, how to authenticate,
//! which topic, and the producer's batching.

use super::{ConfigError, Secret, Settings, TlsVerification};

const WHY: &str = "the Kafka brokers to connect to";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaSettings {
    pub bootstrap_servers: String,
    pub topic: String,
    /// TLS to the brokers (`SSL`/`SASL_SSL`).
    pub tls: bool,
    /// How the brokers' certificates are checked when `tls`.
    pub tls_verification: TlsVerification,
    pub auth: KafkaAuth,
    pub compression: Compression,
    pub linger_ms: u32,
    pub message_timeout_ms: u32,
    /// Consumer group of the indexer's drain mode.
    pub group_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KafkaAuth {
    /// Local brokers.
    None,
    /// Confluent Cloud (PLAIN) or MSK SASL/SCRAM.
    Sasl {
        mechanism: SaslMechanism,
        username: String,
        password: Secret,
    },
    /// MSK IAM: OAUTHBEARER tokens signed with the Lambda role's credentials.
    MskIam { region: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    Lz4,
    Zstd,
}

impl Compression {
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

impl KafkaSettings {
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let bootstrap_servers = settings.require("KAFKA_BOOTSTRAP_SERVER", WHY)?.to_owned();
        if bootstrap_servers
            .split(',')
            .any(|s| !looks_like_host_port(s.trim()))
        {
            return Err(settings.invalid(
                "KAFKA_BOOTSTRAP_SERVER",
                format!("{bootstrap_servers:?} is not a list of host:port"),
            ));
        }
        let topic = settings
            .get("KAFKA_TOPIC")
            .unwrap_or(crate::DEFAULT_TOPIC)
            .to_owned();
        if !topic
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            || topic.len() > 249
        {
            return Err(settings.invalid(
                "KAFKA_TOPIC",
                format!("{topic:?} is not a Kafka topic name (letters, digits, `.`, `_`, `-`)"),
            ));
        }

        let auth = auth(settings)?;
        let tls = tls(settings, &auth)?;
        let compression = match settings
            .get("KAFKA_COMPRESSION")
            .map(str::to_ascii_lowercase)
        {
            None => Compression::Lz4,
            Some(c) if c == "lz4" => Compression::Lz4,
            Some(c) if c == "zstd" => Compression::Zstd,
            Some(other) => {
                return Err(
                    settings.invalid("KAFKA_COMPRESSION", format!("{other:?} is not lz4 or zstd"))
                );
            }
        };
        Ok(KafkaSettings {
            bootstrap_servers,
            topic,
            tls,
            tls_verification: TlsVerification::from_settings(
                settings,
                "KAFKA_CA_CERT",
                "KAFKA_TLS_VERIFY",
            )?,
            auth,
            compression,
            linger_ms: settings.parse_or("KAFKA_LINGER_MS", 5, "a number of milliseconds")?,
            message_timeout_ms: settings.parse_or(
                "KAFKA_MESSAGE_TIMEOUT_MS",
                30_000,
                "a number of milliseconds",
            )?,
            group_id: group_id(settings)?,
        })
    }

    /// librdkafka's `security.protocol`.
    pub fn security_protocol(&self) -> &'static str {
        match (self.tls, &self.auth) {
            (false, KafkaAuth::None) => "PLAINTEXT",
            (true, KafkaAuth::None) => "SSL",
            (false, _) => "SASL_PLAINTEXT",
            (true, _) => "SASL_SSL",
        }
    }
}

fn group_id(settings: &Settings) -> Result<String, ConfigError> {
    let group = settings
        .get("KAFKA_GROUP_ID")
        .unwrap_or(crate::DEFAULT_GROUP_ID);
    if group.trim().is_empty() {
        return Err(settings.invalid("KAFKA_GROUP_ID", "is empty".into()));
    }
    Ok(group.to_owned())
}

fn auth(settings: &Settings) -> Result<KafkaAuth, ConfigError> {
    let mechanism = settings
        .get("KAFKA_SASL_MECHANISM")
        .map(str::to_ascii_uppercase);
    let mechanism = match mechanism.as_deref() {
        Some("AWS_MSK_IAM") => {
            let region =
                settings.require("AWS_REGION", "AWS_MSK_IAM signs its tokens for a region")?;
            return Ok(KafkaAuth::MskIam {
                region: region.to_owned(),
            });
        }
        None => None,
        Some("PLAIN") => Some(SaslMechanism::Plain),
        Some("SCRAM-SHA-256") => Some(SaslMechanism::ScramSha256),
        Some("SCRAM-SHA-512") => Some(SaslMechanism::ScramSha512),
        Some(other) => {
            return Err(settings.invalid(
                "KAFKA_SASL_MECHANISM",
                format!("{other:?} is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or AWS_MSK_IAM"),
            ));
        }
    };
    let username = settings.get("KAFKA_SASL_USERNAME");
    if username.is_none() && mechanism.is_none() {
        return Ok(KafkaAuth::None);
    }
    let why = "SASL authentication needs a user and a password";
    Ok(KafkaAuth::Sasl {
        mechanism: mechanism.unwrap_or(SaslMechanism::Plain),
        username: settings.require("KAFKA_SASL_USERNAME", why)?.to_owned(),
        password: Secret::new(settings.require("KAFKA_SASL_PASSWORD", why)?),
    })
}

fn tls(settings: &Settings, auth: &KafkaAuth) -> Result<bool, ConfigError> {
    let authenticated = *auth != KafkaAuth::None;
    let Some(protocol) = settings.get("KAFKA_SECURITY_PROTOCOL") else {
        // Credentials are only ever sent over TLS unless asked otherwise.
        return Ok(authenticated);
    };
    let (tls, sasl) = match protocol.to_ascii_uppercase().as_str() {
        "PLAINTEXT" => (false, false),
        "SSL" => (true, false),
        "SASL_PLAINTEXT" => (false, true),
        "SASL_SSL" => (true, true),
        other => {
            return Err(settings.invalid(
                "KAFKA_SECURITY_PROTOCOL",
                format!("{other:?} is not PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"),
            ));
        }
    };
    if sasl != authenticated {
        return Err(ConfigError::Conflict(if sasl {
            format!(
                "KAFKA_SECURITY_PROTOCOL={protocol} needs KAFKA_SASL_USERNAME or KAFKA_SASL_MECHANISM=AWS_MSK_IAM"
            )
        } else {
            format!(
                "KAFKA_SECURITY_PROTOCOL={protocol} sends no credentials, but SASL settings are set"
            )
        }));
    }
    Ok(tls)
}

fn looks_like_host_port(server: &str) -> bool {
    match server.rsplit_once(':') {
        Some((host, port)) => !host.is_empty() && port.parse::<u16>().is_ok(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Settings {
        Settings::from_sources(
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            None,
        )
    }

    fn kafka(pairs: &[(&str, &str)]) -> Result<KafkaSettings, ConfigError> {
        KafkaSettings::from_settings(&settings(pairs))
    }

    #[test]
    fn local_broker_is_plaintext_with_defaults() {
        let k = kafka(&[("KAFKA_BOOTSTRAP_SERVER", "127.0.0.1:9092")]).unwrap();
        assert_eq!(k.security_protocol(), "PLAINTEXT");
        assert_eq!(k.topic, "billion_website_logs");
        assert_eq!((k.compression, k.linger_ms), (Compression::Lz4, 5));
    }

    #[test]
    fn a_username_means_confluent_cloud_sasl_ssl_plain() {
        let k = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "pkc-1.confluent.cloud:9092"),
            ("KAFKA_SASL_USERNAME", "KEY"),
            ("KAFKA_SASL_PASSWORD", "hunter2"),
        ])
        .unwrap();
        assert_eq!(k.security_protocol(), "SASL_SSL");
        assert!(matches!(
            k.auth,
            KafkaAuth::Sasl {
                mechanism: SaslMechanism::Plain,
                ..
            }
        ));
        assert!(!format!("{k:?}").contains("hunter2"));
    }

    #[test]
    fn scram_and_msk_iam_by_option() {
        let k = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "b-1.msk:9096"),
            ("KAFKA_SASL_MECHANISM", "scram-sha-512"),
            ("KAFKA_SASL_USERNAME", "u"),
            ("KAFKA_SASL_PASSWORD", "p"),
        ])
        .unwrap();
        assert!(matches!(
            k.auth,
            KafkaAuth::Sasl {
                mechanism: SaslMechanism::ScramSha512,
                ..
            }
        ));
        let k = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "b-1.msk:9098"),
            ("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM"),
            ("AWS_REGION", "eu-west-1"),
        ])
        .unwrap();
        assert_eq!(
            k.auth,
            KafkaAuth::MskIam {
                region: "eu-west-1".into()
            }
        );
        assert_eq!(k.security_protocol(), "SASL_SSL");
    }

    #[test]
    fn errors_name_the_setting() {
        let e = kafka(&[]).unwrap_err().to_string();
        assert!(
            e.starts_with("missing setting KAFKA_BOOTSTRAP_SERVER"),
            "{e}"
        );
        let e = kafka(&[("KAFKA_BOOTSTRAP_SERVER", "nohost")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("KAFKA_BOOTSTRAP_SERVER (from the environment) is invalid"),
            "{e}"
        );
        let e = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "h:1"),
            ("KAFKA_SASL_USERNAME", "u"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("missing setting KAFKA_SASL_PASSWORD"), "{e}");
        let e = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "h:1"),
            ("KAFKA_LINGER_MS", "soon"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("KAFKA_LINGER_MS") && e.contains("a number of milliseconds"),
            "{e}"
        );
        let e = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "h:1"),
            ("KAFKA_SASL_MECHANISM", "GSSAPI"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("KAFKA_SASL_MECHANISM"), "{e}");
        let e = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "h:1"),
            ("KAFKA_SASL_MECHANISM", "AWS_MSK_IAM"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.starts_with("missing setting AWS_REGION"), "{e}");
        let e = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "h:1"),
            ("KAFKA_TOPIC", "a topic"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("KAFKA_TOPIC"), "{e}");
    }

    #[test]
    fn security_protocol_must_agree_with_credentials() {
        let e = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "h:1"),
            ("KAFKA_SECURITY_PROTOCOL", "PLAINTEXT"),
            ("KAFKA_SASL_USERNAME", "u"),
            ("KAFKA_SASL_PASSWORD", "p"),
        ])
        .unwrap_err();
        assert!(matches!(e, ConfigError::Conflict(_)), "{e}");
        let k = kafka(&[
            ("KAFKA_BOOTSTRAP_SERVER", "h:1"),
            ("KAFKA_SECURITY_PROTOCOL", "SASL_PLAINTEXT"),
            ("KAFKA_SASL_USERNAME", "u"),
            ("KAFKA_SASL_PASSWORD", "p"),
        ])
        .unwrap();
        assert_eq!(k.security_protocol(), "SASL_PLAINTEXT");
    }
}
