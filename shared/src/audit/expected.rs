//! Where each record of the signed log files must be in CloudWatch Logs: each file is read as
//! the forwarder reads it (`plan_file`: the same selectors, routes, stream names, timestamps
//! and exact text), and each event it would put is kept as a 16-byte hash of its text with its
//! time, so memory stays small however large the files.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;

use sha2::{Digest, Sha256};

use crate::logs::{Destination, KeyFacts};
use crate::pipeline::deadline::StopSignal;
use crate::pipeline::plan::{PlanContext, ReadyBatch, plan_file};
use crate::route::Routes;
use crate::trail::{TrailKey, key_time};

/// CloudWatch Logs refuses events older than 14 days or more than 2 hours ahead of the put
/// (https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutLogEvents.html);
/// the forwarder puts a file soon after its delivery, so such records are expected refused.
const TOO_OLD_MILLIS: i64 = 14 * 86_400_000;
const TOO_NEW_MILLIS: i64 = 2 * 3_600_000;

/// An event's identity: its time and a hash of its exact text.
pub(crate) type EventKey = (i64, [u8; 16]);

/// The hash an event is known by.
pub(crate) fn event_hash(message: &str) -> [u8; 16] {
    let digest = Sha256::digest(message.as_bytes());
    let mut hash = [0; 16];
    hash.copy_from_slice(&digest[..16]);
    hash
}

/// One expected placement of a record, and how often it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Placement {
    pub file: u32,
    pub record: u64,
    pub found: u32,
}

/// Every event the signed files must have put, by destination.
#[derive(Debug, Default)]
pub(crate) struct Expected {
    pub destinations: Vec<Destination>,
    pub events: HashMap<(u16, EventKey), Vec<Placement>>,
    /// Per destination, the oldest and newest expected event time (ms).
    pub spans: Vec<(i64, i64)>,
    /// Records CloudWatch Logs refuses by their time (too old or too new for their file).
    pub refused_by_time: u64,
    /// Records the forwarder rejects or filters (invalid, too large, not selected).
    pub not_forwarded: u64,
    pub records: u64,
}

/// What one file's reading produced.
pub(crate) struct FileEvents {
    pub placed: Vec<(Destination, i64, [u8; 16], u64)>,
    pub refused_by_time: u64,
    pub not_forwarded: u64,
    pub records: u64,
    /// Why the file could not be read to its end, if it could not.
    pub error: Option<String>,
}

/// Reads one file as the forwarder would (on the calling thread: call it from a blocking one).
pub(crate) fn file_events(
    compressed: impl Read,
    key: &str,
    routes: &Arc<Routes>,
    max_decompressed_bytes: u64,
) -> FileEvents {
    let mut events = FileEvents {
        placed: Vec::new(),
        refused_by_time: 0,
        not_forwarded: 0,
        records: 0,
        error: None,
    };
    let Some(context) = forwarders_context(key, routes, max_decompressed_bytes) else {
        events.error = Some("not a CloudTrail file key".to_owned());
        return events;
    };
    let delivered = key_time(key).map(|t| t * 1000);
    let plan = plan_file(compressed, &context, |ready: ReadyBatch| {
        for event in &ready.batch.events {
            let refused = delivered.is_some_and(|at| {
                event.timestamp < at - TOO_OLD_MILLIS || event.timestamp > at + TOO_NEW_MILLIS
            });
            if refused {
                events.refused_by_time += 1;
                continue;
            }
            let hash = event_hash(&event.message);
            let placed = (
                ready.destination.clone(),
                event.timestamp,
                hash,
                event.record_index,
            );
            events.placed.push(placed);
        }
        Ok(())
    });
    events.records = plan.records;
    events.not_forwarded = plan.filtered + plan.rejected.total();
    events.error = plan.error.map(|error| error.to_string());
    events
}

impl Expected {
    /// Adds one file's events, as file number `file`.
    pub fn add(&mut self, file: u32, events: FileEvents) {
        self.records += events.records;
        self.refused_by_time += events.refused_by_time;
        self.not_forwarded += events.not_forwarded;
        for (destination, timestamp, hash, record) in events.placed {
            let slot = self.slot(destination);
            let span = &mut self.spans[usize::from(slot)];
            *span = (span.0.min(timestamp), span.1.max(timestamp));
            self.events
                .entry((slot, (timestamp, hash)))
                .or_default()
                .push(Placement {
                    file,
                    record,
                    found: 0,
                });
        }
    }

    fn slot(&mut self, destination: Destination) -> u16 {
        if let Some(at) = self.destinations.iter().position(|d| *d == destination) {
            return at as u16;
        }
        self.destinations.push(destination);
        self.spans.push((i64::MAX, i64::MIN));
        (self.destinations.len() - 1) as u16
    }

    /// Records one event found in destination `slot`; false when no signed record is it.
    pub fn found(&mut self, slot: u16, timestamp: i64, message: &str) -> bool {
        let Some(placements) = self
            .events
            .get_mut(&(slot, (timestamp, event_hash(message))))
        else {
            return false;
        };
        // Identical records (never in practice: each has its eventID) are found in turn.
        match placements.iter_mut().find(|p| p.found == 0) {
            Some(placement) => placement.found += 1,
            None => {
                if let Some(last) = placements.last_mut() {
                    last.found += 1;
                }
            }
        }
        true
    }
}

/// How the forwarder reads the file at `key` from its start (none: not a trail file key).
fn forwarders_context(
    key: &str,
    routes: &Arc<Routes>,
    max_decompressed_bytes: u64,
) -> Option<PlanContext> {
    let trail_key = TrailKey::parse(key)?;
    Some(PlanContext {
        key_facts: KeyFacts::for_key(&trail_key),
        routes: Arc::clone(routes),
        dry_run: false,
        start_record: 0,
        max_decompressed_bytes,
        stop: StopSignal::never(),
    })
}

/// The eventIDs of some records of a file (for naming the records found missing): the file is
/// read again, as the forwarder reads it.
pub(crate) fn event_ids(
    compressed: impl Read,
    key: &str,
    routes: &Arc<Routes>,
    max_decompressed_bytes: u64,
    wanted: &std::collections::HashSet<u64>,
) -> HashMap<u64, String> {
    let mut found = HashMap::new();
    let Some(context) = forwarders_context(key, routes, max_decompressed_bytes) else {
        return found;
    };
    plan_file(compressed, &context, |ready: ReadyBatch| {
        for event in &ready.batch.events {
            if wanted.contains(&event.record_index)
                && let Some(id) = event_id(&event.message)
            {
                found.insert(event.record_index, id);
            }
        }
        Ok(())
    });
    found
}

/// A record's `eventID`, when it has one.
pub(crate) fn event_id(message: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Id {
        #[serde(rename = "eventID")]
        event_id: Option<String>,
    }
    serde_json::from_str::<Id>(message).ok()?.event_id
}
