//! The last step of an object's path: what happened becomes its summary entry and its
//! [`Outcome`], the one decision everything after follows. Pure, so every outcome and its
//! retry decision is unit-tested.

use std::sync::Arc;

use super::deliver::Delivery;
use super::outcome::{Failure, Outcome, Settled, empty, refused};
use crate::logs::RejectedReasons;
use crate::summary::ObjectSummary;

/// Accounts for every record read and decides the outcome. Failures come first: a failed put,
/// then a failed read; a requested stop becomes a handoff only when nothing failed.
pub fn settle(mut summary: ObjectSummary, delivery: Delivery) -> Settled {
    let delivered = match delivery {
        Delivery::NotOpened(error) => {
            return Settled::new(summary, Outcome::Failed(Failure::NotOpened(error)));
        }
        Delivery::Empty => return empty(summary),
        Delivery::Refused(refusal) => return refused(summary, refusal),
        Delivery::Read(delivered) => *delivered,
    };
    summary.found_delivered = delivered.found_delivered;
    for (destination, events) in &delivered.forwarded {
        summary.add_forwarded(destination, *events);
    }
    let plan = match delivered.plan {
        Ok(plan) => plan,
        Err(stopped) => {
            let failed = Failure::ReadStopped(stopped.to_string());
            return Settled::new(summary, Outcome::Failed(failed));
        }
    };
    summary.records = plan.records;
    summary.filtered = plan.filtered;
    summary.bytes_read = plan.bytes_read;
    summary.oldest_event_millis = plan.oldest_event_millis;
    summary.would_forward = plan.would_forward;
    summary.would_filter = plan.would_filter;
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
    let outcome = if let Some(error) = delivered.sink_error {
        Outcome::Failed(Failure::Put(error))
    } else if let Some(error) = plan.error {
        Outcome::Failed(Failure::File(Arc::new(error)))
    } else if let Some(next_record) = plan.handoff_at {
        let mut continuation = delivered.pinned;
        continuation.next_record = next_record;
        Outcome::HandOff(continuation)
    } else {
        summary.sha256 = plan.sha256;
        Outcome::Finished {
            next_record: plan.next_record,
        }
    };
    Settled::new(summary, outcome)
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::Arc;

    use super::*;
    use crate::checkpoint::Refusal;
    use crate::logs::Destination;
    use crate::object::Continuation;
    use crate::pipeline::deliver::Delivered;
    use crate::pipeline::outcome::Skip;
    use crate::pipeline::plan::FilePlan;
    use crate::ports::{CallError, OpenError, Transience};
    use crate::summary::CheckpointVerdict;
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
            e_tag: crate::object::ETag::new("e"),
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
    fn a_file_read_to_its_end_is_finished_and_balanced() {
        let settled = settle(summary(), read(8, plan(), None));
        assert_eq!(settled.outcome, Outcome::Finished { next_record: 0 });
        let summary = settled.summary;
        assert!(summary.is_balanced() && summary.error().is_none());
        assert_eq!((summary.forwarded, summary.rejected), (8, 2));
    }

    #[test]
    fn a_failed_put_counts_the_rest_as_not_delivered_and_retries_only_when_transient() {
        for transience in [Transience::Transient, Transience::Permanent] {
            let error = CallError::new("PutLogEvents to /g:s", transience, "boom");
            let Settled { summary, outcome } = settle(summary(), read(5, plan(), Some(error)));
            let retry = transience == Transience::Transient;
            assert!(
                matches!(&outcome, Outcome::Failed(Failure::Put(put)) if put.is_transient() == retry),
                "{outcome:?}"
            );
            assert!(summary.is_balanced(), "{summary:?}");
            assert_eq!(summary.rejected_reasons.not_delivered, 3);
            assert_eq!(summary.is_retryable(), retry);
            assert_eq!(summary.error(), Some("PutLogEvents to /g:s failed: boom"));
        }
    }

    #[test]
    fn a_source_failure_is_retried_and_a_damaged_file_is_not() {
        let mut broken = plan();
        broken.error = Some(FileError::Source(io::Error::other("reset")));
        let settled = settle(summary(), read(8, broken, None));
        assert!(matches!(
            settled.outcome,
            Outcome::Failed(failure) if failure.is_retryable()
        ));
        let mut damaged = plan();
        damaged.error = Some(FileError::NotGzip);
        let settled = settle(summary(), read(8, damaged, None));
        assert!(matches!(
            settled.outcome,
            Outcome::Failed(failure) if !failure.is_retryable()
        ));
        assert!(settled.summary.error().is_some() && !settled.summary.is_retryable());
    }

    #[test]
    fn a_stop_hands_off_pinned_to_what_was_read() {
        let mut stopped = plan();
        stopped.handoff_at = Some(10);
        let settled = settle(summary(), read(8, stopped, None));
        assert!(settled.summary.error().is_none());
        assert_eq!(
            settled.outcome,
            Outcome::HandOff(Continuation {
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
        let settled = settle(summary(), read(5, stopped, Some(error)));
        assert!(matches!(
            settled.outcome,
            Outcome::Failed(failure) if failure.is_retryable()
        ));
    }

    #[test]
    fn objects_that_cannot_be_opened_fail_by_what_a_retry_can_do() {
        let throttled = OpenError::Failed(CallError::transient("GetObject", "SlowDown"));
        assert!(
            settle(summary(), Delivery::NotOpened(throttled))
                .summary
                .is_retryable()
        );
        for permanent in [OpenError::NotFound, OpenError::Changed] {
            let settled = settle(summary(), Delivery::NotOpened(permanent));
            assert!(matches!(
                settled.outcome,
                Outcome::Failed(failure) if !failure.is_retryable()
            ));
            assert!(!settled.summary.is_retryable());
        }
        let empty = settle(summary(), Delivery::Empty);
        assert_eq!(empty.outcome, Outcome::Skipped(Skip::ZeroBytes));
        assert_eq!(empty.summary.skip_reason(), Some("zero-byte object"));
    }

    #[test]
    fn a_refusal_skips_for_good_or_retries_after_the_lease() {
        let forwarded = refused(summary(), Refusal::AlreadyForwarded);
        assert_eq!(forwarded.outcome, Outcome::Skipped(Skip::AlreadyForwarded));
        assert_eq!(
            forwarded.summary.checkpoint,
            Some(CheckpointVerdict::AlreadyForwarded)
        );
        let rewritten = Refusal::Rewritten {
            forwarded: "etag a".into(),
            notified: "etag b".into(),
        };
        let rewritten = refused(summary(), rewritten);
        assert_eq!(
            rewritten.summary.checkpoint,
            Some(CheckpointVerdict::Rewritten)
        );
        assert!(
            matches!(&rewritten.outcome, Outcome::Skipped(skip) if skip.to_string().contains("forwarded as etag a, now etag b"))
        );
        for in_flight in [false, true] {
            let leased = Refusal::Leased {
                owner: "other".into(),
                until_millis: 5,
                in_flight,
            };
            let leased = refused(summary(), leased);
            assert!(matches!(
                leased.outcome,
                Outcome::Failed(failure) if failure.is_retryable()
            ));
            assert_eq!(leased.summary.checkpoint, None);
        }
    }
}
