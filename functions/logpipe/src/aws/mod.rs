//! The AWS SDK's configuration, built the same way for every client.
//!
//! Every SDK client (Secrets Manager, S3, the credential providers) sends its requests through
//! the Elasticsearch client's `reqwest` ([`http_client`]), so that the functions carry one
//! HTTP and TLS stack (rustls on ring, HTTP/1.1); OpenSSL stays only inside librdkafka.

mod http_client;

use aws_config::{BehaviorVersion, SdkConfig};

pub use http_client::ReqwestHttpClient;

/// The configuration of the usual AWS environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with our HTTPS client.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(ReqwestHttpClient::shared())
        .load()
        .await
}
