//! Where failed records are kept: `s3://bucket/prefix` or `kafka://topic`,
//! the spelling of an event-source mapping's on-failure destination
//! (Lambda's `kafka://` prefix; an S3 bucket is given to Lambda as an ARN,
//! here as a URL so that a prefix can go with it).

use std::fmt;

use thiserror::Error;

/// An on-failure destination, which is also what replay reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// Objects under `prefix` (empty, or ending in `/`) in `bucket`.
    S3 { bucket: String, prefix: String },
    /// Messages of a topic on the cluster of the source topic.
    Kafka { topic: String },
}

#[derive(Debug, Error, PartialEq, Eq)]
#[error("invalid location `{given}`: {reason} (expected s3://bucket/prefix or kafka://topic)")]
pub struct LocationError {
    given: String,
    reason: String,
}

impl Location {
    pub fn parse(given: &str) -> Result<Self, LocationError> {
        let error = |reason: &str| LocationError {
            given: given.to_owned(),
            reason: reason.to_owned(),
        };
        if let Some(rest) = given.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            check_bucket(bucket).map_err(|reason| error(&reason))?;
            if prefix.starts_with('/') || prefix.contains("//") {
                return Err(error("the prefix has an empty path segment"));
            }
            let mut prefix = prefix.to_owned();
            if !prefix.is_empty() && !prefix.ends_with('/') {
                prefix.push('/');
            }
            Ok(Location::S3 {
                bucket: bucket.to_owned(),
                prefix,
            })
        } else if let Some(topic) = given.strip_prefix("kafka://") {
            check_topic(topic).map_err(|reason| error(&reason))?;
            Ok(Location::Kafka {
                topic: topic.to_owned(),
            })
        } else {
            Err(error("unknown scheme"))
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
            Location::Kafka { topic } => write!(f, "kafka://{topic}"),
        }
    }
}

/// S3's bucket naming rules (3 to 63 lower-case letters, digits, `-` and
/// `.`, beginning and ending with a letter or digit).
fn check_bucket(bucket: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if bucket.is_empty() {
        return Err("no bucket name".into());
    }
    if !(3..=63).contains(&bucket.len())
        || !bucket.chars().all(allowed)
        || !edge(bucket.chars().next())
        || !edge(bucket.chars().last())
    {
        return Err(format!(
            "`{bucket}` is not an S3 bucket name (3 to 63 of a-z, 0-9, `-`, `.`)"
        ));
    }
    Ok(())
}

/// Kafka's topic naming rules (1 to 249 of letters, digits, `.`, `_`, `-`),
/// which Lambda's `kafka://` destination pattern repeats.
fn check_topic(topic: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    if topic.is_empty() {
        return Err("no topic name".into());
    }
    if topic.len() > 249 || !topic.chars().all(allowed) || topic == "." || topic == ".." {
        return Err(format!(
            "`{topic}` is not a Kafka topic name (1 to 249 of letters, digits, `.`, `_`, `-`)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_s3_and_kafka_locations() {
        assert_eq!(
            Location::parse("s3://failed-batches/indexer").unwrap(),
            Location::S3 {
                bucket: "failed-batches".into(),
                prefix: "indexer/".into()
            }
        );
        for bare in ["s3://failed-batches", "s3://failed-batches/"] {
            assert_eq!(
                Location::parse(bare).unwrap(),
                Location::S3 {
                    bucket: "failed-batches".into(),
                    prefix: String::new()
                }
            );
        }
        let kafka = Location::parse("kafka://logs.failed_1").unwrap();
        assert_eq!(
            kafka,
            Location::Kafka {
                topic: "logs.failed_1".into()
            }
        );
        assert_eq!(kafka.to_string(), "kafka://logs.failed_1");
        assert_eq!(
            Location::parse("s3://b12/a/b").unwrap().to_string(),
            "s3://b12/a/b/"
        );
    }

    #[test]
    fn names_what_is_wrong() {
        for (given, reason) in [
            ("", "unknown scheme"),
            ("sqs://queue", "unknown scheme"),
            ("arn:aws:s3:::bucket", "unknown scheme"),
            ("s3://", "no bucket name"),
            ("s3:///prefix", "no bucket name"),
            ("s3://Upper/x", "`Upper` is not an S3 bucket name"),
            ("s3://ab", "`ab` is not an S3 bucket name"),
            ("s3://bucket-/x", "`bucket-` is not an S3 bucket name"),
            ("s3://bucket//x", "empty path segment"),
            ("s3://bucket/a//b", "empty path segment"),
            ("kafka://", "no topic name"),
            ("kafka://a/b", "`a/b` is not a Kafka topic name"),
            ("kafka://..", "`..` is not a Kafka topic name"),
        ] {
            let e = Location::parse(given).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("invalid location `{given}`: ")),
                "{e}"
            );
            assert!(e.contains(reason), "{given}: {e}");
        }
    }
}
