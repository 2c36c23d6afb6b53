//! What becomes of an object, as a type: its [`Outcome`] and its summary entry together
//! ([`Settled`]). classify, the claim and [`super::settle`] each end an object with one; every
//! step after follows it. Holds no logic of the steps, so each of them can depend on it.

use crate::checkpoint::Refusal;
use crate::object::Continuation;
use crate::summary::{CheckpointVerdict, ObjectStatus, ObjectSummary};

/// The skip reason of a key whose content changed after it was forwarded.
fn rewritten_reason(forwarded: &str, now: &str) -> String {
    format!(
        "rewritten: forwarded as {forwarded}, now {now}; CloudTrail never rewrites a log file, so it is not forwarded again"
    )
}

/// What becomes of an object: decided once, by [`settle`] (or by classify and the checkpoint
/// before it), and followed by everything after: the checkpoint's last write, the handoff, the
/// SQS answer, the dead-letter copy and the summary's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Read to its end: every record before `next_record` is accounted for.
    Finished { next_record: u64 },
    /// Stopped before the deadline with every record before the continuation's delivered:
    /// the rest goes on in the continuation.
    HandOff(Continuation),
    /// Not read, for this reason (a skip rule or a checkpoint's verdict).
    Skipped(String),
    /// Not read to its end; `retry`: whether a later attempt could succeed.
    Failed { error: String, retry: bool },
}

impl Outcome {
    /// Failed; `retry`: whether a later attempt could succeed.
    pub fn failed(error: impl ToString, retry: bool) -> Self {
        Self::Failed {
            error: error.to_string(),
            retry,
        }
    }

    /// The status the summary reports.
    fn status(&self) -> ObjectStatus {
        match self {
            Self::Finished { .. } | Self::HandOff(_) => ObjectStatus::Forwarded,
            Self::Skipped(reason) => ObjectStatus::Skipped(reason.clone()),
            Self::Failed { error, retry } => ObjectStatus::Failed {
                error: error.clone(),
                retryable: *retry,
            },
        }
    }
}

/// An object's summary entry and its outcome; the summary's status is the outcome's.
#[derive(Debug, Clone, PartialEq)]
pub struct Settled {
    pub summary: ObjectSummary,
    pub outcome: Outcome,
}

impl Settled {
    pub fn new(mut summary: ObjectSummary, outcome: Outcome) -> Self {
        summary.status = outcome.status();
        Self { summary, outcome }
    }

    /// The same counts, another outcome (a handoff that could not be sent).
    pub fn becomes(self, outcome: Outcome) -> Self {
        Self::new(self.summary, outcome)
    }
}

/// What a checkpoint's refusal makes of an object: skipped for good (forwarded before, or
/// rewritten since), or retried once another invocation's lease ends.
pub fn refused(mut summary: ObjectSummary, refusal: Refusal) -> Settled {
    let outcome = match refusal {
        Refusal::AlreadyForwarded => {
            summary.checkpoint = Some(CheckpointVerdict::AlreadyForwarded);
            Outcome::Skipped("already forwarded".to_owned())
        }
        Refusal::Rewritten {
            forwarded,
            notified,
        } => {
            summary.checkpoint = Some(CheckpointVerdict::Rewritten);
            Outcome::Skipped(rewritten_reason(&forwarded, &notified))
        }
        Refusal::Leased {
            owner,
            until_millis,
            in_flight: false,
        } => Outcome::failed(
            format!(
                "another invocation ({owner}) is forwarding the object, its lease until {until_millis} (epoch ms); retried later"
            ),
            true,
        ),
        Refusal::Leased {
            owner,
            until_millis,
            in_flight: true,
        } => Outcome::failed(
            format!(
                "another invocation ({owner}) stopped with a put whose outcome is unknown; it is read back once that put can no longer land, after {until_millis} (epoch ms); retried later"
            ),
            true,
        ),
    };
    Settled::new(summary, outcome)
}

/// A zero-byte object, known from its notification or found when opened (a continuation,
/// a notification without a size): skipped, with nothing to record.
pub fn empty(summary: ObjectSummary) -> Settled {
    Settled::new(summary, Outcome::Skipped("zero-byte object".to_owned()))
}
