//! Elasticsearch: the client, the templates we install, and `_bulk`
//! requests with the policy that decides what happens to each item.

mod bulk;
mod client;
pub mod opensearch;
mod retry;
#[cfg(feature = "aws")]
pub mod sigv4;

pub use bulk::{BulkError, BulkItem, send_bulk, send_bulk_to};
pub use client::{SearchClient, SendError, gzip};
pub use retry::{Backoff, ItemOutcome, RequestOutcome, classify_item, classify_request};

use bytes::Bytes;
use elasticsearch::Elasticsearch;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::Method;
use elasticsearch::http::Url;
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use thiserror::Error;

use crate::config::{ElasticsearchAuth, ElasticsearchSettings, TlsVerification};
use crate::template::{access_logs_template, dead_letters_template, template_name};

#[derive(Debug, Error)]
pub enum SetupError {
    #[error("ELASTICSEARCH_URL {url:?} is not a URL: {reason}")]
    Url { url: String, reason: String },
    #[error("could not build the Elasticsearch client: {0}")]
    Client(String),
    #[error("could not install index template `{name}`: {reason}")]
    Template { name: String, reason: String },
}

/// A client for `settings`: one per process, reused across invocations.
/// With `aws-sigv4`, the credentials provider chain is set up here; the
/// first request fetches credentials.
pub async fn connect(settings: &ElasticsearchSettings) -> Result<SearchClient, SetupError> {
    let url = Url::parse(&settings.url).map_err(|e| SetupError::Url {
        url: settings.url.clone(),
        reason: e.to_string(),
    })?;
    // Bodies are compressed by `SearchClient`, so that what is signed is what is sent.
    let mut builder = TransportBuilder::new(SingleNodeConnectionPool::new(url.clone()))
        .timeout(settings.request_timeout)
        .disable_proxy();
    builder = match &settings.auth {
        ElasticsearchAuth::None => builder,
        ElasticsearchAuth::ApiKey(key) => builder.auth(match key.expose().split_once(':') {
            Some((id, secret)) => Credentials::ApiKey(id.to_owned(), secret.to_owned()),
            None => Credentials::EncodedApiKey(key.expose().to_owned()),
        }),
        ElasticsearchAuth::Basic { username, password } => builder.auth(Credentials::Basic(
            username.clone(),
            password.expose().to_owned(),
        )),
        // Signed per request by `SearchClient`.
        ElasticsearchAuth::AwsSigV4(_) => builder,
    };
    builder = match &settings.tls {
        TlsVerification::Roots => builder,
        TlsVerification::CustomCa(pem) => builder.cert_validation(CertificateValidation::Full(
            Certificate::from_pem(pem.as_bytes()).map_err(|e| {
                SetupError::Client(format!(
                    "ELASTICSEARCH_CA_CERT is not a usable certificate: {e}"
                ))
            })?,
        )),
        TlsVerification::Off => builder.cert_validation(CertificateValidation::None),
    };
    if let Some(warning) = settings
        .tls
        .warning("Elasticsearch", "ELASTICSEARCH_TLS_VERIFY")
    {
        tracing::warn!("{warning}");
    }
    let transport = builder
        .build()
        .map_err(|e| SetupError::Client(e.to_string()))?;
    let client = SearchClient::new(Elasticsearch::new(transport), settings.gzip);
    match &settings.auth {
        #[cfg(feature = "aws")]
        ElasticsearchAuth::AwsSigV4(signing) => {
            tracing::info!(
                service = signing.service.signing_name(),
                region = %signing.region,
                "signing search requests with SigV4"
            );
            let signer = sigv4::Signer::from_default_chain(signing.clone())
                .await
                .map_err(|e| SetupError::Client(e.to_string()))?;
            Ok(client.with_signer(signer, url))
        }
        #[cfg(not(feature = "aws"))]
        ElasticsearchAuth::AwsSigV4(_) => Err(SetupError::Client(
            "ELASTICSEARCH_AUTH=aws-sigv4: this build has no SigV4 signing (logpipe's `aws` feature)"
                .into(),
        )),
        _ => Ok(client),
    }
}

/// An error with its causes, which say what went wrong on the wire (a
/// refused certificate, a reset connection): the outermost message does not.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Installs the templates of both indices unless they exist: at cold start,
/// before any document could create an index with dynamic mappings.
pub async fn install_templates(
    client: &SearchClient,
    settings: &ElasticsearchSettings,
) -> Result<(), SetupError> {
    let templates = [
        (&settings.index, access_logs_template(&settings.index)),
        (
            &settings.deadletter_index,
            dead_letters_template(&settings.deadletter_index),
        ),
    ];
    for (index, body) in templates {
        let name = template_name(index);
        let failed = |reason: String| SetupError::Template {
            name: name.clone(),
            reason,
        };
        let path = format!("/_index_template/{name}");
        let exists = client
            // GET, not HEAD: a refusal (a 403 of a bad signature) comes with a body saying why.
            .send(Method::Get, &path, HeaderMap::new(), None, None)
            .await
            .map_err(|e| failed(e.to_string()))?;
        match exists.status_code().as_u16() {
            200 => continue,
            404 => {}
            other => {
                let text = exists.text().await.unwrap_or_default();
                return Err(failed(format!("GET {path} answered {other}: {text}")));
            }
        }
        let body = serde_json::to_vec(&body).map_err(|e| failed(e.to_string()))?;
        let put = client
            .send(
                Method::Put,
                &path,
                HeaderMap::new(),
                Some(Bytes::from(body)),
                None,
            )
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = put.status_code();
        if !status.is_success() {
            let text = put.text().await.unwrap_or_default();
            return Err(failed(format!("PUT {path} answered {status}: {text}")));
        }
        tracing::info!(template = %name, index = %index, "installed index template");
    }
    Ok(())
}
