//! Repairs within about two hours: a log file a validated digest lists and the forwarder has
//! not finished is `forwardPending` while the grace after the digest's end runs. Its digest's
//! validation then sends itself a recheck (`{"recheckForwarding": …}`) on the digest queue,
//! delayed until the grace has passed (SQS delays at most 15 minutes, so an early recheck is
//! sent on again). The recheck reconciles those files only, with the hashes the valid digest
//! signed, and repairs each one not forwarded: no S3 read, one DynamoDB batch read. Without
//! it a lost notification waited for the daily range, up to a day.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::digest::locate::{Scope, trail_of_digest};
use crate::digest::provenance::{Forwarding, ForwardingVerdict};
use crate::digest::report::{ListedLogFile, Report};
use crate::digest::validate::Validated;
use crate::digest::verdict::{Status, Subject, Verdict};
use crate::ports::MAX_SQS_DELAY;

/// The field that names a recheck, in an SQS body or a direct payload.
pub const RECHECK_FORWARDING: &str = "recheckForwarding";

/// Files per recheck message: about 300 bytes each keeps a message far below SQS's 256 KiB.
const FILES_PER_MESSAGE: usize = 200;

/// The files of one valid digest still pending, to be reconciled again once the grace after
/// the digest's end has passed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recheck {
    /// The digest that listed the files (its key names the account, region and trail).
    pub digest_bucket: String,
    pub digest_key: String,
    /// Not reconciled before (the digest's end plus the grace, and a second); epoch seconds,
    /// written as ISO 8601 UTC.
    #[serde(with = "iso_time")]
    pub not_before: i64,
    pub files: Vec<PendingFile>,
}

/// A log file as its valid digest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingFile {
    pub s3_bucket: String,
    pub s3_object_key: String,
    /// The digest's `hashValue`: SHA-256 of the decompressed file.
    pub hash_value: String,
    /// The digest's `digestEndTime`; epoch seconds, written as ISO 8601 UTC.
    #[serde(with = "iso_time")]
    pub digest_end: i64,
}

/// Times in a recheck as people read them (`2026-11-25T14:00:01Z`).
mod iso_time {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(seconds: &i64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&crate::clock::iso_text(*seconds))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
        let text = String::deserialize(deserializer)?;
        crate::clock::iso_seconds(&text).ok_or_else(|| {
            D::Error::custom(format!("{text:?} is not a time like 2026-11-25T14:00:00Z"))
        })
    }
}

/// Why a recheck cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum RecheckError {
    #[error("recheckForwarding is not a recheck: {0}")]
    Body(#[from] serde_json::Error),
    #[error("recheckForwarding names {0}, which is not a CloudTrail digest file")]
    NotADigest(String),
}

impl Recheck {
    /// The rechecks `validated`'s pending files need (one per 200 files), once `grace_seconds`
    /// after each digest's end has passed; `reconciled`: its files' reconciliation.
    pub fn of_pending(
        validated: &Validated,
        reconciled: &[ForwardingVerdict],
        grace_seconds: i64,
    ) -> Vec<Recheck> {
        let pending = reconciled
            .iter()
            .filter(|verdict| verdict.forwarding == Forwarding::Pending);
        // Each pending verdict is a listed file: its digest and hash are the listing's.
        let listed = pending.filter_map(|verdict| {
            validated
                .report
                .listed
                .iter()
                .find(|listed| listed.bucket == verdict.bucket && listed.key == verdict.key)
        });
        let mut by_digest: Vec<(String, String, Vec<PendingFile>)> = Vec::new();
        for file in listed {
            let (bucket, key) = digest_of(&validated.report, file);
            let pending = PendingFile {
                s3_bucket: file.bucket.clone(),
                s3_object_key: file.key.clone(),
                hash_value: file.expected_hash.clone(),
                digest_end: file.digest_end,
            };
            match by_digest
                .iter_mut()
                .find(|(b, k, _)| *b == bucket && *k == key)
            {
                Some((_, _, files)) => files.push(pending),
                None => by_digest.push((bucket, key, vec![pending])),
            }
        }
        by_digest
            .into_iter()
            .flat_map(|(bucket, key, files)| {
                files
                    .chunks(FILES_PER_MESSAGE)
                    .map(|chunk| Recheck {
                        digest_bucket: bucket.clone(),
                        digest_key: key.clone(),
                        not_before: chunk.iter().map(|f| f.digest_end).max().unwrap_or(0)
                            + grace_seconds
                            + 1,
                        files: chunk.to_vec(),
                    })
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Reads `{"recheckForwarding": …}`'s value.
    pub fn from_value(value: &serde_json::Value) -> Result<Self, RecheckError> {
        let recheck: Recheck = serde_json::from_value(value.clone())?;
        if trail_of_digest(&recheck.digest_key).is_none() {
            return Err(RecheckError::NotADigest(recheck.digest_key));
        }
        Ok(recheck)
    }

    /// The SQS body that carries it.
    pub fn to_body(&self) -> String {
        serde_json::json!({ RECHECK_FORWARDING: self }).to_string()
    }

    /// How long SQS should hold it, sent at `now`: until `not_before`, at most 15 minutes.
    pub fn delay(&self, now: i64) -> Duration {
        let seconds = u64::try_from(self.not_before - now).unwrap_or(0);
        Duration::from_secs(seconds).min(MAX_SQS_DELAY)
    }

    /// Whether its time has come.
    pub fn is_due(&self, now: i64) -> bool {
        now >= self.not_before
    }

    /// Its files as a validation found them: each valid, as its digest listed it. Reconciled
    /// like any validation's; its S3 verdicts were counted and written when it was validated.
    pub fn as_validated(&self) -> Option<Validated> {
        let trail = trail_of_digest(&self.digest_key)?;
        let mut report = Report::default();
        for (slot, file) in self.files.iter().enumerate() {
            report.verdicts.push(Verdict {
                subject: Subject::Log,
                bucket: file.s3_bucket.clone(),
                key: file.s3_object_key.clone(),
                status: Status::Valid,
            });
            report.listed.push(ListedLogFile {
                slot,
                bucket: file.s3_bucket.clone(),
                key: file.s3_object_key.clone(),
                expected_hash: file.hash_value.clone(),
                digest_end: file.digest_end,
            });
        }
        let end = self.files.iter().map(|f| f.digest_end).max().unwrap_or(0);
        let start = self.files.iter().map(|f| f.digest_end).min().unwrap_or(0) - 3600;
        Some(Validated {
            scope: Scope {
                trail,
                bucket: self.digest_bucket.clone(),
                start,
                end,
            },
            what: format!(
                "s3://{}/{} (its pending log files, checked again)",
                self.digest_bucket, self.digest_key
            ),
            report,
        })
    }
}

/// The digest whose verdict comes last before `file`'s in the report: the one that lists it.
fn digest_of(report: &Report, file: &ListedLogFile) -> (String, String) {
    report.verdicts[..file.slot.min(report.verdicts.len())]
        .iter()
        .rev()
        .find(|verdict| matches!(verdict.subject, Subject::Digest | Subject::BackfillDigest))
        .map(|verdict| (verdict.bucket.clone(), verdict.key.clone()))
        .unwrap_or_default()
}
