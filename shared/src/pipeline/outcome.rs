//! What becomes of an object, as a type: its [`Outcome`] and its summary entry together
//! ([`Settled`]). classify, the claim and [`super::settle`] each end an object with one; every
//! step after follows it. Holds the types and the mappings into them (a checkpoint's refusal,
//! an empty object), none of the steps, so each step can depend on it.

use std::sync::Arc;

use crate::checkpoint::Refusal;
use crate::object::Continuation;
use crate::ports::{CallError, OpenError};
use crate::summary::{CheckpointVerdict, ObjectStatus, ObjectSummary};
use crate::trail::FileError;

/// What becomes of an object: decided once, by [`super::settle`] (or by classify and the
/// checkpoint before it), before the checkpoint's last write, and followed by everything
/// after: that write, the handoff, the SQS answer, the dead-letter copy and the summary's
/// status. The one change after: a continuation that could not be sent makes the handoff a
/// failure for a retry (the checkpoint already says where the rest starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Read to its end: every record before `next_record` is accounted for.
    Finished { next_record: u64 },
    /// Stopped before the deadline with every record before the continuation's delivered:
    /// the rest goes on in the continuation.
    HandOff(Continuation),
    /// Not read, by a skip rule or a checkpoint's verdict.
    Skipped(Skip),
    /// Not read to its end.
    Failed(Failure),
    /// Not read to its end, for a cause a later attempt overcomes, after this invocation made
    /// progress (or while another's put may still land): the rest goes on in a continuation
    /// delivered once its time has come, and the message is acknowledged. So a message
    /// reaches the dead-letter queue only after receives that made no progress.
    Deferred(Deferral),
}

/// The rest of an object, handed off to a continuation delivered later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deferral {
    pub continuation: Continuation,
    /// Not to be read before: when another invocation's put can no longer land.
    pub not_before_millis: i64,
    /// Why the object stopped here.
    pub cause: Failure,
}

impl Outcome {
    /// The status the summary reports: the cause's words, and whether to retry.
    /// What the checkpoint decided, when the outcome is its decision not to read.
    fn checkpoint_verdict(&self) -> Option<CheckpointVerdict> {
        match self {
            Self::Skipped(Skip::AlreadyForwarded) => Some(CheckpointVerdict::AlreadyForwarded),
            Self::Skipped(Skip::Rewritten { .. }) => Some(CheckpointVerdict::Rewritten),
            _ => None,
        }
    }

    /// The record a continuation takes the rest from, when the object was handed off.
    fn handed_off_at(&self) -> Option<u64> {
        match self {
            Self::HandOff(continuation) => Some(continuation.next_record),
            Self::Deferred(deferral) => Some(deferral.continuation.next_record),
            _ => None,
        }
    }

    fn status(&self) -> ObjectStatus {
        match self {
            Self::Finished { .. } | Self::HandOff(_) => ObjectStatus::Forwarded,
            Self::Skipped(skip) => ObjectStatus::Skipped(skip.to_string()),
            Self::Failed(failure) => ObjectStatus::Failed {
                error: failure.to_string(),
                retryable: failure.is_retryable(),
            },
            // Retried, by the continuation rather than by the message.
            Self::Deferred(deferral) => ObjectStatus::Failed {
                error: format!(
                    "{}; the rest, from record {}, is handed off to a continuation read after {} (epoch ms)",
                    deferral.cause, deferral.continuation.next_record, deferral.not_before_millis
                ),
                retryable: true,
            },
        }
    }
}

/// Why an object is not read; its words are the summary's `skipped`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Skip {
    /// A delete, a restore, a tagging notification: the event's name.
    #[error("not an ObjectCreated notification ({0})")]
    NotCreated(String),
    #[error("not a CloudTrail file (the key does not follow CloudTrail's layout)")]
    NotTrailLayout,
    #[error("not a CloudTrail log file")]
    NotLogFile,
    /// A name CloudTrail would not write: its date is not its folder's (planted?).
    #[error(
        "the file name's date is not its folder's: CloudTrail never names a file so (planted?); not forwarded"
    )]
    NameDisagreesWithFolder,
    /// An account outside `ALLOWED_ACCOUNT_IDS`.
    #[error("account {0} is not in ALLOWED_ACCOUNT_IDS: not forwarded")]
    AccountNotAllowed(String),
    #[error("Insights file: no route selects Insight events")]
    InsightsNotRouted,
    #[error("aggregated events file: no route selects Aggregated events")]
    AggregatedNotRouted,
    #[error("digest file: validated by the validator, not forwarded")]
    Digest,
    #[error("zero-byte object")]
    ZeroBytes,
    #[error("already forwarded")]
    AlreadyForwarded,
    /// The key's content changed after it was forwarded: the ETags (or versions) then and now.
    #[error(
        "rewritten: forwarded as {forwarded}, now {notified}; CloudTrail never rewrites a log file, so it is not forwarded again"
    )]
    Rewritten { forwarded: String, notified: String },
}

/// Why an object was not read to its end. Whether a later attempt could succeed follows from
/// the cause ([`Failure::is_retryable`]); the words are the summary's `error`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Failure {
    #[error(transparent)]
    UndecodableKey(#[from] crate::object::UndecodableKey),
    /// Reading or writing the object's checkpoint.
    #[error(transparent)]
    Checkpoint(CallError),
    /// Another invocation holds the object's lease.
    #[error(
        "another invocation ({owner}) is forwarding the object, its lease until {until_millis} (epoch ms); retried later"
    )]
    Leased { owner: String, until_millis: i64 },
    /// Another invocation stopped with a put whose outcome is unknown.
    #[error(
        "another invocation ({owner}) stopped with a put whose outcome is unknown; it is read back once that put can no longer land, after {until_millis} (epoch ms); retried later"
    )]
    PutInFlight { owner: String, until_millis: i64 },
    #[error(transparent)]
    NotOpened(OpenError),
    /// The reading task ended without a result (it panicked or was cancelled).
    #[error("reading the object stopped unexpectedly: {0}")]
    ReadStopped(String),
    #[error(transparent)]
    Put(CallError),
    #[error(transparent)]
    File(Arc<FileError>),
    /// The deadline came mid-object and there is no queue for the rest.
    #[error(
        "the invocation's deadline came at record {next_record}; without CONTINUATION_QUEUE_URL the object is retried whole, and the {delivered} records already forwarded will be forwarded again"
    )]
    NoContinuationQueue { next_record: u64, delivered: u64 },
    /// The continuation for the rest could not be sent.
    #[error(transparent)]
    HandOffNotSent(CallError),
}

impl Failure {
    /// Whether a later attempt could succeed: a transient call failure, a lease that ends, a
    /// deadline; not a key that does not decode, a file that is not CloudTrail's, a permanent
    /// refusal of a call. A continuation that could not be sent is retried: the object itself
    /// is readable, and the retry resumes at the checkpoint.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::UndecodableKey(_) => false,
            Self::Checkpoint(error) | Self::Put(error) => error.is_transient(),
            Self::NotOpened(error) => error.is_transient(),
            Self::File(error) => error.is_retryable(),
            Self::Leased { .. }
            | Self::PutInFlight { .. }
            | Self::ReadStopped(_)
            | Self::NoContinuationQueue { .. }
            | Self::HandOffNotSent(_) => true,
        }
    }
}

/// Two failures are the same when they say the same and retry the same (a file error holds an
/// `io::Error`, which does not compare).
impl PartialEq for Failure {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string() && self.is_retryable() == other.is_retryable()
    }
}

impl Eq for Failure {}

/// An object's summary entry and its outcome. Every field of the entry the outcome decides
/// (its status, the checkpoint's verdict, where it was handed off) is derived from the outcome
/// here and nowhere else, so an entry never disagrees with its outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub summary: ObjectSummary,
    pub outcome: Outcome,
}

impl Settled {
    pub fn new(mut summary: ObjectSummary, outcome: Outcome) -> Self {
        summary.status = outcome.status();
        summary.checkpoint = outcome.checkpoint_verdict();
        summary.handed_off_at = outcome.handed_off_at();
        Self { summary, outcome }
    }

    /// The same counts, another outcome (a handoff without a queue, or whose continuation
    /// could not be sent).
    pub fn becomes(self, outcome: Outcome) -> Self {
        Self::new(self.summary, outcome)
    }
}

/// What a checkpoint's refusal makes of an object: skipped for good (forwarded before, or
/// rewritten since), or retried once another invocation's lease ends.
pub fn refused(summary: ObjectSummary, refusal: Refusal) -> Settled {
    let outcome = match refusal {
        Refusal::AlreadyForwarded => Outcome::Skipped(Skip::AlreadyForwarded),
        Refusal::Rewritten {
            forwarded,
            notified,
        } => Outcome::Skipped(Skip::Rewritten {
            forwarded,
            notified,
        }),
        Refusal::Leased {
            owner,
            until_millis,
            in_flight: false,
        } => Outcome::Failed(Failure::Leased {
            owner,
            until_millis,
        }),
        Refusal::Leased {
            owner,
            until_millis,
            in_flight: true,
        } => Outcome::Failed(Failure::PutInFlight {
            owner,
            until_millis,
        }),
    };
    Settled::new(summary, outcome)
}

/// A zero-byte object, known from its notification or found when opened (a continuation,
/// a notification without a size): skipped, with nothing to record.
pub fn empty(summary: ObjectSummary) -> Settled {
    Settled::new(summary, Outcome::Skipped(Skip::ZeroBytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::FileKind;

    #[test]
    fn the_entry_says_what_the_outcome_decided_and_nothing_it_no_longer_does() {
        let summary = || ObjectSummary::new("b", "k", FileKind::Log);
        let continuation = Continuation {
            bucket: "b".into(),
            key: "k".into(),
            version_id: None,
            e_tag: None,
            next_record: 40,
        };
        let handed_off = Settled::new(summary(), Outcome::HandOff(continuation));
        assert_eq!(handed_off.summary.handed_off_at, Some(40));
        assert_eq!(handed_off.summary.status, ObjectStatus::Forwarded);
        // The continuation could not be sent: a retry, and no longer handed off.
        let not_sent = handed_off.becomes(Outcome::Failed(Failure::HandOffNotSent(
            CallError::transient("SendMessage", "ServiceUnavailable"),
        )));
        assert_eq!(not_sent.summary.handed_off_at, None);
        assert!(matches!(
            not_sent.summary.status,
            ObjectStatus::Failed {
                retryable: true,
                ..
            }
        ));
        let forwarded_before = refused(summary(), Refusal::AlreadyForwarded);
        assert_eq!(
            forwarded_before.summary.checkpoint,
            Some(CheckpointVerdict::AlreadyForwarded)
        );
        let leased = refused(
            summary(),
            Refusal::Leased {
                owner: "o".into(),
                until_millis: 1,
                in_flight: false,
            },
        );
        assert_eq!(leased.summary.checkpoint, None);
    }

    #[test]
    fn whether_a_failure_is_retried_follows_from_its_cause() {
        let throttled =
            || CallError::transient("PutItem", "ProvisionedThroughputExceededException");
        let refused = || CallError::permanent("PutItem", "AccessDeniedException");
        let retried = [
            Failure::Checkpoint(throttled()),
            Failure::Put(throttled()),
            Failure::NotOpened(OpenError::Failed(throttled())),
            Failure::File(Arc::new(FileError::Source(std::io::Error::other("reset")))),
            Failure::Leased {
                owner: "o".into(),
                until_millis: 1,
            },
            Failure::PutInFlight {
                owner: "o".into(),
                until_millis: 1,
            },
            Failure::ReadStopped("panicked".into()),
            Failure::NoContinuationQueue {
                next_record: 5,
                delivered: 4,
            },
            Failure::HandOffNotSent(refused()),
        ];
        for failure in retried {
            assert!(failure.is_retryable(), "{failure}");
        }
        let for_good = [
            Failure::UndecodableKey(crate::object::UndecodableKey),
            Failure::Checkpoint(refused()),
            Failure::Put(refused()),
            Failure::NotOpened(OpenError::NotFound),
            Failure::NotOpened(OpenError::Changed),
            Failure::File(Arc::new(FileError::NotGzip)),
        ];
        for failure in for_good {
            assert!(!failure.is_retryable(), "{failure}");
        }
    }

    #[test]
    fn the_summary_says_the_causes_words() {
        let summary = || ObjectSummary::new("b", "k", FileKind::Log);
        let skipped = Settled::new(summary(), Outcome::Skipped(Skip::Digest));
        assert_eq!(
            skipped.summary.skip_reason(),
            Some("digest file: validated by the validator, not forwarded")
        );
        let failed = Outcome::Failed(Failure::NoContinuationQueue {
            next_record: 7,
            delivered: 3,
        });
        let failed = Settled::new(summary(), failed);
        assert_eq!(
            failed.summary.error(),
            Some(
                "the invocation's deadline came at record 7; without CONTINUATION_QUEUE_URL the object is retried whole, and the 3 records already forwarded will be forwarded again"
            )
        );
        assert!(failed.summary.is_retryable());
    }
}
