//! The S3 calls of recovery: put a failure record, list and read the ones
//! under a prefix, move one under `replayed/`. The client is built when a
//! command needs it (never at the indexer's cold start): the endpoint, region
//! and credentials come from the usual AWS environment, `AWS_ENDPOINT_URL`
//! pointing it at the local stack's moto_server.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use thiserror::Error;

/// What S3 refused or could not be asked, on which object.
#[derive(Debug, Error)]
#[error("S3 {operation} of s3://{bucket}/{key}: {reason}")]
pub struct S3Error {
    operation: &'static str,
    bucket: String,
    key: String,
    reason: String,
}

#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
}

impl S3Store {
    pub async fn from_env() -> Self {
        // The shared SDK configuration: our HTTPS client (one TLS stack).
        let config = crate::aws::sdk_config().await;
        let mut builder = aws_sdk_s3::config::Builder::from(&config);
        // An emulator at an address has no per-bucket host names.
        if config.endpoint_url().is_some() {
            builder = builder.force_path_style(true);
        }
        S3Store {
            client: Client::from_conf(builder.build()),
        }
    }

    pub async fn put(&self, bucket: &str, key: &str, body: String) -> Result<(), S3Error> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body.into_bytes()))
            .send()
            .await
            .map_err(|e| error("PutObject", bucket, key, e))?;
        Ok(())
    }

    /// Keys under `prefix`, in S3's (lexicographic) order, leaving out those
    /// under `skip`; at most `limit`.
    pub async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        skip: &str,
        limit: usize,
    ) -> Result<Vec<String>, S3Error> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| error("ListObjectsV2", bucket, prefix, e))?;
            for object in page.contents() {
                let Some(key) = object.key() else { continue };
                if key.starts_with(skip) {
                    continue;
                }
                keys.push(key.to_owned());
                if keys.len() >= limit {
                    return Ok(keys);
                }
            }
        }
        Ok(keys)
    }

    pub async fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, S3Error> {
        let object = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| error("GetObject", bucket, key, e))?;
        let body = object
            .body
            .collect()
            .await
            .map_err(|e| error("GetObject", bucket, key, e))?;
        Ok(body.into_bytes().to_vec())
    }

    /// Copies `from` to `to`, then deletes `from`: a crash in between leaves
    /// both, and the next replay indexes `from` again (no duplicate: the
    /// documents are created under fixed ids) and moves it over the copy.
    pub async fn rename(&self, bucket: &str, from: &str, to: &str) -> Result<(), S3Error> {
        self.client
            .copy_object()
            .bucket(bucket)
            .copy_source(format!("{bucket}/{}", url_path(from)))
            .key(to)
            .send()
            .await
            .map_err(|e| error("CopyObject", bucket, from, e))?;
        self.client
            .delete_object()
            .bucket(bucket)
            .key(from)
            .send()
            .await
            .map_err(|e| error("DeleteObject", bucket, from, e))?;
        Ok(())
    }
}

fn error(operation: &'static str, bucket: &str, key: &str, e: impl std::error::Error) -> S3Error {
    S3Error {
        operation,
        bucket: bucket.to_owned(),
        key: key.to_owned(),
        reason: DisplayErrorContext(e).to_string(),
    }
}

/// `x-amz-copy-source` is URL-encoded; `/` stays.
fn url_path(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for byte in key.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::url_path;

    #[test]
    fn copy_sources_are_url_encoded() {
        assert_eq!(url_path("a/b-c_d.e~f"), "a/b-c_d.e~f");
        assert_eq!(url_path("a b/ü+"), "a%20b/%C3%BC%2B");
    }
}
