//! `forwarder backfill` against moto: an organization trail's files of the last days, two
//! members in two regions, forwarded once each, safely rerun, dry-run, or queued.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, HashMap};

use forwarder::backfill::{Args, Outcome, Progress, run};
use support::harness::*;
use support::{create_queue, moto, receive_bodies, sdk_config_for};
use trailwatch::ForwarderConfig;
use trailwatch::generate::{GeneratedRecord, TrailSpec, now_millis};

const ORGANIZATION: &str = "o-aa11bb22cc";
const MEMBERS: [&str; 2] = ["111122223333", "444455556666"];
const REGIONS: [&str; 2] = ["eu-west-1", "us-east-1"];
const HOUR_MILLIS: i64 = 3_600_000;

/// Files of every member and region delivered 1 to 3 days ago, one delivered 20 days ago
/// (too old for CloudWatch Logs), one after the range, and a digest. Returns the records of
/// the in-range files by stream.
async fn deliver(harness: &Harness) -> BTreeMap<String, Vec<GeneratedRecord>> {
    let now = now_millis();
    let mut by_stream: BTreeMap<String, Vec<GeneratedRecord>> = BTreeMap::new();
    let mut seed = 900;
    for (index, account) in MEMBERS.iter().enumerate() {
        for region in REGIONS {
            for days_ago in [3, 1] {
                seed += 1;
                let mut spec = TrailSpec::recent(seed);
                spec.account_id = (*account).into();
                spec.region = region.into();
                spec.organization_id = Some(ORGANIZATION.into());
                spec.delivery_millis =
                    now - days_ago * 24 * HOUR_MILLIS - index as i64 * HOUR_MILLIS;
                spec.newest_event_millis = spec.delivery_millis - 60_000;
                let (_, _, records) = harness.put_trail_file(&spec, 30_000).await;
                by_stream
                    .entry(format!("{ORGANIZATION}_{account}_CloudTrail_{region}"))
                    .or_default()
                    .extend(records);
            }
        }
    }
    let mut old = TrailSpec::recent(990);
    old.organization_id = Some(ORGANIZATION.into());
    old.delivery_millis = now - 20 * 24 * HOUR_MILLIS;
    old.newest_event_millis = old.delivery_millis - 60_000;
    harness.put_trail_file(&old, 10_000).await;
    let mut later = TrailSpec::recent(991);
    later.organization_id = Some(ORGANIZATION.into());
    later.delivery_millis = now + 2 * HOUR_MILLIS;
    harness.put_trail_file(&later, 10_000).await;
    // A day old, so that it is in the range on any day and left out for being a digest.
    let digest_end = trailwatch::clock::iso_text(now / 1000 - 24 * 3600);
    let digest = format!(
        "AWSLogs/{ORGANIZATION}/{}/CloudTrail-Digest/us-east-1/{}/{}_CloudTrail-Digest_us-east-1_t_us-east-1_{}.json.gz",
        MEMBERS[0],
        digest_end[..10].replace('-', "/"),
        MEMBERS[0],
        digest_end.replace(['-', ':'], "")
    );
    harness.put(&digest, b"{}".to_vec()).await;
    by_stream
}

fn args(harness: &Harness) -> Args {
    let start = trailwatch::clock::iso_text(now_millis() / 1000 - 21 * 86_400);
    Args {
        bucket: harness.bucket.clone(),
        start_time: start,
        ..Args::default()
    }
}

fn config(vars: &[(&str, &str)]) -> ForwarderConfig {
    let vars: HashMap<&str, &str> = vars.iter().copied().collect();
    ForwarderConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string())).unwrap()
}

async fn backfill(args: &Args, config: ForwarderConfig) -> Outcome {
    let sdk = sdk_config_for(&moto().endpoint).await;
    run(args, &sdk, config, now_millis() / 1000, Progress::Quiet)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_forwards_every_record_once_and_a_rerun_forwards_nothing() {
    // Given: the organization's files, and the function's configuration with a checkpoint
    // table.
    let harness = Harness::checkpointed(&moto().endpoint, "backfill", &[]).await;
    let by_stream = deliver(&harness).await;
    let table = "trailwatch-checkpoints-backfill";
    let vars = [
        ("LOG_GROUP_NAME", harness.group.as_str()),
        ("CHECKPOINT_TABLE_NAME", table),
    ];

    // When the last three weeks are backfilled.
    let outcome = backfill(&args(&harness), config(&vars)).await;

    // Then the 8 files in range are forwarded, each record once, in its member's stream; the
    // 20-day-old file is counted too old and not read; the digest and the later file are not
    // backfill's.
    let summary = outcome.summary.as_ref().unwrap();
    assert_balanced(summary);
    let records: usize = by_stream.values().map(Vec::len).sum();
    assert_eq!(
        (outcome.plan.objects.len(), outcome.plan.too_old.len()),
        (8, 1)
    );
    assert_eq!(outcome.plan.parts.len(), 4);
    assert_eq!(summary.forwarded, records as u64);
    assert_eq!(summary.failed_objects, 0);
    assert_eq!(outcome.exit_code(), 0);
    for (stream, records) in &by_stream {
        assert_eq!(harness.events(stream).await, expected(records), "{stream}");
    }

    // And a rerun (as after an interruption) forwards nothing: every file already forwarded.
    let rerun = backfill(&args(&harness), config(&vars)).await;
    let again = rerun.summary.unwrap();
    assert_eq!(again.forwarded, 0);
    assert_eq!(again.already_forwarded_objects, 8);
    for (stream, records) in &by_stream {
        assert_eq!(harness.events(stream).await, expected(records), "{stream}");
    }

    // And a file forwarded before and written again with other content since (CloudTrail
    // never rewrites one: a tamper signal) is counted rewritten, not already forwarded.
    let rewritten = outcome.plan.objects[0].key.clone();
    harness
        .put(&rewritten, trailwatch::generate::gzip(br#"{"Records":[]}"#))
        .await;
    let third = backfill(&args(&harness), config(&vars)).await;
    let third = third.summary.unwrap();
    assert_eq!(
        (third.rewritten_objects, third.already_forwarded_objects),
        (1, 7)
    );

    // And one member's one region alone is those two files.
    let mut narrowed = args(&harness);
    narrowed.accounts = vec![MEMBERS[1].into()];
    narrowed.regions = vec!["eu-west-1".into()];
    narrowed.dry_run = true;
    let only = backfill(&narrowed, config(&vars)).await;
    assert_eq!(only.plan.objects.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_writes_nothing_and_counts_what_would_be_forwarded() {
    let harness = Harness::new("backfill-dry-run").await;
    let by_stream = deliver(&harness).await;
    let mut dry = args(&harness);
    dry.dry_run = true;
    let outcome = backfill(&dry, config(&[("LOG_GROUP_NAME", harness.group.as_str())])).await;
    let summary = outcome.summary.unwrap();
    let records: u64 = by_stream.values().map(|r| r.len() as u64).sum();
    assert!(summary.dry_run);
    assert_eq!(summary.forwarded, records);
    let tallied: u64 = summary.would_forward.iter().map(|w| w.records).sum();
    assert_eq!(tallied, records);
    assert!(
        harness.own_log_groups().await.is_empty(),
        "a dry run created a group"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_a_queue_url_each_file_becomes_one_delivery_message() {
    let harness = Harness::new("backfill-queue").await;
    deliver(&harness).await;
    let queue_url = create_queue(&harness.sqs, "backfill-deliveries").await;
    let mut queued = args(&harness);
    queued.queue_url = Some(queue_url.clone());
    let outcome = backfill(
        &queued,
        config(&[("LOG_GROUP_NAME", harness.group.as_str())]),
    )
    .await;
    assert_eq!(outcome.queued, 8);
    assert!(outcome.summary.is_none(), "nothing forwarded here");
    let mut keys = Vec::new();
    for (_, body) in receive_bodies(&harness.sqs, &queue_url, 8).await {
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["s3Bucket"], harness.bucket.as_str());
        keys.push(body["s3ObjectKey"][0].as_str().unwrap().to_owned());
    }
    keys.sort();
    let mut planned: Vec<String> = outcome.plan.objects.iter().map(|o| o.key.clone()).collect();
    planned.sort();
    assert_eq!(keys, planned);
    // The function reads such a message as it reads CloudTrail's notification.
    let sqs = sqs_event(&[(
        "m1",
        serde_json::json!({"s3Bucket": harness.bucket, "s3ObjectKey": [keys[0]]}).to_string(),
    )]);
    let report = harness.run(&sqs, None).await;
    assert!(report.failed_message_ids.is_empty());
    assert!(report.summary.forwarded > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bucket_that_is_not_a_trail_bucket_is_refused_clearly() {
    let harness = Harness::new("backfill-not-trail").await;
    harness.put("reports/2026/x.csv", b"a,b".to_vec()).await;
    let sdk = sdk_config_for(&moto().endpoint).await;
    let error = run(
        &args(&harness),
        &sdk,
        config(&[("LOG_GROUP_NAME", harness.group.as_str())]),
        now_millis() / 1000,
        Progress::Quiet,
    )
    .await
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "s3://{}/AWSLogs/ holds no CloudTrail account folder: not a trail bucket, or not its --s3-prefix",
            harness.bucket
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_file_fails_alone_and_the_exit_status_says_so() {
    // Given: the organization's files and one more in range that is not gzip.
    let harness = Harness::new("backfill-damaged").await;
    let by_stream = deliver(&harness).await;
    let mut damaged = TrailSpec::recent(995);
    damaged.organization_id = Some(ORGANIZATION.into());
    damaged.delivery_millis = now_millis() - 2 * 24 * HOUR_MILLIS;
    harness.put(&damaged.key(), b"not gzip".to_vec()).await;

    // When
    let outcome = backfill(
        &args(&harness),
        config(&[("LOG_GROUP_NAME", harness.group.as_str())]),
    )
    .await;

    // Then: that file is the one failure, named; every other record arrived once.
    let summary = outcome.summary.as_ref().unwrap();
    assert_eq!(summary.failed_objects, 1);
    let failed: Vec<&str> = summary.failed().map(|o| o.key.as_str()).collect();
    assert_eq!(failed, [damaged.key().as_str()]);
    assert_eq!(outcome.exit_code(), 1);
    for (stream, records) in &by_stream {
        assert_eq!(harness.events(stream).await, expected(records), "{stream}");
    }
}

/// The binary as a person runs it: an `s3://` bucket, a start time in another of the AWS CLI's
/// forms, the emulator through --endpoint-url. What it prints is read: counts with separators
/// and singulars, the file too old to forward named, the dry run's table in each group's class
/// as it is or will be, the estimate; no per-object log lines; the JSON when piped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_a_summary_a_person_reads() {
    let harness = Harness::new("backfill-binary").await;
    let by_stream = deliver(&harness).await;
    let records: u64 = by_stream.values().map(|r| r.len() as u64).sum();
    let start_seconds = now_millis() / 1000 - 21 * 86_400;
    // `2026-11-12 09:15:00`: the AWS CLI's space-separated form.
    let start = trailwatch::clock::iso_text(start_seconds)
        .replace('T', " ")
        .replace('Z', "");
    let bucket = format!("s3://{}", harness.bucket);
    let run = || dry_run_binary(&harness, &bucket, &start);
    let output = run();
    let err = support::text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        err.starts_with("backfill: 8 files (")
            && err.contains(&format!("in 4 account-regions of {bucket}\n")),
        "{err}"
    );
    assert!(
        err.contains("backfill: 1 file (") && err.contains("delivered more than 14 days ago"),
        "{err}"
    );
    // The too-old file is named on the next line.
    let named = err
        .lines()
        .skip_while(|line| !line.contains("more than 14 days ago"))
        .nth(1)
        .unwrap_or_default();
    assert!(named.starts_with("  AWSLogs/o-aa11bb22cc/"), "{err}");
    let total = trailwatch::human::count(records);
    assert!(
        err.contains(&format!(
            "backfill: {total} records: {total} would be forwarded (dry run), 0 filtered"
        )),
        "{err}"
    );
    assert!(
        err.contains("Dry run: what would be forwarded, largest first"),
        "{err}"
    );
    assert!(err.contains("STANDARD (to be created)"), "{err}");
    // Scaled from the range asked (21 days, of which CloudWatch Logs takes the last 14), not
    // from the span of the files found.
    assert!(err.contains("Estimated ingestion: "), "{err}");
    assert!(err.contains("delivered over 14.0 days)"), "{err}");
    assert!(
        !err.contains("INFO") && !err.contains("object"),
        "log lines: {err}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(support::text(&output.stdout).trim()).expect("the summary JSON");
    assert_eq!(summary["dryRun"], true);
    assert_eq!(summary["forwarded"], records);

    // Once the group exists, its own class is reported.
    harness
        .logs
        .create_log_group()
        .log_group_name(&harness.group)
        .log_group_class(aws_sdk_cloudwatchlogs::types::LogGroupClass::InfrequentAccess)
        .send()
        .await
        .unwrap();
    // The class the service reports (moto keeps none and answers STANDARD; AWS answers
    // INFREQUENT_ACCESS).
    let class = harness.own_log_groups().await[0]
        .log_group_class()
        .map_or("STANDARD", |class| class.as_str())
        .to_owned();
    let err = support::text(&run().stderr);
    assert!(!err.contains("(to be created)"), "{err}");
    assert!(err.contains(&format!("  {class}  ")), "{err}");
    assert!(err.contains(&format!("  {class}: ")), "{err}");
}

/// A record the forwarder rejects, in a backfill run from the binary: its warning names the
/// object it is in (the command shows warnings only, and the object's span with them), and the
/// summary line says why records were rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_records_warning_names_its_file() {
    let harness = Harness::new("backfill-rejected").await;
    let mut spec = TrailSpec::recent(997);
    spec.delivery_millis = now_millis() - 24 * HOUR_MILLIS;
    let body =
        trailwatch::generate::gzip(br#"{"Records":[{"eventVersion":"1.08","eventTime":7}]}"#);
    harness.put(&spec.key(), body).await;
    let start = trailwatch::clock::iso_text(now_millis() / 1000 - 2 * 86_400);
    let output = dry_run_binary(&harness, &harness.bucket, &start);
    let err = support::text(&output.stderr);
    let warning = err
        .lines()
        .find(|line| line.contains("invalid record"))
        .unwrap_or_else(|| panic!("no warning: {err}"));
    assert!(warning.contains(&spec.key()), "{warning}");
    // The summary line gives the reason too.
    assert!(err.contains(", 1 rejected (1 invalid); "), "{err}");
}

/// `forwarder backfill --dry-run` from `start`, as a person runs it against the emulator.
fn dry_run_binary(harness: &Harness, bucket: &str, start: &str) -> std::process::Output {
    support::run_binary(
        env!("CARGO_BIN_EXE_forwarder"),
        &[
            "backfill",
            "--s3-bucket",
            bucket,
            "--start-time",
            start,
            "--dry-run",
            "--endpoint-url",
            &moto().endpoint,
        ],
        &[
            ("LOG_GROUP_NAME", harness.group.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
        &["ROUTES", "RUST_LOG", "AWS_PROFILE", "AWS_ENDPOINT_URL"],
    )
}

/// A stack shaped as ours is for backfill: the forwarder function (its environment the
/// configuration), and the outputs backfill reads.
fn stack_template(group: &str) -> String {
    serde_json::json!({
        "Resources": {
            "Role": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
            "ForwarderFunction": {"Type": "AWS::Lambda::Function", "Properties": {
                "Runtime": "python3.12", "Handler": "index.handler", "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return None\n"},
                "Environment": {"Variables": {"LOG_GROUP_NAME": group}}}},
            "DeliveryQueue": {"Type": "AWS::SQS::Queue"}
        },
        "Outputs": {
            "ForwarderFunctionArn": {"Value": {"Fn::GetAtt": ["ForwarderFunction", "Arn"]}},
            "DeliveryQueueUrl": {"Value": {"Ref": "DeliveryQueue"}}
        }
    })
    .to_string()
}

/// `forwarder backfill --stack-name …` from `start`, as a person runs it, with no forwarder
/// variable in the environment.
fn stack_binary(bucket: &str, start: &str, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "backfill",
        "--s3-bucket",
        bucket,
        "--start-time",
        start,
        "--endpoint-url",
        &moto().endpoint,
    ];
    args.extend_from_slice(extra);
    support::run_binary(
        env!("CARGO_BIN_EXE_forwarder"),
        &args,
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
        &[
            "LOG_GROUP_NAME",
            "ROUTES",
            "EVENT_SELECTORS",
            "CHECKPOINT_TABLE_NAME",
            "RUST_LOG",
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_reads_its_configuration_and_queue_from_the_deployed_stack() {
    // Given: an organization's files of the last days, and a stack whose forwarder writes to
    // the harness's group.
    let harness = Harness::new("backfill-stack").await;
    let by_stream = deliver(&harness).await;
    let sdk = sdk_config_for(&moto().endpoint).await;
    let stack = "backfill-stack-deployed";
    aws_sdk_cloudformation::Client::new(&sdk)
        .create_stack()
        .stack_name(stack)
        .template_body(stack_template(&harness.group))
        .send()
        .await
        .unwrap();
    let start = trailwatch::clock::iso_text(now_millis() / 1000 - 4 * 86_400);

    // When: backfilled with the stack's name and nothing else of the configuration.
    let out = stack_binary(&harness.bucket, &start, &["--stack-name", stack]);

    // Then: the function's configuration was used (nothing else names the group): every
    // record in its stream, once.
    let err = support::text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("backfill: the configuration of arn:aws:lambda:us-east-1:")
            && err.contains(&format!("(stack {stack})")),
        "{err}"
    );
    for (stream, records) in &by_stream {
        let events = support::stream_events(&harness.logs, &harness.group, stream).await;
        assert_eq!(events.len(), records.len(), "{stream}");
    }

    // When: sent to the stack's delivery queue instead.
    let queued = stack_binary(
        &harness.bucket,
        &start,
        &["--stack-name", stack, "--via-stack-queue"],
    );
    assert_eq!(
        queued.status.code(),
        Some(0),
        "{}",
        support::text(&queued.stderr)
    );
    let outputs = aws_sdk_cloudformation::Client::new(&sdk)
        .describe_stacks()
        .stack_name(stack)
        .send()
        .await
        .unwrap();
    let queue_url = outputs.stacks()[0]
        .outputs()
        .iter()
        .find(|o| o.output_key() == Some("DeliveryQueueUrl"))
        .and_then(|o| o.output_value())
        .unwrap()
        .to_owned();
    let files: usize = by_stream.len() * 2;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    assert_eq!(receive_bodies(&sqs, &queue_url, files).await.len(), files);

    // A stack that does not exist: in the AWS CLI's words, exit 2.
    let missing = stack_binary(&harness.bucket, &start, &["--stack-name", "nosuch"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        support::text(&missing.stderr).contains("Stack with id nosuch does not exist"),
        "{}",
        support::text(&missing.stderr)
    );
}
