//! What a validation found: verdicts in the order the AWS CLI prints them, the gaps between
//! chains, and the counts for summaries and metrics.

use serde::Serialize;

use super::verdict::{Status, Subject, Verdict};

/// What a validation found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// Newest first, each digest followed by its log files.
    pub verdicts: Vec<Verdict>,
    /// Hours with no digest chain: (older digest's end, newer chain's start), epoch seconds,
    /// and where the walk found it: the number of verdicts before it (the AWS CLI prints it
    /// there, after the log files of the digest that ended the newer chain).
    pub gaps: Vec<Gap>,
    /// The span the valid digests cover, epoch seconds.
    pub found: Option<(i64, i64)>,
    /// The log files the valid digests list, in the order of their verdicts.
    pub listed: Vec<ListedLogFile>,
}

/// A log file a valid digest lists: where its verdict is, and what the digest says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedLogFile {
    /// Its verdict's place in [`Report::verdicts`].
    pub slot: usize,
    pub bucket: String,
    pub key: String,
    /// The digest's `hashValue`: SHA-256 of the decompressed file.
    pub expected_hash: String,
    /// The digest's `digestEndTime`, epoch seconds.
    pub digest_end: i64,
}

/// Hours no log file was delivered in, between two chains of digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gap {
    pub from: i64,
    pub to: i64,
    /// Verdicts before it, in `Report::verdicts`.
    pub position: usize,
}

/// Counts for summaries and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub digests_valid: u64,
    pub digests_invalid: u64,
    pub backfill_digests_valid: u64,
    pub backfill_digests_invalid: u64,
    pub log_files_valid: u64,
    pub log_files_invalid: u64,
    pub log_files_missing: u64,
    pub log_files_unreferenced: u64,
    /// Digests and log files whose check did not complete: neither valid nor invalid (with
    /// the reconciliation, also files whose checkpoint could not be read).
    pub checks_incomplete: u64,
    /// With the checkpoint table: the reconciliation of the listed log files.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub forwarding: Option<ForwardingCounts>,
}

/// How the log files the valid digests list stand in CloudWatch Logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ForwardingCounts {
    pub log_files_forwarded: u64,
    pub log_files_forward_pending: u64,
    pub log_files_not_forwarded: u64,
    pub log_files_forwarded_differs: u64,
    pub repairs_sent: u64,
}

impl ForwardingCounts {
    pub fn add(&mut self, other: &ForwardingCounts) {
        self.log_files_forwarded += other.log_files_forwarded;
        self.log_files_forward_pending += other.log_files_forward_pending;
        self.log_files_not_forwarded += other.log_files_not_forwarded;
        self.log_files_forwarded_differs += other.log_files_forwarded_differs;
        self.repairs_sent += other.repairs_sent;
    }
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.digests_valid += other.digests_valid;
        self.digests_invalid += other.digests_invalid;
        self.backfill_digests_valid += other.backfill_digests_valid;
        self.backfill_digests_invalid += other.backfill_digests_invalid;
        self.log_files_valid += other.log_files_valid;
        self.log_files_invalid += other.log_files_invalid;
        self.log_files_missing += other.log_files_missing;
        self.log_files_unreferenced += other.log_files_unreferenced;
        self.checks_incomplete += other.checks_incomplete;
        if let Some(other) = &other.forwarding {
            self.forwarding.get_or_insert_default().add(other);
        }
    }
}

impl Report {
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for verdict in &self.verdicts {
            if verdict.status.is_not_checked() {
                counts.checks_incomplete += 1;
                continue;
            }
            let valid = verdict.status.is_valid();
            match (verdict.subject, valid) {
                (Subject::Digest, true) => counts.digests_valid += 1,
                (Subject::Digest, false) => counts.digests_invalid += 1,
                (Subject::BackfillDigest, true) => counts.backfill_digests_valid += 1,
                (Subject::BackfillDigest, false) => counts.backfill_digests_invalid += 1,
                (Subject::Log, true) => counts.log_files_valid += 1,
                (Subject::Log, false) => {
                    counts.log_files_invalid += 1;
                    counts.log_files_missing += u64::from(verdict.status == Status::NotFound);
                    counts.log_files_unreferenced +=
                        u64::from(verdict.status == Status::Unreferenced);
                }
            }
        }
        counts
    }

    /// The AWS CLI's exit status: 1 when any digest or log file is invalid or missing; else 255
    /// when a check did not complete (the CLI's status when it cannot validate); else 0.
    pub fn exit_code(&self) -> i32 {
        if self.verdicts.iter().any(|v| v.status.is_invalid()) {
            1
        } else if self.verdicts.iter().any(|v| v.status.is_not_checked()) {
            255
        } else {
            0
        }
    }

    /// Whether every check completed (nothing is `NOT CHECKED`).
    pub fn is_complete(&self) -> bool {
        !self.verdicts.iter().any(|v| v.status.is_not_checked())
    }
}
