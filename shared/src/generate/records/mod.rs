//! Record templates for the generator. Shapes follow the CloudTrail record reference
//! (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-record-contents.html):
//! field names, types, and which fields each event type has.

use serde_json::{Value, json};

use super::spec::{Content, TrailSpec, iso_seconds};
use crate::trail::EventCategory;

mod tables;
use tables::{DATA_CALLS, MANAGEMENT_CALLS, NETWORK_SOURCES, USER_AGENTS};

/// One generated record: its JSON text and what the tests need to check it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedRecord {
    pub text: String,
    pub event_time_millis: i64,
    pub category: EventCategory,
}

impl TrailSpec {
    /// The records of a file of this spec, endless and seeded.
    pub fn records(&self) -> RecordGenerator {
        RecordGenerator::new(self)
    }
}

/// An endless, seeded stream of records for one trail file.
pub struct RecordGenerator {
    rng: fastrand::Rng,
    spec: TrailSpec,
}

impl RecordGenerator {
    pub fn new(spec: &TrailSpec) -> Self {
        Self {
            rng: fastrand::Rng::with_seed(spec.seed),
            spec: spec.clone(),
        }
    }

    fn next_record(&mut self) -> GeneratedRecord {
        // Whole seconds, as CloudTrail writes eventTime.
        let time = (self.spec.newest_event_millis
            - self.rng.i64(0..=self.spec.event_spread_millis.max(0)))
        .div_euclid(1000)
            * 1000;
        let (category, value) = match self.spec.content {
            Content::Insight => (EventCategory::Insight, self.insight(time)),
            Content::Aggregated => {
                // A record stands for a 5-minute window; its time is the window's start.
                let start = time.div_euclid(WINDOW_MILLIS) * WINDOW_MILLIS;
                let value = self.aggregated(start);
                return GeneratedRecord {
                    text: value.to_string(),
                    event_time_millis: start,
                    category: EventCategory::Aggregated,
                };
            }
            Content::Log => match self.rng.u32(0..1000) {
                0..=599 => (EventCategory::Management, self.management(time)),
                600..=949 => (EventCategory::Data, self.data(time)),
                950..=997 => (EventCategory::NetworkActivity, self.network_activity(time)),
                _ => (EventCategory::Management, self.large_management(time)),
            },
        };
        GeneratedRecord {
            text: value.to_string(),
            event_time_millis: time,
            category,
        }
    }

    fn uuid(&mut self) -> String {
        let (a, b) = (self.rng.u64(..), self.rng.u64(..));
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }

    fn ip(&mut self) -> String {
        format!("198.51.100.{}", self.rng.u8(1..255))
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.rng.usize(..items.len())]
    }

    fn identity(&mut self) -> Value {
        let account = self.spec.account_id.clone();
        let key_id = format!("ASIA{:016X}", self.rng.u64(..));
        match self.rng.u8(0..10) {
            0..=4 => {
                let role = self
                    .pick(&["Admin", "Developer", "ReadOnly", "Deployer"])
                    .to_string();
                let session = self
                    .pick(&["alice", "bob", "carol", "ci-runner"])
                    .to_string();
                json!({
                    "type": "AssumedRole",
                    "principalId": format!("AROA{:016X}:{session}", self.rng.u64(..)),
                    "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
                    "accountId": account,
                    "accessKeyId": key_id,
                    "sessionContext": {
                        "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEROLEID", "arn": format!("arn:aws:iam::{account}:role/{role}"), "accountId": account, "userName": role},
                        "attributes": {"creationDate": iso_seconds(self.spec.newest_event_millis - 3_600_000), "mfaAuthenticated": "false"}
                    }
                })
            }
            5..=6 => {
                let user = self.pick(&["dave", "erin", "deploy-bot"]).to_string();
                json!({"type": "IAMUser", "principalId": format!("AIDA{:016X}", self.rng.u64(..)), "arn": format!("arn:aws:iam::{account}:user/{user}"), "accountId": account, "accessKeyId": key_id.replacen("ASIA", "AKIA", 1), "userName": user})
            }
            7 => {
                json!({"type": "Root", "principalId": account, "arn": format!("arn:aws:iam::{account}:root"), "accountId": account, "accessKeyId": key_id})
            }
            8 => json!({"type": "AWSService", "invokedBy": "cloudformation.amazonaws.com"}),
            _ => {
                json!({"type": "FederatedUser", "principalId": format!("{account}:frank"), "arn": format!("arn:aws:sts::{account}:federated-user/frank"), "accountId": account, "accessKeyId": key_id})
            }
        }
    }

    /// Fields every API-call record has.
    fn base(
        &mut self,
        time: i64,
        source: &str,
        name: &str,
        read_only: bool,
    ) -> serde_json::Map<String, Value> {
        let identity = self.identity();
        let agent = *self.pick(USER_AGENTS);
        let fields = json!({
            "eventVersion": "1.11",
            "userIdentity": identity,
            "eventTime": iso_seconds(time),
            "eventSource": source,
            "eventName": name,
            "awsRegion": self.spec.region,
            "sourceIPAddress": self.ip(),
            "userAgent": agent,
            "requestParameters": null,
            "responseElements": null,
            "requestID": self.uuid(),
            "eventID": self.uuid(),
            "readOnly": read_only,
            "eventType": "AwsApiCall",
            "recipientAccountId": self.spec.account_id,
        });
        match fields {
            Value::Object(map) => map,
            _ => serde_json::Map::new(),
        }
    }

    fn management(&mut self, time: i64) -> Value {
        let &(source, name, read_only) = self.pick(MANAGEMENT_CALLS);
        let mut record = self.base(time, source, name, read_only);
        let (request, response) = self.management_parameters(name);
        record.insert("requestParameters".into(), request);
        record.insert("responseElements".into(), response);
        record.insert("managementEvent".into(), json!(true));
        record.insert("eventCategory".into(), json!("Management"));
        if self.rng.u8(0..4) == 0 {
            record.insert("sessionCredentialFromConsole".into(), json!("true"));
        }
        record.insert(
            "tlsDetails".into(),
            json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256", "clientProvidedHostHeader": source}),
        );
        if self.rng.u8(0..20) == 0 {
            record.insert("errorCode".into(), json!("AccessDenied"));
            record.insert(
                "errorMessage".into(),
                json!(format!("User is not authorized to perform: {name}")),
            );
        }
        Value::Object(record)
    }

    fn management_parameters(&mut self, name: &str) -> (Value, Value) {
        let account = self.spec.account_id.clone();
        match name {
            "RunInstances" => (
                json!({"instancesSet": {"items": [{"imageId": "ami-0abcdef1234567890", "minCount": 1, "maxCount": 1}]}, "instanceType": "t3.micro", "monitoring": {"enabled": false}, "disableApiTermination": false}),
                json!({"requestId": self.uuid(), "reservationId": format!("r-{:017x}", self.rng.u64(..) >> 4), "ownerId": account, "instancesSet": {"items": [{"instanceId": format!("i-{:017x}", self.rng.u64(..) >> 4), "instanceState": {"code": 0, "name": "pending"}}]}}),
            ),
            "CreateUser" => (
                json!({"userName": format!("user-{}", self.rng.u16(..))}),
                json!({"user": {"path": "/", "userName": "new-user", "userId": format!("AIDA{:016X}", self.rng.u64(..)), "arn": format!("arn:aws:iam::{account}:user/new-user"), "createDate": "Jan 2, 2024 3:04:05 AM"}}),
            ),
            "AssumeRole" => (
                json!({"roleArn": format!("arn:aws:iam::{account}:role/Deployer"), "roleSessionName": "ci-runner", "durationSeconds": 3600}),
                json!({"credentials": {"accessKeyId": format!("ASIA{:016X}", self.rng.u64(..)), "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE", "expiration": "Jan 2, 2024 4:04:05 AM"}, "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:ci-runner", "arn": format!("arn:aws:sts::{account}:assumed-role/Deployer/ci-runner")}}),
            ),
            "Decrypt" | "GenerateDataKey" => (
                json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT", "keyId": format!("arn:aws:kms:{}:{account}:key/{}", self.spec.region.clone(), self.uuid())}),
                Value::Null,
            ),
            "DescribeInstances" => (
                json!({"instancesSet": {}, "filterSet": {"items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]}}),
                Value::Null,
            ),
            "ConsoleLogin" => (Value::Null, json!({"ConsoleLogin": "Success"})),
            _ => (json!({"maxResults": 100}), Value::Null),
        }
    }

    /// A management event with a request of 100-200 KB, like a large policy or template.
    fn large_management(&mut self, time: i64) -> Value {
        let mut record = self.base(time, "cloudformation.amazonaws.com", "CreateStack", false);
        // A template body: repeated structure with varying names, compressing like real ones.
        let size = self.rng.usize(100_000..200_000);
        let mut body = String::with_capacity(size + 256);
        while body.len() < size {
            let id = self.rng.u32(..);
            body.push_str(&format!(
                "\"Bucket{id}\":{{\"Type\":\"AWS::S3::Bucket\",\"Properties\":{{\"BucketName\":\"app-{id:08x}\",\"VersioningConfiguration\":{{\"Status\":\"Enabled\"}}}}}},"
            ));
        }
        record.insert(
            "requestParameters".into(),
            json!({"stackName": "big-stack", "templateBody": body}),
        );
        record.insert("responseElements".into(), json!({"stackId": self.uuid()}));
        record.insert("managementEvent".into(), json!(true));
        record.insert("eventCategory".into(), json!("Management"));
        Value::Object(record)
    }

    fn data(&mut self, time: i64) -> Value {
        let &(source, name, read_only, resource_type) = self.pick(DATA_CALLS);
        let account = self.spec.account_id.clone();
        let region = self.spec.region.clone();
        let mut record = self.base(time, source, name, read_only);
        let (request, resources) = match resource_type {
            "AWS::S3::Object" => {
                let bucket = self
                    .pick(&["app-data", "audit-exports", "build-artifacts"])
                    .to_string();
                let key = format!(
                    "prefix/{}/object-{}.json",
                    self.rng.u8(..),
                    self.rng.u32(..)
                );
                (
                    json!({"bucketName": bucket, "Host": format!("{bucket}.s3.{region}.amazonaws.com"), "key": key}),
                    json!([{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{key}")}, {"accountId": account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]),
                )
            }
            "AWS::Lambda::Function" => {
                let function = format!(
                    "arn:aws:lambda:{region}:{account}:function:{}",
                    self.pick(&["orders", "billing", "thumbnailer"])
                );
                (
                    json!({"functionName": function, "invocationType": "Event"}),
                    json!([{"accountId": account, "type": "AWS::Lambda::Function", "ARN": function}]),
                )
            }
            _ => {
                let table = format!(
                    "arn:aws:dynamodb:{region}:{account}:table/{}",
                    self.pick(&["Orders", "Sessions"])
                );
                (
                    json!({"tableName": table, "key": {"pk": {"S": format!("user#{}", self.rng.u32(..))}}}),
                    json!([{"accountId": account, "type": "AWS::DynamoDB::Table", "ARN": table}]),
                )
            }
        };
        record.insert("requestParameters".into(), request);
        record.insert(
            "additionalEventData".into(),
            json!({"SignatureVersion": "SigV4", "bytesTransferredIn": 0}),
        );
        record.insert("resources".into(), resources);
        record.insert("managementEvent".into(), json!(false));
        record.insert("eventCategory".into(), json!("Data"));
        Value::Object(record)
    }

    fn network_activity(&mut self, time: i64) -> Value {
        let source = *self.pick(NETWORK_SOURCES);
        let denied = self.rng.bool();
        let mut record = self.base(time, source, "ListKeys", true);
        let vpce = format!("vpce-{:017x}", self.rng.u64(..) >> 4);
        record.insert("eventType".into(), json!("AwsVpceEvent"));
        record.insert("managementEvent".into(), json!(false));
        record.insert("eventCategory".into(), json!("NetworkActivity"));
        record.insert("vpcEndpointId".into(), json!(vpce));
        record.insert("vpcEndpointAccountId".into(), json!(self.spec.account_id));
        record.remove("readOnly");
        if denied {
            record.insert("errorCode".into(), json!("VpceAccessDenied"));
            record.insert(
                "errorMessage".into(),
                json!("The request was denied due to a VPC endpoint policy"),
            );
        }
        Value::Object(record)
    }

    fn insight(&mut self, time: i64) -> Value {
        let &(source, name, _) = self.pick(MANAGEMENT_CALLS);
        json!({
            "eventVersion": "1.08",
            "eventTime": iso_seconds(time),
            "awsRegion": self.spec.region,
            "eventID": self.uuid(),
            "eventType": "AwsCloudTrailInsight",
            "recipientAccountId": self.spec.account_id,
            "sharedEventID": self.uuid(),
            "insightDetails": {
                "state": self.pick(&["Start", "End"]),
                "eventSource": source,
                "eventName": name,
                "insightType": "ApiCallRateInsight",
                "insightContext": {"statistics": {"baseline": {"average": 0.01}, "insight": {"average": 1.5}, "insightDuration": 1}}
            },
            "eventCategory": "Insight"
        })
    }
}

/// An aggregated event's window (CloudTrail aggregates data events into 5-minute summaries).
const WINDOW_MILLIS: i64 = 300_000;

impl RecordGenerator {
    /// One aggregated event, in one of the three template shapes (record fields:
    /// https://docs.aws.amazon.com/awscloudtrail/latest/userguide/cloudtrail-event-reference-aggregated-events.html):
    /// `API_ACTIVITY` (primary dimension `eventName`), `RESOURCE_ACCESS` (`resourceARN`) and
    /// `USER_ACTIONS` (`userIdentity`). No `eventTime`, no `recipientAccountId`.
    fn aggregated(&mut self, window_start: i64) -> Value {
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

impl Iterator for RecordGenerator {
    type Item = GeneratedRecord;

    fn next(&mut self) -> Option<GeneratedRecord> {
        Some(self.next_record())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::RecordFields;

    #[test]
    fn the_mix_has_every_category_and_valid_fields() {
        let spec = TrailSpec::recent(9);
        let mut seen = std::collections::BTreeMap::new();
        for record in spec.records().take(3000) {
            let fields = RecordFields::parse(&record.text).unwrap();
            assert_eq!(fields.category(), record.category);
            assert_eq!(
                fields.event_time_millis().unwrap(),
                record.event_time_millis
            );
            *seen.entry(record.category).or_insert(0) += 1;
        }
        assert!(seen.len() >= 3, "{seen:?}");
        assert!(seen[&EventCategory::Data] > 500);
    }

    #[test]
    fn aggregated_files_hold_the_three_template_shapes_without_event_time() {
        let mut spec = TrailSpec::recent(3);
        spec.content = Content::Aggregated;
        let mut dimensions = std::collections::BTreeSet::new();
        for record in spec.records().take(60) {
            let value: Value = serde_json::from_str(&record.text).unwrap();
            assert_eq!(value["eventCategory"], "Aggregated");
            assert!(value.get("eventTime").is_none() && value.get("recipientAccountId").is_none());
            assert_eq!(value["accountId"], spec.account_id.as_str());
            assert_eq!(
                value["timeWindow"]["windowStart"],
                iso_seconds(record.event_time_millis).as_str()
            );
            assert_eq!(record.event_time_millis % WINDOW_MILLIS, 0);
            dimensions.insert(
                value["summary"]["primaryDimension"]["dimension"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        assert_eq!(
            dimensions.into_iter().collect::<Vec<_>>(),
            ["eventName", "resourceARN", "userIdentity"]
        );
    }

    #[test]
    fn insight_files_hold_insight_records() {
        let mut spec = TrailSpec::recent(1);
        spec.content = Content::Insight;
        let record = spec.records().next().unwrap();
        assert_eq!(
            RecordFields::parse(&record.text).unwrap().category(),
            EventCategory::Insight
        );
    }
}
