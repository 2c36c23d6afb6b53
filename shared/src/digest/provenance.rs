//! Provenance: whether what the forwarder sent to CloudWatch Logs of a log file is what
//! CloudTrail signed (from its checkpoint table; what the log groups hold now is not read).
//! The forwarder records, in the checkpoint table, the SHA-256 of the decompressed bytes of
//! each object it read to the end and what became of its records; a valid digest records each
//! log file's `hashValue`, the same hash (aws-cli's awscli/customizations/cloudtrail/
//! validation.py). Every log file a valid digest lists is reconciled with its checkpoint.

use std::fmt;

use super::report::{ForwardingCounts, ListedLogFile, Report};
use super::store::CallError;
use super::verdict::Status;
use crate::checkpoint::{CHECKPOINT_TTL_SECONDS, Ledger, LedgerState, RecordCounts};

/// The grace after a digest's end before a file it lists and the forwarder has not finished
/// counts as not forwarded (`FORWARD_GRACE_MINUTES`).
pub(crate) const DEFAULT_FORWARD_GRACE_MINUTES: u64 = 60;

/// The ledgers of many objects at once: what the forwarder recorded of each (the checkpoint
/// table, read by the validator, which never sees who holds an object).
pub trait ForwardRecords {
    /// What the table holds of each object, in the order asked.
    fn ledgers(
        &self,
        objects: &[(&str, &str)],
    ) -> impl Future<Output = Result<Vec<Recorded>, CallError>> + Send;
}

/// What the checkpoint table holds of one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// No item: never forwarded, or expired from the table.
    Nothing,
    Ledger(Ledger),
    /// An item that is not a trailwatch checkpoint (a field missing or of another type, a hash
    /// that is not SHA-256 hex): what the forwarder did is not known.
    Unreadable(String),
}

/// What the forwarder did with one log file, against its signed hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forwarding {
    /// Finished, with the hash CloudTrail signed: its events in CloudWatch Logs are authentic.
    Forwarded(RecordCounts),
    /// Finished, with another hash: its events in CloudWatch Logs are not what was signed.
    Differs { forwarded: String, signed: String },
    /// Not finished, and the grace after its digest has passed: why, when the forwarder said.
    NotForwarded { reason: Option<String> },
    /// Not finished yet, within the grace: checked again by the next range.
    Pending,
    /// The reconciliation did not complete (the table could not be read): neither forwarded
    /// nor not forwarded.
    NotChecked(String),
}

impl Forwarding {
    /// The `status` of its verdict event, and its metric's name in words.
    pub fn code(&self) -> &'static str {
        match self {
            Forwarding::Forwarded(_) => "forwarded",
            Forwarding::Differs { .. } => "forwardedDiffers",
            Forwarding::NotForwarded { .. } => "notForwarded",
            Forwarding::Pending => "forwardPending",
            Forwarding::NotChecked(_) => "notChecked",
        }
    }

    /// Whether an auditor must act: the file is missing from CloudWatch Logs, or there as
    /// other content than was signed.
    pub fn is_problem(&self) -> bool {
        matches!(
            self,
            Forwarding::Differs { .. } | Forwarding::NotForwarded { .. }
        )
    }
}

/// One log file's reconciliation, with what its S3 check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardingVerdict {
    pub bucket: String,
    pub key: String,
    pub forwarding: Forwarding,
    /// The verdict on the S3 object itself (valid, modified since, deleted since…).
    pub s3_status: Status,
}

/// Decides one file: `ledger` as the table holds it, `signed` the digest's hash,
/// `overdue` whether the grace after the digest's end has passed.
pub fn reconcile(ledger: Option<&Ledger>, signed: &str, overdue: bool) -> Forwarding {
    let state = ledger.map(|ledger| &ledger.state);
    match (ledger, state) {
        (Some(ledger), Some(LedgerState::Done { sha256 })) => match sha256 {
            // Every record is counted once from the first: fewer means records were skipped
            // (a continuation that started past them), though every byte was hashed.
            Some(forwarded) if forwarded.matches(signed) && !ledger.accounts_for_every_record() => {
                Forwarding::NotForwarded {
                    reason: Some(format!(
                        "only {} of its {} records were accounted for: the rest were skipped",
                        ledger.counts.records, ledger.next_record
                    )),
                }
            }
            Some(forwarded) if forwarded.matches(signed) => Forwarding::Forwarded(ledger.counts),
            Some(forwarded) => Forwarding::Differs {
                forwarded: forwarded.to_string(),
                signed: signed.to_owned(),
            },
            None => Forwarding::NotChecked(
                "forwarded by a version of trailwatch that did not record hashes".to_owned(),
            ),
        },
        _ if !overdue => Forwarding::Pending,
        (_, Some(LedgerState::Failed(reason))) => Forwarding::NotForwarded {
            reason: Some(reason.clone()),
        },
        (Some(ledger), _) => Forwarding::NotForwarded {
            reason: Some(format!(
                "never finished: the forwarder stopped at record {}",
                ledger.next_record
            )),
        },
        (None, _) => Forwarding::NotForwarded { reason: None },
    }
}

/// Reconciles every log file the report's valid digests list. `now` and `grace_seconds`
/// decide which unfinished files are overdue; a table that cannot be read makes every file
/// `NotChecked`, never `NotForwarded`.
pub(crate) async fn reconcile_report<R: ForwardRecords>(
    records: &R,
    report: &Report,
    now: i64,
    grace_seconds: i64,
) -> Vec<ForwardingVerdict> {
    let objects: Vec<(&str, &str)> = report
        .listed
        .iter()
        .map(|listed| (listed.bucket.as_str(), listed.key.as_str()))
        .collect();
    let found = records.ledgers(&objects).await;
    report
        .listed
        .iter()
        .enumerate()
        .map(|(i, listed)| {
            let age = now - listed.digest_end;
            let forwarding = match &found {
                Ok(recorded) => match recorded.get(i).unwrap_or(&Recorded::Nothing) {
                    // Expired from the table (DynamoDB TTL): what was done is not known now.
                    Recorded::Nothing if age > CHECKPOINT_TTL_SECONDS => {
                        Forwarding::NotChecked(format!(
                            "the checkpoint table keeps items {} days; this file is older",
                            CHECKPOINT_TTL_SECONDS / 86_400
                        ))
                    }
                    Recorded::Nothing => {
                        reconcile(None, &listed.expected_hash, age > grace_seconds)
                    }
                    Recorded::Ledger(ledger) => {
                        reconcile(Some(ledger), &listed.expected_hash, age > grace_seconds)
                    }
                    Recorded::Unreadable(reason) => Forwarding::NotChecked(reason.clone()),
                },
                Err(error) => Forwarding::NotChecked(error.to_string()),
            };
            verdict(listed, forwarding, report)
        })
        .collect()
}

fn verdict(listed: &ListedLogFile, forwarding: Forwarding, report: &Report) -> ForwardingVerdict {
    ForwardingVerdict {
        bucket: listed.bucket.clone(),
        key: listed.key.clone(),
        forwarding,
        s3_status: report.verdicts[listed.slot].status.clone(),
    }
}

/// The counts of a part's reconciliation, and how many files it could not check.
pub fn count(verdicts: &[ForwardingVerdict]) -> (ForwardingCounts, u64) {
    let mut counts = ForwardingCounts::default();
    let mut not_checked = 0;
    for verdict in verdicts {
        match verdict.forwarding {
            Forwarding::Forwarded(_) => counts.log_files_forwarded += 1,
            Forwarding::Differs { .. } => counts.log_files_forwarded_differs += 1,
            Forwarding::NotForwarded { .. } => counts.log_files_not_forwarded += 1,
            Forwarding::Pending => counts.log_files_forward_pending += 1,
            Forwarding::NotChecked(_) => not_checked += 1,
        }
    }
    (counts, not_checked)
}

/// The notification that makes the forwarder read a file again: CloudTrail's own SNS form
/// (`{"s3Bucket": …, "s3ObjectKey": […]}`); its checkpoint makes a repeat harmless.
pub(crate) fn repair_message(verdict: &ForwardingVerdict) -> String {
    serde_json::json!({"s3Bucket": verdict.bucket, "s3ObjectKey": [verdict.key]}).to_string()
}

impl fmt::Display for ForwardingVerdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let url = format!("s3://{}/{}", self.bucket, self.key);
        match &self.forwarding {
            Forwarding::Forwarded(counts) => write!(
                f,
                "Forwarded\t{url}\t{} records: {} forwarded, {} filtered, {} rejected",
                counts.records, counts.forwarded, counts.filtered, counts.rejected
            )?,
            Forwarding::Differs { forwarded, signed } => write!(
                f,
                "Forwarded\t{url}\tDIFFERS from what CloudTrail signed: the forwarder read SHA-256 {forwarded}, the digest records {signed}"
            )?,
            Forwarding::NotForwarded { reason } => write!(
                f,
                "Not forwarded\t{url}\t{}",
                reason
                    .as_deref()
                    .unwrap_or("the checkpoint table has no record of it")
            )?,
            Forwarding::Pending => write!(
                f,
                "Forward pending\t{url}\tnot finished yet, within the grace after its digest"
            )?,
            Forwarding::NotChecked(reason) => {
                write!(f, "Forwarding not checked\t{url}\t{reason}")?;
            }
        }
        if matches!(self.forwarding, Forwarding::Forwarded(_)) && self.s3_status.is_invalid() {
            write!(
                f,
                "; the S3 object is {} now, but what the forwarder sent to CloudWatch Logs is what CloudTrail signed",
                self.s3_status
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIGNED: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const OTHER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn done(sha256: Option<&str>) -> Ledger {
        Ledger {
            next_record: 3,
            state: LedgerState::Done {
                sha256: sha256.map(|hex| crate::object::Sha256::from_hex(hex).unwrap()),
            },
            counts: RecordCounts {
                records: 3,
                forwarded: 2,
                filtered: 1,
                rejected: 0,
            },
        }
    }

    #[test]
    fn a_finished_file_that_skipped_records_is_not_forwarded_though_its_hash_matches() {
        // A forged continuation (before the claim refused to trust one) started past the first
        // records: every byte was hashed, but only 1 of 3 records was counted.
        let mut skipped = done(Some(SIGNED));
        skipped.counts.records = 1;
        let forwarding = reconcile(Some(&skipped), SIGNED, false);
        assert!(forwarding.is_problem(), "{forwarding:?}");
        assert_eq!(
            forwarding,
            Forwarding::NotForwarded {
                reason: Some(
                    "only 1 of its 3 records were accounted for: the rest were skipped".into()
                )
            }
        );
        assert!(matches!(
            reconcile(Some(&done(Some(SIGNED))), SIGNED, false),
            Forwarding::Forwarded(_)
        ));
    }

    #[test]
    fn a_finished_file_is_forwarded_as_signed_or_differs() {
        // Compared as values, whatever the case of either's hex.
        let forwarded = reconcile(Some(&done(Some(&SIGNED.to_uppercase()))), SIGNED, true);
        assert_eq!(forwarded, Forwarding::Forwarded(done(None).counts));
        assert!(!forwarded.is_problem());
        let differs = reconcile(Some(&done(Some(OTHER))), SIGNED, false);
        assert_eq!(
            differs,
            Forwarding::Differs {
                forwarded: OTHER.into(),
                signed: SIGNED.into()
            }
        );
        assert!(differs.is_problem());
        assert!(matches!(
            reconcile(Some(&done(None)), SIGNED, true),
            Forwarding::NotChecked(_)
        ));
    }

    #[test]
    fn an_unfinished_file_is_pending_within_the_grace_and_not_forwarded_after_it() {
        let failed = Ledger {
            state: LedgerState::Failed("not gzip".into()),
            ..Ledger::default()
        };
        let stopped = Ledger {
            next_record: 700,
            ..Ledger::default()
        };
        for checkpoint in [None, Some(&failed), Some(&stopped)] {
            assert_eq!(reconcile(checkpoint, SIGNED, false), Forwarding::Pending);
        }
        assert_eq!(
            reconcile(None, SIGNED, true),
            Forwarding::NotForwarded { reason: None }
        );
        assert_eq!(
            reconcile(Some(&failed), SIGNED, true),
            Forwarding::NotForwarded {
                reason: Some("not gzip".into())
            }
        );
        assert!(
            matches!(reconcile(Some(&stopped), SIGNED, true), Forwarding::NotForwarded { reason: Some(r) } if r.contains("record 700"))
        );
    }

    fn line(forwarding: Forwarding, s3_status: Status) -> String {
        ForwardingVerdict {
            bucket: "b".into(),
            key: "k".into(),
            forwarding,
            s3_status,
        }
        .to_string()
    }

    #[test]
    fn each_status_has_its_line() {
        let counts = done(None).counts;
        assert_eq!(
            line(Forwarding::Forwarded(counts), Status::Valid),
            "Forwarded\ts3://b/k\t3 records: 2 forwarded, 1 filtered, 0 rejected"
        );
        assert_eq!(
            line(Forwarding::Forwarded(counts), Status::HashMismatch),
            "Forwarded\ts3://b/k\t3 records: 2 forwarded, 1 filtered, 0 rejected; the S3 object is INVALID: hash value doesn't match now, but what the forwarder sent to CloudWatch Logs is what CloudTrail signed"
        );
        let differs = Forwarding::Differs {
            forwarded: "bb".into(),
            signed: "aa".into(),
        };
        assert!(line(differs, Status::HashMismatch).contains("SHA-256 bb, the digest records aa"));
        assert_eq!(
            line(Forwarding::NotForwarded { reason: None }, Status::Valid),
            "Not forwarded\ts3://b/k\tthe checkpoint table has no record of it"
        );
        assert!(line(Forwarding::Pending, Status::Valid).starts_with("Forward pending\t"));
    }

    #[test]
    fn a_repair_is_cloudtrails_own_notification() {
        let verdict = ForwardingVerdict {
            bucket: "b".into(),
            key: "AWSLogs/k.json.gz".into(),
            forwarding: Forwarding::NotForwarded { reason: None },
            s3_status: Status::Valid,
        };
        assert_eq!(
            repair_message(&verdict),
            r#"{"s3Bucket":"b","s3ObjectKey":["AWSLogs/k.json.gz"]}"#
        );
    }
}
