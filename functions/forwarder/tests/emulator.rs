//! The forwarder's handler against a real moto server: S3 objects in, CloudWatch Logs out.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use support::harness::*;
use trailwatch::generate::{Content, GeneratedRecord, TrailSpec, now_millis, write_log_file};
use trailwatch::logs::LogGroupClass;
use trailwatch_test_support::proxy;

const DAY_MILLIS: i64 = 86_400_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_record_arrives_once_byte_identical_in_the_right_stream() {
    // Given: a trail file under a prefix with a space, an organization trail's file whose
    // records span 30 hours, a digest file and AWS Config's check file.
    let harness = Harness::new("forward-all").await;
    let mut plain = TrailSpec::recent(1);
    plain.prefix = Some("audit trail".into());
    let mut org = TrailSpec::recent(2);
    org.organization_id = Some("o-aa11bb22cc".into());
    org.account_id = "444455556666".into();
    org.region = "eu-west-1".into();
    org.event_spread_millis = 30 * 3_600_000;
    let (plain_key, plain_size, plain_records) = harness.put_trail_file(&plain, 2_500_000).await;
    let (org_key, org_size, org_records) = harness.put_trail_file(&org, 300_000).await;
    let digest = harness
        .put("AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/25/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20261125T120000Z.json.gz", b"{}".to_vec())
        .await;
    let config_check = harness
        .put(
            "AWSLogs/111122223333/Config/ConfigWritabilityCheckFile",
            Vec::new(),
        )
        .await;

    // When
    let summary = harness
        .invoke(&[
            (plain_key, plain_size),
            (org_key, org_size),
            digest,
            config_check,
        ])
        .await;

    // Then
    assert_balanced(&summary);
    let total = (plain_records.len() + org_records.len()) as u64;
    assert_eq!(
        (summary.records, summary.forwarded, summary.rejected),
        (total, total, 0)
    );
    assert_eq!((summary.skipped_objects, summary.failed_objects), (2, 0));
    assert_eq!(summary.objects[0].kind.as_str(), "log");
    assert_eq!(summary.objects[2].kind.as_str(), "digest");
    assert_eq!(summary.objects[3].kind.as_str(), "other");
    let plain_stream = "111122223333_CloudTrail_us-east-1";
    let org_stream = "o-aa11bb22cc_444455556666_CloudTrail_eu-west-1";
    assert_eq!(
        support::stream_names(&harness.logs, &harness.group).await,
        vec![plain_stream, org_stream]
    );
    assert_eq!(harness.events(plain_stream).await, expected(&plain_records));
    assert_eq!(harness.events(org_stream).await, expected(&org_records));
}

/// Records whose text needs escaping in every way JSON allows, and whose fields are spelled
/// with escapes: each arrives as its exact text, in the stream its fields name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_that_need_escaping_arrive_byte_identical() {
    // Given: records with escaped quotes and backslashes, raw and escaped non-ASCII, escaped
    // control characters, an escaped key and an escaped field value, in one file.
    let harness = Harness::new("escaping").await;
    let time = trailwatch::generate::iso_seconds(now_millis() - 60_000);
    let records = [
        format!(
            r#"{{"eventTime":"{time}","eventName":"PutBucketPolicy","recipientAccountId":"111122223333","awsRegion":"us-east-1","requestParameters":{{"bucketPolicy":"{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Sid\":\"a\\\\b\"}}]}}"}}}}"#
        ),
        format!(
            r#"{{"eventTime":"{time}","userAgent":"é ü 漢字 🙂 \u00e9 \ud83d\ude42","recipientAccountId":"111122223333","awsRegion":"us-east-1","errorMessage":"line\nbreak\ttab\r\b\f\u0000\u001f\/ </script>"}}"#
        ),
        format!(
            r#"{{"event\u0054ime":"{time}","eventName":"Run\u0049nstances","recipientAccountId":"\u0031\u0031\u0031\u0031\u0032\u0032\u0033\u0033\u0034\u0034\u0035\u0035","awsRegion":"eu-west-1"}}"#
        ),
        format!(
            "{{ \"eventTime\" : \"{time}\" ,\n\t\"recipientAccountId\":\"111122223333\", \"awsRegion\":\"us-east-1\", \"n\": [ -1.5e3 , 0 , true , null , {{ }} ] }}"
        ),
    ];
    let text = format!("{{\"Records\":[{}]}}", records.join(","));
    let key = TrailSpec::recent(7).key();
    let object = harness
        .put(&key, trailwatch::generate::gzip(text.as_bytes()))
        .await;

    // When
    let summary = harness.invoke(&[object]).await;

    // Then: the escaped account (`\u0031…`) names its stream as the plain one would.
    assert_balanced(&summary);
    assert_eq!((summary.records, summary.forwarded), (4, 4));
    let millis = trailwatch::trail::RecordFields::parse(&records[0])
        .unwrap()
        .event_time_millis()
        .unwrap();
    let arrived = |indexes: &[usize]| {
        indexes
            .iter()
            .map(|&i| (millis, records[i].clone()))
            .collect::<std::collections::BTreeSet<_>>()
    };
    assert_eq!(
        harness.events("111122223333_CloudTrail_us-east-1").await,
        arrived(&[0, 1, 3])
    );
    assert_eq!(
        harness.events("111122334455_CloudTrail_eu-west-1").await,
        arrived(&[2])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn records_older_than_14_days_are_rejected_not_forwarded() {
    // Given: an existing group, and a file of records from 20 days ago.
    let harness = Harness::new("too-old").await;
    harness
        .logs
        .create_log_group()
        .log_group_name(&harness.group)
        .send()
        .await
        .unwrap();
    let mut old = TrailSpec::recent(3);
    old.newest_event_millis = now_millis() - 20 * DAY_MILLIS;
    let (key, size, records) = harness.put_trail_file(&old, 50_000).await;

    // When
    let summary = harness.invoke(&[(key, size)]).await;

    // Then
    assert_balanced(&summary);
    let object = &summary.objects[0];
    let count = records.len() as u64;
    assert_eq!(
        (object.records, object.forwarded, object.rejected),
        (count, 0, count)
    );
    assert_eq!(object.rejected_reasons.too_old, count);
    assert!(
        harness
            .events("111122223333_CloudTrail_us-east-1")
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_objects_fail_clearly_while_the_others_are_delivered() {
    // Given: a good file, an object that is not gzip and a truncated gzip file.
    let harness = Harness::new("bad-objects").await;
    let good = TrailSpec::recent(4);
    let (good_key, good_size, good_records) = harness.put_trail_file(&good, 200_000).await;
    let mut cut = TrailSpec::recent(5);
    cut.account_id = "222233334444".into();
    let mut whole = Vec::new();
    let written = write_log_file(&cut, 400_000, &mut whole).unwrap();
    let cut_records: Vec<GeneratedRecord> = cut.records().take(written.records as usize).collect();
    whole.truncate(whole.len() / 2);
    let truncated = harness.put(&cut.key(), whole).await;
    let mut plain = TrailSpec::recent(6);
    plain.account_id = "333344445555".into();
    let not_gzip = harness
        .put(&plain.key(), br#"{"Records":[]}"#.to_vec())
        .await;

    // When
    let objects = [truncated.clone(), (good_key, good_size), not_gzip.clone()];
    let failed = harness
        .invoke_handler(s3_event(&harness.bucket, &objects))
        .await
        .unwrap_err();

    // Then: the failure names both bad objects and why; the good file arrived whole.
    assert!(matches!(
        failed,
        forwarder::HandlerError::ObjectsFailed { count: 2, .. }
    ));
    let message = failed.to_string();
    assert!(
        message.contains(&truncated.0) && message.contains("truncated or corrupt"),
        "{message}"
    );
    assert!(
        message.contains(&not_gzip.0) && message.contains("not gzip"),
        "{message}"
    );
    assert_eq!(
        harness.events("111122223333_CloudTrail_us-east-1").await,
        expected(&good_records)
    );
    // What was read of the truncated file before the cut arrived unaltered, and nothing else.
    let partial = harness.events("222233334444_CloudTrail_us-east-1").await;
    assert!(!partial.is_empty());
    assert!(partial.is_subset(&expected(&cut_records)));
    assert!(
        support::stream_names(&harness.logs, &harness.group)
            .await
            .len()
            == 2
    );
}

/// The shipped sample: management events to one group, S3 and Lambda data events to another
/// (one stream per account and source), Insights events to a third; everything else filtered.
/// Group names get a prefix per test so tests do not share groups.
fn three_routes(prefix: &str) -> String {
    include_str!("../../../events/config/routes-three-groups.json")
        .replace("/trailwatch/", &format!("/trailwatch/{prefix}/"))
}

/// The route a record should take, decided from its JSON independently of the selector code.
fn expected_route(record: &GeneratedRecord) -> Option<&'static str> {
    let value: serde_json::Value = serde_json::from_str(&record.text).unwrap();
    let has_type = |wanted: &str| {
        value["resources"]
            .as_array()
            .is_some_and(|resources| resources.iter().any(|r| r["type"] == wanted))
    };
    match value["eventCategory"].as_str() {
        Some("Management") => Some("management"),
        Some("Data") if has_type("AWS::S3::Object") || has_type("AWS::Lambda::Function") => {
            Some("data")
        }
        Some("Insight") => Some("insights"),
        _ => None,
    }
}

async fn put_mixed_files(
    harness: &Harness,
) -> (
    Vec<(String, usize)>,
    Vec<GeneratedRecord>,
    Vec<GeneratedRecord>,
) {
    let logs = TrailSpec::recent(31);
    let mut insights = TrailSpec::recent(32);
    insights.content = Content::Insight;
    let (log_key, log_size, log_records) = harness.put_trail_file(&logs, 600_000).await;
    let (insight_key, insight_size, insight_records) =
        harness.put_trail_file(&insights, 20_000).await;
    (
        vec![(log_key, log_size), (insight_key, insight_size)],
        log_records,
        insight_records,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_file_lands_in_three_groups_by_route() {
    // Given: a log file of every category and an Insights file, three routes (data events to
    // an Infrequent Access group), a 30-day retention, and no group yet; a proxy records the
    // CreateLogGroup calls (moto keeps no class).
    let created = Arc::new(Mutex::new(Vec::new()));
    let recorder = Arc::clone(&created);
    let rule: proxy::Rule = Arc::new(move |seen| {
        if seen.target.ends_with(".CreateLogGroup") {
            let body: serde_json::Value = serde_json::from_slice(seen.body).unwrap();
            recorder.lock().unwrap().push(body);
        }
        None
    });
    let endpoint = proxy::start(&support::moto().endpoint, rule).await;
    let harness = Harness::through(
        &endpoint,
        "routed",
        "/trailwatch/routed/management",
        &[
            ("ROUTES", &three_routes("routed")),
            ("RETENTION_IN_DAYS", "30"),
        ],
    )
    .await;
    let (objects, log_records, insight_records) = put_mixed_files(&harness).await;

    // When
    let summary = harness.invoke(&objects).await;

    // Then: each group holds exactly its records, once, unaltered; the rest are filtered.
    assert_balanced(&summary);
    let all: Vec<&GeneratedRecord> = log_records.iter().chain(&insight_records).collect();
    let of = |route: &str| -> Vec<GeneratedRecord> {
        all.iter()
            .filter(|r| expected_route(r) == Some(route))
            .map(|r| (*r).clone())
            .collect()
    };
    let (management, data, insights) = (of("management"), of("data"), of("insights"));
    let filtered = all.len() - management.len() - data.len() - insights.len();
    assert!(!management.is_empty() && !data.is_empty() && !insights.is_empty() && filtered > 0);
    assert_eq!(summary.records, all.len() as u64);
    assert_eq!(summary.filtered, filtered as u64);
    assert_eq!(
        summary.forwarded,
        (management.len() + data.len() + insights.len()) as u64
    );
    assert_eq!(summary.objects[1].kind.as_str(), "insight");

    let stream = "111122223333_CloudTrail_us-east-1";
    assert_eq!(
        harness
            .events_in("/trailwatch/routed/management", stream)
            .await,
        expected(&management)
    );
    assert_eq!(
        harness
            .events_in("/trailwatch/routed/insights", stream)
            .await,
        expected(&insights)
    );
    let data_group = "/trailwatch/routed/data";
    let mut landed = harness
        .events_in(data_group, "111122223333_s3.amazonaws.com")
        .await;
    landed.extend(
        harness
            .events_in(data_group, "111122223333_lambda.amazonaws.com")
            .await,
    );
    assert_eq!(landed, expected(&data));

    // And each group was created with its route's class, then given the retention.
    let mut classes: Vec<(String, String)> = created
        .lock()
        .unwrap()
        .iter()
        .map(|body| {
            let text = |field: &str| body[field].as_str().unwrap_or_default().to_owned();
            (text("logGroupName"), text("logGroupClass"))
        })
        .collect();
    classes.sort();
    assert_eq!(
        classes,
        [
            ("/trailwatch/routed/data".into(), "INFREQUENT_ACCESS".into()),
            ("/trailwatch/routed/insights".into(), "STANDARD".into()),
            ("/trailwatch/routed/management".into(), "STANDARD".into()),
        ]
    );
    let groups = harness
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/trailwatch/routed/")
        .send()
        .await
        .unwrap();
    let retention: Vec<Option<i32>> = groups
        .log_groups()
        .iter()
        .map(|g| g.retention_in_days())
        .collect();
    assert_eq!(retention, [Some(30), Some(30), Some(30)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_nothing_and_reports_what_would_be_forwarded() {
    // Given
    let harness = Harness::with_config(
        "dry-run",
        "/trailwatch/dry-run/none",
        &[("ROUTES", &three_routes("dry-run")), ("DRY_RUN", "true")],
    )
    .await;
    let (objects, log_records, insight_records) = put_mixed_files(&harness).await;

    // When
    let summary = harness.invoke(&objects).await;

    // Then: the counts are those of a real run; CloudWatch Logs has no group at all.
    assert!(summary.dry_run);
    assert_balanced(&summary);
    let all: Vec<&GeneratedRecord> = log_records.iter().chain(&insight_records).collect();
    let routed = all.iter().filter(|r| expected_route(r).is_some()).count() as u64;
    assert_eq!(summary.forwarded, routed);
    let tallied: u64 = summary.would_forward.iter().map(|w| w.records).sum();
    assert_eq!(tallied, routed);
    let management_bytes: u64 = all
        .iter()
        .filter(|r| expected_route(r) == Some("management"))
        .map(|r| r.text.len() as u64 + 26)
        .sum();
    let tallied_bytes: u64 = summary
        .would_forward
        .iter()
        .filter(|w| w.route == "management")
        .map(|w| w.bytes)
        .sum();
    assert_eq!(tallied_bytes, management_bytes);
    // Each route's class beside its bytes: what they cost to ingest.
    for entry in &summary.would_forward {
        let class = if entry.route == "data" {
            LogGroupClass::InfrequentAccess
        } else {
            LogGroupClass::Standard
        };
        assert_eq!(entry.log_group_class, class, "{entry:?}");
    }
    let groups = harness
        .logs
        .describe_log_groups()
        .log_group_name_prefix("/trailwatch/dry-run")
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty());
}

/// Aggregated events (5-minute summaries of data events, `CloudTrail-Aggregated/`): an
/// organization member's file, in the three template shapes, forwarded by the default route
/// into the member's stream, each event at its window's start, byte-identical.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aggregated_events_arrive_in_their_accounts_stream_at_their_window_start() {
    let harness = Harness::new("aggregated").await;
    let mut spec = TrailSpec::recent(71);
    spec.content = Content::Aggregated;
    spec.organization_id = Some("o-aa11bb22cc".into());
    spec.account_id = "444455556666".into();
    spec.region = "eu-west-1".into();
    let (key, size, records) = harness.put_trail_file(&spec, 60_000).await;
    assert!(key.contains("/CloudTrail-Aggregated/eu-west-1/"), "{key}");

    let summary = harness.invoke(&[(key, size)]).await;

    assert_balanced(&summary);
    let object = &summary.objects[0];
    assert_eq!(object.kind.as_str(), "aggregated");
    assert_eq!(object.forwarded, records.len() as u64);
    let events = harness
        .events("o-aa11bb22cc_444455556666_CloudTrail_eu-west-1")
        .await;
    let expected: std::collections::BTreeSet<(i64, String)> = records
        .iter()
        .map(|r| (r.event_time_millis, r.text.clone()))
        .collect();
    assert_eq!(events, expected);
    assert!(events.iter().all(|(time, _)| time % 300_000 == 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_the_forwarder_creates_is_encrypted_with_the_configured_key_and_keeps_its_events() {
    // Given: the destination group does not exist (deleted by hand), and the forwarder is
    // configured with the stack's log group key.
    let group = "/trailwatch/test/created-encrypted";
    let key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let harness = Harness::with_config(
        "created-encrypted",
        group,
        &[("LOG_GROUP_NAME", group), ("LOG_GROUP_KMS_KEY_ARN", key)],
    )
    .await;
    let (key_name, size, records) = harness.put_trail_file(&TrailSpec::recent(61), 20_000).await;
    // When
    let summary = harness.invoke(&[(key_name, size)]).await;
    // Then: the group is back, under the key, with no retention set.
    assert_eq!(summary.forwarded, records.len() as u64);
    let created = harness.own_log_groups().await;
    assert_eq!(created.len(), 1);
    assert_eq!(created[0].kms_key_id(), Some(key));
    assert_eq!(created[0].retention_in_days(), None);
}
