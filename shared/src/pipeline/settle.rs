//! The last step of an object's path: what happened becomes its summary entry and what is
//! left to do. Pure, so every outcome and its retry decision is unit-tested.

use super::deliver::Delivery;
use crate::logs::RejectedReasons;
use crate::object::Continuation;
use crate::summary::{CheckpointVerdict, ObjectSummary};

/// The skip reason of a key whose content changed after it was forwarded.
pub fn rewritten_reason(forwarded: &str, now: &str) -> String {
    format!(
        "rewritten: forwarded as {forwarded}, now {now}; CloudTrail never rewrites a log file, so it is not forwarded again"
    )
}

/// What is left to do for an object after this invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Finished, skipped or failed: the summary says which, and whether to retry.
    Done,
    /// Stopped before the deadline with every record before `next_record` delivered.
    HandOff(Continuation),
}

/// Accounts for every record read and decides the outcome. Failures come first: a failed put,
/// then a failed read; a requested stop becomes a handoff only when nothing failed.
pub fn settle(mut summary: ObjectSummary, delivery: Delivery) -> (ObjectSummary, Next) {
    let delivered = match delivery {
        Delivery::NotOpened(error) => {
            let transient = error.is_transient();
            return (summary.failed_with(error, transient), Next::Done);
        }
        Delivery::Empty => return (summary.skipped("zero-byte object"), Next::Done),
        Delivery::Rewritten { forwarded, opened } => {
            summary.checkpoint = Some(CheckpointVerdict::Rewritten);
            return (
                summary.skipped(rewritten_reason(&forwarded, &opened)),
                Next::Done,
            );
        }
        Delivery::Read(delivered) => *delivered,
    };
    summary.found_delivered = delivered.found_delivered;
    for (destination, events) in &delivered.forwarded {
        summary.add_forwarded(destination, *events);
    }
    let plan = match delivered.plan {
        Ok(plan) => plan,
        Err(stopped) => {
            let error = format!("reading the object stopped unexpectedly: {stopped}");
            return (summary.failed_for_now(error), Next::Done);
        }
    };
    summary.records = plan.records;
    summary.filtered = plan.filtered;
    summary.bytes_read = plan.bytes_read;
    summary.oldest_event_millis = plan.oldest_event_millis;
    summary.would_forward = plan.would_forward;
    summary.add_rejected(&plan.rejected);
    summary.add_rejected(&delivered.rejected);
    // Batched but neither accepted nor rejected by CloudWatch Logs: lost to the failure.
    let not_delivered = plan
        .batched
        .saturating_sub(summary.forwarded + delivered.rejected.total());
    summary.add_rejected(&RejectedReasons {
        not_delivered,
        ..RejectedReasons::default()
    });
    if let Some(error) = delivered.sink_error {
        let transient = error.is_transient();
        return (summary.failed_with(error, transient), Next::Done);
    }
    if let Some(error) = plan.error {
        let retryable = error.is_retryable();
        return (summary.failed_with(error, retryable), Next::Done);
    }
    match plan.handoff_at {
        Some(next_record) => {
            let mut continuation = delivered.pinned;
            continuation.next_record = next_record;
            (summary, Next::HandOff(continuation))
        }
        None => (summary, Next::Done),
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Arc;

    use super::*;
    use crate::logs::Destination;
    use crate::pipeline::deliver::Delivered;
    use crate::pipeline::plan::FilePlan;
    use crate::ports::{CallError, OpenError, Transience};
    use crate::trail::FileError;

    fn destination() -> Destination {
        Destination {
            log_group: Arc::from("/g"),
            log_stream: Arc::from("s"),
        }
    }

    fn pinned() -> Continuation {
        Continuation {
            bucket: "b".into(),
            key: "k".into(),
            version_id: None,
            e_tag: Some("\"e\"".into()),
            next_record: 0,
        }
    }

    /// 10 records read, 8 batched, 2 invalid; `forwarded` accepted.
    fn read(forwarded: u64, plan: FilePlan, sink_error: Option<CallError>) -> Delivery {
        Delivery::Read(Box::new(Delivered {
            pinned: pinned(),
            plan: Ok(plan),
            forwarded: vec![(destination(), forwarded)],
            rejected: RejectedReasons::default(),
            found_delivered: 0,
            sink_error,
        }))
    }

    fn plan() -> FilePlan {
        FilePlan {
            records: 10,
            batched: 8,
            rejected: RejectedReasons {
                invalid_record: 2,
                ..RejectedReasons::default()
            },
            ..FilePlan::default()
        }
    }

    fn summary() -> ObjectSummary {
        ObjectSummary::new("b", "k", crate::trail::FileKind::Log)
    }

    #[test]
    fn a_file_read_to_its_end_is_done_and_balanced() {
        let (summary, next) = settle(summary(), read(8, plan(), None));
        assert_eq!(next, Next::Done);
        assert!(summary.is_balanced() && summary.error().is_none());
        assert_eq!((summary.forwarded, summary.rejected), (8, 2));
    }

    #[test]
    fn a_failed_put_counts_the_rest_as_not_delivered_and_retries_only_when_transient() {
        for transience in [Transience::Transient, Transience::Permanent] {
            let error = CallError::new("PutLogEvents to /g:s", transience, "boom");
            let (summary, next) = settle(summary(), read(5, plan(), Some(error)));
            assert_eq!(next, Next::Done);
            assert!(summary.is_balanced(), "{summary:?}");
            assert_eq!(summary.rejected_reasons.not_delivered, 3);
            assert_eq!(summary.is_retryable(), transience == Transience::Transient);
            assert_eq!(summary.error(), Some("PutLogEvents to /g:s failed: boom"));
        }
    }

    #[test]
    fn a_source_failure_is_retried_and_a_damaged_file_is_not() {
        let mut broken = plan();
        broken.error = Some(FileError::Source(io::Error::other("reset")));
        assert!(settle(summary(), read(8, broken, None)).0.is_retryable());
        let mut damaged = plan();
        damaged.error = Some(FileError::NotGzip);
        let (summary, _) = settle(summary(), read(8, damaged, None));
        assert!(summary.error().is_some() && !summary.is_retryable());
    }

    #[test]
    fn a_stop_hands_off_pinned_to_what_was_read() {
        let mut stopped = plan();
        stopped.handoff_at = Some(10);
        let (summary, next) = settle(summary(), read(8, stopped, None));
        assert!(summary.error().is_none());
        assert_eq!(
            next,
            Next::HandOff(Continuation {
                next_record: 10,
                ..pinned()
            })
        );
    }

    #[test]
    fn a_failure_wins_over_a_handoff() {
        let mut stopped = plan();
        stopped.handoff_at = Some(10);
        let error = CallError::transient("PutLogEvents", "503");
        assert_eq!(
            settle(summary(), read(5, stopped, Some(error))).1,
            Next::Done
        );
    }

    #[test]
    fn objects_that_cannot_be_opened_fail_by_what_a_retry_can_do() {
        let throttled = OpenError::Failed(CallError::transient("GetObject", "SlowDown"));
        assert!(
            settle(summary(), Delivery::NotOpened(throttled))
                .0
                .is_retryable()
        );
        for permanent in [OpenError::NotFound, OpenError::Changed] {
            let (summary, _) = settle(summary(), Delivery::NotOpened(permanent));
            assert!(summary.error().is_some() && !summary.is_retryable());
        }
        let (empty, _) = settle(summary(), Delivery::Empty);
        assert_eq!(empty.skip_reason(), Some("zero-byte object"));
    }
}
