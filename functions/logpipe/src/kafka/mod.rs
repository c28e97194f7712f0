//! Kafka clients built from [`KafkaSettings`](crate::config::KafkaSettings).

mod consumer;
mod context;
mod msk_iam;
mod producer;

pub use consumer::{ConsumerError, IdleWatch, LogConsumer};
pub use context::{Deliveries, KafkaContext};
pub use msk_iam::{MskIamError, MskIamToken};
pub use producer::{LogProducer, ProduceReport};

use rdkafka::ClientConfig;

use crate::config::{KafkaAuth, KafkaSettings, TlsVerification};

/// The librdkafka settings shared by every client: brokers and security.
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("security.protocol", settings.security_protocol())
        // librdkafka's own logs go through our `log` callback, not stderr.
        .set("log_level", "4");
    if settings.tls {
        // Stated rather than left to librdkafka's defaults: the certificate and the host
        // name are checked unless the user turned it off.
        let (verify, identification) = match &settings.tls_verification {
            TlsVerification::Off => ("false", "none"),
            TlsVerification::Roots | TlsVerification::CustomCa(_) => ("true", "https"),
        };
        config
            .set("enable.ssl.certificate.verification", verify)
            .set("ssl.endpoint.identification.algorithm", identification);
        if let TlsVerification::CustomCa(pem) = &settings.tls_verification {
            config.set("ssl.ca.pem", pem);
        }
        if let Some(warning) = settings
            .tls_verification
            .warning("Kafka", "KAFKA_TLS_VERIFY")
        {
            tracing::warn!("{warning}");
        }
    }
    match &settings.auth {
        KafkaAuth::None => {}
        KafkaAuth::Sasl {
            mechanism,
            username,
            password,
        } => {
            config
                .set("sasl.mechanism", mechanism.as_str())
                .set("sasl.username", username)
                .set("sasl.password", password.expose());
        }
        KafkaAuth::MskIam { .. } => {
            // Tokens come from `KafkaContext::generate_oauth_token`.
            config.set("sasl.mechanism", "OAUTHBEARER");
        }
    }
    config
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    fn config(pairs: &[(&str, &str)]) -> ClientConfig {
        let env = [("KAFKA_BOOTSTRAP_SERVER", "broker:9093")]
            .iter()
            .chain(pairs)
            .map(|(k, v)| (k.to_string(), v.to_string()));
        client_config(&KafkaSettings::from_settings(&Settings::from_sources(env, None)).unwrap())
    }

    #[test]
    fn tls_checks_certificates_and_host_names_unless_told_not_to() {
        let tls = config(&[("KAFKA_SECURITY_PROTOCOL", "SSL")]);
        assert_eq!(tls.get("enable.ssl.certificate.verification"), Some("true"));
        assert_eq!(
            tls.get("ssl.endpoint.identification.algorithm"),
            Some("https")
        );
        assert_eq!(tls.get("ssl.ca.pem"), None);

        let pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
        let own_ca = config(&[("KAFKA_SECURITY_PROTOCOL", "SSL"), ("KAFKA_CA_CERT", pem)]);
        assert_eq!(
            own_ca.get("enable.ssl.certificate.verification"),
            Some("true")
        );
        assert_eq!(own_ca.get("ssl.ca.pem"), Some(pem));

        let off = config(&[
            ("KAFKA_SECURITY_PROTOCOL", "SSL"),
            ("KAFKA_TLS_VERIFY", "false"),
        ]);
        assert_eq!(
            off.get("enable.ssl.certificate.verification"),
            Some("false")
        );
        assert_eq!(
            off.get("ssl.endpoint.identification.algorithm"),
            Some("none")
        );
    }

    #[test]
    fn plaintext_has_no_tls_settings() {
        let plain = config(&[]);
        assert_eq!(plain.get("security.protocol"), Some("PLAINTEXT"));
        assert_eq!(plain.get("enable.ssl.certificate.verification"), None);
    }
}
