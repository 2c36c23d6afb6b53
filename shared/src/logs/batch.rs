//! The PutLogEvents batch rules, as a pure planner.
//!
//! Limits from the PutLogEvents API reference
//! (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html):
//! a batch holds at most 10,000 events and 1,048,576 bytes,
//! counted as each message's UTF-8 bytes plus 26; its events are in chronological order; and
//! they span at most 24 hours. CloudTrail records inside a file are not ordered, so each batch is
//! sorted when it is closed; batches need no order among themselves (sequence tokens are gone).

/// Maximum bytes of one PutLogEvents request, counted as below.
pub(crate) const MAX_BATCH_BYTES: usize = 1_048_576;
/// Bytes CloudWatch Logs adds to each event's message when counting a batch.
pub const EVENT_OVERHEAD_BYTES: usize = 26;
/// Maximum events in one PutLogEvents request.
pub(crate) const MAX_BATCH_EVENTS: usize = 10_000;
/// Maximum time between the oldest and newest event of one batch.
pub(crate) const MAX_BATCH_SPAN_MILLIS: i64 = 24 * 60 * 60 * 1000;
/// The largest message that can be sent. The event limit is 1 MB since 2025-04-30, but the
/// 26 overhead bytes count against the 1,048,576-byte batch, so this is the binding limit.
pub(crate) const MAX_MESSAGE_BYTES: usize = MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES;

/// One CloudWatch Logs event, remembering which record of the file it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEvent {
    pub timestamp: i64,
    pub message: String,
    pub record_index: u64,
}

impl LogEvent {
    fn counted_bytes(&self) -> usize {
        self.message.len() + EVENT_OVERHEAD_BYTES
    }
}

/// A message too large for any PutLogEvents request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the record is {bytes} bytes; CloudWatch Logs takes at most {limit}")]
pub struct EventTooLarge {
    pub bytes: usize,
    pub limit: usize,
}

/// A closed batch, sorted by timestamp and within every PutLogEvents limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Batch {
    pub events: Vec<LogEvent>,
    pub counted_bytes: usize,
}

impl Batch {
    /// A batch of these events (already sorted and within the limits), its bytes counted as
    /// PutLogEvents counts them.
    pub fn of(events: Vec<LogEvent>) -> Self {
        let counted_bytes = events
            .iter()
            .map(|e| e.message.len() + EVENT_OVERHEAD_BYTES)
            .sum();
        Self {
            events,
            counted_bytes,
        }
    }
}

/// The limits a batch keeps. PutLogEvents' by default; smaller ones let the fuzzer reach every
/// limit with a few events (the rules are the same at any scale).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    pub events: usize,
    /// Counted as each message's bytes plus [`EVENT_OVERHEAD_BYTES`].
    pub bytes: usize,
    pub span_millis: i64,
}

impl Default for BatchLimits {
    fn default() -> Self {
        Self {
            events: MAX_BATCH_EVENTS,
            bytes: MAX_BATCH_BYTES,
            span_millis: MAX_BATCH_SPAN_MILLIS,
        }
    }
}

impl BatchLimits {
    /// The largest message a batch can carry.
    pub fn max_message_bytes(&self) -> usize {
        self.bytes.saturating_sub(EVENT_OVERHEAD_BYTES)
    }
}

/// Collects events into batches: `push` returns the previous batch once the next event
/// would break a limit, `finish` returns the last one.
#[derive(Debug, Default)]
pub struct BatchBuilder {
    limits: BatchLimits,
    events: Vec<LogEvent>,
    counted_bytes: usize,
    oldest: i64,
    newest: i64,
}

impl BatchBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits below one empty event per batch are raised to it.
    pub fn with_limits(limits: BatchLimits) -> Self {
        let limits = BatchLimits {
            events: limits.events.max(1),
            bytes: limits.bytes.max(EVENT_OVERHEAD_BYTES),
            span_millis: limits.span_millis.max(0),
        };
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Adds an event. Returns the batch it closed, if it did not fit in the open one.
    pub fn push(&mut self, event: LogEvent) -> Result<Option<Batch>, EventTooLarge> {
        if event.message.len() > self.limits.max_message_bytes() {
            return Err(EventTooLarge {
                bytes: event.message.len(),
                limit: self.limits.max_message_bytes(),
            });
        }
        let closed = if self.fits(&event) {
            None
        } else {
            self.finish()
        };
        if self.events.is_empty() {
            self.oldest = event.timestamp;
            self.newest = event.timestamp;
        } else {
            self.oldest = self.oldest.min(event.timestamp);
            self.newest = self.newest.max(event.timestamp);
        }
        self.counted_bytes += event.counted_bytes();
        self.events.push(event);
        Ok(closed)
    }

    /// Closes the open batch, if it has events.
    pub fn finish(&mut self) -> Option<Batch> {
        if self.events.is_empty() {
            return None;
        }
        let mut events = std::mem::take(&mut self.events);
        // Stable: events with equal timestamps keep their order in the file.
        events.sort_by_key(|event| event.timestamp);
        Some(Batch {
            events,
            counted_bytes: std::mem::take(&mut self.counted_bytes),
        })
    }

    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    fn fits(&self, event: &LogEvent) -> bool {
        if self.events.is_empty() {
            return true;
        }
        let oldest = self.oldest.min(event.timestamp);
        let newest = self.newest.max(event.timestamp);
        self.events.len() < self.limits.events
            && self.counted_bytes + event.counted_bytes() <= self.limits.bytes
            && newest - oldest <= self.limits.span_millis
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(timestamp: i64, bytes: usize, record_index: u64) -> LogEvent {
        LogEvent {
            timestamp,
            message: "x".repeat(bytes),
            record_index,
        }
    }

    #[test]
    fn a_batch_of_events_counts_each_message_plus_its_overhead() {
        let batch = Batch::of(vec![event(1, 10, 0), event(2, 0, 1)]);
        assert_eq!(batch.counted_bytes, 10 + 2 * EVENT_OVERHEAD_BYTES);
        assert_eq!(Batch::of(Vec::new()).counted_bytes, 0);
    }

    /// Pushes all events and returns every batch, the last one included.
    fn plan(events: impl IntoIterator<Item = LogEvent>) -> Vec<Batch> {
        let mut builder = BatchBuilder::new();
        let mut batches: Vec<Batch> = events
            .into_iter()
            .filter_map(|event| builder.push(event).unwrap())
            .collect();
        batches.extend(builder.finish());
        batches
    }

    fn assert_within_limits(batch: &Batch) {
        assert!(batch.events.len() <= MAX_BATCH_EVENTS);
        let bytes: usize = batch.events.iter().map(|e| e.message.len() + 26).sum();
        assert_eq!(bytes, batch.counted_bytes);
        assert!(bytes <= MAX_BATCH_BYTES);
        assert!(
            batch
                .events
                .windows(2)
                .all(|w| w[0].timestamp <= w[1].timestamp)
        );
        let span = batch.events.last().unwrap().timestamp - batch.events[0].timestamp;
        assert!(span <= MAX_BATCH_SPAN_MILLIS);
    }

    #[test]
    fn events_are_sorted_within_a_batch_keeping_file_order_for_ties() {
        let batches = plan([
            event(30, 1, 0),
            event(10, 1, 1),
            event(20, 1, 2),
            event(10, 1, 3),
        ]);
        assert_eq!(batches.len(), 1);
        let order: Vec<u64> = batches[0].events.iter().map(|e| e.record_index).collect();
        assert_eq!(order, vec![1, 3, 2, 0]);
    }

    #[test]
    fn a_batch_never_exceeds_ten_thousand_events() {
        let batches = plan((0..25_000).map(|i| event(i, 1, i as u64)));
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, vec![10_000, 10_000, 5_000]);
        batches.iter().for_each(assert_within_limits);
    }

    #[test]
    fn a_batch_never_exceeds_the_byte_limit_counting_26_per_event() {
        // 4 events of 262,118 bytes count exactly 1,048,576: they fit; a fifth does not.
        let exact = MAX_BATCH_BYTES / 4 - EVENT_OVERHEAD_BYTES;
        let batches = plan((0..5).map(|i| event(0, exact, i)));
        assert_eq!(batches[0].events.len(), 4);
        assert_eq!(batches[0].counted_bytes, MAX_BATCH_BYTES);
        assert_eq!(batches[1].events.len(), 1);
        // One byte more each and only three fit.
        let batches = plan((0..4).map(|i| event(0, exact + 1, i)));
        assert_eq!(batches[0].events.len(), 3);
        batches.iter().for_each(assert_within_limits);
    }

    #[test]
    fn a_batch_never_spans_more_than_24_hours() {
        let day = MAX_BATCH_SPAN_MILLIS;
        let batches = plan([
            event(day, 1, 0),
            event(0, 1, 1),
            event(day + 1, 1, 2),
            event(5, 1, 3),
        ]);
        let indexes: Vec<Vec<u64>> = batches
            .iter()
            .map(|b| b.events.iter().map(|e| e.record_index).collect())
            .collect();
        assert_eq!(indexes, vec![vec![1, 0], vec![3, 2]]);
        batches.iter().for_each(assert_within_limits);
    }

    #[test]
    fn the_largest_sendable_message_travels_alone_and_a_larger_one_is_refused() {
        let batches = plan([
            event(0, 10, 0),
            event(0, MAX_MESSAGE_BYTES, 1),
            event(0, 10, 2),
        ]);
        let sizes: Vec<usize> = batches.iter().map(|b| b.events.len()).collect();
        assert_eq!(sizes, vec![1, 1, 1]);
        batches.iter().for_each(assert_within_limits);

        let mut builder = BatchBuilder::new();
        let refused = builder.push(event(0, MAX_MESSAGE_BYTES + 1, 0));
        assert_eq!(
            refused,
            Err(EventTooLarge {
                bytes: MAX_MESSAGE_BYTES + 1,
                limit: MAX_MESSAGE_BYTES,
            })
        );
        assert!(builder.is_empty());
    }

    #[test]
    fn every_event_lands_in_exactly_one_batch() {
        let mut rng = fastrand::Rng::with_seed(7);
        let events: Vec<LogEvent> = (0..30_000)
            .map(|i| event(rng.i64(0..3 * MAX_BATCH_SPAN_MILLIS), rng.usize(1..400), i))
            .collect();
        let batches = plan(events);
        batches.iter().for_each(assert_within_limits);
        let mut seen: Vec<u64> = batches
            .iter()
            .flat_map(|b| b.events.iter().map(|e| e.record_index))
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..30_000).collect::<Vec<u64>>());
    }

    #[test]
    fn finishing_an_empty_builder_yields_nothing() {
        assert_eq!(BatchBuilder::new().finish(), None);
    }
}
