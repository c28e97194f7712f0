//! Lambda's Invoke API (`POST /2015-03-31/functions/<name>/invocations`),
//! which `cargo lambda watch` serves as AWS does.

use std::time::Duration;

use thiserror::Error;

use logpipe::elastic::error_chain;

/// Invokes one function synchronously; a trait so that the delivery logic
/// can be tested against scripted answers.
pub trait Invoke {
    /// The function's answer (its JSON text), or why there is none.
    fn invoke(&self, payload: String) -> impl Future<Output = Result<String, InvokeError>> + Send;
}

#[derive(Debug, Error)]
pub enum InvokeError {
    #[error("could not reach the Invoke API at {url}: {reason}")]
    Transport { url: String, reason: String },
    /// The function failed (`X-Amz-Function-Error`, or, under cargo-lambda,
    /// an HTTP error status).
    #[error("the function failed (HTTP {status}): {body}")]
    Function { status: u16, body: String },
}

/// An HTTP client of the Invoke API of one function.
#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: reqwest::Client,
    url: String,
}

impl LambdaInvoker {
    /// `endpoint` is `http://127.0.0.1:9000` (cargo lambda watch) or any
    /// server of the same API; `timeout` bounds one invocation.
    pub fn new(endpoint: &str, function: &str, timeout: Duration) -> Result<Self, InvokeError> {
        let url = format!(
            "{}/2015-03-31/functions/{function}/invocations",
            endpoint.trim_end_matches('/')
        );
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .no_proxy()
            .build()
            .map_err(|e| InvokeError::Transport {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        Ok(LambdaInvoker { client, url })
    }

    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Invoke for LambdaInvoker {
    async fn invoke(&self, payload: String) -> Result<String, InvokeError> {
        let transport = |e: reqwest::Error| InvokeError::Transport {
            url: self.url.clone(),
            reason: error_chain(&e),
        };
        let response = self
            .client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Amz-Invocation-Type", "RequestResponse")
            .body(payload)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let function_error = response.headers().contains_key("x-amz-function-error");
        let body = response.text().await.map_err(transport)?;
        if function_error || !status.is_success() {
            return Err(InvokeError::Function {
                status: status.as_u16(),
                body,
            });
        }
        Ok(body)
    }
}
