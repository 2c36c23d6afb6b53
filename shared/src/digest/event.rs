//! The one envelope of every event in the integrity group: the verdict's line (worded as
//! `aws cloudtrail validate-logs` prints it), its status code, whether it is valid, what it is
//! about (`subject`), and that thing's fields for Logs Insights. Field names and their order are
//! the interface users' queries depend on: keep them exactly.

use serde::Serialize;

use super::provenance::{Forwarding, ForwardingVerdict};
use super::silence::Lateness;
use super::verdict::{Subject, Verdict};
use crate::clock::iso_text;

/// What an integrity event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) enum EventSubject {
    Digest,
    Log,
    BackfillDigest,
    /// A listed log file reconciled with what the forwarder recorded.
    Forwarding,
    /// One account's and region's digests, late.
    Digests,
    /// What the log groups hold, against the signed files.
    Audit,
}

impl From<Subject> for EventSubject {
    fn from(subject: Subject) -> Self {
        match subject {
            Subject::Digest => EventSubject::Digest,
            Subject::Log => EventSubject::Log,
            Subject::BackfillDigest => EventSubject::BackfillDigest,
        }
    }
}

/// One event of the integrity group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct IntegrityEvent<'a> {
    pub verdict: String,
    pub status: &'static str,
    pub valid: bool,
    pub subject: EventSubject,
    #[serde(flatten)]
    pub about: About<'a>,
}

/// The fields of what an event is about, after the envelope's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum About<'a> {
    /// A digest or log file, and what the check covered in words (the digest's S3 URL, or the
    /// trail and range).
    File {
        bucket: &'a str,
        key: &'a str,
        validated: &'a str,
    },
    /// A listed log file's reconciliation, with the S3 object's own status code.
    Forwarded {
        bucket: &'a str,
        key: &'a str,
        s3_status: &'static str,
        validated: &'a str,
    },
    /// A stream the audit found something in (or could not read).
    Stream {
        log_group: &'a str,
        log_stream: &'a str,
        validated: &'a str,
    },
    /// What an audit covered.
    Audited { validated: &'a str },
    /// An account's and region's digests, with the newest one's end time (ISO 8601) when one
    /// was found in the lookback.
    Region {
        account: &'a str,
        region: &'a str,
        newest_digest: Option<String>,
    },
}

impl<'a> IntegrityEvent<'a> {
    /// An S3 verdict on a digest or log file.
    pub fn verdict(verdict: &'a Verdict, validated: &'a str) -> Self {
        Self {
            verdict: verdict.to_string(),
            status: verdict.status.code(),
            valid: verdict.status.is_valid(),
            subject: verdict.subject.into(),
            about: About::File {
                bucket: &verdict.bucket,
                key: &verdict.key,
                validated,
            },
        }
    }

    /// A reconciliation: valid only when forwarded as signed.
    pub fn forwarding(verdict: &'a ForwardingVerdict, validated: &'a str) -> Self {
        Self {
            verdict: verdict.to_string(),
            status: verdict.forwarding.code(),
            valid: matches!(verdict.forwarding, Forwarding::Forwarded(_)),
            subject: EventSubject::Forwarding,
            about: About::Forwarded {
                bucket: &verdict.bucket,
                key: &verdict.key,
                s3_status: verdict.s3_status.code(),
                validated,
            },
        }
    }

    /// A region whose digests are late.
    pub fn late(lateness: &'a Lateness, now: i64) -> Self {
        Self {
            verdict: lateness.line(now),
            status: "late",
            valid: false,
            subject: EventSubject::Digests,
            about: About::Region {
                account: &lateness.trail.account_id,
                region: &lateness.trail.source_region,
                newest_digest: lateness.newest.map(iso_text),
            },
        }
    }

    /// The event as the line written to CloudWatch Logs.
    pub fn line(&self) -> String {
        // Plain strings, booleans and an enum: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::locate::TrailDigests;
    use crate::digest::verdict::Status;

    #[test]
    fn a_verdict_event_is_the_cli_line_and_its_parts_in_this_order() {
        let verdict = Verdict {
            subject: Subject::Log,
            bucket: "b".into(),
            key: "AWSLogs/1/CloudTrail/k.json.gz".into(),
            status: Status::HashMismatch,
        };
        assert_eq!(
            IntegrityEvent::verdict(&verdict, "s3://b/d.json.gz").line(),
            format!(
                "{{\"verdict\":{:?},\"status\":\"{}\",\"valid\":false,\"subject\":\"log\",\"bucket\":\"b\",\"key\":\"AWSLogs/1/CloudTrail/k.json.gz\",\"validated\":\"s3://b/d.json.gz\"}}",
                verdict.to_string(),
                Status::HashMismatch.code()
            )
        );
        let backfill = Verdict {
            subject: Subject::BackfillDigest,
            status: Status::Valid,
            ..verdict
        };
        let event = IntegrityEvent::verdict(&backfill, "s3://b/d.json.gz");
        assert!(event.valid);
        assert!(event.line().contains("\"subject\":\"backfillDigest\""));
    }

    #[test]
    fn a_reconciliation_event_is_its_line_and_its_parts_in_this_order() {
        let verdict = ForwardingVerdict {
            bucket: "b".into(),
            key: "k".into(),
            forwarding: Forwarding::Pending,
            s3_status: Status::Valid,
        };
        assert_eq!(
            IntegrityEvent::forwarding(&verdict, "s3://b/d").line(),
            format!(
                "{{\"verdict\":{:?},\"status\":\"forwardPending\",\"valid\":false,\"subject\":\"forwarding\",\"bucket\":\"b\",\"key\":\"k\",\"s3Status\":\"valid\",\"validated\":\"s3://b/d\"}}",
                verdict.to_string()
            )
        );
    }

    fn part() -> TrailDigests {
        TrailDigests {
            prefix: None,
            organization_id: None,
            account_id: "111122223333".into(),
            source_region: "eu-west-1".into(),
            home_region: "us-east-1".into(),
            trail_name: "audit".into(),
        }
    }

    #[test]
    fn a_late_region_is_one_event_with_the_fields_queries_use() {
        let now = 1_764_072_000;
        let late = Lateness::judge(part(), Some(now - 3 * 3600), now);
        assert_eq!(
            IntegrityEvent::late(&late, now).line(),
            format!(
                "{{\"verdict\":{:?},\"status\":\"late\",\"valid\":false,\"subject\":\"digests\",\"account\":\"111122223333\",\"region\":\"eu-west-1\",\"newestDigest\":\"2025-11-25T09:00:00Z\"}}",
                late.line(now)
            )
        );
        let none = Lateness::judge(part(), None, now);
        let event = serde_json::to_value(IntegrityEvent::late(&none, now)).unwrap();
        assert_eq!(event["newestDigest"], serde_json::Value::Null);
    }
}
