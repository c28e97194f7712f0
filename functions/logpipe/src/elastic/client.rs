//! The one way our requests reach the search server. The `elasticsearch`
//! crate's transport sends them (its connection pool, TLS and
//! authentication), but the body is compressed here, not by the transport,
//! so that a SigV4 signature can cover the exact bytes sent: the transport
//! offers no hook between building a request and sending it.

use std::io::Write;
#[cfg(feature = "aws")]
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use elasticsearch::Elasticsearch;
use elasticsearch::http::Method;
#[cfg(feature = "aws")]
use elasticsearch::http::Url;
#[cfg(feature = "aws")]
use elasticsearch::http::headers::HeaderName;
use elasticsearch::http::headers::{CONTENT_ENCODING, HeaderMap, HeaderValue};
use elasticsearch::http::response::Response;
use flate2::Compression;
use flate2::write::GzEncoder;
use thiserror::Error;

use super::error_chain;
#[cfg(feature = "aws")]
use super::sigv4::Signer;

#[derive(Debug, Error)]
pub enum SendError {
    /// No request was sent: signing it failed (no credentials, say).
    #[error("{0}")]
    Sign(String),
    /// Sent, and no answer came (refused, reset, timed out).
    #[error("{0}")]
    Transport(String),
}

/// A client for one search endpoint: cheap to clone, one per process.
#[derive(Clone)]
pub struct SearchClient {
    transport: Elasticsearch,
    gzip: bool,
    #[cfg(feature = "aws")]
    signing: Option<Signing>,
}

/// What signs each request, and the endpoint its URLs are made from (the
/// signature covers the full URL; the transport only sees paths).
#[cfg(feature = "aws")]
#[derive(Clone)]
struct Signing {
    signer: Arc<Signer>,
    /// The endpoint with a trailing `/`, as the transport joins paths to it.
    base: Url,
}

impl SearchClient {
    /// `transport` must not compress bodies itself (this client does).
    pub(crate) fn new(transport: Elasticsearch, gzip: bool) -> Self {
        SearchClient {
            transport,
            gzip,
            #[cfg(feature = "aws")]
            signing: None,
        }
    }

    /// Signs every request to `endpoint` with `signer`.
    #[cfg(feature = "aws")]
    pub(crate) fn with_signer(mut self, signer: Signer, mut endpoint: Url) -> Self {
        if !endpoint.path().ends_with('/') {
            endpoint.set_path(&format!("{}/", endpoint.path()));
        }
        self.signing = Some(Signing {
            signer: Arc::new(signer),
            base: endpoint,
        });
        self
    }

    /// Sends `method path_and_query` with `body`: gzipped when so configured,
    /// then signed when so configured, then sent as it was signed.
    pub async fn send(
        &self,
        method: Method,
        path_and_query: &str,
        mut headers: HeaderMap,
        body: Option<Bytes>,
        timeout: Option<Duration>,
    ) -> Result<Response, SendError> {
        let body = match body {
            Some(body) if self.gzip => {
                headers.insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                Some(gzip(&body).map_err(|e| SendError::Transport(format!("gzip: {e}")))?)
            }
            body => body,
        };
        #[cfg(feature = "aws")]
        if let Some(Signing { signer, base }) = &self.signing {
            let url = base
                .join(path_and_query.trim_start_matches('/'))
                .map_err(|e| SendError::Sign(format!("{path_and_query:?}: {e}")))?;
            let signature = signer
                .sign(
                    method_name(method),
                    url.as_str(),
                    body.as_deref().unwrap_or_default(),
                )
                .await
                .map_err(|e| SendError::Sign(e.to_string()))?;
            for (name, value) in signature {
                let mut value = HeaderValue::try_from(value)
                    .map_err(|e| SendError::Sign(format!("header {name}: {e}")))?;
                if name == "authorization" || name == "x-amz-security-token" {
                    value.set_sensitive(true);
                }
                headers.insert(HeaderName::from_static(name), value);
            }
        }
        // The query is part of the path: the transport appends it
        // unchanged, so the URL sent is the one signed.
        self.transport
            .send(method, path_and_query, headers, None::<&()>, body, timeout)
            .await
            .map_err(|e| SendError::Transport(error_chain(&e)))
    }
}

/// A request body as sent with `ELASTICSEARCH_GZIP` (public for the indexer benchmark).
pub fn gzip(body: &[u8]) -> std::io::Result<Bytes> {
    // Access logs compress about 5 to 10 times: a quarter avoids regrowing.
    let mut encoder = GzEncoder::new(Vec::with_capacity(body.len() / 4), Compression::default());
    encoder.write_all(body)?;
    Ok(Bytes::from(encoder.finish()?))
}

#[cfg(feature = "aws")]
fn method_name(method: Method) -> &'static str {
    match method {
        Method::Get => "GET",
        Method::Put => "PUT",
        Method::Post => "POST",
        Method::Delete => "DELETE",
        Method::Head => "HEAD",
    }
}
