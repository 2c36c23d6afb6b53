//! Aggregated events: CloudTrail's 5-minute summaries of data events.

use serde_json::{Value, json};

use super::{DATA_CALLS, RecordGenerator, USER_AGENTS};
use crate::generate::spec::iso_seconds;

/// An aggregated event's window (CloudTrail aggregates data events into 5-minute summaries).
pub(super) const WINDOW_MILLIS: i64 = 300_000;

impl RecordGenerator {
    /// One aggregated event, in one of the three template shapes (record fields:
    /// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aggregated-events.html):
    /// `API_ACTIVITY` (primary dimension `eventName`), `RESOURCE_ACCESS` (`resourceARN`) and
    /// `USER_ACTIONS` (`userIdentity`). No `eventTime`, no `recipientAccountId`.
    pub(super) fn aggregated(&mut self, window_start: i64) -> Value {
        let &(source, _, _, _) = self.pick(DATA_CALLS);
        let account = self.spec.account_id.clone();
        let names: Vec<&str> = DATA_CALLS
            .iter()
            .filter(|call| call.0 == source)
            .map(|call| call.1)
            .collect();
        let events: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let principals = vec![
            format!("arn:aws:iam::{account}:role/app-server"),
            format!("arn:aws:sts::{account}:assumed-role/Admin/alice"),
        ];
        let resources = vec![
            format!(
                "arn:aws:s3:::app-data/prefix/object-{}.json",
                self.rng.u16(..)
            ),
            format!("arn:aws:s3:::audit-exports/report-{}.csv", self.rng.u16(..)),
        ];
        let agents: Vec<String> = USER_AGENTS[..2].iter().map(|a| a.to_string()).collect();
        let addresses = vec!["198.51.100.7".to_owned(), "203.0.113.25".to_owned()];
        let shape = self.rng.u8(0..3);
        let id = self.uuid();
        let rng = &mut self.rng;
        let mut counts = |labels: &[String]| -> Value {
            Value::Array(
                labels
                    .iter()
                    .map(|label| json!({"name": label, "value": rng.u32(1..5000)}))
                    .collect(),
            )
        };
        let (primary, primary_values, details) = match shape {
            0 => (
                "eventName",
                counts(&events),
                json!([
                    {"dimension": "userAgent", "statistics": counts(&agents), "aggregationType": "Count"},
                    {"dimension": "sourceIPAddress", "statistics": counts(&addresses), "aggregationType": "Count"}
                ]),
            ),
            1 => (
                "resourceARN",
                counts(&resources),
                json!([
                    {"dimension": "eventName", "statistics": counts(&events), "aggregationType": "Count"},
                    {"dimension": "userIdentity", "statistics": counts(&principals), "aggregationType": "Count"}
                ]),
            ),
            _ => (
                "userIdentity",
                counts(&principals),
                json!([
                    {"dimension": "eventName", "statistics": counts(&events), "aggregationType": "Count"},
                    {"dimension": "errorCode", "statistics": counts(&["AccessDenied".to_owned()]), "aggregationType": "Count"}
                ]),
            ),
        };
        json!({
            "eventVersion": "1.0",
            "accountId": account,
            "eventId": id,
            "eventCategory": "Aggregated",
            "eventType": "AwsAggregatedEvent",
            "awsRegion": self.spec.region,
            "eventSource": source,
            "timeWindow": {
                "windowStart": iso_seconds(window_start),
                "windowEnd": iso_seconds(window_start + WINDOW_MILLIS),
                "windowSize": "PT5M"
            },
            "summary": {
                "primaryDimension": {"dimension": primary, "statistics": primary_values, "aggregationType": "Count"},
                "details": details
            }
        })
    }
}
