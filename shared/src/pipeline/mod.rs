//! An object's path, one named step each: [`classify`] (skip or read) → [`deliver`] (read →
//! route → batch → put) → [`settle`] (summary entry and what is left) → hand off. This module
//! runs an invocation over the ports: its messages, its deadline, and what to report for retry.

pub mod answer;
pub mod classify;
pub mod deadline;
pub mod defer;
pub mod deliver;
pub mod lease;
pub mod outcome;
pub mod plan;
pub mod settings;
pub mod settle;
mod tally;

#[cfg(test)]
mod checkpoint_tests;
#[cfg(test)]
pub(crate) mod fakes;
#[cfg(test)]
mod tests;

use std::time::Duration;

use serde_json::Value;
use tracing::Instrument;

pub use classify::{Classified, ToRead, classify};
pub use deadline::{Deadline, InvocationEnd, StopSignal};
pub use deliver::{Delivered, Delivery, deliver};
pub use lease::{Claimed, Held, Release, claim_object};
pub use outcome::{Deferral, Failure, Outcome, Settled, Skip, refused};
pub use plan::{FilePlan, PlanContext, ReadyBatch, plan_file};
pub use settings::Settings;
pub use settle::settle;

use crate::checkpoint::ClaimRequest;
use crate::config::ForwarderConfig;
use crate::object::{Continuation, NotifiedObject, Origin};
use crate::ports::{CheckpointStore, ContinuationQueue, DeadLetterQueue, LogSink, ObjectSource};
use crate::summary::{FailedMessage, ForwardSummary, ObjectSummary};
use crate::trigger::{Invocation, Message, MessageContent, UnrecognisedPayload, parse_invocation};
use answer::{MessageEnd, MessageTally};

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

    /// Runs one invocation. `end`: when Lambda will stop the function; `owner`: this
    /// invocation's id (Lambda's request id), which holds the leases of its objects.
    pub async fn handle(
        &self,
        payload: &Value,
        end: Option<InvocationEnd>,
        owner: &str,
    ) -> Result<InvocationReport, UnrecognisedPayload> {
        let invocation = parse_invocation(payload)?;
        let deadline = Deadline::start(end, self.settings.handoff_margin);
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
                    let span = tracing::info_span!(
                        "message",
                        message_id = message.id.as_deref().unwrap_or_default()
                    );
                    let acknowledged = async {
                        let end = self
                            .run_message(message, &deadline, owner, &mut report.summary)
                            .await;
                        answer::acknowledge(self.dead_letters.as_ref(), message, end).await
                    }
                    .instrument(span)
                    .await;
                    if !acknowledged {
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
    ) -> MessageEnd {
        let message_id = message.id.as_deref().unwrap_or_default();
        let mut tally = MessageTally::default();
        let objects = match &message.content {
            Ok(MessageContent::Objects(objects)) => objects,
            Ok(MessageContent::TestEvent) => {
                tracing::info!("s3:TestEvent acknowledged");
                return MessageEnd::Done;
            }
            Err(error) => {
                tracing::error!(error = %error, "message names nothing readable");
                summary.message_errors.push(FailedMessage {
                    message_id: message_id.to_owned(),
                    error: error.to_string(),
                });
                tally.unreadable_entry(message_id, error.to_string());
                return tally.end();
            }
        };
        for entry in objects {
            let notified = match entry {
                Ok(notified) => notified,
                Err(error) => {
                    tracing::error!(error = %error, "message entry names no object");
                    summary.message_errors.push(FailedMessage {
                        message_id: message_id.to_owned(),
                        error: error.to_string(),
                    });
                    tally.unreadable_entry(message_id, error.to_string());
                    continue;
                }
            };
            // The first object of an invocation always starts, so every invocation progresses.
            let first = summary.objects.is_empty();
            let settled = self.forward(notified, deadline, owner, first).await;
            tally.object(message_id, &settled);
            log_object(&settled.summary, self.settings.dry_run);
            summary.add(settled.summary);
        }
        tally.end()
    }

    /// One object outside any invocation (a backfill): no deadline, no message to answer,
    /// logged as an invocation logs its objects.
    pub async fn forward_alone(&self, notified: &NotifiedObject, owner: &str) -> Settled {
        let settled = self.forward(notified, &Deadline::none(), owner, true).await;
        log_object(&settled.summary, self.settings.dry_run);
        settled
    }

    /// One object's whole path. `first`: the invocation's first object, which starts even
    /// when the stop has come (later ones are then handed off whole).
    pub async fn forward(
        &self,
        notified: &NotifiedObject,
        deadline: &Deadline,
        owner: &str,
        first: bool,
    ) -> Settled {
        let settings = &self.settings;
        let mut to_read = match classify(notified, &settings.routes, &settings.allowed_accounts) {
            Classified::Done(settled) => return settled,
            Classified::Read(to_read) => to_read,
        };
        // At WARN, so that the commands (which show warnings only) name the object a record's
        // warning is about, as Lambda's INFO logs do.
        let span = tracing::warn_span!("object", bucket = %to_read.object.bucket, key = %to_read.object.key);
        async move {
            if !first && deadline.stop_requested() {
                let continuation = Continuation::of(&to_read.object, to_read.object.start_record);
                let handed_off = Outcome::HandOff(continuation);
                let settled = self.needs_a_queue(Settled::new(to_read.summary, handed_off));
                return self.send_continuation(settled).await;
            }
            let mut held = match self.claim(&mut to_read, notified, deadline, owner).await {
                Ok(held) => held,
                Err(settled) => {
                    let settled =
                        defer::behind_put(*settled, &to_read.object, self.continuations.is_some());
                    return self.send_continuation(settled).await;
                }
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
            let mut settled = self.needs_a_queue(settle(to_read.summary, delivery));
            if let Some(held) = held.as_mut()
                && Self::close(held, &mut settled).await
            {
                settled = defer::after_progress(settled, held, self.continuations.is_some());
            }
            self.send_continuation(settled).await
        }
        .instrument(span)
        .await
    }

    /// Claims the object in the checkpoint table, when there is one (and this is not a dry
    /// run): where to start, or the summary of an object not to read.
    async fn claim(
        &self,
        to_read: &mut ToRead,
        notified: &NotifiedObject,
        deadline: &Deadline,
        owner: &str,
    ) -> Result<Option<Held<'_, C>>, Box<Settled>> {
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
            e_tag: object.e_tag.clone(),
            continuation_at: is_continuation.then_some(object.start_record),
        };
        match claim_object(store, &object.bucket, &object.key, &request).await {
            Err(error) => {
                let failed = Outcome::Failed(Failure::Checkpoint(error));
                Err(Box::new(Settled::new(to_read.summary.clone(), failed)))
            }
            Ok(Claimed::Held(held)) => {
                // Resume where the store says (not where a message says), pinned to the
                // content it says was read.
                object.start_record = held.start_record;
                to_read.summary.resumed_at = (held.start_record > 0).then_some(held.start_record);
                if held.start_record > 0 {
                    let checkpoint = &held.holding.checkpoint;
                    object.version_id = checkpoint.version_id.clone();
                    object.e_tag = checkpoint.e_tag.clone();
                }
                Ok(Some(*held))
            }
            Ok(Claimed::Refused(refusal)) => {
                Err(Box::new(refused(to_read.summary.clone(), refusal)))
            }
        }
    }

    /// The checkpoint's last write for this invocation, by the outcome: finished, released at
    /// the handoff, or released where the last progress write left it. A write that fails
    /// leaves the lease to end at the deadline, which is safe. Whether the write was stored.
    async fn close(held: &mut Held<'_, C>, settled: &mut Settled) -> bool {
        let counts = settled.summary.counts();
        let written = match &settled.outcome {
            Outcome::Finished { next_record } => {
                let sha256 = settled.summary.sha256;
                held.finish(*next_record, counts, sha256).await
            }
            // Every batch emitted was delivered: the handoff's record is a boundary even when
            // no batch ended there (the last records were filtered out). Without a queue the
            // message is retried, and resumes there.
            Outcome::HandOff(Continuation {
                next_record: at, ..
            })
            | Outcome::Failed(Failure::NoContinuationQueue {
                next_record: at, ..
            }) => {
                let at = *at;
                held.release(Release::HandOff { at, counts }).await
            }
            Outcome::Failed(failure) if !failure.is_retryable() => {
                held.release(Release::FailedForGood(failure.to_string()))
                    .await
            }
            // Deferred after this write, from where it leaves the checkpoint.
            Outcome::Skipped(_) | Outcome::Failed(_) | Outcome::Deferred(_) => {
                held.release(Release::Retry).await
            }
        };
        settled.summary.delivered_before = Some(held.holding.checkpoint.ledger.next_record);
        match (written, &settled.outcome) {
            (Ok(()), _) => return true,
            // Delivered, but not recorded as done: a redelivery reads the stream back.
            (Err(error), Outcome::Finished { .. }) => {
                tracing::warn!(error = %error, "checkpoint not finished");
            }
            (Err(error), _) => {
                tracing::warn!(error = %error, "checkpoint not released; its lease ends at the deadline");
            }
        }
        false
    }

    /// A handoff without a continuation queue is a failure for a retry: decided before the
    /// checkpoint's last write. Other outcomes pass through.
    fn needs_a_queue(&self, settled: Settled) -> Settled {
        match &settled.outcome {
            Outcome::HandOff(continuation) if self.continuations.is_none() => {
                let failure = Failure::NoContinuationQueue {
                    next_record: continuation.next_record,
                    delivered: settled.summary.forwarded,
                };
                settled.becomes(Outcome::Failed(failure))
            }
            _ => settled,
        }
    }

    /// Sends the continuation of an object handed off. It goes after the checkpoint's release
    /// at the handoff, so the invocation that takes it finds the lease free; a send that fails
    /// turns the outcome into a retry, which resumes where the checkpoint says. Other outcomes
    /// pass through.
    async fn send_continuation(&self, settled: Settled) -> Settled {
        let (continuation, delay) = match &settled.outcome {
            Outcome::HandOff(continuation) => (continuation, Duration::ZERO),
            Outcome::Deferred(deferral) => (
                &deferral.continuation,
                defer::delay_until(deferral.not_before_millis, crate::clock::now_millis()),
            ),
            _ => return settled,
        };
        let Some(queue) = &self.continuations else {
            return settled;
        };
        let next = continuation.next_record;
        match queue.send(continuation, delay).await {
            Ok(()) if delay.is_zero() => {
                tracing::info!(next_record = next, "handed off the rest of the object");
                settled
            }
            Ok(()) => {
                tracing::warn!(
                    next_record = next,
                    delay_seconds = delay.as_secs(),
                    "handed off the rest of the object to a delayed continuation"
                );
                settled
            }
            Err(error) => settled.becomes(Outcome::Failed(Failure::HandOffNotSent(error))),
        }
    }
}

/// One line per object, with counts only: records hold identities and request parameters.
fn log_object(object: &ObjectSummary, dry_run: bool) {
    let reasons = &object.rejected_reasons;
    for entry in &object.would_forward {
        tracing::info!(bucket = %object.bucket, key = %object.key, route = %entry.route, log_group = %entry.log_group, category = %entry.category, event_source = %entry.event_source, records = entry.records, bytes = entry.bytes, "dry run: would forward");
    }
    if let Some(error) = object.error() {
        tracing::error!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, rejected = object.rejected, not_delivered = reasons.not_delivered, retryable = object.is_retryable(), error = %error, "object failed");
    } else if let Some(reason) = object.skip_reason() {
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, reason = %reason, "object skipped");
    } else {
        // A dry run reads and forwards nothing: its `forwarded` is what would be.
        let message = if dry_run {
            "dry run: object read"
        } else {
            "object forwarded"
        };
        tracing::info!(bucket = %object.bucket, key = %object.key, kind = %object.kind, records = object.records, forwarded = object.forwarded, filtered = object.filtered, rejected = object.rejected, too_old = reasons.too_old, too_new = reasons.too_new, expired = reasons.expired, too_large = reasons.too_large, invalid_record = reasons.invalid_record, resumed_at = object.resumed_at, handed_off_at = object.handed_off_at, bytes_read = object.bytes_read, "{message}");
    }
}
