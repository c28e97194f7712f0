//! The client context: librdkafka's logs into `tracing`, and MSK IAM tokens.

use std::collections::BTreeMap;
use std::error::Error;
use std::sync::{Mutex, PoisonError};

use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::message::{DeliveryResult, Message};
use rdkafka::producer::ProducerContext;

use crate::config::{KafkaAuth, KafkaSettings};

/// Shared by our producers and consumers.
#[derive(Debug, Default)]
pub struct KafkaContext {
    /// Set when authenticating with MSK IAM.
    msk_iam_region: Option<String>,
    /// What the producer's delivery reports said since the last `take`.
    deliveries: Mutex<Deliveries>,
}

/// Delivery reports, counted.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Deliveries {
    /// Records acknowledged by the brokers, per partition.
    pub delivered: BTreeMap<i32, u64>,
    pub failed: u64,
    /// Each distinct delivery error, with how many records it failed.
    pub errors: BTreeMap<String, u64>,
}

impl KafkaContext {
    pub fn new(settings: &KafkaSettings) -> Self {
        let msk_iam_region = match &settings.auth {
            KafkaAuth::MskIam { region } => Some(region.clone()),
            _ => None,
        };
        KafkaContext {
            msk_iam_region,
            deliveries: Mutex::default(),
        }
    }

    /// The delivery reports counted so far, resetting the count.
    pub fn take_deliveries(&self) -> Deliveries {
        std::mem::take(
            &mut *self
                .deliveries
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        )
    }
}

impl ProducerContext for KafkaContext {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        let mut deliveries = self
            .deliveries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match result {
            Ok(message) => *deliveries.delivered.entry(message.partition()).or_default() += 1,
            Err((error, _)) => {
                deliveries.failed += 1;
                *deliveries.errors.entry(error.to_string()).or_default() += 1;
            }
        }
    }
}

impl ConsumerContext for KafkaContext {}

impl ClientContext for KafkaContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Warning => tracing::warn!(target: "librdkafka", facility, "{message}"),
            RDKafkaLogLevel::Notice | RDKafkaLogLevel::Info => {
                tracing::info!(target: "librdkafka", facility, "{message}")
            }
            RDKafkaLogLevel::Debug => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    /// Signs an MSK IAM token with the credentials of the environment (the
    /// Lambda role). librdkafka calls this from its own thread, where there
    /// is no async runtime, so the signer runs on a small one of its own.
    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> Result<OAuthToken, Box<dyn Error>> {
        let region = self
            .msk_iam_region
            .clone()
            .ok_or("OAUTHBEARER is only used with KAFKA_SASL_MECHANISM=AWS_MSK_IAM")?;
        let signed = std::thread::spawn(move || -> Result<_, String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("MSK IAM token: no runtime to sign it on: {e}"))?;
            runtime
                .block_on(super::msk_iam::token_from_environment(&region))
                .map_err(|e| e.to_string())
        })
        .join()
        .map_err(|_| "the MSK IAM token signer panicked")??;
        Ok(OAuthToken {
            token: signed.token,
            principal_name: String::new(),
            lifetime_ms: signed.expires_at_ms,
        })
    }
}
