//! What validation needs from outside: the digest store, public keys by region, and where a
//! trail delivers. AWS adapters live with the validator binary; tests use an in-memory store.

use std::collections::HashMap;
use std::future::Future;
use std::io::Read;

use rsa::PublicKey as RsaPublicKey;

pub use crate::ports::CallError;
use crate::ports::ObjectListing;

/// A digest as stored: decompressed bytes and the signature metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredDigest {
    pub inflated: Vec<u8>,
    pub signature: Option<String>,
    pub signature_algorithm: Option<String>,
    /// Backfill digests carry it; without it a backfill digest is of invalid format.
    pub backfill_generation_timestamp: Option<String>,
}

/// Public keys by fingerprint, for one region.
#[derive(Debug, Clone, Default)]
pub struct PublicKeys {
    pub region: String,
    pub by_fingerprint: HashMap<String, RsaPublicKey>,
}

/// Why a digest or log file could not be had from the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    #[error("not found")]
    NotFound,
    /// Not gzip, or not a whole gzip stream.
    #[error("not a whole gzip stream")]
    Corrupt,
    /// Larger (compressed or inflated) than any real digest: not read further.
    #[error("larger than {limit} bytes")]
    TooLarge { limit: u64 },
    /// Reading failed (network, permissions): says nothing about the file.
    #[error(transparent)]
    Failed(CallError),
}

/// Where digests and the log files they list live: S3 in production, memory in tests. Listed
/// through the one listing port every reader of the trail bucket uses.
pub trait DigestStore: ObjectListing {
    /// A digest, inflated, with its signature metadata.
    fn fetch_digest(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<StoredDigest, FetchError>> + Send;
    /// A log file's compressed bytes as they arrive, for hashing on a blocking thread.
    fn open_log_file(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Box<dyn Read + Send>, FetchError>> + Send;
}

/// The keys under `prefix` that sort after `start_after`, ascending.
pub(crate) async fn list_keys<S: ObjectListing + ?Sized>(
    store: &S,
    bucket: &str,
    prefix: &str,
    start_after: &str,
) -> Result<Vec<String>, CallError> {
    let objects = store.list_objects(bucket, prefix, start_after).await?;
    Ok(objects.into_iter().map(|object| object.key).collect())
}

/// CloudTrail's public keys for digest signatures.
pub trait PublicKeySource: Send + Sync + 'static {
    /// The keys of `region` valid in `[start, end]` (epoch seconds).
    fn keys(
        &self,
        region: &str,
        start: i64,
        end: i64,
    ) -> impl Future<Output = Result<PublicKeys, CallError>> + Send;
}

/// Where a trail delivers: `DescribeTrails` in production.
pub trait TrailDirectory: Send + Sync + 'static {
    /// The trail's bucket and key prefix.
    fn describe_trail(
        &self,
        trail_arn: &str,
    ) -> impl Future<Output = Result<TrailLocation, CallError>> + Send;
    /// The id (`o-…`) of the organization the caller belongs to: `DescribeOrganization`.
    fn organization_id(&self) -> impl Future<Output = Result<String, CallError>> + Send;
}

/// A trail's bucket and key prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailLocation {
    pub bucket: String,
    pub prefix: Option<String>,
    /// An organization trail delivers each member's files under `AWSLogs/<o-id>/<account>/`.
    pub organization_trail: bool,
}
