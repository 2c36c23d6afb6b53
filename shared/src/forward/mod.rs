//! Forwarding objects: which objects to read is the caller's business (a trigger); how to read
//! one object and deliver its records is here.

mod object;
pub mod plan;

pub use object::{NotifiedObject, ObjectRef, UndecodableKey};
pub use plan::{DeliveryStopped, FilePlan, PlanContext, ReadyBatch, plan_file};

use std::sync::Arc;

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectError;
use tokio::sync::mpsc;
use tokio_util::io::SyncIoBridge;

use crate::config::ForwarderConfig;
use crate::logs::{KeyFacts, LogPublisher, PublishError};
use crate::route::Routes;
use crate::summary::{ForwardSummary, ObjectSummary, RejectedReasons};
use crate::trail::{EventCategory, FileKind, TrailKey, classify};

/// Batches waiting between the reading thread and delivery. Bounds memory to a few MiB
/// whatever the file size, while letting inflate and the network overlap.
const READY_BATCH_QUEUE: usize = 4;

pub struct Forwarder {
    s3: aws_sdk_s3::Client,
    publisher: LogPublisher,
    routes: Arc<Routes>,
    dry_run: bool,
}

impl Forwarder {
    pub fn new(
        s3: aws_sdk_s3::Client,
        logs: aws_sdk_cloudwatchlogs::Client,
        config: &ForwarderConfig,
    ) -> Self {
        Self {
            s3,
            publisher: LogPublisher::new(logs),
            routes: Arc::new(config.routes.clone()),
            dry_run: config.dry_run,
        }
    }

    /// Forwards each notified object in turn; one object's failure never stops the others.
    pub async fn forward_notified(
        &self,
        objects: impl IntoIterator<Item = NotifiedObject>,
    ) -> ForwardSummary {
        let mut summary = ForwardSummary {
            dry_run: self.dry_run,
            ..ForwardSummary::default()
        };
        for notified in objects {
            let decoded = notified.decode();
            let kind = decoded
                .as_ref()
                .map_or(FileKind::Other, |o| classify(&o.key))
                .as_str();
            let object = match (notified.skip_reason(), decoded) {
                (Some(reason), _) => {
                    ObjectSummary::new(&notified.bucket, &notified.encoded_key, kind)
                        .skipped(reason)
                }
                (None, Ok(object)) => self.forward_object(&object).await,
                (None, Err(error)) => {
                    ObjectSummary::new(&notified.bucket, &notified.encoded_key, kind)
                        .failed(error.to_string())
                }
            };
            log_object(&object);
            summary.add(object);
        }
        summary
    }

    /// Reads one object and delivers its records.
    pub async fn forward_object(&self, object: &ObjectRef) -> ObjectSummary {
        let Some(trail_key) = TrailKey::parse(&object.key) else {
            return ObjectSummary::new(&object.bucket, &object.key, FileKind::Other.as_str())
                .skipped("not a CloudTrail file (the key does not follow CloudTrail's layout)");
        };
        let summary = ObjectSummary::new(&object.bucket, &object.key, trail_key.kind.as_str());
        match trail_key.kind {
            FileKind::Log => {}
            FileKind::Insight if self.routes.may_select(EventCategory::Insight) => {}
            FileKind::Insight => {
                return summary.skipped("Insights file: no route selects Insight events");
            }
            FileKind::Digest | FileKind::BackfillDigest => {
                return summary.skipped("digest file: validated by the validator, not forwarded");
            }
            FileKind::Other => return summary.skipped("not a CloudTrail log file"),
        }
        if object.size == Some(0) {
            return summary.skipped("zero-byte object");
        }
        let context = PlanContext {
            bucket: object.bucket.clone(),
            key: object.key.clone(),
            key_facts: KeyFacts::for_key(&trail_key),
            routes: Arc::clone(&self.routes),
            dry_run: self.dry_run,
        };
        self.forward_log_file(object, context, summary).await
    }

    async fn forward_log_file(
        &self,
        object: &ObjectRef,
        context: PlanContext,
        mut summary: ObjectSummary,
    ) -> ObjectSummary {
        let response = match self
            .s3
            .get_object()
            .bucket(&object.bucket)
            .key(&object.key)
            .set_version_id(object.version_id.clone())
            .send()
            .await
        {
            Ok(response) => response,
            Err(error) => return summary.failed(describe_get_object(&error)),
        };
        if response.content_length() == Some(0) {
            return summary.skipped("zero-byte object");
        }

        // Inflating and splitting run on a blocking thread reading the S3 body as it arrives;
        // batches cross to this task, which puts them, through a short bounded queue.
        let body = SyncIoBridge::new(Box::pin(response.body.into_async_read()));
        let (ready_tx, mut ready_rx) = mpsc::channel::<ReadyBatch>(READY_BATCH_QUEUE);
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
            match self.publisher.put(&ready.destination, ready.batch).await {
                Ok(outcome) => {
                    summary.add_forwarded(&ready.destination, outcome.accepted);
                    delivered.add(&outcome.rejected);
                    if !outcome.rejected.is_empty() {
                        tracing::warn!(bucket = %object.bucket, key = %object.key, destination = %ready.destination, too_old = outcome.rejected.too_old, too_new = outcome.rejected.too_new, expired = outcome.rejected.expired, "CloudWatch Logs rejected events");
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
                return summary.failed(format!(
                    "reading the object stopped unexpectedly: {join_error}"
                ));
            }
        };

        summary.records = plan.records;
        summary.filtered = plan.filtered;
        summary.would_forward = plan.would_forward;
        summary.add_rejected(&plan.rejected);
        summary.add_rejected(&delivered);
        // Batched but neither accepted nor rejected by CloudWatch Logs: lost to the failure.
        let not_delivered = plan.batched - summary.forwarded - delivered.total();
        summary.add_rejected(&RejectedReasons {
            not_delivered,
            ..RejectedReasons::default()
        });

        match (publish_error, plan.error) {
            (Some(error), _) => summary.failed(error.to_string()),
            (None, Some(error)) => summary.failed(error.to_string()),
            (None, None) => summary,
        }
    }
}

fn describe_get_object(error: &SdkError<GetObjectError>) -> String {
    match error {
        SdkError::ServiceError(e) if e.err().is_no_such_key() => {
            "GetObject: the object does not exist (deleted before it was read?)".to_owned()
        }
        other => format!("GetObject failed: {}", DisplayErrorContext(other)),
    }
}

/// One line per object, with counts only: records hold identities and request parameters.
fn log_object(object: &ObjectSummary) {
    let reasons = &object.rejected_reasons;
    for entry in &object.would_forward {
        tracing::info!(bucket = %object.bucket, key = %object.key, route = %entry.route, log_group = %entry.log_group, category = %entry.category, event_source = %entry.event_source, records = entry.records, bytes = entry.bytes, "dry run: would forward");
    }
    if let Some(error) = &object.error {
        tracing::error!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, rejected = object.rejected, not_delivered = reasons.not_delivered, error = %error, "object failed");
    } else if let Some(reason) = &object.skipped {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, reason = %reason, "object skipped");
    } else {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, filtered = object.filtered, rejected = object.rejected, too_old = reasons.too_old, too_new = reasons.too_new, expired = reasons.expired, too_large = reasons.too_large, invalid_record = reasons.invalid_record, "object forwarded");
    }
}
