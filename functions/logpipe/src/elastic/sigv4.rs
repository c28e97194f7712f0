//! SigV4 signatures of search requests (Amazon OpenSearch Service with IAM,
//! OpenSearch Serverless), made by the AWS SDK's own signer over the exact
//! bytes sent, with credentials from the standard provider chain.
//!
//! Credentials are never logged: `Credentials`' `Debug` hides the secret,
//! and only the signature (not the key) goes on the wire.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use thiserror::Error;
use tokio::sync::Mutex;

use crate::config::AwsSigning;

/// Credentials this close to their expiry are replaced before signing: a
/// request signed now must still be valid when it arrives, retries included.
pub const REFRESH_BEFORE_EXPIRY: Duration = Duration::from_secs(60);

#[derive(Debug, Error)]
pub enum SignError {
    #[error(
        "no AWS credentials to sign with (the default provider chain: environment, profile, web identity, container, instance): {0}"
    )]
    Credentials(String),
    #[error("could not sign the request: {0}")]
    Signing(String),
}

/// Signs requests for one service and region with the process's credentials.
pub struct Signer {
    signing: AwsSigning,
    credentials: CachedCredentials,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("signing", &self.signing)
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// Credentials from the SDK's default chain, with our HTTPS client
    /// (`crate::aws`): a Lambda's role (environment variables with their
    /// session token), a profile or SSO locally, a container's or
    /// instance's role.
    pub async fn from_default_chain(signing: AwsSigning) -> Result<Self, SignError> {
        let provider = crate::aws::sdk_config()
            .await
            .credentials_provider()
            .ok_or_else(|| {
                SignError::Credentials("no credentials provider is configured".into())
            })?;
        Ok(Self::new(signing, provider))
    }

    pub fn new(signing: AwsSigning, provider: SharedCredentialsProvider) -> Self {
        Signer {
            signing,
            credentials: CachedCredentials {
                provider,
                current: Mutex::new(None),
            },
        }
    }

    /// The headers that sign `method url` with `body` (the bytes as sent,
    /// compressed if they are): `authorization`, `x-amz-date`,
    /// `x-amz-content-sha256` and, with temporary credentials,
    /// `x-amz-security-token`. The body is hashed where it lies.
    pub async fn sign(
        &self,
        method: &str,
        url: &str,
        body: &[u8],
    ) -> Result<Vec<(&'static str, String)>, SignError> {
        let credentials = self.credentials.get().await?;
        signed_headers(
            &self.signing,
            credentials,
            SystemTime::now(),
            method,
            url,
            body,
        )
    }
}

/// The signature of one request at `time`: a pure function of its inputs.
pub fn signed_headers(
    signing: &AwsSigning,
    credentials: Credentials,
    time: SystemTime,
    method: &str,
    url: &str,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, SignError> {
    let failed = |e: &dyn std::fmt::Display| SignError::Signing(e.to_string());
    let mut settings = SigningSettings::default();
    // OpenSearch Serverless requires the body's hash in a header; the
    // managed service accepts it too, so both get it.
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&signing.region)
        .name(signing.service.signing_name())
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| failed(&e))?
        .into();
    // No headers of ours are signed: `host` (from the URL) and the
    // `x-amz-*` the signer adds are what the services require.
    let request = SignableRequest::new(method, url, std::iter::empty(), SignableBody::Bytes(body))
        .map_err(|e| failed(&e))?;
    let (instructions, _signature) = sign(request, &params).map_err(|e| failed(&e))?.into_parts();
    let (headers, _params) = instructions.into_parts();
    Ok(headers
        .into_iter()
        .map(|header| (header.name(), header.value().to_owned()))
        .collect())
}

/// The last credentials fetched, replaced when close to their expiry; one
/// fetch at a time (concurrent requests wait for it instead of each fetching).
struct CachedCredentials {
    provider: SharedCredentialsProvider,
    current: Mutex<Option<Credentials>>,
}

impl CachedCredentials {
    async fn get(&self) -> Result<Credentials, SignError> {
        let mut current = self.current.lock().await;
        if let Some(credentials) = current.as_ref()
            && !needs_refresh(credentials.expiry(), SystemTime::now())
        {
            return Ok(credentials.clone());
        }
        let fresh = self
            .provider
            .provide_credentials()
            .await
            .map_err(|e| SignError::Credentials(super::error_chain(&e)))?;
        if let Some(expiry) = fresh.expiry() {
            tracing::debug!(
                expires_in_s = expiry
                    .duration_since(SystemTime::now())
                    .unwrap_or_default()
                    .as_secs(),
                "fetched AWS credentials"
            );
        }
        *current = Some(fresh.clone());
        Ok(fresh)
    }
}

/// Whether credentials expiring at `expiry` must be fetched again at `now`.
/// Credentials without an expiry (a Lambda's environment, a static profile)
/// are kept: their source does not change while the process runs.
pub fn needs_refresh(expiry: Option<SystemTime>, now: SystemTime) -> bool {
    match expiry {
        None => false,
        Some(expiry) => now + REFRESH_BEFORE_EXPIRY >= expiry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AwsService;

    fn header<'a>(headers: &'a [(&'static str, String)], name: &str) -> &'a str {
        headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
    }

    #[test]
    fn refreshed_a_minute_before_expiry_never_without_one() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert!(!needs_refresh(None, now));
        assert!(!needs_refresh(Some(now + Duration::from_secs(61)), now));
        assert!(needs_refresh(Some(now + Duration::from_secs(60)), now));
        assert!(needs_refresh(Some(now - Duration::from_secs(1)), now));
    }

    /// The expected signature was computed independently, by botocore's
    /// `SigV4Auth` (the Python SDK) through `infra/local/sigv4_front.py`'s
    /// verifier, for the same request, credentials and time.
    #[test]
    fn signature_matches_botocore() {
        let signing = AwsSigning {
            service: AwsService::Aoss,
            region: "eu-west-1".into(),
        };
        let credentials = Credentials::new(
            "AKIDLOGPIPETEST",
            "logpipe/test/secret+key",
            Some("session-token-of-the-test".into()),
            None,
            "test",
        );
        let body =
            b"{\"create\":{\"_index\":\"logs\",\"_id\":\"t-0-1\"}}\n{\"message\":\"GET / 200\"}\n";
        // 2026-12-06T05:20:00Z
        let time = SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_534_400);
        let headers = signed_headers(
            &signing,
            credentials,
            time,
            "POST",
            "https://abc.eu-west-1.aoss.amazonaws.com/_bulk?filter_path=errors,items.*.status",
            body,
        )
        .unwrap();
        assert_eq!(header(&headers, "x-amz-date"), "20261206T052000Z");
        assert_eq!(
            header(&headers, "x-amz-content-sha256"),
            "9a9f8ca812fffd3f60bb909d4c534fbc9738922a8deddad2c3282e981f21a536"
        );
        assert_eq!(
            header(&headers, "x-amz-security-token"),
            "session-token-of-the-test"
        );
        assert_eq!(header(&headers, "authorization"), EXPECTED_AUTHORIZATION);
        let text = format!("{headers:?}");
        assert!(!text.contains("secret+key"), "{text}");
    }

    const EXPECTED_AUTHORIZATION: &str = "AWS4-HMAC-SHA256 \
        Credential=AKIDLOGPIPETEST/20261206/eu-west-1/aoss/aws4_request, \
        SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token, \
        Signature=9a4522a0830cb8253adb4350191020e0553892f134b3192e60d26bdf8855eb75";
}
