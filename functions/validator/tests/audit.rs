//! `validator audit-logs` against moto, on an organization trail (two members, two regions,
//! each region its own key) forwarded by the forwarder as the template deploys it: a clean
//! range, an event put into a forwarded stream, a stream deleted, and a planted file the
//! forwarder forwarded before any digest could list it.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;
use trailwatch::ForwarderConfig;
use trailwatch::generate::TrailSpec;
use validator::audit::{AuditArgs, audit, render};

/// Forwards every member's file of `trail` into `group`.
async fn forwarded(name: &str) -> (OrganizationTrail, String, ForwarderConfig) {
    let trail = OrganizationTrail::deliver(name).await;
    let sdk = sdk_config_for(&moto().endpoint).await;
    let table = format!("{name}-checkpoints");
    trailwatch_test_support::create_checkpoint_table(&aws_sdk_dynamodb::Client::new(&sdk), &table)
        .await;
    let group = format!("/trailwatch/test/{name}");
    let forwarder = forwarder_on(&table, &group, None).await;
    for (i, ((_, _), (log, _))) in trail.hours.iter().enumerate() {
        let body = serde_json::json!({"s3Bucket": trail.bucket.name, "s3ObjectKey": [log]});
        forward_message(&forwarder, &body.to_string(), &format!("m{i}")).await;
    }
    let config = ForwarderConfig::from_lookup(|variable| {
        (variable == "LOG_GROUP_NAME").then(|| group.clone())
    })
    .unwrap();
    (trail, group, config)
}

/// audit-logs for one member and region over the signed hour, judging events of its first
/// half hour (the delivery delay taken as 30 minutes).
async fn audit_part(
    trail: &OrganizationTrail,
    config: &ForwarderConfig,
    account: &str,
    region: &str,
) -> (i32, String) {
    let args: Vec<String> = [
        "audit-logs",
        "--trail-arn",
        &trail.arn,
        "--start-time",
        &at(0),
        "--end-time",
        &at(HOUR),
        "--account-id",
        account,
        "--region",
        region,
        "--delivery-delay-minutes",
        "30",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let Ok(validator::Command::AuditLogs(parsed)) = validator::cli::parse(&args) else {
        panic!("audit-logs arguments not taken")
    };
    let parsed: AuditArgs = parsed;
    let now = trailwatch::clock::now_seconds();
    let found = audit(&parsed, &trail.clients, REGION, now, config)
        .await
        .unwrap();
    (found.exit_code(), render(&found))
}

/// The stream the forwarder writes `account`'s records of `region` to.
async fn stream_of(trail: &OrganizationTrail, group: &str, account: &str, region: &str) -> String {
    let streams = trail
        .logs
        .describe_log_streams()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    streams
        .log_streams()
        .iter()
        .filter_map(|s| s.log_stream_name())
        .find(|name| name.contains(account) && name.ends_with(region))
        .unwrap()
        .to_owned()
}

/// Puts one event into a stream, as anyone with logs:PutLogEvents can.
async fn put_event(trail: &OrganizationTrail, group: &str, stream: &str, at: i64, message: &str) {
    trail
        .logs
        .put_log_events()
        .log_group_name(group)
        .log_stream_name(stream)
        .log_events(
            aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                .timestamp(at * 1000)
                .message(message)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clean_hour_is_every_signed_record_exactly_once_and_an_injected_event_is_named() {
    let (trail, group, config) = forwarded("audit-injected").await;
    // A clean part.
    let (code, out) = audit_part(&trail, &config, MEMBERS[0], "us-east-1").await;
    assert_eq!(code, 0, "{out}");
    let summary = out.lines().find(|l| l.contains("signed records")).unwrap();
    let (found, of) = summary.split_once(' ').unwrap().0.split_once('/').unwrap();
    assert_eq!(found, of, "{out}");
    assert!(found.parse::<u64>().unwrap() > 10, "{out}");

    // When: someone with logs:PutLogEvents adds a CloudTrail-shaped record to the stream.
    let stream = stream_of(&trail, &group, MEMBERS[0], "us-east-1").await;
    let fake = format!(
        r#"{{"eventVersion":"1.09","eventTime":"{}","eventName":"StopLogging","eventID":"fa4e0000-0000-4000-8000-000000000001"}}"#,
        at(400)
    );
    put_event(&trail, &group, &stream, t0() + 400, &fake).await;
    // Then: exit 1, naming the event, its place and its eventID.
    let (code, out) = audit_part(&trail, &config, MEMBERS[0], "us-east-1").await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains(&format!(
            "Unsigned\t{group} {stream}\tan event at {} (eventID fa4e0000-0000-4000-8000-000000000001)",
            at(400)
        )),
        "{out}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_stream_names_its_records_and_a_planted_file_its_events() {
    let (trail, group, config) = forwarded("audit-deleted").await;
    // A stream deleted.
    let stream = stream_of(&trail, &group, MEMBERS[1], "eu-west-1").await;
    trail
        .logs
        .delete_log_stream()
        .log_group_name(&group)
        .log_stream_name(&stream)
        .send()
        .await
        .unwrap();
    let (code, out) = audit_part(&trail, &config, MEMBERS[1], "eu-west-1").await;
    assert_eq!(code, 1, "{out}");
    let log = trail.log_file(MEMBERS[1], "eu-west-1");
    let missing: Vec<&str> = out.lines().filter(|l| l.starts_with("Missing\t")).collect();
    assert!(!missing.is_empty(), "{out}");
    assert!(
        missing.iter().all(
            |l| l.contains(&format!("s3://{}/{log} record ", trail.bucket.name))
                && l.contains(" (eventID ")
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("\n0/{} signed records", missing.len())),
        "{out}"
    );

    // A file planted in the other member's us-east-1 folder, and forwarded (its key is
    // CloudTrail's shape): its records are in no signed file, and no digest lists it.
    let mut spec = TrailSpec::recent(77);
    spec.account_id = MEMBERS[0].into();
    spec.region = "us-east-1".into();
    spec.organization_id = trail
        .log_file(MEMBERS[0], "us-east-1")
        .split('/')
        .nth(1)
        .map(str::to_owned);
    let (planted, inflated) = trail.bucket.put_log_file(spec, t0() + 900).await;
    let planted_records =
        serde_json::from_slice::<serde_json::Value>(&inflated).unwrap()["Records"]
            .as_array()
            .unwrap()
            .len();
    let forwarder = forwarder_on("audit-deleted-checkpoints", &group, None).await;
    let body = serde_json::json!({"s3Bucket": trail.bucket.name, "s3ObjectKey": [planted]});
    forward_message(&forwarder, &body.to_string(), "planted").await;
    let (code, out) = audit_part(&trail, &config, MEMBERS[0], "us-east-1").await;
    // Then: each of its records is named unsigned (the hour's "not listed in any digest" check
    // waits for the next digest; the audit does not).
    assert_eq!(code, 1, "{out}");
    let unsigned = out.lines().filter(|l| l.starts_with("Unsigned\t")).count();
    assert_eq!(unsigned, planted_records, "{out}");
    let summary = out.lines().find(|l| l.contains("signed records")).unwrap();
    let (found, of) = summary.split_once(' ').unwrap().0.split_once('/').unwrap();
    assert_eq!(found, of, "the signed records are all there: {out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_functions_audit_request_counts_the_same_as_the_command() {
    // Given: the organization forwarded, then one event put into a member's stream.
    let (trail, group, config) = forwarded("audit-function").await;
    let stream = stream_of(&trail, &group, MEMBERS[1], "us-east-1").await;
    put_event(
        &trail,
        &group,
        &stream,
        t0() + 300,
        r#"{"eventID":"fa4e0000-0000-4000-8000-000000000002","eventName":"PutBucketPolicy"}"#,
    )
    .await;
    // When: the validator function is asked to audit the hour, every account and region.
    let mut validator = trail.validator();
    validator.core.audit = Some(trailwatch::audit::AuditSettings {
        routes: std::sync::Arc::new(config.routes.clone()),
        allowed_accounts: config.allowed_accounts.clone(),
        max_decompressed_bytes: config.max_decompressed_bytes,
        delivery_delay_seconds: 30 * 60,
    });
    let request = serde_json::json!({"auditLogs": {"trailArn": trail.arn,
        "startTime": at(0), "endTime": at(HOUR)}});
    let answer = invoke(&validator, request).await.unwrap();
    // Then: four parts audited; one unsigned event, in the member's part, named.
    let audits = answer["audits"].as_array().unwrap();
    assert_eq!(audits.len(), 4, "{answer}");
    let findings: Vec<&str> = audits
        .iter()
        .flat_map(|a| a["findings"].as_array().unwrap())
        .map(|f| f.as_str().unwrap())
        .collect();
    assert_eq!(findings.len(), 1, "{answer}");
    assert!(
        findings[0].starts_with(&format!("Unsigned\t{group} {stream}\t")),
        "{answer}"
    );
    assert!(
        findings[0].contains("fa4e0000-0000-4000-8000-000000000002"),
        "{answer}"
    );
    for audit in audits {
        assert_eq!(audit["signedEvents"], audit["exactlyOnce"], "{audit}");
    }
    // The command says the same of that part.
    let (code, out) = audit_part(&trail, &config, MEMBERS[1], "us-east-1").await;
    assert_eq!(code, 1, "{out}");
    assert!(out.contains(findings[0]), "{out}");
}
