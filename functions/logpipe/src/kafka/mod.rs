//! Kafka clients built from [`KafkaSettings`](crate::config::KafkaSettings).

mod consumer;
mod context;
mod producer;

pub use consumer::{ConsumerError, LogConsumer};
pub use context::{Deliveries, KafkaContext};
pub use producer::{LogProducer, ProduceReport};

use rdkafka::ClientConfig;

use crate::config::{KafkaAuth, KafkaSettings};

/// The librdkafka settings shared by every client: brokers and security.
pub fn client_config(settings: &KafkaSettings) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &settings.bootstrap_servers)
        .set("security.protocol", settings.security_protocol())
        // librdkafka's own logs go through our `log` callback, not stderr.
        .set("log_level", "4");
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
