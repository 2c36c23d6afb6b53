//! What the forwarding pipeline needs from outside, as traits in the core's own types: an
//! object's bytes, a log sink, a continuation queue (the digest store and public keys are in
//! `digest::store`). The AWS adapters live with the binaries (the CloudWatch Logs one, which both
//! use, behind the `aws` feature); unit tests use in-memory fakes. Every adapter reports a failed
//! call as a [`CallError`], built from an SDK error by the one conversion (`CallError::from_sdk`,
//! module `aws::transient`).

use std::future::Future;
use std::io::Read;

use tokio::time::Instant;

use crate::checkpoint::{Checkpoint, Stored, Written};
use crate::logs::{Batch, Destination, PutOutcome};
use crate::object::{Continuation, ETag, ObjectRef};

/// Whether trying a failed call again could succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transience {
    /// Throttling, 5xx, timeouts, connection failures, refusals that pass once the world
    /// catches up: a later attempt may pass.
    Transient,
    /// Nothing a retry can change.
    Permanent,
}

/// A call to the outside that failed, and whether trying again could succeed. Adapters build
/// it from an SDK error with `CallError::from_sdk` (module `aws`), the one conversion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call} failed: {detail}")]
pub struct CallError {
    /// What was called, e.g. `PutLogEvents to /g:s`.
    pub call: String,
    pub transience: Transience,
    /// The service's own words (never a request body).
    pub detail: String,
    /// The service's error code, when it answered with one.
    pub code: Option<String>,
    /// The request may have been applied although the call failed: a 5xx answer, a timeout,
    /// a connection lost after the request was sent. A retry may then apply it twice.
    pub outcome_unknown: bool,
}

impl CallError {
    pub fn new(call: impl Into<String>, transience: Transience, detail: impl Into<String>) -> Self {
        Self {
            call: call.into(),
            transience,
            detail: detail.into(),
            code: None,
            outcome_unknown: false,
        }
    }

    /// A failure a later attempt may not meet.
    pub fn transient(call: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(call, Transience::Transient, detail)
    }

    /// A failure no retry can change.
    pub fn permanent(call: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(call, Transience::Permanent, detail)
    }

    pub fn is_transient(&self) -> bool {
        self.transience == Transience::Transient
    }

    pub fn with_outcome_unknown(mut self, outcome_unknown: bool) -> Self {
        self.outcome_unknown = outcome_unknown;
        self
    }

    pub fn with_code(mut self, code: Option<&str>) -> Self {
        self.code = code.map(str::to_owned);
        self
    }

    /// PutLogEvents refused the request's content (an event it will not take), not the
    /// destination or the caller: splitting the batch isolates the event.
    pub fn is_refused_content(&self) -> bool {
        !self.is_transient() && self.code.as_deref() == Some("InvalidParameterException")
    }
}

/// An object opened for reading, pinned to what was read.
pub struct OpenedObject {
    /// The key that was found (a trigger's fallback key when the first was not).
    pub key: String,
    pub version_id: Option<String>,
    pub e_tag: Option<ETag>,
    pub content_length: Option<i64>,
    /// The compressed bytes as they arrive; read on a blocking thread.
    pub body: Box<dyn Read + Send>,
}

/// Why an object could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    #[error("GetObject: the object does not exist (deleted before it was read?)")]
    NotFound,
    #[error(
        "GetObject: the object changed since an earlier invocation read part of it (ETag differs); not resumed"
    )]
    Changed,
    #[error(transparent)]
    Failed(CallError),
}

impl OpenError {
    pub fn is_transient(&self) -> bool {
        matches!(self, OpenError::Failed(error) if error.is_transient())
    }
}

/// An object a listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedObject {
    pub key: String,
    pub size: u64,
    /// The listing's ETag: a backfill hands it to the checkpoint, which then tells a key
    /// forwarded before from one rewritten since.
    pub e_tag: Option<ETag>,
}

/// Listing a bucket's folders and objects: how a backfill finds a trail's files, and how the
/// validator finds digests, the accounts and regions of a trail, and unlisted log files.
pub trait ObjectListing: Send + Sync + 'static {
    /// The folders directly under `prefix`, each ending in `/`.
    fn list_folders(
        &self,
        bucket: &str,
        prefix: &str,
    ) -> impl Future<Output = Result<Vec<String>, CallError>> + Send;
    /// The objects under `prefix` whose keys sort after `start_after` (all: `""`), ascending.
    fn list_objects(
        &self,
        bucket: &str,
        prefix: &str,
        start_after: &str,
    ) -> impl Future<Output = Result<Vec<ListedObject>, CallError>> + Send;
}

/// Trail objects: S3 in production.
pub trait ObjectSource: Send + Sync + 'static {
    /// Opens `object` at its version, or (resuming without one) only if its ETag is unchanged;
    /// tries `object.fallback_key` when the key is not found.
    fn open(
        &self,
        object: &ObjectRef,
    ) -> impl Future<Output = Result<OpenedObject, OpenError>> + Send;
}

/// CloudWatch Logs.
pub trait LogSink: Send + Sync + 'static {
    /// Puts one batch, creating the group and stream when missing. With a deadline, the call
    /// and its retries end before it, so the invocation can still report.
    fn put(
        &self,
        destination: &Destination,
        batch: &Batch,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<PutOutcome, CallError>> + Send;

    /// Reading a stream back (was a batch whose put had an unknown outcome stored after
    /// all?): events of `destination` with `start_millis <= timestamp <= end_millis`, a page
    /// at a time; an empty page when the stream does not exist.
    fn events_between(
        &self,
        destination: &Destination,
        start_millis: i64,
        end_millis: i64,
        token: Option<String>,
    ) -> impl Future<Output = Result<EventsPage, CallError>> + Send;
}

/// One page of a stream's events in a time range, for reading a batch back.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsPage {
    /// (timestamp, message), oldest first.
    pub events: Vec<(i64, String)>,
    /// Where the next page starts; none when this was the last.
    pub next_token: Option<String>,
}

/// The checkpoint table (`CHECKPOINT_TABLE_NAME`): DynamoDB in production. Objects are
/// named by bucket and key (CloudTrail never rewrites a key).
pub trait CheckpointStore: Send + Sync + 'static {
    /// The object's checkpoint, read consistently.
    fn load(
        &self,
        bucket: &str,
        key: &str,
    ) -> impl Future<Output = Result<Option<Stored>, CallError>> + Send;

    /// Writes `checkpoint` as `revision`, only if the item is at `revision - 1` (absent when
    /// `revision` is 1).
    fn store(
        &self,
        bucket: &str,
        key: &str,
        checkpoint: &Checkpoint,
        revision: u64,
    ) -> impl Future<Output = Result<Written, CallError>> + Send;
}

/// Why a message is set aside, as message attributes on its dead-letter copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The SQS message id it had.
    pub message_id: String,
    /// The first object that failed for good (`s3://bucket/key`), when one did.
    pub object: Option<String>,
    /// The error, as in the summary.
    pub reason: String,
    /// Which records of that object are in CloudWatch Logs already, in words.
    pub delivered: Option<String>,
}

/// The dead-letter queue (`DEAD_LETTER_QUEUE_URL`): a message that failed for good is copied
/// there with its reason before it is acknowledged, so it can be redriven after a fix.
pub trait DeadLetterQueue: Send + Sync + 'static {
    fn send(
        &self,
        body: &str,
        letter: &DeadLetter,
    ) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// Where continuation messages go (`CONTINUATION_QUEUE_URL`).
pub trait ContinuationQueue: Send + Sync + 'static {
    /// Sends `continuation`, delivered after `delay` (SQS's per-message delay, at most
    /// [`MAX_SQS_DELAY`]; zero: at once).
    fn send(
        &self,
        continuation: &Continuation,
        delay: std::time::Duration,
    ) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// SQS delays a message at most 15 minutes (`DelaySeconds`, 0 to 900:
/// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-message-timers.html).
/// A continuation or a recheck that comes early is deferred, or sent on, again.
pub const MAX_SQS_DELAY: std::time::Duration = std::time::Duration::from_secs(900);
