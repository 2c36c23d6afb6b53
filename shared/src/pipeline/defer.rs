//! Progress is not a failure: an invocation that moved an object's checkpoint on and then
//! meets a failure a retry overcomes, or that finds another invocation's put still in flight,
//! hands the rest off to a continuation delivered later (SQS's per-message delay) instead of
//! asking for the message again. So a message is received again only when its invocation made
//! no progress, and reaches the dead-letter queue only after five such receives.

use std::time::Duration;

use super::lease::Held;
use super::outcome::{Deferral, Failure, Outcome, Settled};
use crate::checkpoint::Lease;
use crate::object::{Continuation, ObjectRef};
use crate::ports::{CheckpointStore, MAX_SQS_DELAY};

/// After a retryable failure that followed progress: the rest from the checkpoint's record,
/// read once a put of unknown outcome can no longer land (at once when none is in flight).
/// `held`: the checkpoint as released. Other outcomes, and any without a queue, pass through.
pub fn after_progress<C: CheckpointStore>(
    settled: Settled,
    held: &Held<'_, C>,
    has_queue: bool,
) -> Settled {
    let checkpoint = &held.holding.checkpoint;
    let progressed = checkpoint.ledger.next_record > held.start_record;
    let cause = match &settled.outcome {
        Outcome::Failed(cause) if cause.is_retryable() && progressed && has_queue => cause.clone(),
        _ => return settled,
    };
    let not_before_millis = match &checkpoint.lease {
        Lease::InFlight { until_millis, .. } => *until_millis,
        Lease::Free { .. } | Lease::Held { .. } => crate::clock::now_millis(),
    };
    let continuation = Continuation {
        bucket: settled.summary.bucket.clone(),
        key: settled.summary.key.clone(),
        version_id: checkpoint.version_id.clone(),
        e_tag: checkpoint.e_tag.clone(),
        next_record: checkpoint.ledger.next_record,
    };
    settled.becomes(Outcome::Deferred(Deferral {
        continuation,
        not_before_millis,
        cause,
    }))
}

/// Another invocation's put may still land: waiting for it is not a failure of this message,
/// so a continuation is sent for when it no longer can. Other outcomes pass through.
pub fn behind_put(settled: Settled, object: &ObjectRef, has_queue: bool) -> Settled {
    match &settled.outcome {
        Outcome::Failed(cause @ Failure::PutInFlight { until_millis, .. }) if has_queue => {
            let deferral = Deferral {
                continuation: Continuation::of(object, object.start_record),
                not_before_millis: *until_millis,
                cause: cause.clone(),
            };
            settled.becomes(Outcome::Deferred(deferral))
        }
        _ => settled,
    }
}

/// How long until `not_before_millis`, in whole seconds rounded up (SQS delays by the
/// second), at most SQS's limit.
pub fn delay_until(not_before_millis: i64, now_millis: i64) -> Duration {
    let millis = u64::try_from(not_before_millis.saturating_sub(now_millis)).unwrap_or(0);
    Duration::from_secs(millis.div_ceil(1000)).min(MAX_SQS_DELAY)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delay_is_whole_seconds_rounded_up_and_at_most_sqs_limit() {
        assert_eq!(delay_until(1_000, 2_000), Duration::ZERO);
        assert_eq!(delay_until(2_001, 1_000), Duration::from_secs(2));
        assert_eq!(delay_until(1_300, 1_000), Duration::from_secs(1));
        assert_eq!(delay_until(i64::MAX, 0), MAX_SQS_DELAY);
    }
}
