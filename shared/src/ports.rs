//! What the forwarding pipeline needs from outside, as traits in the core's own types: an
//! object's bytes, a log sink, a continuation queue (the digest store and public keys are in
//! `digest::store`). The AWS adapters live with the binaries (the CloudWatch Logs one, which both
//! use, behind the `aws` feature); unit tests use in-memory fakes. Every adapter decides whether a failure is transient, with the one
//! classifier of SDK errors (`aws::transient::is_transient`), and says so in [`CallError`].

use std::future::Future;
use std::io::Read;

use tokio::time::Instant;

use crate::logs::{Batch, Destination, PutOutcome};
use crate::object::{Continuation, ObjectRef};

/// A call to the outside that failed, and whether trying again could succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{call} failed: {detail}")]
pub struct CallError {
    /// What was called, e.g. `PutLogEvents to /g:s`.
    pub call: String,
    /// Throttling, 5xx, timeouts, connection failures: a later attempt may pass.
    pub transient: bool,
    /// The service's own words (never a request body).
    pub detail: String,
}

impl CallError {
    pub fn new(call: impl Into<String>, transient: bool, detail: impl Into<String>) -> Self {
        Self {
            call: call.into(),
            transient,
            detail: detail.into(),
        }
    }
}

/// An object opened for reading, pinned to what was read.
pub struct OpenedObject {
    /// The key that was found (a trigger's fallback key when the first was not).
    pub key: String,
    pub version_id: Option<String>,
    pub e_tag: Option<String>,
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
        matches!(self, OpenError::Failed(error) if error.transient)
    }
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
        batch: Batch,
        deadline: Option<Instant>,
    ) -> impl Future<Output = Result<PutOutcome, CallError>> + Send;
}

/// Where continuation messages go (`CONTINUATION_QUEUE_URL`).
pub trait ContinuationQueue: Send + Sync + 'static {
    fn send(
        &self,
        continuation: &Continuation,
    ) -> impl Future<Output = Result<(), CallError>> + Send;
}
