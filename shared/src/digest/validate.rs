//! Validating a time range: walk the digest chain, hash every log file the valid digests list
//! (a few at a time, each streamed), and, beyond the AWS CLI, report log files in the validated
//! hours that no digest lists.

use std::collections::HashSet;
use std::sync::Arc;

use serde::Serialize;
use tokio::task::JoinSet;

use super::chain::{ChainEvent, TrailDigests, iso_seconds, walk, walk_backfill};
use super::hash::{LogHashError, hash_log_file};
use super::store::{CallError, DigestStore, PublicKeys};
use super::verdict::{Status, Subject, Verdict};
use crate::trail::{FileKind, TrailKey};

/// Log files hashed at once: each streams through a 64 KiB buffer.
pub const LOG_FILES_AT_ONCE: usize = 8;

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
    /// Digests and log files whose check did not complete: neither valid nor invalid.
    pub checks_incomplete: u64,
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

/// Validates the digests in `[start, end]` (epoch seconds) and the log files they list.
pub async fn validate_range<S: DigestStore>(
    store: Arc<S>,
    keys: &PublicKeys,
    trail: &TrailDigests,
    bucket: &str,
    start: i64,
    end: i64,
) -> Result<Report, CallError> {
    let mut events = walk(&*store, keys, trail, bucket, start, end).await?;
    events.extend(walk_backfill(&*store, keys, trail, bucket, start, end).await?);
    let mut report = Report::default();
    let mut listed = HashSet::new();
    // (position in verdicts, bucket, key, expected hash)
    let mut pending = Vec::new();
    for event in events {
        match event {
            ChainEvent::Gap { from, to } => report.gaps.push(Gap {
                from,
                to,
                position: report.verdicts.len(),
            }),
            ChainEvent::Unverified(named) => listed.extend(named),
            ChainEvent::Digest(verdict, digest) => {
                report.verdicts.push(verdict);
                let Some(digest) = digest else { continue };
                if let (Some(s), Some(e)) = (
                    iso_seconds(&digest.start_time),
                    iso_seconds(&digest.end_time),
                ) {
                    let (low, high) = report.found.unwrap_or((s, e));
                    report.found = Some((low.min(s), high.max(e)));
                }
                for log in &digest.file.log_files {
                    listed.insert(log.s3_object.clone());
                    pending.push((
                        report.verdicts.len(),
                        log.s3_bucket.clone(),
                        log.s3_object.clone(),
                        log.hash_value.clone(),
                    ));
                    // Not checked until its hash says otherwise: a check that never
                    // completes can never pass for valid.
                    report.verdicts.push(Verdict {
                        subject: Subject::Log,
                        bucket: log.s3_bucket.clone(),
                        key: log.s3_object.clone(),
                        status: Status::NotChecked("not hashed".to_owned()),
                    });
                }
            }
        }
    }
    check_log_files(&store, &mut report, pending).await;
    if let Some((from, to)) = report.found {
        for key in unreferenced_log_files(&*store, trail, bucket, from, to, &listed).await? {
            report.verdicts.push(Verdict {
                subject: Subject::Log,
                bucket: bucket.to_owned(),
                key,
                status: Status::Unreferenced,
            });
        }
    }
    Ok(report)
}

/// Hashes log files a few at a time and writes each verdict in its place.
async fn check_log_files<S: DigestStore>(
    store: &Arc<S>,
    report: &mut Report,
    pending: Vec<(usize, String, String, String)>,
) {
    let mut running: JoinSet<(usize, Status)> = JoinSet::new();
    for (slot, bucket, key, hash) in pending {
        if running.len() >= LOG_FILES_AT_ONCE {
            if let Some(Ok((slot, status))) = running.join_next().await {
                report.verdicts[slot].status = status;
            }
        }
        let store = Arc::clone(store);
        running.spawn(async move { (slot, check_log_file(&*store, &bucket, &key, &hash).await) });
    }
    while let Some(done) = running.join_next().await {
        if let Ok((slot, status)) = done {
            report.verdicts[slot].status = status;
        }
    }
}

/// The verdict on one log file against the hash its digest records.
pub async fn check_log_file<S: DigestStore>(
    store: &S,
    bucket: &str,
    key: &str,
    expected_hash: &str,
) -> Status {
    let body = match store.open_log_file(bucket, key).await {
        Ok(body) => body,
        Err(error) => return Status::from(error),
    };
    let hashed = tokio::task::spawn_blocking(move || hash_log_file(body)).await;
    match hashed {
        Ok(Ok(hash)) if hash == expected_hash => Status::Valid,
        Ok(Ok(_)) => Status::HashMismatch,
        Ok(Err(LogHashError::TrailingData)) => Status::TrailingData,
        Ok(Err(LogHashError::Truncated(_))) => Status::HashMismatch,
        Ok(Err(LogHashError::TooLarge { limit })) => Status::TooLarge { limit },
        Ok(Err(LogHashError::Corrupt(_))) => Status::InvalidFormat,
        // The bytes stopped coming: says nothing about the file.
        Ok(Err(LogHashError::Source(error))) => {
            Status::NotChecked(format!("reading the object failed: {error}"))
        }
        Err(error) => Status::NotChecked(format!("hashing stopped unexpectedly: {error}")),
    }
}

/// Log files of this trail and region delivered in `[from, to - 1 h)` that no digest lists.
/// The last hour is left out: a file delivered then may be listed by the next digest.
async fn unreferenced_log_files<S: DigestStore>(
    store: &S,
    trail: &TrailDigests,
    bucket: &str,
    from: i64,
    to: i64,
    listed: &HashSet<String>,
) -> Result<Vec<String>, CallError> {
    let mut found = Vec::new();
    let base = trail
        .list_prefix()
        .replace("/CloudTrail-Digest/", "/CloudTrail/");
    let mut day = from - from.rem_euclid(86_400);
    while day < to {
        let folder = super::chain::date_folder(day);
        let keys = store
            .list_keys(bucket, &format!("{base}{folder}"), "")
            .await?;
        for key in keys {
            let Some(parsed) = TrailKey::parse(&key) else {
                continue;
            };
            if parsed.kind != FileKind::Log || listed.contains(&key) {
                continue;
            }
            let delivered = super::chain::key_time(&key).unwrap_or(i64::MIN);
            if delivered >= from && delivered < to - 3600 {
                found.push(key);
            }
        }
        day += 86_400;
    }
    Ok(found)
}

/// `YYYY-MM-DDTHH:MM:SSZ`
pub fn display(seconds: i64) -> String {
    aws_smithy_types::DateTime::from_secs(seconds)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_default()
}
