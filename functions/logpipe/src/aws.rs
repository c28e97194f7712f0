//! The AWS SDK's configuration, built the same way for every client.
//!
//! The SDK's default HTTPS client brings its own TLS stack (rustls on aws-lc, a large C
//! build); the Elasticsearch client already links rustls on ring. Every SDK client
//! (Secrets Manager, the credential providers) is given a rustls-on-ring client instead,
//! so that the functions carry one TLS stack for HTTP (OpenSSL stays only inside
//! librdkafka).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The configuration of the usual AWS environment (region, credentials, `AWS_ENDPOINT_URL`),
/// with our HTTPS client.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .load()
        .await
}

fn https_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}
