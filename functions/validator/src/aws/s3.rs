//! Digests and log files in S3: listing, fetching digests with their signature metadata, and
//! log files as they stream in.

use std::io::Read;

use aws_sdk_s3::Client;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use flate2::read::GzDecoder;
use trailwatch::aws::s3::{blocking_reader, list_folders, list_objects, open_error};
use trailwatch::digest::store::{CallError, DigestStore, FetchError, StoredDigest};
use trailwatch::ports::{ListedObject, ObjectListing, OpenError};

/// Digests are a few KiB; anything past this (compressed, or inflated) is not a digest and is
/// INVALID without being read further.
const MAX_DIGEST_BYTES: u64 = 16 << 20;

pub struct S3DigestStore {
    pub client: Client,
}

impl S3DigestStore {
    async fn get(&self, bucket: &str, key: &str) -> Result<GetObjectOutput, FetchError> {
        self.client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|error| match open_error(&error) {
                OpenError::NotFound => FetchError::NotFound,
                OpenError::Failed(error) => FetchError::Failed(error),
                OpenError::Changed => FetchError::Failed(CallError::from_sdk("GetObject", &error)),
            })
    }
}

impl ObjectListing for S3DigestStore {
    async fn list_folders(&self, bucket: &str, prefix: &str) -> Result<Vec<String>, CallError> {
        list_folders(&self.client, bucket, prefix).await
    }

    async fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> Result<Vec<ListedObject>, CallError> {
        list_objects(&self.client, bucket, prefix, start_after).await
    }
}

impl DigestStore for S3DigestStore {
    async fn fetch_digest(&self, bucket: &str, key: &str) -> Result<StoredDigest, FetchError> {
        let response = self.get(bucket, key).await?;
        let too_large = FetchError::TooLarge {
            limit: MAX_DIGEST_BYTES,
        };
        if response.content_length().unwrap_or(0) as u64 > MAX_DIGEST_BYTES {
            return Err(too_large);
        }
        let metadata = response.metadata().cloned().unwrap_or_default();
        let body = response
            .body
            .collect()
            .await
            .map_err(|e| FetchError::Failed(CallError::transient("GetObject", e.to_string())))?
            .into_bytes();
        let mut inflated = Vec::new();
        GzDecoder::new(&body[..])
            .take(MAX_DIGEST_BYTES + 1)
            .read_to_end(&mut inflated)
            .map_err(|_| FetchError::Corrupt)?;
        if inflated.len() as u64 > MAX_DIGEST_BYTES {
            return Err(too_large);
        }
        Ok(StoredDigest {
            inflated,
            signature: metadata.get("signature").cloned(),
            signature_algorithm: metadata.get("signature-algorithm").cloned(),
            backfill_generation_timestamp: metadata.get("backfill-generation-timestamp").cloned(),
        })
    }

    async fn open_log_file(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<Box<dyn Read + Send>, FetchError> {
        Ok(blocking_reader(self.get(bucket, key).await?.body))
    }
}
