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
    /// Requests signed with the process's AWS credentials (Amazon OpenSearch
    /// Service with IAM, OpenSearch Serverless): no search password at all.
    AwsSigV4(AwsSigning),
}

/// Whom a SigV4 signature is for: the service name and region in its scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsSigning {
    pub service: AwsService,
    pub region: String,
}

/// The signing name of the service behind `ELASTICSEARCH_URL`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwsService {
    /// Amazon OpenSearch Service domains.
    Es,
    /// OpenSearch Serverless collections.
    Aoss,
}

impl AwsService {
    pub fn signing_name(self) -> &'static str {
        match self {
            AwsService::Es => "es",
            AwsService::Aoss => "aoss",
        }
    }
}

/// The kinds `ELASTICSEARCH_AUTH` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AuthKind {
    ApiKey,
    Basic,
    None,
    AwsSigV4,
}

impl AuthKind {
    fn name(self) -> &'static str {
        match self {
            AuthKind::ApiKey => "api-key",
            AuthKind::Basic => "basic",
            AuthKind::None => "none",
            AuthKind::AwsSigV4 => "aws-sigv4",
        }
    }
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
        let auth = auth(settings, &url)?;
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

impl ElasticsearchSettings {
    /// Whether the server offers `_refresh`: OpenSearch Serverless does not
    /// (it makes documents searchable on its own, within seconds).
    pub fn refreshes(&self) -> bool {
        !matches!(
            &self.auth,
            ElasticsearchAuth::AwsSigV4(AwsSigning {
                service: AwsService::Aoss,
                ..
            })
        )
    }
}

/// `ELASTICSEARCH_AUTH`, or the kind the other settings imply; then the
/// credentials of that kind. A setting of another kind is a conflict.
fn auth(settings: &Settings, url: &str) -> Result<ElasticsearchAuth, ConfigError> {
    let host = url_host(url);
    let kind = match settings.get("ELASTICSEARCH_AUTH") {
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "api-key" => AuthKind::ApiKey,
            "basic" => AuthKind::Basic,
            "none" => AuthKind::None,
            "aws-sigv4" => AuthKind::AwsSigV4,
            _ => {
                return Err(settings.invalid(
                    "ELASTICSEARCH_AUTH",
                    format!("{text:?} is not api-key, basic, none or aws-sigv4"),
                ));
            }
        },
        None => inferred_auth(settings, host)?,
    };
    // Each setting belongs to one kind: set under another, it is a mistake
    // (a password that would silently not be used, a service never signed for).
    let owners: [(&'static str, AuthKind); 5] = [
        ("ELASTICSEARCH_API_KEY", AuthKind::ApiKey),
        ("ELASTICSEARCH_USERNAME", AuthKind::Basic),
        ("ELASTICSEARCH_PASSWORD", AuthKind::Basic),
        ("ELASTICSEARCH_AWS_SERVICE", AuthKind::AwsSigV4),
        ("ELASTICSEARCH_AWS_REGION", AuthKind::AwsSigV4),
    ];
    if let Some((name, _)) = owners
        .iter()
        .find(|(name, owner)| *owner != kind && settings.get(name).is_some())
    {
        return Err(ConfigError::Conflict(format!(
            "ELASTICSEARCH_AUTH is {} but {name} is set, which only {} uses; unset one of them",
            kind.name(),
            owners
                .iter()
                .find(|(n, _)| n == name)
                .map_or("another kind", |(_, owner)| owner.name()),
        )));
    }
    Ok(match kind {
        AuthKind::None => ElasticsearchAuth::None,
        AuthKind::ApiKey => ElasticsearchAuth::ApiKey(Secret::new(settings.require(
            "ELASTICSEARCH_API_KEY",
            "ELASTICSEARCH_AUTH=api-key needs the key",
        )?)),
        AuthKind::Basic => ElasticsearchAuth::Basic {
            username: settings
                .require(
                    "ELASTICSEARCH_USERNAME",
                    "ELASTICSEARCH_AUTH=basic needs a user",
                )?
                .to_owned(),
            password: Secret::new(settings.require(
                "ELASTICSEARCH_PASSWORD",
                "basic authentication needs a password",
            )?),
        },
        AuthKind::AwsSigV4 => ElasticsearchAuth::AwsSigV4(aws_signing(settings, host)?),
    })
}

/// The kind today's settings imply: a key, a user, or (with no password)
/// SigV4 when the endpoint is Serverless, which accepts nothing else, or
/// when an AWS service is named.
fn inferred_auth(settings: &Settings, host: &str) -> Result<AuthKind, ConfigError> {
    let api_key = settings.get("ELASTICSEARCH_API_KEY").is_some();
    let username = settings.get("ELASTICSEARCH_USERNAME").is_some();
    let aws = settings.get("ELASTICSEARCH_AWS_SERVICE").is_some()
        || settings.get("ELASTICSEARCH_AWS_REGION").is_some()
        || service_of_host(host) == Some(AwsService::Aoss);
    Ok(match (api_key, username, aws) {
        (true, true, _) => {
            return Err(ConfigError::Conflict(
                "set ELASTICSEARCH_API_KEY or ELASTICSEARCH_USERNAME, not both".into(),
            ));
        }
        (true, false, _) => AuthKind::ApiKey,
        (false, true, _) => AuthKind::Basic,
        (false, false, true) => AuthKind::AwsSigV4,
        (false, false, false) => AuthKind::None,
    })
}

fn aws_signing(settings: &Settings, host: &str) -> Result<AwsSigning, ConfigError> {
    let service = match settings.get("ELASTICSEARCH_AWS_SERVICE") {
        Some(text) => match text.to_ascii_lowercase().as_str() {
            "es" => AwsService::Es,
            "aoss" => AwsService::Aoss,
            _ => {
                return Err(settings.invalid(
                    "ELASTICSEARCH_AWS_SERVICE",
                    format!(
                        "{text:?} is not es (OpenSearch Service) or aoss (OpenSearch Serverless)"
                    ),
                ));
            }
        },
        None => service_of_host(host).unwrap_or(AwsService::Es),
    };
    let region = settings
        .get("ELASTICSEARCH_AWS_REGION")
        .or_else(|| settings.get("AWS_REGION"))
        .or_else(|| region_of_host(host))
        .ok_or(ConfigError::Missing {
            name: "ELASTICSEARCH_AWS_REGION",
            why: "SigV4 signs for a region: set it or AWS_REGION",
        })?;
    Ok(AwsSigning {
        service,
        region: region.to_owned(),
    })
}

/// The host of an `http(s)://` URL, without user info or port.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    host.split(':').next().unwrap_or("")
}

/// `<id>.<region>.aoss.amazonaws.com` is Serverless, `….<region>.es.amazonaws.com` a domain.
fn service_of_host(host: &str) -> Option<AwsService> {
    let host = host.to_ascii_lowercase();
    if host.ends_with(".aoss.amazonaws.com") {
        Some(AwsService::Aoss)
    } else if host.ends_with(".es.amazonaws.com") {
        Some(AwsService::Es)
    } else {
        None
    }
}

/// The region label of an AWS endpoint: the one before `es` or `aoss`.
fn region_of_host(host: &str) -> Option<&str> {
    service_of_host(host)?;
    let mut labels = host.rsplit('.').skip(3); // com, amazonaws, es|aoss
    labels.next().filter(|region| !region.is_empty())
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

    fn sigv4(pairs: &[(&str, &str)]) -> AwsSigning {
        match es(pairs).unwrap().auth {
            ElasticsearchAuth::AwsSigV4(signing) => signing,
            other => panic!("not SigV4: {other:?}"),
        }
    }

    #[test]
    fn auth_is_inferred_as_before_and_for_serverless() {
        let url = ("ELASTICSEARCH_URL", "http://h:9200");
        assert_eq!(es(&[url]).unwrap().auth, ElasticsearchAuth::None);
        assert!(matches!(
            es(&[
                url,
                ("ELASTICSEARCH_USERNAME", "u"),
                ("ELASTICSEARCH_PASSWORD", "p")
            ])
            .unwrap()
            .auth,
            ElasticsearchAuth::Basic { .. }
        ));
        let aoss = (
            "ELASTICSEARCH_URL",
            "https://abc123.eu-west-1.aoss.amazonaws.com",
        );
        assert_eq!(
            sigv4(&[aoss]),
            AwsSigning {
                service: AwsService::Aoss,
                region: "eu-west-1".into()
            }
        );
        // The function's region wins over the host's; ours over both.
        assert_eq!(
            sigv4(&[aoss, ("AWS_REGION", "us-east-1")]).region,
            "us-east-1"
        );
        assert_eq!(
            sigv4(&[
                aoss,
                ("AWS_REGION", "us-east-1"),
                ("ELASTICSEARCH_AWS_REGION", "eu-central-1")
            ])
            .region,
            "eu-central-1"
        );
        // A managed domain may be open or use passwords: SigV4 only when asked.
        let domain = (
            "ELASTICSEARCH_URL",
            "https://search-logs-x1.us-east-2.es.amazonaws.com:443/",
        );
        assert_eq!(es(&[domain]).unwrap().auth, ElasticsearchAuth::None);
        assert_eq!(
            sigv4(&[domain, ("ELASTICSEARCH_AUTH", "aws-sigv4")]),
            AwsSigning {
                service: AwsService::Es,
                region: "us-east-2".into()
            }
        );
        // A local front: the service and region must come from settings.
        let local = ("ELASTICSEARCH_URL", "http://127.0.0.1:9200");
        assert_eq!(
            sigv4(&[
                local,
                ("ELASTICSEARCH_AWS_SERVICE", "aoss"),
                ("AWS_REGION", "us-west-2")
            ]),
            AwsSigning {
                service: AwsService::Aoss,
                region: "us-west-2".into()
            }
        );
        let e = es(&[local, ("ELASTICSEARCH_AUTH", "aws-sigv4")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("missing setting ELASTICSEARCH_AWS_REGION"),
            "{e}"
        );
    }

    #[test]
    fn auth_conflicts_name_both_settings() {
        let url = ("ELASTICSEARCH_URL", "http://h");
        let conflict = |pairs: &[(&str, &str)]| match es(pairs) {
            Err(ConfigError::Conflict(text)) => text,
            other => panic!("not a conflict: {other:?}"),
        };
        let e = conflict(&[
            url,
            ("ELASTICSEARCH_AUTH", "aws-sigv4"),
            ("ELASTICSEARCH_API_KEY", "k"),
        ]);
        assert!(
            e.contains("ELASTICSEARCH_AUTH is aws-sigv4") && e.contains("ELASTICSEARCH_API_KEY"),
            "{e}"
        );
        assert!(!e.contains("\"k\""), "{e}");
        let e = conflict(&[
            url,
            ("ELASTICSEARCH_API_KEY", "k"),
            ("ELASTICSEARCH_AWS_SERVICE", "es"),
        ]);
        assert!(
            e.contains("api-key") && e.contains("ELASTICSEARCH_AWS_SERVICE"),
            "{e}"
        );
        let e = conflict(&[
            url,
            ("ELASTICSEARCH_AUTH", "none"),
            ("ELASTICSEARCH_PASSWORD", "p"),
        ]);
        assert!(e.contains("ELASTICSEARCH_PASSWORD"), "{e}");
        let e = es(&[url, ("ELASTICSEARCH_AUTH", "iam")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ELASTICSEARCH_AUTH") && e.contains("aws-sigv4"),
            "{e}"
        );
        let e = es(&[
            url,
            ("ELASTICSEARCH_AUTH", "aws-sigv4"),
            ("ELASTICSEARCH_AWS_SERVICE", "s3"),
            ("AWS_REGION", "r"),
        ])
        .unwrap_err()
        .to_string();
        assert!(e.contains("ELASTICSEARCH_AWS_SERVICE"), "{e}");
        let e = es(&[url, ("ELASTICSEARCH_AUTH", "api-key")])
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("missing setting ELASTICSEARCH_API_KEY"),
            "{e}"
        );
    }

    #[test]
    fn hosts_of_aws_endpoints() {
        assert_eq!(
            url_host("https://u:p@x.y.aoss.amazonaws.com:443/p?q"),
            "x.y.aoss.amazonaws.com"
        );
        assert_eq!(url_host("http://127.0.0.1:9200"), "127.0.0.1");
        assert_eq!(
            region_of_host("abc.ap-south-1.aoss.amazonaws.com"),
            Some("ap-south-1")
        );
        assert_eq!(
            region_of_host("vpc-d-x.eu-west-3.es.amazonaws.com"),
            Some("eu-west-3")
        );
        assert_eq!(region_of_host("es.amazonaws.com.example.org"), None);
        assert_eq!(service_of_host("ES.AMAZONAWS.COM"), None);
    }
}
