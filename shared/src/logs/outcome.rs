//! What CloudWatch Logs did with a batch: events accepted, and why the others were rejected.

use serde::Serialize;

/// What CloudWatch Logs did with one batch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PutOutcome {
    pub accepted: u64,
    pub rejected: RejectedReasons,
}

/// PutLogEvents' `rejectedLogEventsInfo`, as the service returns it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectedIndexes {
    pub too_old_end: Option<i32>,
    pub expired_end: Option<i32>,
    pub too_new_start: Option<i32>,
}

/// Why records were not forwarded. Zero counts are left out of the JSON.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedReasons {
    /// CloudWatch Logs: older than 14 days.
    #[serde(skip_serializing_if = "is_zero")]
    pub too_old: u64,
    /// CloudWatch Logs: more than 2 hours in the future.
    #[serde(skip_serializing_if = "is_zero")]
    pub too_new: u64,
    /// CloudWatch Logs: older than the log group's retention.
    #[serde(skip_serializing_if = "is_zero")]
    pub expired: u64,
    /// Larger than the largest event CloudWatch Logs takes.
    #[serde(skip_serializing_if = "is_zero")]
    pub too_large: u64,
    /// Not a JSON object with a valid `eventTime`.
    #[serde(skip_serializing_if = "is_zero")]
    pub invalid_record: u64,
    /// Read, but not delivered because the object failed first.
    #[serde(skip_serializing_if = "is_zero")]
    pub not_delivered: u64,
    /// PutLogEvents refused the event itself (InvalidParameterException on a batch of it
    /// alone, after splitting the batch it came in); the rest of the batch was delivered.
    #[serde(skip_serializing_if = "is_zero")]
    pub refused: u64,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

impl RejectedReasons {
    pub fn total(&self) -> u64 {
        self.too_old
            + self.too_new
            + self.expired
            + self.too_large
            + self.invalid_record
            + self.not_delivered
            + self.refused
    }

    /// Each non-zero reason in words, for a person: `3 too large, 2 invalid`.
    pub fn in_words(&self) -> String {
        [
            (self.too_old, "older than 14 days"),
            (self.too_new, "over 2 hours ahead"),
            (self.expired, "past the group's retention"),
            (self.too_large, "too large"),
            (self.invalid_record, "invalid"),
            (self.not_delivered, "not delivered (the file failed)"),
            (self.refused, "refused by CloudWatch Logs"),
        ]
        .iter()
        .filter(|(count, _)| *count > 0)
        .map(|(count, reason)| format!("{} {reason}", crate::human::count(*count)))
        .collect::<Vec<_>>()
        .join(", ")
    }

    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }

    pub fn add(&mut self, other: &RejectedReasons) {
        self.too_old += other.too_old;
        self.too_new += other.too_new;
        self.expired += other.expired;
        self.too_large += other.too_large;
        self.invalid_record += other.invalid_record;
        self.not_delivered += other.not_delivered;
        self.refused += other.refused;
    }
}

/// Counts accepted and rejected events of a sorted batch of `total` events.
///
/// Too-old and expired events form a prefix of a sorted batch and too-new events a suffix.
/// The API reference calls `tooOldLogEventEndIndex` and `expiredLogEventEndIndex` "the index of
/// the last log event that is too old / expired" and `tooNewLogEventStartIndex` "the index of
/// the first log event that is too new"; the emulator (moto) reports them the same way, so the
/// end indexes are read as inclusive. Reading them so can only count an accepted event as
/// rejected, never a rejected one as forwarded.
pub fn outcome(total: usize, info: Option<RejectedIndexes>) -> PutOutcome {
    let total = total as u64;
    let Some(info) = info else {
        return PutOutcome {
            accepted: total,
            rejected: RejectedReasons::default(),
        };
    };
    let count_through = |index: Option<i32>| {
        index
            .and_then(|i| u64::try_from(i).ok())
            .map_or(0, |i| (i + 1).min(total))
    };
    let expired = count_through(info.expired_end);
    let old_or_expired = count_through(info.too_old_end).max(expired);
    let too_new = info
        .too_new_start
        .and_then(|i| u64::try_from(i).ok())
        .map_or(0, |start| total.saturating_sub(start.max(old_or_expired)));
    let rejected = RejectedReasons {
        expired,
        too_old: old_or_expired - expired,
        too_new,
        ..RejectedReasons::default()
    };
    PutOutcome {
        accepted: total - rejected.total(),
        rejected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(old: Option<i32>, expired: Option<i32>, new: Option<i32>) -> RejectedIndexes {
        RejectedIndexes {
            too_old_end: old,
            expired_end: expired,
            too_new_start: new,
        }
    }

    #[test]
    fn without_rejection_info_every_event_is_accepted() {
        assert_eq!(outcome(7, None).accepted, 7);
    }

    #[test]
    fn too_old_prefix_and_too_new_suffix_are_counted() {
        let result = outcome(10, Some(info(Some(2), None, Some(8))));
        assert_eq!(result.rejected.too_old, 3);
        assert_eq!(result.rejected.too_new, 2);
        assert_eq!(result.accepted, 5);
    }

    #[test]
    fn expired_events_are_not_counted_twice_as_too_old() {
        let result = outcome(10, Some(info(Some(4), Some(1), None)));
        assert_eq!(result.rejected.expired, 2);
        assert_eq!(result.rejected.too_old, 3);
        assert_eq!(result.accepted, 5);
    }

    #[test]
    fn out_of_range_indexes_never_count_more_than_the_batch() {
        let result = outcome(3, Some(info(Some(9), None, Some(1))));
        assert_eq!(result.rejected.total(), 3);
        assert_eq!(result.accepted, 0);
        let all_new = outcome(3, Some(info(None, None, Some(0))));
        assert_eq!(all_new.rejected.too_new, 3);
    }
}
