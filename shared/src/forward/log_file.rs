//! One object: GetObject, stream it through the planner on a blocking thread, deliver its
//! batches, and account for every record.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_util::io::SyncIoBridge;

use super::{DeliveryStopped, Forwarder, ObjectRef, PlanContext, ReadyBatch, plan_file};
use crate::logs::{KeyFacts, PublishError};
use crate::summary::{ObjectSummary, RejectedReasons};
use crate::trail::{EventCategory, FileKind, TrailKey};
use crate::trigger::Continuation;

/// Batches waiting between the reading thread and delivery. Bounds memory to a few MiB
/// whatever the file size, while letting inflate and the network overlap.
const READY_BATCH_QUEUE: usize = 4;

/// What is left to do for an object after this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectOutcome {
    /// Finished, skipped or failed: the summary says which.
    Done,
    /// Stopped before the deadline with every record before `next_record` delivered.
    HandOff(Continuation),
}

impl Forwarder {
    /// Reads one object and delivers its records. `stop`: set near the deadline; `may_defer`:
    /// when it is already set, hand the object off whole instead of starting it.
    pub async fn forward_object(
        &self,
        object: &ObjectRef,
        stop: Option<Arc<AtomicBool>>,
        deadline: Option<Instant>,
        may_defer: bool,
    ) -> (ObjectSummary, ObjectOutcome) {
        let done = |summary| (summary, ObjectOutcome::Done);
        let Some(trail_key) = TrailKey::parse(&object.key) else {
            return done(
                ObjectSummary::new(&object.bucket, &object.key, FileKind::Other.as_str())
                    .skipped("not a CloudTrail file (the key does not follow CloudTrail's layout)"),
            );
        };
        let mut summary = ObjectSummary::new(&object.bucket, &object.key, trail_key.kind.as_str());
        match trail_key.kind {
            FileKind::Log => {}
            FileKind::Insight if self.routes.may_select(EventCategory::Insight) => {}
            FileKind::Insight => {
                return done(summary.skipped("Insights file: no route selects Insight events"));
            }
            FileKind::Digest | FileKind::BackfillDigest => {
                return done(
                    summary.skipped("digest file: validated by the validator, not forwarded"),
                );
            }
            FileKind::Other => return done(summary.skipped("not a CloudTrail log file")),
        }
        if object.size == Some(0) {
            return done(summary.skipped("zero-byte object"));
        }
        if object.start_record > 0 {
            summary.resumed_at = Some(object.start_record);
        }
        if may_defer
            && stop
                .as_ref()
                .is_some_and(|stop| stop.load(Ordering::Relaxed))
        {
            // Not started before the deadline: hand it off whole.
            let continuation = Continuation {
                bucket: object.bucket.clone(),
                key: object.key.clone(),
                version_id: object.version_id.clone(),
                e_tag: object.e_tag.clone(),
                next_record: object.start_record,
            };
            return (summary, ObjectOutcome::HandOff(continuation));
        }
        let (key, response) = match self.get_object(object).await {
            Ok(found) => found,
            Err(error) => {
                let retryable = is_retryable_get(&error);
                let message = describe_get_object(&error);
                return done(if retryable {
                    summary.failed_for_now(message)
                } else {
                    summary.failed(message)
                });
            }
        };
        if response.content_length() == Some(0) {
            return done(summary.skipped("zero-byte object"));
        }
        // Pin what a continuation must read: this version, or this exact content.
        let pinned = Continuation {
            bucket: object.bucket.clone(),
            key: key.clone(),
            version_id: response
                .version_id()
                .map(str::to_owned)
                .or_else(|| object.version_id.clone()),
            e_tag: response.e_tag().map(str::to_owned),
            next_record: 0,
        };
        let context = PlanContext {
            bucket: object.bucket.clone(),
            key,
            key_facts: KeyFacts::for_key(&trail_key),
            routes: Arc::clone(&self.routes),
            dry_run: self.dry_run,
            start_record: object.start_record,
            max_decompressed_bytes: self.max_decompressed_bytes,
            stop,
        };
        self.deliver(response, context, summary, pinned, deadline)
            .await
    }

    /// GetObject of the version or content asked for; tries the fallback key when not found.
    async fn get_object(
        &self,
        object: &ObjectRef,
    ) -> Result<(String, GetObjectOutput), SdkError<GetObjectError>> {
        let request = |key: &str| {
            let request = self
                .s3
                .get_object()
                .bucket(&object.bucket)
                .key(key)
                .set_version_id(object.version_id.clone());
            // A version pins the content already; otherwise resume only the same content.
            match (&object.version_id, &object.e_tag, object.start_record) {
                (None, Some(e_tag), start) if start > 0 => request.if_match(e_tag),
                _ => request,
            }
        };
        match request(&object.key).send().await {
            Err(SdkError::ServiceError(e))
                if e.err().is_no_such_key() && object.fallback_key.is_some() =>
            {
                let fallback = object.fallback_key.clone().unwrap_or_default();
                let response = request(&fallback).send().await?;
                Ok((fallback, response))
            }
            other => other.map(|response| (object.key.clone(), response)),
        }
    }

    async fn deliver(
        &self,
        response: GetObjectOutput,
        context: PlanContext,
        mut summary: ObjectSummary,
        mut pinned: Continuation,
        deadline: Option<Instant>,
    ) -> (ObjectSummary, ObjectOutcome) {
        // Inflating and splitting run on a blocking thread reading the S3 body as it arrives;
        // batches cross to this task, which puts them, through a short bounded queue.
        let body = SyncIoBridge::new(Box::pin(response.body.into_async_read()));
        let (ready_tx, mut ready_rx) = mpsc::channel::<ReadyBatch>(READY_BATCH_QUEUE);
        let (bucket, key) = (context.bucket.clone(), context.key.clone());
        let reading = tokio::task::spawn_blocking(move || {
            plan_file(body, &context, |ready| {
                ready_tx.blocking_send(ready).map_err(|_| DeliveryStopped)
            })
        });

        let mut delivered = RejectedReasons::default();
        let mut publish_error: Option<PublishError> = None;
        while let Some(ready) = ready_rx.recv().await {
            if self.dry_run {
                summary.add_forwarded(&ready.destination, ready.batch.events.len() as u64);
                continue;
            }
            match self
                .publisher
                .put(&ready.destination, ready.batch, deadline)
                .await
            {
                Ok(outcome) => {
                    summary.add_forwarded(&ready.destination, outcome.accepted);
                    delivered.add(&outcome.rejected);
                    if !outcome.rejected.is_empty() {
                        tracing::warn!(bucket = %bucket, key = %key, destination = %ready.destination, too_old = outcome.rejected.too_old, too_new = outcome.rejected.too_new, expired = outcome.rejected.expired, "CloudWatch Logs rejected events");
                    }
                }
                Err(error) => {
                    publish_error = Some(error);
                    break;
                }
            }
        }
        drop(ready_rx);
        let plan = match reading.await {
            Ok(plan) => plan,
            Err(join_error) => {
                return (
                    summary.failed_for_now(format!(
                        "reading the object stopped unexpectedly: {join_error}"
                    )),
                    ObjectOutcome::Done,
                );
            }
        };

        summary.records = plan.records;
        summary.filtered = plan.filtered;
        summary.bytes_read = plan.bytes_read;
        summary.oldest_event_millis = plan.oldest_event_millis;
        summary.would_forward = plan.would_forward;
        summary.add_rejected(&plan.rejected);
        summary.add_rejected(&delivered);
        // Batched but neither accepted nor rejected by CloudWatch Logs: lost to the failure.
        let not_delivered = plan.batched - summary.forwarded - delivered.total();
        summary.add_rejected(&RejectedReasons {
            not_delivered,
            ..RejectedReasons::default()
        });

        let outcome = match (publish_error, plan.error, plan.handoff_at) {
            (Some(error), _, _) if error.is_retryable() => {
                summary.failed_for_now(error.to_string())
            }
            (Some(error), _, _) => summary.failed(error.to_string()),
            (None, Some(error), _) if error.is_retryable() => {
                summary.failed_for_now(error.to_string())
            }
            (None, Some(error), _) => summary.failed(error.to_string()),
            (None, None, Some(next_record)) => {
                pinned.next_record = next_record;
                return (summary, ObjectOutcome::HandOff(pinned));
            }
            (None, None, None) => summary,
        };
        (outcome, ObjectOutcome::Done)
    }
}

/// Throttling, 5xx, timeouts and connection failures may pass; the rest will not.
fn is_retryable_get(error: &SdkError<GetObjectError>) -> bool {
    match error {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(e) => {
            let status = e.raw().status().as_u16();
            status >= 500 || status == 429 || e.err().meta().code() == Some("SlowDown")
        }
        _ => false,
    }
}

fn describe_get_object(error: &SdkError<GetObjectError>) -> String {
    match error {
        SdkError::ServiceError(e) if e.err().is_no_such_key() => {
            "GetObject: the object does not exist (deleted before it was read?)".to_owned()
        }
        SdkError::ServiceError(e) if e.raw().status().as_u16() == 412 => {
            "GetObject: the object changed since an earlier invocation read part of it (ETag differs); not resumed".to_owned()
        }
        SdkError::ServiceError(e) if e.raw().status().as_u16() == 403 => {
            format!("GetObject: access denied (check s3:GetObject and, with SSE-KMS, kms:Decrypt): {}", DisplayErrorContext(error))
        }
        other => format!("GetObject failed: {}", DisplayErrorContext(other)),
    }
}
