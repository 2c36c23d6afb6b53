//! Forwarding: which objects to read comes from the trigger (`crate::trigger`); how to read one
//! object and deliver its records is in `log_file`; this module runs an invocation: messages,
//! the deadline, handoffs, and what to report for retry.

mod log_file;
mod object;
pub mod plan;

pub use log_file::ObjectOutcome;
pub use object::{NotifiedObject, ObjectRef, UndecodableKey};
pub use plan::{DeliveryStopped, FilePlan, PlanContext, ReadyBatch, plan_file};

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_s3::error::DisplayErrorContext;
use serde_json::Value;
use tokio::time::Instant;

use crate::config::ForwarderConfig;
use crate::logs::LogPublisher;
use crate::route::Routes;
use crate::summary::{ForwardSummary, MessageError, ObjectSummary};
use crate::trail::{FileKind, classify};
use crate::trigger::{
    Continuation, ContinuationMessage, Invocation, Message, MessageContent, UnrecognisedPayload,
    parse_invocation,
};

/// What an invocation did, and what the trigger must be told.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InvocationReport {
    pub summary: ForwardSummary,
    /// An SQS invocation: report these message ids as `batchItemFailures`.
    pub sqs: bool,
    pub failed_message_ids: Vec<String>,
}

impl InvocationReport {
    /// A direct invocation fails as a whole when any object failed.
    pub fn direct_failure(&self) -> bool {
        !self.sqs && self.summary.failed_objects > 0
    }
}

pub struct Forwarder {
    s3: aws_sdk_s3::Client,
    publisher: LogPublisher,
    sqs: Option<aws_sdk_sqs::Client>,
    routes: Arc<Routes>,
    dry_run: bool,
    continuation_queue_url: Option<String>,
    max_decompressed_bytes: u64,
    handoff_margin: Duration,
}

impl Forwarder {
    pub fn new(
        s3: aws_sdk_s3::Client,
        logs: aws_sdk_cloudwatchlogs::Client,
        sqs: aws_sdk_sqs::Client,
        config: &ForwarderConfig,
    ) -> Self {
        Self {
            s3,
            publisher: LogPublisher::new(logs),
            sqs: config.continuation_queue_url.as_ref().map(|_| sqs),
            routes: Arc::new(config.routes.clone()),
            dry_run: config.dry_run,
            continuation_queue_url: config.continuation_queue_url.clone(),
            max_decompressed_bytes: config.max_decompressed_bytes,
            handoff_margin: config.handoff_margin,
        }
    }

    /// Runs one invocation. `deadline`: when Lambda will stop the function.
    pub async fn handle(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
    ) -> Result<InvocationReport, UnrecognisedPayload> {
        let invocation = parse_invocation(payload)?;
        if let Some(deadline) = deadline {
            let left = deadline.saturating_duration_since(Instant::now());
            tracing::debug!(left_ms = left.as_millis() as u64, "invocation deadline");
        }
        let stop = Arc::new(AtomicBool::new(false));
        let timer = deadline.map(|deadline| {
            let stop = Arc::clone(&stop);
            let at = deadline - self.margin_before(deadline);
            tokio::spawn(async move {
                tokio::time::sleep_until(at).await;
                stop.store(true, Ordering::Relaxed);
            })
        });
        let mut report = InvocationReport {
            summary: ForwardSummary {
                dry_run: self.dry_run,
                ..ForwardSummary::default()
            },
            ..InvocationReport::default()
        };
        match invocation {
            Invocation::Direct(message) => {
                self.run_message(&message, &stop, deadline, &mut report.summary)
                    .await;
            }
            Invocation::Sqs(messages) => {
                report.sqs = true;
                for message in &messages {
                    if self
                        .run_message(message, &stop, deadline, &mut report.summary)
                        .await
                    {
                        report.failed_message_ids.extend(message.id.clone());
                    }
                }
            }
        }
        if let Some(timer) = timer {
            timer.abort();
        }
        Ok(report)
    }

    /// How long before the deadline to stop reading: the configured margin, but never more
    /// than a quarter of the time the invocation has, so short timeouts still make progress.
    fn margin_before(&self, deadline: Instant) -> Duration {
        let left = deadline.saturating_duration_since(Instant::now());
        self.handoff_margin.min(left / 4)
    }

    /// Runs one message; returns whether it must be retried.
    async fn run_message(
        &self,
        message: &Message,
        stop: &Arc<AtomicBool>,
        deadline: Option<Instant>,
        summary: &mut ForwardSummary,
    ) -> bool {
        let objects = match &message.content {
            Ok(MessageContent::Objects(objects)) => objects,
            Ok(MessageContent::TestEvent) => {
                tracing::info!(
                    message_id = message.id.as_deref().unwrap_or_default(),
                    "s3:TestEvent acknowledged"
                );
                return false;
            }
            Err(error) => {
                tracing::error!(message_id = message.id.as_deref().unwrap_or_default(), error = %error, "message names nothing readable");
                summary.message_errors.push(MessageError {
                    message_id: message.id.clone().unwrap_or_default(),
                    error: error.clone(),
                });
                // Nothing was delivered, so a retry duplicates nothing; SQS's redrive policy
                // takes the message to the dead-letter queue.
                return true;
            }
        };
        let mut retry = false;
        for notified in objects {
            // The first object of an invocation always starts, so every invocation progresses.
            let may_defer = !summary.objects.is_empty();
            let object = self.run_object(notified, stop, deadline, may_defer).await;
            retry |= object.retryable == Some(true);
            log_object(&object);
            summary.add(object);
        }
        retry
    }

    /// `may_defer`: an object not started when the stop comes may be handed off whole.
    async fn run_object(
        &self,
        notified: &NotifiedObject,
        stop: &Arc<AtomicBool>,
        deadline: Option<Instant>,
        may_defer: bool,
    ) -> ObjectSummary {
        let decoded = notified.decode();
        let kind = decoded
            .as_ref()
            .map_or(FileKind::Other, |o| classify(&o.key))
            .as_str();
        let summary = ObjectSummary::new(&notified.bucket, &notified.encoded_key, kind);
        if let Some(reason) = notified.skip_reason() {
            return summary.skipped(reason);
        }
        let object = match decoded {
            Ok(object) => object,
            Err(error) => return summary.failed(error.to_string()),
        };
        let (summary, outcome) = self
            .forward_object(&object, Some(Arc::clone(stop)), deadline, may_defer)
            .await;
        match outcome {
            ObjectOutcome::Done => summary,
            ObjectOutcome::HandOff(continuation) => self.hand_off(summary, continuation).await,
        }
    }

    /// Sends the continuation message, or fails the object for a retry when there is no queue.
    async fn hand_off(
        &self,
        mut summary: ObjectSummary,
        continuation: Continuation,
    ) -> ObjectSummary {
        let next = continuation.next_record;
        let (Some(sqs), Some(url)) = (&self.sqs, &self.continuation_queue_url) else {
            let delivered = summary.forwarded;
            return summary.failed_for_now(format!(
                "the invocation's deadline came at record {next}; without CONTINUATION_QUEUE_URL the object is retried whole, and the {delivered} records already forwarded will be forwarded again"
            ));
        };
        let body = match serde_json::to_string(&ContinuationMessage {
            trailwatch_continuation: continuation,
        }) {
            Ok(body) => body,
            Err(error) => return summary.failed_for_now(format!("continuation message: {error}")),
        };
        match sqs
            .send_message()
            .queue_url(url)
            .message_body(body)
            .send()
            .await
        {
            Ok(_) => {
                tracing::info!(bucket = %summary.bucket, key = %summary.key, next_record = next, "handed off the rest of the object");
                summary.handed_off_at = Some(next);
                summary
            }
            Err(error) => summary.failed_for_now(format!(
                "sending the continuation message failed: {}",
                DisplayErrorContext(&error)
            )),
        }
    }
}

/// One line per object, with counts only: records hold identities and request parameters.
fn log_object(object: &ObjectSummary) {
    let reasons = &object.rejected_reasons;
    for entry in &object.would_forward {
        tracing::info!(bucket = %object.bucket, key = %object.key, route = %entry.route, log_group = %entry.log_group, category = %entry.category, event_source = %entry.event_source, records = entry.records, bytes = entry.bytes, "dry run: would forward");
    }
    if let Some(error) = &object.error {
        tracing::error!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, rejected = object.rejected, not_delivered = reasons.not_delivered, retryable = object.retryable.unwrap_or(false), error = %error, "object failed");
    } else if let Some(reason) = &object.skipped {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, reason = %reason, "object skipped");
    } else {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, filtered = object.filtered, rejected = object.rejected, too_old = reasons.too_old, too_new = reasons.too_new, expired = reasons.expired, too_large = reasons.too_large, invalid_record = reasons.invalid_record, resumed_at = object.resumed_at, handed_off_at = object.handed_off_at, bytes_read = object.bytes_read, "object forwarded");
    }
}
