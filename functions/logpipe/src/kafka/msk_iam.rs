//! MSK IAM authentication tokens (SASL/OAUTHBEARER with `AWS_MSK_IAM`).
//!
//! A token is a SigV4-presigned `kafka-cluster:Connect` request to
//! `https://kafka.<region>.amazonaws.com/`, as a URL encoded in unpadded URL-safe
//! base64; MSK checks the signature against the role's IAM policy. Signing is the AWS
//! SDK's (`aws-sigv4`); only the request to sign is ours.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long a token is valid: MSK's limit, and what AWS's signers use.
const LIFETIME: Duration = Duration::from_secs(900);
const SIGNING_NAME: &str = "kafka-cluster";
const USER_AGENT: &str = concat!("logpipe/", env!("CARGO_PKG_VERSION"));

/// A signed token and when it expires, in milliseconds since the epoch (what librdkafka
/// wants, so that it refreshes the token in time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MskIamToken {
    pub token: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum MskIamError {
    #[error("no AWS credentials for the MSK IAM token: {0}")]
    Credentials(String),
    #[error("could not sign the MSK IAM token: {0}")]
    Signing(String),
}

/// The token for `region` signed at `now` with `credentials` (their session token
/// included, as a Lambda role's are).
pub fn token(
    region: &str,
    credentials: Credentials,
    now: SystemTime,
) -> Result<MskIamToken, MskIamError> {
    let signing = |e: &dyn std::fmt::Display| MskIamError::Signing(e.to_string());
    let mut url = url::Url::parse(&format!("https://kafka.{region}.amazonaws.com/"))
        .map_err(|e| signing(&format_args!("region {region:?} makes no host name: {e}")))?;
    url.query_pairs_mut()
        .append_pair("Action", "kafka-cluster:Connect");

    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(LIFETIME);
    let identity: Identity = credentials.into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(SIGNING_NAME)
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| signing(&e))?;
    let request = SignableRequest::new(
        "GET",
        url.as_str(),
        std::iter::empty(),
        SignableBody::Bytes(&[]),
    )
    .map_err(|e| signing(&e))?;
    let (instructions, _signature) = sign(request, &params.into())
        .map_err(|e| signing(&e))?
        .into_parts();
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in instructions.params() {
            query.append_pair(name, value);
        }
        // After the signature: it is not signed, it tells AWS which client asked.
        query.append_pair("User-Agent", USER_AGENT);
    }

    let signed_at = now
        .duration_since(UNIX_EPOCH)
        .map_err(|e| signing(&e))?
        // X-Amz-Date has whole seconds: the expiry counts from there.
        .as_secs();
    let expires_at_ms =
        i64::try_from((signed_at + LIFETIME.as_secs()) * 1000).map_err(|e| signing(&e))?;
    Ok(MskIamToken {
        token: URL_SAFE_NO_PAD.encode(url.as_str()),
        expires_at_ms,
    })
}

/// A token signed now with the credentials of the environment's provider chain (the
/// Lambda role's, or a profile locally).
pub async fn token_from_environment(region: &str) -> Result<MskIamToken, MskIamError> {
    use aws_credential_types::provider::ProvideCredentials;

    let config = crate::aws::sdk_config().await;
    let provider = config
        .credentials_provider()
        .ok_or_else(|| MskIamError::Credentials("no credentials provider is configured".into()))?;
    let credentials = provider
        .provide_credentials()
        .await
        .map_err(|e| MskIamError::Credentials(e.to_string()))?;
    token(region, credentials, SystemTime::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(token: &str) -> url::Url {
        let bytes = URL_SAFE_NO_PAD.decode(token).unwrap();
        url::Url::parse(std::str::from_utf8(&bytes).unwrap()).unwrap()
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    // AWS's documentation example keys; 2026-12-06T05:16:17Z.
    fn credentials() -> Credentials {
        Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            Some("session-token/with+slashes=".into()),
            None,
            "test",
        )
    }

    #[test]
    fn a_token_is_a_presigned_connect_request_in_url_safe_base64() {
        let signed = token("eu-west-1", credentials(), at(1_796_534_177)).unwrap();
        assert!(!signed.token.contains(['+', '/', '=']));
        let url = decode(&signed.token);
        assert_eq!(url.host_str(), Some("kafka.eu-west-1.amazonaws.com"));
        let query: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let get = |name: &str| {
            query
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("Action"), Some("kafka-cluster:Connect"));
        assert_eq!(get("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        assert_eq!(
            get("X-Amz-Credential"),
            Some("AKIAIOSFODNN7EXAMPLE/20261206/eu-west-1/kafka-cluster/aws4_request")
        );
        assert_eq!(get("X-Amz-Date"), Some("20261206T051617Z"));
        assert_eq!(get("X-Amz-Expires"), Some("900"));
        assert_eq!(get("X-Amz-SignedHeaders"), Some("host"));
        assert_eq!(
            get("X-Amz-Security-Token"),
            Some("session-token/with+slashes=")
        );
        assert_eq!(query.last().map(|(n, _)| n.as_str()), Some("User-Agent"));
        assert_eq!(signed.expires_at_ms, (1_796_534_177 + 900) * 1000);
    }

    #[test]
    fn the_signature_is_the_one_an_independent_signer_computes() {
        // botocore 1.44's SigV4QueryAuth, given the same request, keys and time, signs
        // with this.
        let signed = token("eu-west-1", credentials(), at(1_796_534_177)).unwrap();
        let url = decode(&signed.token);
        let signature = url
            .query_pairs()
            .find(|(n, _)| n == "X-Amz-Signature")
            .map(|(_, v)| v.into_owned());
        assert_eq!(signature.as_deref(), Some(EXPECTED_SIGNATURE));
    }

    const EXPECTED_SIGNATURE: &str =
        "168f80b6d6287433c4a33bbfff0dcb4914e53b612c511d48c43f2cd9b79063fb";

    #[test]
    fn a_region_that_makes_no_host_name_is_refused() {
        let error = token("eu west", credentials(), at(1_796_534_177)).unwrap_err();
        assert!(error.to_string().contains("\"eu west\""), "{error}");
    }
}
