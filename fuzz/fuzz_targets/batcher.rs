//! The PutLogEvents batcher with random sizes, times, counts and limits: every event lands in
//! exactly one batch or is refused as too large, and every batch keeps its limits.
//!
//! Most inputs draw small limits, so that a few events reach each of them; one input in 16
//! uses PutLogEvents' own (sizes to the byte limit; the 10,000-event limit takes 10,001 pushes,
//! which would make those inputs dominate the run, so it is the unit tests' and the small
//! limits' to reach).
#![no_main]

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use trailwatch::logs::batch::EVENT_OVERHEAD_BYTES;
use trailwatch::logs::{Batch, BatchBuilder, BatchLimits, LogEvent};

#[derive(Arbitrary, Debug)]
struct Input {
    scale: u8,
    events: u16,
    bytes: u16,
    span_seconds: u16,
    pushes: Vec<Event>,
}

#[derive(Arbitrary, Debug)]
struct Event {
    /// Message bytes, scaled to the limits.
    size: u16,
    /// Seconds, spread over days.
    time: i32,
    /// Pushed this many times more.
    repeat: u8,
}

/// Message text to slice from: a little past the largest event of any limits drawn.
static TEXT: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| "x".repeat(BatchLimits::default().bytes + 16));

/// Events pushed per input, bounding an execution's cost.
const MAX_PUSHES: usize = 512;

fn check(batch: &Batch, limits: &BatchLimits, seen: &mut [u8]) {
    assert!(!batch.events.is_empty());
    assert!(batch.events.len() <= limits.events);
    let bytes: usize = batch
        .events
        .iter()
        .map(|e| e.message.len() + EVENT_OVERHEAD_BYTES)
        .sum();
    assert_eq!(bytes, batch.counted_bytes);
    assert!(bytes <= limits.bytes, "{bytes} bytes");
    assert!(
        batch
            .events
            .windows(2)
            .all(|w| w[0].timestamp <= w[1].timestamp)
    );
    let span = batch.events.last().map(|e| e.timestamp).unwrap_or(0)
        - batch.events.first().map(|e| e.timestamp).unwrap_or(0);
    assert!(span <= limits.span_millis, "{span} ms");
    for event in &batch.events {
        seen[event.record_index as usize] += 1;
    }
}

fuzz_target!(|input: Input| {
    let real = input.scale.is_multiple_of(16);
    let limits = if real {
        BatchLimits::default()
    } else {
        BatchLimits {
            events: usize::from(input.events % 64) + 1,
            bytes: usize::from(input.bytes % 4096) + EVENT_OVERHEAD_BYTES,
            span_millis: i64::from(input.span_seconds) * 1000,
        }
    };
    let mut builder = BatchBuilder::with_limits(limits);
    let mut seen = vec![0u8; MAX_PUSHES];
    let mut index = 0u64;
    // Large messages are copied: at the real scale, a few of them make every byte-limit case.
    let mut large_copies = 0;
    'events: for event in &input.pushes {
        let mut size = usize::from(event.size) % (limits.bytes + 8);
        let mut repeats = event.repeat % 8;
        if real && event.size > 60_000 {
            large_copies += 1;
            repeats = 0;
            size = if large_copies > 4 {
                0
            } else {
                (usize::from(event.size - 60_000) * 200).min(TEXT.len())
            };
        } else if real {
            size %= 512;
        }
        for _ in 0..=repeats {
            if index as usize == MAX_PUSHES {
                break 'events;
            }
            let message = TEXT[..size].to_owned();
            let pushed = builder.push(LogEvent {
                timestamp: 1_700_000_000_000 + i64::from(event.time) * 1000,
                message,
                record_index: index,
            });
            match pushed {
                Ok(Some(batch)) => check(&batch, &limits, &mut seen),
                Ok(None) => {}
                Err(refused) => {
                    assert!(refused.bytes > limits.bytes - EVENT_OVERHEAD_BYTES);
                    seen[index as usize] += 1;
                }
            }
            index += 1;
        }
    }
    if let Some(batch) = builder.finish() {
        check(&batch, &limits, &mut seen);
    }
    assert!(
        seen[..index as usize].iter().all(|n| *n == 1),
        "every event exactly once"
    );
});
