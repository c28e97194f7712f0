//! The AWS SDK's HTTP client, over `reqwest`.
//!
//! The SDK's own HTTPS client brings a second hyper client with HTTP/2 (`h2`, 0.7 MB of
//! code the SDK's calls here never use) beside the `reqwest` the Elasticsearch client
//! links anyway. This one hands the SDK's requests to `reqwest` and its answers back,
//! streamed both ways, with the timeouts the SDK asks for and a connection pool kept per set
//! of timeouts, as the SDK's `HttpClient` contract wants.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;

/// Connect and read timeouts, as the SDK's settings give them.
type Timeouts = (Option<Duration>, Option<Duration>);

/// An `HttpClient` for the AWS SDK that sends through `reqwest`.
#[derive(Debug, Default)]
pub struct ReqwestHttpClient {
    connectors: Mutex<HashMap<Timeouts, SharedHttpConnector>>,
}

impl ReqwestHttpClient {
    pub fn shared() -> SharedHttpClient {
        SharedHttpClient::new(Self::default())
    }

    fn connector(&self, timeouts: Timeouts) -> SharedHttpConnector {
        let mut connectors = self
            .connectors
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        connectors
            .entry(timeouts)
            .or_insert_with(|| SharedHttpConnector::new(Connector::new(timeouts)))
            .clone()
    }
}

impl HttpClient for ReqwestHttpClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        self.connector((settings.connect_timeout(), settings.read_timeout()))
    }
}

/// One `reqwest` client (one connection pool) with one set of timeouts.
#[derive(Debug)]
struct Connector {
    /// The build's error, kept for the requests to report: `HttpClient` cannot fail.
    client: Result<reqwest::Client, String>,
}

impl Connector {
    fn new((connect, read): Timeouts) -> Self {
        // As the SDK's own client: redirects and content encodings go to the SDK as they came
        // (a redirect is for the SDK to report, and a body's checksum is of its bytes as sent).
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_gzip();
        if let Some(timeout) = connect {
            builder = builder.connect_timeout(timeout);
        }
        if let Some(timeout) = read {
            builder = builder.read_timeout(timeout);
        }
        let client = builder
            .build()
            .map_err(|e| format!("the AWS SDK's HTTP client could not be built: {e}"));
        Self { client }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let client = self.client.clone();
        HttpConnectorFuture::new(async move {
            let client = client.map_err(|e| ConnectorError::other(e.into(), None))?;
            let request = to_reqwest(request).map_err(ConnectorError::user)?;
            let response = client.execute(request).await.map_err(connector_error)?;
            let response = http::Response::from(response).map(SdkBody::from_body_1_x);
            HttpResponse::try_from(response).map_err(|e| ConnectorError::other(e.into(), None))
        })
    }
}

fn to_reqwest(
    request: HttpRequest,
) -> Result<reqwest::Request, aws_smithy_runtime_api::box_error::BoxError> {
    let request = request.try_into_http1x()?.map(|body| {
        // In-memory bodies (every request these clients send) go as they are; others stream.
        match body.bytes().map(Bytes::copy_from_slice) {
            Some(bytes) => reqwest::Body::from(bytes),
            None => reqwest::Body::wrap(body),
        }
    });
    Ok(reqwest::Request::try_from(request)?)
}

/// How the SDK's retry policy sees a failure: a timeout, or a connection that could not be
/// made or broke while the request was sent or its answer read, is transient (retried);
/// anything else is not.
fn connector_error(error: reqwest::Error) -> ConnectorError {
    if error.is_timeout() {
        ConnectorError::timeout(error.into())
    } else if error.is_connect() || error.is_request() || error.is_body() {
        ConnectorError::io(error.into())
    } else {
        ConnectorError::other(error.into(), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::byte_stream::ByteStream;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    fn request(url: &str, body: &'static str) -> HttpRequest {
        let request = http::Request::builder()
            .method("POST")
            .uri(url)
            .header("x-amz-target", "secretsmanager.GetSecretValue")
            .header("content-length", body.len())
            .body(SdkBody::from(body))
            .expect("a valid request");
        HttpRequest::try_from(request).expect("an SDK request")
    }

    /// Reads one request (head and a body of `content-length` bytes) from a connection.
    async fn read_request(socket: &mut tokio::net::TcpStream) -> String {
        let mut seen = Vec::new();
        let mut buffer = [0u8; 4096];
        loop {
            let n = socket.read(&mut buffer).await.expect("the request");
            assert!(n > 0, "the connection closed before the request ended");
            seen.extend_from_slice(&buffer[..n]);
            let text = String::from_utf8_lossy(&seen).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length: ")
                            .map(str::to_owned)
                    })
                    .map_or(0, |v| v.parse::<usize>().expect("a length"));
                if body.len() >= length {
                    return text;
                }
            }
        }
    }

    #[tokio::test]
    async fn a_request_and_its_answer_pass_through_unchanged() {
        let (base, server) = answer_once(
            "HTTP/1.1 400 Bad Request\r\ncontent-length: 5\r\nx-amzn-requestid: r-1\r\n\r\nhello",
        )
        .await;
        let url = format!("{base}/path?q=1");

        let connector =
            Connector::new((Some(Duration::from_secs(5)), Some(Duration::from_secs(5))));
        let response = connector
            .call(request(&url, r#"{"SecretId":"s"}"#))
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 400);
        assert_eq!(response.headers().get("x-amzn-requestid"), Some("r-1"));
        let body = ByteStream::new(response.into_body())
            .collect()
            .await
            .expect("the body");
        assert_eq!(body.into_bytes().as_ref(), b"hello");

        let seen = server.await.expect("the server");
        assert!(seen.starts_with("POST /path?q=1 HTTP/1.1\r\n"), "{seen}");
        assert!(
            seen.contains("x-amz-target: secretsmanager.GetSecretValue\r\n"),
            "{seen}"
        );
        assert!(seen.ends_with("\r\n\r\n{\"SecretId\":\"s\"}"), "{seen}");
    }

    /// A server on 127.0.0.1 that answers one request with `answer`: its base URL, and the
    /// task that ends with the request it read.
    async fn answer_once(answer: &'static str) -> (String, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            let seen = read_request(&mut socket).await;
            socket
                .write_all(answer.as_bytes())
                .await
                .expect("the answer");
            seen
        });
        (base, server)
    }

    #[tokio::test]
    async fn redirects_and_encoded_bodies_reach_the_sdk_as_they_came() {
        let (base, server) = answer_once(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:1/key\r\ncontent-length: 0\r\n\r\n",
        )
        .await;
        let url = format!("{base}/key");
        let connector = Connector::new((Some(Duration::from_secs(5)), None));
        let response = connector.call(request(&url, "")).await.expect("an answer");
        assert_eq!(response.status().as_u16(), 307, "not followed");
        server.await.expect("the server");

        // Not gzip at all: a client that decoded it would fail.
        let (base, server) = answer_once(
            "HTTP/1.1 200 OK\r\ncontent-encoding: gzip\r\ncontent-length: 5\r\n\r\nplain",
        )
        .await;
        let url = format!("{base}/key");
        let response = connector.call(request(&url, "")).await.expect("an answer");
        assert_eq!(response.headers().get("content-encoding"), Some("gzip"));
        let body = ByteStream::new(response.into_body())
            .collect()
            .await
            .expect("the body");
        assert_eq!(body.into_bytes().as_ref(), b"plain");
        assert!(
            !server
                .await
                .expect("the server")
                .contains("accept-encoding")
        );
    }

    #[tokio::test]
    async fn a_refused_connection_is_transient_io() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/", listener.local_addr().expect("an address"));
        drop(listener);
        let error = Connector::new((Some(Duration::from_secs(5)), None))
            .call(request(&url, ""))
            .await
            .expect_err("nothing listens");
        assert!(error.is_io(), "{error:?}");
    }

    #[tokio::test]
    async fn a_server_that_never_answers_is_a_timeout() {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let url = format!("http://{}/", listener.local_addr().expect("an address"));
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("a connection");
            read_request(&mut socket).await;
            tokio::time::sleep(Duration::from_secs(10)).await;
        });
        let error = Connector::new((None, Some(Duration::from_millis(300))))
            .call(request(&url, "{}"))
            .await
            .expect_err("no answer");
        assert!(error.is_timeout(), "{error:?}");
        server.abort();
    }

    #[test]
    fn one_connection_pool_per_set_of_timeouts() {
        let client = ReqwestHttpClient::default();
        let short = (Some(Duration::from_secs(1)), None);
        let long = (Some(Duration::from_secs(9)), None);
        for timeouts in [short, long, short, long] {
            client.connector(timeouts);
        }
        assert_eq!(client.connectors.lock().expect("not poisoned").len(), 2);
    }
}
