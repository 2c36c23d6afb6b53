//! What an invocation did, object by object. Field names are the interface users' alarms and
//! queries depend on: keep them exactly.
//!
//! For every object: `records = forwarded + filtered + rejected`; each record not forwarded is
//! counted under one reason in `rejectedReasons`.

use crate::checkpoint::RecordCounts;
use serde::ser::{Serialize, SerializeMap, Serializer};

pub use crate::logs::RejectedReasons;
use crate::logs::{Destination, LogGroupClass};
use crate::object::Sha256;
use crate::trail::FileKind;

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardSummary {
    /// A dry run wrote nothing: `forwarded` counts what would have been forwarded.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    pub records: u64,
    pub forwarded: u64,
    pub filtered: u64,
    pub rejected: u64,
    pub skipped_objects: u64,
    pub failed_objects: u64,
    /// Of `skippedObjects`: forwarded before, as their checkpoint says (a redelivery).
    pub already_forwarded_objects: u64,
    /// Of `skippedObjects`: a key forwarded before now holds other content. CloudTrail never
    /// rewrites a log file: a tamper signal.
    pub rewritten_objects: u64,
    /// Compressed bytes read from S3.
    pub bytes_read: u64,
    /// SQS messages that named nothing readable (not JSON, unknown shape), by message id.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub message_errors: Vec<FailedMessage>,
    /// The oldest eventTime among forwarded records (epoch ms), for the delivery-lag metric.
    #[serde(skip)]
    pub oldest_event_millis: Option<i64>,
    /// Dry runs: what would have been forwarded, by route, category and event source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_forward: Vec<WouldForward>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_filter: Vec<WouldFilter>,
    pub objects: Vec<ObjectSummary>,
}

impl ForwardSummary {
    pub fn add(&mut self, object: ObjectSummary) {
        self.records += object.records;
        self.forwarded += object.forwarded;
        self.filtered += object.filtered;
        self.rejected += object.rejected;
        self.skipped_objects += u64::from(object.skip_reason().is_some());
        self.failed_objects += u64::from(object.error().is_some());
        self.already_forwarded_objects +=
            u64::from(object.checkpoint == Some(CheckpointVerdict::AlreadyForwarded));
        self.rewritten_objects +=
            u64::from(object.checkpoint == Some(CheckpointVerdict::Rewritten));
        self.bytes_read += object.bytes_read;
        if let Some(oldest) = object.oldest_event_millis {
            self.oldest_event_millis =
                Some(self.oldest_event_millis.map_or(oldest, |o| o.min(oldest)));
        }
        for entry in &object.would_forward {
            match self.would_forward.iter_mut().find(|e| e.same_group(entry)) {
                Some(total) => {
                    total.records += entry.records;
                    total.bytes += entry.bytes;
                }
                None => self.would_forward.push(entry.clone()),
            }
        }
        for entry in &object.would_filter {
            match self.would_filter.iter_mut().find(|e| e.same_group(entry)) {
                Some(total) => total.records += entry.records,
                None => self.would_filter.push(entry.clone()),
            }
        }
        self.objects.push(object);
    }

    /// The objects that failed, for the invocation's error.
    pub fn failed(&self) -> impl Iterator<Item = &ObjectSummary> {
        self.objects
            .iter()
            .filter(|object| object.error().is_some())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectSummary {
    pub bucket: String,
    pub key: String,
    pub kind: FileKind,
    pub records: u64,
    pub forwarded: u64,
    pub filtered: u64,
    pub rejected: u64,
    #[serde(skip_serializing_if = "RejectedReasons::is_empty")]
    pub rejected_reasons: RejectedReasons,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub destinations: Vec<DestinationCount>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_forward: Vec<WouldForward>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub would_filter: Vec<WouldFilter>,
    /// In the JSON: `skipped` (the reason), or `error` with `retryable`.
    #[serde(flatten)]
    pub status: ObjectStatus,
    /// This invocation started at this record: an earlier one forwarded those before it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<u64>,
    /// Of `forwarded`: events found already in their stream when an earlier invocation's put
    /// had an unknown outcome (it died or failed mid-put), so not sent again.
    #[serde(skip_serializing_if = "is_zero")]
    pub found_delivered: u64,
    /// What the checkpoint decided, when it decided that the object is not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointVerdict>,
    /// This invocation stopped before its deadline and handed the rest, from this record on,
    /// to a continuation message.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handed_off_at: Option<u64>,
    /// Compressed bytes read from S3.
    pub bytes_read: u64,
    /// SHA-256 of the object's decompressed bytes, when it was read to its end and every
    /// record is accounted for: what its digest's `hashValue` must be.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    #[serde(skip)]
    pub oldest_event_millis: Option<i64>,
    /// With a checkpoint table: every record before this one is in CloudWatch Logs, as the
    /// object's checkpoint last recorded (for the dead-letter copy of a failed object).
    #[serde(skip)]
    pub delivered_before: Option<u64>,
}

impl ObjectSummary {
    /// Which of the object's records are in CloudWatch Logs, in words.
    pub fn delivered_records(&self) -> String {
        match self.delivered_before {
            Some(0) => "none of its records are in CloudWatch Logs (checkpoint)".to_owned(),
            Some(end) => format!(
                "records 0 to {} are in CloudWatch Logs, from {end} on not (checkpoint)",
                end - 1
            ),
            None => format!(
                "{} of the {} records read were forwarded in this invocation (no checkpoint table)",
                self.forwarded, self.records
            ),
        }
    }
}

/// Why a checkpoint kept an object from being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum CheckpointVerdict {
    /// Every record was forwarded before (or this continuation was applied before).
    AlreadyForwarded,
    /// The key holds other content than was forwarded.
    Rewritten,
}

fn is_zero(value: &u64) -> bool {
    *value == 0
}

/// How an object ended.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum ObjectStatus {
    /// Read to its end (or handed off): the counts say what became of each record.
    #[default]
    Forwarded,
    /// Not read, for this reason (a digest, a deleted object, a key outside CloudTrail's layout).
    Skipped(String),
    /// Not read to its end; `retryable`: whether trying again could succeed.
    Failed { error: String, retryable: bool },
}

/// The documented JSON fields: `skipped`, or `error` and `retryable`; nothing when forwarded.
impl Serialize for ObjectStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        match self {
            ObjectStatus::Forwarded => {}
            ObjectStatus::Skipped(reason) => map.serialize_entry("skipped", reason)?,
            ObjectStatus::Failed { error, retryable } => {
                map.serialize_entry("error", error)?;
                map.serialize_entry("retryable", retryable)?;
            }
        }
        map.end()
    }
}

/// An SQS message that named nothing readable.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FailedMessage {
    pub message_id: String,
    pub error: String,
}

impl ObjectSummary {
    pub fn new(bucket: &str, key: &str, kind: FileKind) -> Self {
        Self {
            bucket: bucket.into(),
            key: key.into(),
            kind,
            ..Self::default()
        }
    }

    pub fn skipped(mut self, reason: impl Into<String>) -> Self {
        self.status = ObjectStatus::Skipped(reason.into());
        self
    }

    /// Failed for good: retrying cannot help (a malformed file, a missing object).
    pub fn failed(mut self, error: impl ToString) -> Self {
        self.status = ObjectStatus::Failed {
            error: error.to_string(),
            retryable: false,
        };
        self
    }

    /// Failed for now: a later attempt may succeed.
    pub fn failed_for_now(mut self, error: impl ToString) -> Self {
        self.status = ObjectStatus::Failed {
            error: error.to_string(),
            retryable: true,
        };
        self
    }

    /// Failed, and whether a retry could succeed.
    pub fn failed_with(self, error: impl ToString, retryable: bool) -> Self {
        if retryable {
            self.failed_for_now(error)
        } else {
            self.failed(error)
        }
    }

    pub fn skip_reason(&self) -> Option<&str> {
        match &self.status {
            ObjectStatus::Skipped(reason) => Some(reason),
            _ => None,
        }
    }

    pub fn error(&self) -> Option<&str> {
        match &self.status {
            ObjectStatus::Failed { error, .. } => Some(error),
            _ => None,
        }
    }

    /// Whether the object must be tried again: it failed, and a retry could succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.status,
            ObjectStatus::Failed {
                retryable: true,
                ..
            }
        )
    }

    /// Counts one more forwarded event for its destination.
    pub fn add_forwarded(&mut self, destination: &Destination, events: u64) {
        self.forwarded += events;
        match self
            .destinations
            .iter_mut()
            .find(|d| d.matches(destination))
        {
            Some(count) => count.forwarded += events,
            None => self.destinations.push(DestinationCount {
                log_group: destination.log_group.to_string(),
                log_stream: destination.log_stream.to_string(),
                forwarded: events,
            }),
        }
    }

    pub fn add_rejected(&mut self, reasons: &RejectedReasons) {
        self.rejected_reasons.add(reasons);
        self.rejected = self.rejected_reasons.total();
    }

    /// What became of the records this invocation read.
    pub fn counts(&self) -> RecordCounts {
        RecordCounts {
            records: self.records,
            forwarded: self.forwarded,
            filtered: self.filtered,
            rejected: self.rejected,
        }
    }

    /// Whether the accounting identity holds.
    pub fn is_balanced(&self) -> bool {
        self.records == self.forwarded + self.filtered + self.rejected
            && self.rejected == self.rejected_reasons.total()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DestinationCount {
    pub log_group: String,
    pub log_stream: String,
    pub forwarded: u64,
}

impl DestinationCount {
    fn matches(&self, destination: &Destination) -> bool {
        *self.log_group == *destination.log_group && *self.log_stream == *destination.log_stream
    }
}

/// In a dry run: records and bytes that would have been forwarded, for one route, event
/// category and event source. `bytes` counts as CloudWatch Logs does: message bytes + 26.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WouldForward {
    pub route: String,
    pub log_group: String,
    /// The group's class: what its bytes cost to ingest.
    pub log_group_class: LogGroupClass,
    pub category: String,
    pub event_source: String,
    pub records: u64,
    pub bytes: u64,
}

impl WouldForward {
    fn same_group(&self, other: &WouldForward) -> bool {
        self.route == other.route
            && self.category == other.category
            && self.event_source == other.event_source
    }
}

/// In a dry run: records no route selects (counted in `filtered`), for one event category and
/// event source.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WouldFilter {
    pub category: String,
    pub event_source: String,
    pub records: u64,
}

impl WouldFilter {
    fn same_group(&self, other: &WouldFilter) -> bool {
        self.category == other.category && self.event_source == other.event_source
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn totals_add_up_across_objects_and_reasons() {
        let destination = Destination {
            log_group: Arc::from("g"),
            log_stream: Arc::from("s"),
        };
        let mut first = ObjectSummary::new("b", "k1", FileKind::Log);
        first.records = 5;
        first.add_forwarded(&destination, 2);
        first.add_forwarded(&destination, 1);
        first.add_rejected(&RejectedReasons {
            too_old: 1,
            invalid_record: 1,
            ..Default::default()
        });
        assert!(first.is_balanced());
        assert_eq!(first.destinations.len(), 1);
        assert_eq!(first.destinations[0].forwarded, 3);

        let mut summary = ForwardSummary::default();
        summary.add(first);
        summary.add(ObjectSummary::new("b", "k2", FileKind::Digest).skipped("digest file"));
        summary.add(ObjectSummary::new("b", "k3", FileKind::Log).failed("boom"));
        assert_eq!(
            (summary.records, summary.forwarded, summary.rejected),
            (5, 3, 2)
        );
        assert_eq!((summary.skipped_objects, summary.failed_objects), (1, 1));
        assert_eq!(
            summary.failed().map(|o| o.key.as_str()).collect::<Vec<_>>(),
            vec!["k3"]
        );
    }

    #[test]
    fn json_uses_the_documented_field_names() {
        let mut object = ObjectSummary::new("b", "k", FileKind::Log);
        object.records = 1;
        object.add_rejected(&RejectedReasons {
            too_new: 1,
            ..Default::default()
        });
        let mut summary = ForwardSummary::default();
        summary.add(object);
        let json = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "records": 1, "forwarded": 0, "filtered": 0, "rejected": 1,
                "skippedObjects": 0, "failedObjects": 0, "alreadyForwardedObjects": 0,
                "rewrittenObjects": 0, "bytesRead": 0,
                "objects": [{"bucket": "b", "key": "k", "kind": "log", "records": 1,
                             "forwarded": 0, "filtered": 0, "rejected": 1,
                             "rejectedReasons": {"tooNew": 1}, "bytesRead": 0}]
            })
        );
        let mut redelivered =
            ObjectSummary::new("b", "k", FileKind::Log).skipped("already forwarded");
        redelivered.checkpoint = Some(CheckpointVerdict::AlreadyForwarded);
        redelivered.found_delivered = 0;
        let json = serde_json::to_value(&redelivered).unwrap();
        assert_eq!(json["checkpoint"], "alreadyForwarded");
        assert_eq!(json["skipped"], "already forwarded");
        let mut summary = ForwardSummary::default();
        summary.add(redelivered);
        assert_eq!(
            (summary.skipped_objects, summary.already_forwarded_objects),
            (1, 1)
        );
    }

    #[test]
    fn an_objects_outcome_keeps_its_documented_fields() {
        let json = |object: ObjectSummary| {
            let value = serde_json::to_value(&object).unwrap();
            ["skipped", "error", "retryable"].map(|field| value.get(field).cloned())
        };
        assert_eq!(
            json(ObjectSummary::new("b", "k", FileKind::Log).failed_for_now("SlowDown")),
            [None, Some("SlowDown".into()), Some(true.into())]
        );
        assert_eq!(
            json(ObjectSummary::new("b", "k", FileKind::Log).failed("not gzip")),
            [None, Some("not gzip".into()), Some(false.into())]
        );
        assert_eq!(
            json(ObjectSummary::new("b", "k", FileKind::Digest).skipped("digest file")),
            [Some("digest file".into()), None, None]
        );
        assert_eq!(
            json(ObjectSummary::new("b", "k", FileKind::Log)),
            [None, None, None]
        );
    }
}
