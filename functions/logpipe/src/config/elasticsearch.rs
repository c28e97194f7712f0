//! What the indexer needs to reach Elasticsearch and how to size its requests.

use std::time::Duration;

use super::{ConfigError, Secret, Settings, TlsVerification};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElasticsearchSettings {
    pub url: String,
    pub auth: ElasticsearchAuth,
    pub index: String,
    pub deadletter_index: String,
    /// Gzip request bodies (less data to send, more CPU).
    pub gzip: bool,
    /// Limits of one `_bulk` request.
    pub max_bulk_bytes: usize,
    pub max_bulk_actions: usize,
    /// Upper bound of one request; the invocation's remaining time bounds it too.
    pub request_timeout: Duration,
    /// How an `https://` server's certificate is checked.
    pub tls: TlsVerification,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElasticsearchAuth {
    None,
    /// As the original system: the encoded key (`base64(id:key)`) or `id:key`.
    ApiKey(Secret),
    Basic {
        username: String,
        password: Secret,
    },
}

impl ElasticsearchSettings {
    pub fn from_settings(settings: &Settings) -> Result<Self, ConfigError> {
        let url = settings
            .require(
                "ELASTICSEARCH_URL",
                "the Elasticsearch endpoint to index into",
            )?
            .trim_end_matches('/')
            .to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(settings.invalid(
                "ELASTICSEARCH_URL",
                format!("{url:?} is not an http:// or https:// URL"),
            ));
        }
        let api_key = settings.get("ELASTICSEARCH_API_KEY");
        let username = settings.get("ELASTICSEARCH_USERNAME");
        let auth = match (api_key, username) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::Conflict(
                    "set ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME, not both".into(),
                ));
            }
            (Some(key), None) => ElasticsearchAuth::ApiKey(Secret::new(key)),
            (None, Some(username)) => ElasticsearchAuth::Basic {
                username: username.to_owned(),
                password: Secret::new(settings.require(
                    "ELASTICSEARCH_PASSWORD",
                    "basic authentication needs a password",
                )?),
            },
            (None, None) => ElasticsearchAuth::None,
        };
        let index = index_name(settings, "ELASTICSEARCH_INDEX", crate::DEFAULT_INDEX)?;
        let deadletter_index = index_name(
            settings,
            "ELASTICSEARCH_DEADLETTER_INDEX",
            &format!("{index}-deadletter"),
        )?;
        if deadletter_index == index {
            return Err(ConfigError::Conflict(
                "ELASTICSEARCH_DEADLETTER_INDEX must differ from ELASTICSEARCH_INDEX".into(),
            ));
        }
        let max_bulk_bytes: usize =
            settings.parse_or("ELASTICSEARCH_BULK_MAX_BYTES", 5 << 20, "a number of bytes")?;
        let max_bulk_actions: usize = settings.parse_or(
            "ELASTICSEARCH_BULK_MAX_ACTIONS",
            5000,
            "a number of documents",
        )?;
        if max_bulk_bytes < 1024 || max_bulk_actions == 0 {
            return Err(ConfigError::Conflict(
                "ELASTICSEARCH_BULK_MAX_BYTES must be at least 1024 and ELASTICSEARCH_BULK_MAX_ACTIONS at least 1".into(),
            ));
        }
        Ok(ElasticsearchSettings {
            url,
            auth,
            index,
            deadletter_index,
            gzip: settings.parse_or("ELASTICSEARCH_GZIP", false, "true or false")?,
            max_bulk_bytes,
            max_bulk_actions,
            request_timeout: Duration::from_millis(settings.parse_or(
                "ELASTICSEARCH_TIMEOUT_MS",
                10_000,
                "a number of milliseconds",
            )?),
            tls: TlsVerification::from_settings(
                settings,
                "ELASTICSEARCH_CA_CERT",
                "ELASTICSEARCH_TLS_VERIFY",
            )?,
        })
    }
}

/// Elasticsearch's rules for index names, so a bad one fails at cold start.
fn index_name(
    settings: &Settings,
    name: &'static str,
    default: &str,
) -> Result<String, ConfigError> {
    let index = settings.get(name).unwrap_or(default);
    let valid = !index.is_empty()
        && index.len() <= 255
        && index == index.to_lowercase()
        && !index.starts_with(['-', '_', '+'])
        && !index.contains(['\\', '/', '*', '?', '"', '<', '>', '|', ' ', ',', '#', ':'])
        && index != "."
        && index != "..";
    if valid {
        Ok(index.to_owned())
    } else {
        Err(settings.invalid(name, format!("{index:?} is not a valid index name")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn es(pairs: &[(&str, &str)]) -> Result<ElasticsearchSettings, ConfigError> {
        let settings = Settings::from_sources(
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            None,
        );
        ElasticsearchSettings::from_settings(&settings)
    }

    #[test]
    fn defaults_follow_the_original_system() {
        let s = es(&[
            ("ELASTICSEARCH_URL", "http://127.0.0.1:9200/"),
            ("ELASTICSEARCH_API_KEY", "k"),
        ])
        .unwrap();
        assert_eq!(s.url, "http://127.0.0.1:9200");
        assert_eq!(s.index, "billion_website_logs");
        assert_eq!(s.deadletter_index, "billion_website_logs-deadletter");
        assert_eq!(s.auth, ElasticsearchAuth::ApiKey(Secret::new("k")));
        assert!(!format!("{s:?}").contains("\"k\""));
    }

    #[test]
    fn errors_name_the_setting() {
        let e = es(&[]).unwrap_err().to_string();
        assert!(e.starts_with("missing setting ELASTICSEARCH_URL"), "{e}");
        let e = es(&[("ELASTICSEARCH_URL", "localhost:9200")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("ELASTICSEARCH_URL"), "{e}");
        let e = es(&[
            ("ELASTICSEARCH_URL", "http://h"),
            ("ELASTICSEARCH_INDEX", "Logs"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("ELASTICSEARCH_INDEX") && e.contains("not a valid index name"),
            "{e}"
        );
        let e = es(&[
            ("ELASTICSEARCH_URL", "http://h"),
            ("ELASTICSEARCH_USERNAME", "u"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with("missing setting ELASTICSEARCH_PASSWORD"),
            "{e}"
        );
        let e = es(&[
            ("ELASTICSEARCH_URL", "http://h"),
            ("ELASTICSEARCH_USERNAME", "u"),
            ("ELASTICSEARCH_API_KEY", "k"),
        ])
        .unwrap_err();
        assert!(matches!(e, ConfigError::Conflict(_)));
        let e = es(&[
            ("ELASTICSEARCH_URL", "http://h"),
            ("ELASTICSEARCH_GZIP", "yes"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("ELASTICSEARCH_GZIP"), "{e}");
    }
}
