//! The PutLogEvents batcher with random sizes, times and counts: every event lands in exactly
//! one batch or is refused as too large, and every batch keeps CloudWatch Logs' limits.
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use trailwatch::logs::batch::{
    EVENT_OVERHEAD_BYTES, MAX_BATCH_BYTES, MAX_BATCH_EVENTS, MAX_BATCH_SPAN_MILLIS,
    MAX_MESSAGE_BYTES,
};
use trailwatch::logs::{Batch, BatchBuilder, LogEvent};

#[derive(Arbitrary, Debug)]
struct Event {
    /// Message bytes: small, or (when `large` is 255) up to about 1 MiB, past the largest
    /// event. Rare, as copying them dominates; the byte limit is reached by small repeats.
    size: u16,
    large: u8,
    /// Seconds, spread over days.
    time: i32,
    /// Pushed this many times more (small events only): 255 pushes it past the 10,000-event
    /// limit, so a short input reaches it.
    repeat: u8,
}

/// Message text to slice from: sizes go a little past CloudWatch Logs' largest event.
static TEXT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| "x".repeat(MAX_MESSAGE_BYTES + 16));

fn check(batch: &Batch, seen: &mut Vec<u64>) {
    assert!(!batch.events.is_empty());
    assert!(batch.events.len() <= MAX_BATCH_EVENTS);
    let bytes: usize = batch
        .events
        .iter()
        .map(|e| e.message.len() + EVENT_OVERHEAD_BYTES)
        .sum();
    assert!(bytes <= MAX_BATCH_BYTES, "{bytes} bytes");
    assert!(
        batch
            .events
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp)
    );
    let span = batch.events.last().map(|e| e.timestamp).unwrap_or(0)
        - batch.events.first().map(|e| e.timestamp).unwrap_or(0);
    assert!(span <= MAX_BATCH_SPAN_MILLIS, "{span} ms");
    seen.extend(batch.events.iter().map(|e| e.record_index));
}

fuzz_target!(|events: Vec<Event>| {
    let mut builder = BatchBuilder::new();
    let mut seen = Vec::new();
    let mut refused = Vec::new();
    let mut index = 0u64;
    for event in &events {
        let large = event.large == 255;
        let size = if large {
            (event.size as usize * 16).min(TEXT.len())
        } else {
            event.size as usize % 256
        };
        // Small events repeat (to reach the count limit); large ones do not (copies cost).
        let repeats = match (large, event.repeat) {
            (true, _) => 0,
            // One event alone crosses the 10,000-event limit.
            (false, 255) => MAX_BATCH_EVENTS as u32,
            (false, repeat) => u32::from(repeat % 8),
        };
        for repeat in 0..=repeats {
            // Past the first, the count-limit repeats carry empty messages: no copy to make.
            let message = if repeat > 7 {
                String::new()
            } else {
                TEXT[..size].to_owned()
            };
            let pushed = builder.push(LogEvent {
                timestamp: 1_700_000_000_000 + i64::from(event.time) * 1000,
                message,
                record_index: index,
            });
            match pushed {
                Ok(Some(batch)) => check(&batch, &mut seen),
                Ok(None) => {}
                Err(_) => refused.push(index),
            }
            index += 1;
        }
    }
    if let Some(batch) = builder.finish() {
        check(&batch, &mut seen);
    }
    seen.extend(refused);
    // Counted, not sorted: sorting dominated the run time under coverage instrumentation.
    let mut times = vec![0u8; index as usize];
    for event in seen {
        times[event as usize] += 1;
    }
    assert!(times.iter().all(|n| *n == 1), "every event exactly once");
});
