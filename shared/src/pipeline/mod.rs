//! An object's path, one named step each: [`classify`] (skip or read) → [`deliver`] (read →
//! route → batch → put) → [`settle`] (summary entry and what is left) → hand off. This module
//! runs an invocation over the ports: its messages, its deadline, and what to report for retry.

pub mod classify;
pub mod deadline;
pub mod deliver;
pub mod lease;
pub mod plan;
pub mod settle;

#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
mod fakes;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

pub use classify::{Classified, ToRead, classify};
pub use deadline::{Deadline, StopSignal};
pub use deliver::{Delivered, Delivery, deliver};
pub use lease::{Claimed, Held, claim_object};
pub use plan::{FilePlan, PlanContext, ReadyBatch, plan_file};
pub use settle::{Next, rewritten_reason, settle};

use crate::checkpoint::{ClaimRequest, Refusal};
use crate::config::ForwarderConfig;
use crate::object::{Continuation, NotifiedObject, Origin};
use crate::ports::{
    CheckpointStore, ContinuationQueue, DeadLetter, DeadLetterQueue, LogSink, ObjectSource,
};
use crate::route::Routes;
use crate::summary::{CheckpointVerdict, FailedMessage, ForwardSummary, ObjectSummary};
use crate::trigger::{Invocation, Message, MessageContent, UnrecognisedPayload, parse_invocation};

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

/// The configuration the path reads, once per cold start.
#[derive(Debug, Clone)]
pub struct Settings {
    pub routes: Arc<Routes>,
    pub dry_run: bool,
    pub max_decompressed_bytes: u64,
    pub handoff_margin: Duration,
    /// How long a put may still be stored after its caller gave up.
    pub in_flight_margin: Duration,
}

impl From<&ForwarderConfig> for Settings {
    fn from(config: &ForwarderConfig) -> Self {
        Self {
            routes: Arc::new(config.routes.clone()),
            dry_run: config.dry_run,
            max_decompressed_bytes: config.max_decompressed_bytes,
            handoff_margin: config.handoff_margin,
            in_flight_margin: config.in_flight_margin,
        }
    }
}

/// The forwarder over its ports: objects from `source`, events to `sink`, continuations to
/// `continuations` (without a queue, an object stopped by the deadline is retried whole), each
/// object's progress in `checkpoints` (without a table, delivery is at least once), SQS
/// messages that failed for good to `dead_letters` with their reason (without one, they are
/// acknowledged and logged, or left to the queue's redrive).
pub struct Forwarder<S, L, Q, C, D> {
    source: S,
    sink: L,
    continuations: Option<Q>,
    checkpoints: Option<C>,
    dead_letters: Option<D>,
    settings: Settings,
}

/// The ports a forwarder works through, beside the object source and the sink.
pub struct Queues<Q, C, D> {
    pub continuations: Option<Q>,
    pub checkpoints: Option<C>,
    pub dead_letters: Option<D>,
}

/// The first thing of a message that failed for good: an object, or an entry naming none.
struct FailedForGood {
    object: Option<String>,
    reason: String,
    delivered: Option<String>,
}

impl FailedForGood {
    fn entry(reason: String) -> Self {
        Self {
            object: None,
            reason,
            delivered: None,
        }
    }
}

/// How an SQS message ends.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Settled {
    /// Acknowledged: everything it names is done (forwarded, skipped, or failed for good with
    /// no dead-letter queue to keep it).
    Done,
    /// Reported in `batchItemFailures`: it comes back after its visibility timeout.
    Retry,
    /// Failed for good: copied to the dead-letter queue with this reason, then acknowledged.
    /// `named_objects`: it named objects (which were read), not only what no retry mends.
    DeadLetter {
        letter: DeadLetter,
        named_objects: bool,
    },
}

impl<S, L, Q, C, D> Forwarder<S, L, Q, C, D>
where
    S: ObjectSource,
    L: LogSink,
    Q: ContinuationQueue,
    C: CheckpointStore,
    D: DeadLetterQueue,
{
    pub fn new(source: S, sink: L, queues: Queues<Q, C, D>, config: &ForwarderConfig) -> Self {
        Self {
            source,
            sink,
            continuations: queues.continuations,
            checkpoints: queues.checkpoints,
            dead_letters: queues.dead_letters,
            settings: Settings::from(config),
        }
    }

    /// Runs one invocation. `deadline`: when Lambda will stop the function; `owner`: this
    /// invocation's id (Lambda's request id), which holds the leases of its objects.
    pub async fn handle(
        &self,
        payload: &Value,
        deadline: Option<Instant>,
        owner: &str,
    ) -> Result<InvocationReport, UnrecognisedPayload> {
        let invocation = parse_invocation(payload)?;
        let deadline = Deadline::start(deadline, self.settings.handoff_margin);
        let mut report = InvocationReport {
            summary: ForwardSummary {
                dry_run: self.settings.dry_run,
                ..ForwardSummary::default()
            },
            ..InvocationReport::default()
        };
        match invocation {
            Invocation::Direct(message) => {
                self.run_message(&message, &deadline, owner, &mut report.summary)
                    .await;
            }
            Invocation::Sqs(messages) => {
                report.sqs = true;
                for message in &messages {
                    let settled = self
                        .run_message(message, &deadline, owner, &mut report.summary)
                        .await;
                    if !self.acknowledge(message, settled).await {
                        report.failed_message_ids.extend(message.id.clone());
                    }
                }
            }
        }
        Ok(report)
    }

    /// Runs one message; says how it ends.
    async fn run_message(
        &self,
        message: &Message,
        deadline: &Deadline,
        owner: &str,
        summary: &mut ForwardSummary,
    ) -> Settled {
        let message_id = message.id.as_deref().unwrap_or_default();
        let letter = |failed: FailedForGood, named_objects| Settled::DeadLetter {
            letter: DeadLetter {
                message_id: message_id.to_owned(),
                object: failed.object,
                reason: failed.reason,
                delivered: failed.delivered,
            },
            named_objects,
        };
        let objects = match &message.content {
            Ok(MessageContent::Objects(objects)) => objects,
            Ok(MessageContent::TestEvent) => {
                tracing::info!(message_id, "s3:TestEvent acknowledged");
                return Settled::Done;
            }
            Err(error) => {
                tracing::error!(message_id, error = %error, "message names nothing readable");
                summary.message_errors.push(FailedMessage {
                    message_id: message_id.to_owned(),
                    error: error.to_string(),
                });
                return letter(FailedForGood::entry(error.to_string()), false);
            }
        };
        let mut retry = false;
        let mut named = false;
        let mut failed_for_good = None;
        for entry in objects {
            let notified = match entry {
                Ok(notified) => notified,
                Err(error) => {
                    // Retrying cannot mend the entry, and would forward its neighbours again.
                    tracing::error!(message_id, error = %error, "message entry names no object");
                    summary.message_errors.push(FailedMessage {
                        message_id: message_id.to_owned(),
                        error: error.to_string(),
                    });
                    failed_for_good.get_or_insert(FailedForGood::entry(error.to_string()));
                    continue;
                }
            };
            named = true;
            // The first object of an invocation always starts, so every invocation progresses.
            let first = summary.objects.is_empty();
            let object = self.forward(notified, deadline, owner, first).await;
            retry |= object.is_retryable();
            if let Some(error) = object.error().filter(|_| !object.is_retryable()) {
                failed_for_good.get_or_insert(FailedForGood {
                    object: Some(format!("s3://{}/{}", object.bucket, object.key)),
                    reason: error.to_owned(),
                    delivered: Some(object.delivered_records()),
                });
            }
            log_object(&object);
            summary.add(object);
        }
        // Retried first: on redelivery the finished objects are skipped by their checkpoints,
        // and what fails for good then goes to the dead-letter queue.
        match (retry, failed_for_good) {
            (true, _) => Settled::Retry,
            (false, Some(failed)) => letter(failed, named),
            (false, None) => Settled::Done,
        }
    }

    /// Whether the message may be deleted: done, or kept in the dead-letter queue. Without
    /// that queue, a failure for good is acknowledged (logged and in the summary) when objects
    /// were read, and left to the queue's redrive policy when the message named nothing.
    async fn acknowledge(&self, message: &Message, settled: Settled) -> bool {
        let (letter, named_objects) = match settled {
            Settled::Done => return true,
            Settled::Retry => return false,
            Settled::DeadLetter {
                letter,
                named_objects,
            } => (letter, named_objects),
        };
        let (Some(queue), Some(body)) = (&self.dead_letters, &message.body) else {
            return named_objects;
        };
        match queue.send(body, &letter).await {
            Ok(()) => {
                tracing::warn!(message_id = %letter.message_id, object = letter.object.as_deref().unwrap_or("-"), reason = %letter.reason, "message failed for good: copied to the dead-letter queue");
                true
            }
            Err(error) => {
                tracing::error!(message_id = %letter.message_id, error = %error, "the dead-letter copy failed: the message is retried");
                false
            }
        }
    }

    /// One object's whole path. `first`: the invocation's first object, which starts even
    /// when the stop has come (later ones are then handed off whole).
    pub async fn forward(
        &self,
        notified: &NotifiedObject,
        deadline: &Deadline,
        owner: &str,
        first: bool,
    ) -> ObjectSummary {
        let mut to_read = match classify(notified, &self.settings.routes) {
            Classified::Done(summary) => return summary,
            Classified::Read(to_read) => to_read,
        };
        if !first && deadline.stop_requested() {
            let continuation = Continuation::of(&to_read.object, to_read.object.start_record);
            return self.hand_off(to_read.summary, continuation).await;
        }
        let mut held = match self.claim(&mut to_read, notified, deadline, owner).await {
            Ok(held) => held,
            Err(summary) => return *summary,
        };
        let delivery = deliver(
            &self.source,
            &self.sink,
            &self.settings,
            &to_read,
            deadline,
            held.as_mut(),
        )
        .await;
        let next_record = match &delivery {
            Delivery::Read(delivered) => delivered.plan.as_ref().map(|plan| plan.next_record).ok(),
            Delivery::Empty => Some(0),
            _ => None,
        };
        let (summary, next) = settle(to_read.summary, delivery);
        let summary = match held.as_mut() {
            Some(held) => Self::close(held, summary, &next, next_record).await,
            None => summary,
        };
        match next {
            Next::Done => summary,
            Next::HandOff(continuation) => self.hand_off(summary, continuation).await,
        }
    }

    /// Claims the object in the checkpoint table, when there is one (and this is not a dry
    /// run): where to start, or the summary of an object not to read.
    async fn claim(
        &self,
        to_read: &mut ToRead,
        notified: &NotifiedObject,
        deadline: &Deadline,
        owner: &str,
    ) -> Result<Option<Held<'_, C>>, Box<ObjectSummary>> {
        let Some(store) = self.checkpoints.as_ref().filter(|_| !self.settings.dry_run) else {
            return Ok(None);
        };
        let object = &mut to_read.object;
        let is_continuation = notified.origin == Origin::Continuation;
        let request = ClaimRequest {
            owner,
            now_millis: crate::clock::now_millis(),
            deadline_millis: deadline.epoch_millis(),
            in_flight_margin_millis: i64::try_from(self.settings.in_flight_margin.as_millis())
                .unwrap_or(i64::MAX),
            version_id: object.version_id.as_deref(),
            e_tag: object.e_tag.as_deref(),
            continuation_at: is_continuation.then_some(object.start_record),
        };
        let summary = || Box::new(to_read.summary.clone());
        let refused = match claim_object(store, &object.bucket, &object.key, &request).await {
            Err(error) => return Err(Box::new(summary().failed_with(error.clone(), true))),
            Ok(Claimed::Held(held)) => {
                // Resume where the store says, pinned to the content it says was read.
                object.start_record = held.start_record;
                if held.start_record > 0 {
                    let checkpoint = &held.lease.checkpoint;
                    object.version_id = checkpoint.version_id.clone();
                    object.e_tag = checkpoint.e_tag.as_ref().map(|e| format!("\"{e}\""));
                    to_read.summary.resumed_at = Some(held.start_record);
                }
                return Ok(Some(held));
            }
            Ok(Claimed::Refused(refused)) => refused,
        };
        let mut summary = summary();
        match refused {
            Refusal::AlreadyForwarded => {
                summary.checkpoint = Some(CheckpointVerdict::AlreadyForwarded);
                Err(Box::new(summary.skipped("already forwarded")))
            }
            Refusal::Rewritten {
                forwarded,
                notified,
            } => {
                summary.checkpoint = Some(CheckpointVerdict::Rewritten);
                Err(Box::new(
                    summary.skipped(rewritten_reason(&forwarded, &notified)),
                ))
            }
            Refusal::Leased {
                owner,
                until_millis,
                in_flight: false,
            } => Err(Box::new(summary.failed_for_now(format!(
                "another invocation ({owner}) is forwarding the object, its lease until {until_millis} (epoch ms); retried later"
            )))),
            Refusal::Leased {
                owner,
                until_millis,
                in_flight: true,
            } => Err(Box::new(summary.failed_for_now(format!(
                "another invocation ({owner}) stopped with a put whose outcome is unknown; it is read back once that put can no longer land, after {until_millis} (epoch ms); retried later"
            )))),
        }
    }

    /// The checkpoint's last write for this invocation: done, or released for the next one.
    /// A write that fails leaves the lease to end at the deadline, which is safe.
    async fn close(
        held: &mut Held<'_, C>,
        summary: ObjectSummary,
        next: &Next,
        next_record: Option<u64>,
    ) -> ObjectSummary {
        let finished =
            summary.error().is_none() && *next == Next::Done && summary.checkpoint.is_none();
        let written = match (finished, next_record, next) {
            (true, Some(end), _) => held.finish(end).await,
            // Every batch emitted was delivered: the handoff's record is a boundary even when
            // no batch ended there (the last records were filtered out).
            (_, _, Next::HandOff(continuation)) => {
                held.release_at(Some(continuation.next_record)).await
            }
            _ => held.release_at(None).await,
        };
        let summary = ObjectSummary {
            delivered_before: Some(held.lease.checkpoint.next_record),
            ..summary
        };
        match written {
            Ok(()) => summary,
            Err(error) if summary.error().is_none() && finished => {
                // Delivered, but not recorded as done: a redelivery reads the stream back.
                tracing::warn!(bucket = %summary.bucket, key = %summary.key, error = %error, "checkpoint not finished");
                summary
            }
            Err(error) => {
                tracing::warn!(bucket = %summary.bucket, key = %summary.key, error = %error, "checkpoint not released; its lease ends at the deadline");
                summary
            }
        }
    }

    /// Sends the continuation message, or fails the object for a retry when there is no queue.
    async fn hand_off(&self, summary: ObjectSummary, continuation: Continuation) -> ObjectSummary {
        let next = continuation.next_record;
        let Some(queue) = &self.continuations else {
            let delivered = summary.forwarded;
            return summary.failed_for_now(format!(
                "the invocation's deadline came at record {next}; without CONTINUATION_QUEUE_URL the object is retried whole, and the {delivered} records already forwarded will be forwarded again"
            ));
        };
        match queue.send(&continuation).await {
            Ok(()) => {
                tracing::info!(bucket = %summary.bucket, key = %summary.key, next_record = next, "handed off the rest of the object");
                ObjectSummary {
                    handed_off_at: Some(next),
                    ..summary
                }
            }
            Err(error) => summary.failed_for_now(error),
        }
    }
}

/// One line per object, with counts only: records hold identities and request parameters.
fn log_object(object: &ObjectSummary) {
    let reasons = &object.rejected_reasons;
    for entry in &object.would_forward {
        tracing::info!(bucket = %object.bucket, key = %object.key, route = %entry.route, log_group = %entry.log_group, category = %entry.category, event_source = %entry.event_source, records = entry.records, bytes = entry.bytes, "dry run: would forward");
    }
    if let Some(error) = object.error() {
        tracing::error!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, rejected = object.rejected, not_delivered = reasons.not_delivered, retryable = object.is_retryable(), error = %error, "object failed");
    } else if let Some(reason) = object.skip_reason() {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, reason = %reason, "object skipped");
    } else {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, filtered = object.filtered, rejected = object.rejected, too_old = reasons.too_old, too_new = reasons.too_new, expired = reasons.expired, too_large = reasons.too_large, invalid_record = reasons.invalid_record, resumed_at = object.resumed_at, handed_off_at = object.handed_off_at, bytes_read = object.bytes_read, "object forwarded");
    }
}
