//! Digests and log files in S3: listing, fetching digests with their signature metadata, and
//! hashing log files as they stream in.

use std::io::Read;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use flate2::read::GzDecoder;
use tokio_util::io::SyncIoBridge;

use super::chain::{DigestStore, FetchError, StoredDigest};
use super::hash::{LogHashError, hash_log_file};
use super::verdict::Status;

/// Digests are a few KiB; anything past this is not a digest.
const MAX_DIGEST_BYTES: u64 = 16 << 20;

pub struct S3DigestStore {
    pub client: Client,
}

impl DigestStore for S3DigestStore {
    async fn list_keys(
        &self,
        bucket: &str,
        list_prefix: &str,
        start_after: &str,
    ) -> Result<Vec<String>, String> {
        let mut keys = Vec::new();
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(list_prefix)
            .start_after(start_after)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| {
                format!(
                    "ListObjectsV2 s3://{bucket}/{list_prefix}: {}",
                    DisplayErrorContext(&e)
                )
            })?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_owned)),
            );
        }
        Ok(keys)
    }

    async fn fetch_digest(&self, bucket: &str, key: &str) -> Result<StoredDigest, FetchError> {
        let response = match self.get(bucket, key).await {
            Ok(response) => response,
            Err(Missing::NotFound) => return Err(FetchError::NotFound),
            Err(Missing::Failed(error)) => {
                return Err(FetchError::Failed(format!("GetObject: {error}")));
            }
        };
        let metadata = response.metadata().cloned().unwrap_or_default();
        let body = response
            .body
            .collect()
            .await
            .map_err(|e| FetchError::Failed(e.to_string()))?
            .into_bytes();
        let mut inflated = Vec::new();
        GzDecoder::new(&body[..])
            .take(MAX_DIGEST_BYTES)
            .read_to_end(&mut inflated)
            .map_err(|_| FetchError::Corrupt)?;
        Ok(StoredDigest {
            inflated,
            signature: metadata.get("signature").cloned(),
            signature_algorithm: metadata.get("signature-algorithm").cloned(),
            backfill_generation_timestamp: metadata.get("backfill-generation-timestamp").cloned(),
        })
    }
}

/// Why GetObject gave no object: a missing key is a verdict, anything else a failure.
enum Missing {
    NotFound,
    Failed(String),
}

impl S3DigestStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<GetObjectOutput, Missing> {
        match self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
        {
            Ok(response) => Ok(response),
            Err(SdkError::ServiceError(e)) if e.err().is_no_such_key() => Err(Missing::NotFound),
            Err(error) => Err(Missing::Failed(DisplayErrorContext(&error).to_string())),
        }
    }

    /// The verdict on one log file against the hash its digest records.
    pub async fn check_log_file(&self, bucket: &str, key: &str, expected_hash: &str) -> Status {
        let response = match self.get(bucket, key).await {
            Ok(response) => response,
            Err(Missing::NotFound) => return Status::NotFound,
            Err(Missing::Failed(error)) => {
                return Status::Other(format!("GetObject failed: {error}"));
            }
        };
        let body = SyncIoBridge::new(Box::pin(response.body.into_async_read()));
        let hashed = tokio::task::spawn_blocking(move || hash_log_file(body)).await;
        match hashed {
            Ok(Ok(hash)) if hash == expected_hash => Status::Valid,
            Ok(Ok(_)) => Status::HashMismatch,
            Ok(Err(LogHashError::TrailingData)) => Status::TrailingData,
            Ok(Err(LogHashError::Corrupt(_))) => Status::InvalidFormat,
            Ok(Err(LogHashError::Source(error))) => {
                Status::Other(format!("reading the object failed: {error}"))
            }
            Err(error) => Status::Other(format!("hashing stopped unexpectedly: {error}")),
        }
    }
}
