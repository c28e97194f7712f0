//! Values that must never be printed, and the Secrets Manager secret they
//! usually come from.

use std::collections::BTreeMap;
use std::fmt;

#[cfg(feature = "secrets-manager")]
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};

use super::ConfigError;

/// A secret value: its `Debug` and `Display` print `***`, never the value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The value, for handing to a client library; never for logging.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// The other spellings the original system's deployments use for our keys
/// (DESIGN.md §1). Other keys are matched case-insensitively.
const ALIASES: [(&str, &str); 2] = [
    ("KAFKA_USERNAME", "KAFKA_SASL_USERNAME"),
    ("KAFKA_SECRET", "KAFKA_SASL_PASSWORD"),
];

/// The canonical name of a key found in a secret: `elasticsearch_API_Key`
/// is `ELASTICSEARCH_API_KEY`, `kafka_secret` is `KAFKA_SASL_PASSWORD`.
pub(crate) fn canonical_key(key: &str) -> String {
    let upper = key.trim().to_ascii_uppercase();
    ALIASES
        .iter()
        .find(|(alias, _)| *alias == upper)
        .map_or(upper, |(_, canonical)| (*canonical).to_owned())
}

/// Reads a secret's JSON object into settings, keys made canonical.
/// Strings and numbers are accepted; anything else names the offending key.
pub(crate) fn parse_secret_json(
    secret_name: &str,
    text: &str,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let invalid = |reason: String| ConfigError::SecretContent {
        secret: secret_name.to_owned(),
        reason,
    };
    // serde_json's message quotes no input, so no secret value leaks through it.
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| invalid(format!("is not JSON ({e})")))?;
    let serde_json::Value::Object(object) = value else {
        return Err(invalid(format!(
            "must be a JSON object of settings, found {}",
            json_kind(&value)
        )));
    };
    let mut settings = BTreeMap::new();
    for (key, value) in object {
        let value = match value {
            serde_json::Value::String(s) => s,
            serde_json::Value::Number(n) => n.to_string(),
            other => {
                return Err(invalid(format!(
                    "key `{key}` must be a string, found {}",
                    json_kind(&other)
                )));
            }
        };
        let canonical = canonical_key(&key);
        if settings.insert(canonical.clone(), value).is_some() {
            return Err(invalid(format!(
                "holds `{canonical}` twice (in two spellings); keep one"
            )));
        }
    }
    Ok(settings)
}

fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Fetches the secret's string through the AWS SDK: the endpoint, region
/// and credentials come from the usual AWS environment (`AWS_ENDPOINT_URL`
/// points it at an emulator locally).
#[cfg(feature = "secrets-manager")]
pub(crate) async fn fetch_secret_string(secret_name: &str) -> Result<String, ConfigError> {
    let fetch_error = |reason: String| ConfigError::SecretFetch {
        secret: secret_name.to_owned(),
        reason,
    };
    let config = crate::aws::sdk_config().await;
    let client = aws_sdk_secretsmanager::Client::new(&config);
    let output = client
        .get_secret_value()
        .secret_id(secret_name)
        .send()
        .await
        .map_err(|e| {
            fetch_error(match e.as_service_error() {
                // What Secrets Manager said, e.g. `ResourceNotFoundException: ... can't find ...`.
                Some(service) => format!(
                    "{}: {}",
                    service.code().unwrap_or("error"),
                    service.message().unwrap_or("no message")
                ),
                // Connection, credential and timeout problems: the whole chain.
                None => DisplayErrorContext(&e).to_string(),
            })
        })?;
    output
        .secret_string
        .ok_or_else(|| fetch_error("has no SecretString (binary secrets are not supported)".into()))
}

#[cfg(not(feature = "secrets-manager"))]
pub(crate) async fn fetch_secret_string(secret_name: &str) -> Result<String, ConfigError> {
    Err(ConfigError::SecretFetch {
        secret: secret_name.to_owned(),
        reason: "this build of logpipe has no Secrets Manager client (feature `secrets-manager`)"
            .into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_is_never_printed() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s:?}"), "Secret(***)");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn both_spellings_of_the_original_system_are_canonical() {
        for (found, canonical) in [
            ("KAFKA_BOOTSTRAP_SERVER", "KAFKA_BOOTSTRAP_SERVER"),
            ("kafka_bootstrap_server", "KAFKA_BOOTSTRAP_SERVER"),
            ("kafka_username", "KAFKA_SASL_USERNAME"),
            ("kafka_secret", "KAFKA_SASL_PASSWORD"),
            ("elasticsearch_URL", "ELASTICSEARCH_URL"),
            ("elasticsearch_API_Key", "ELASTICSEARCH_API_KEY"),
        ] {
            assert_eq!(canonical_key(found), canonical);
        }
    }

    #[test]
    fn secret_json_errors_name_the_key_not_the_value() {
        let err = parse_secret_json("s", r#"{"kafka_secret": ["hunter2"]}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "secret `s` key `kafka_secret` must be a string, found an array"
        );
        assert!(!err.to_string().contains("hunter2"));
        let err = parse_secret_json("s", "hunter2").unwrap_err();
        assert!(
            err.to_string().starts_with("secret `s` is not JSON"),
            "{err}"
        );
        assert!(!err.to_string().contains("hunter2"));
        let err = parse_secret_json("s", "[1]").unwrap_err();
        assert!(err.to_string().contains("found an array"), "{err}");
        let err = parse_secret_json("s", r#"{"kafka_secret":"a","KAFKA_SASL_PASSWORD":"b"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("twice"), "{err}");
        let ok = parse_secret_json("s", r#"{"KAFKA_LINGER_MS": 5, "x": "y"}"#).unwrap();
        assert_eq!(ok["KAFKA_LINGER_MS"], "5");
    }
}
