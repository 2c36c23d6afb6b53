//! What an audit found, in words: one line per finding, worded as the validator's verdicts
//! (`What\twhere\twhy`), then `n/m signed records in CloudWatch Logs exactly once, as signed`.

use std::fmt;

use crate::clock::iso_text;
use crate::digest::validate::Validated;
use crate::logs::Destination;

/// One thing the log groups hold (or lack) that is not what CloudTrail signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// A signed record that is not in its stream.
    Missing {
        destination: Destination,
        bucket: String,
        key: String,
        record: u64,
        event_id: Option<String>,
    },
    /// A signed record found more than once in its stream.
    Duplicated {
        destination: Destination,
        bucket: String,
        key: String,
        record: u64,
        times: u32,
    },
    /// An event in the window every signed file covers, that no signed file holds: injected,
    /// or a record altered.
    Unsigned {
        destination: Destination,
        timestamp_millis: i64,
        event_id: Option<String>,
    },
}

/// Why part of the audit could not be done: it proves nothing either way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAudited {
    /// A listed log file that is not valid in S3: its own verdict is the finding.
    InvalidFile {
        bucket: String,
        key: String,
        reason: String,
    },
    /// A listed log file that could not be read (again).
    File {
        bucket: String,
        key: String,
        reason: String,
    },
    /// A stream that could not be read.
    Stream {
        destination: Destination,
        reason: String,
    },
}

/// One account's and region's audit.
#[derive(Debug, Clone)]
pub struct Audit {
    /// The validation it stands on: only files valid in S3 are audited.
    pub validated: Validated,
    /// Placements of signed records in CloudWatch Logs (a record routed to two groups counts
    /// twice), and of those, how many were found exactly once.
    pub signed_events: u64,
    pub exactly_once: u64,
    pub findings: Vec<Finding>,
    pub not_audited: Vec<NotAudited>,
    /// Records of the signed files that are not forwarded by design: filtered by the
    /// selectors, rejected by the forwarder, or refused by CloudWatch Logs for their time.
    pub not_forwarded_by_design: u64,
    /// Event times (ms) in which every event must come from a signed file of the range; none
    /// when the range is shorter than the delivery delay bound.
    pub unsigned_window: Option<(i64, i64)>,
}

impl NotAudited {
    /// Whether it may pass on a later try (a read that failed), unlike an invalid file.
    pub fn may_pass(&self) -> bool {
        !matches!(self, NotAudited::InvalidFile { .. })
    }
}

impl Audit {
    /// Parts that could not be read: the audit is to be tried again.
    pub fn incomplete(&self) -> u64 {
        self.not_audited.iter().filter(|n| n.may_pass()).count() as u64
    }

    /// 1 when anything is missing, duplicated, unsigned or invalid; else 255 when part of it
    /// could not be done; else 0 (the validate-logs statuses).
    pub fn exit_code(&self) -> i32 {
        let invalid = self
            .validated
            .report
            .verdicts
            .iter()
            .any(|v| v.status.is_invalid());
        if !self.findings.is_empty() || invalid {
            1
        } else if !self.not_audited.is_empty() || !self.validated.report.is_complete() {
            255
        } else {
            0
        }
    }

    /// The summary line.
    pub fn summary(&self) -> String {
        format!(
            "{}/{} signed records in CloudWatch Logs exactly once, as signed",
            self.exactly_once, self.signed_events
        )
    }
}

fn place(destination: &Destination) -> String {
    format!("{} {}", destination.log_group, destination.log_stream)
}

fn with_id(event_id: &Option<String>) -> String {
    event_id
        .as_ref()
        .map(|id| format!(" (eventID {id})"))
        .unwrap_or_default()
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Finding::Missing {
                destination,
                bucket,
                key,
                record,
                event_id,
            } => write!(
                f,
                "Missing\t{}\ts3://{bucket}/{key} record {record}{}: signed, not in its stream",
                place(destination),
                with_id(event_id)
            ),
            Finding::Duplicated {
                destination,
                bucket,
                key,
                record,
                times,
            } => write!(
                f,
                "Duplicated\t{}\ts3://{bucket}/{key} record {record}: {times} times in its stream",
                place(destination)
            ),
            Finding::Unsigned {
                destination,
                timestamp_millis,
                event_id,
            } => write!(
                f,
                "Unsigned\t{}\tan event at {}{}: in no signed log file (injected, or altered)",
                place(destination),
                iso_text(timestamp_millis.div_euclid(1000)),
                with_id(event_id)
            ),
        }
    }
}

impl fmt::Display for NotAudited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotAudited::InvalidFile {
                bucket,
                key,
                reason,
            }
            | NotAudited::File {
                bucket,
                key,
                reason,
            } => write!(f, "Not audited\ts3://{bucket}/{key}\t{reason}"),
            NotAudited::Stream {
                destination,
                reason,
            } => write!(f, "Not audited\t{}\t{reason}", place(destination)),
        }
    }
}
