//! Provenance against moto: what the forwarder sent to CloudWatch Logs is reconciled, file by file, with what
//! CloudTrail signed, and a lost file is repaired.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_cloudwatch_logs_holds_is_reconciled_with_what_cloudtrail_signed_and_a_lost_file_repaired()
 {
    // Given: an organization trail (two members, two regions, each region its own key); the
    // forwarder and the validator share a checkpoint table. Of the four log files, one is
    // forwarded untouched, one modified in S3 before it was forwarded, one modified after,
    // and one's notification never reaches the forwarder.
    let trail = OrganizationTrail::deliver("provenance-organization").await;
    let sdk = sdk_config_for(&moto().endpoint).await;
    let table = "provenance-checkpoints";
    trailwatch_test_support::create_checkpoint_table(&aws_sdk_dynamodb::Client::new(&sdk), table)
        .await;
    let destination = "/trailwatch/test/provenance-destination";
    let forwarder = forwarder_on(table, destination, None).await;
    // The untouched file goes through selectors that take none of its records (data events
    // of one bucket only): forwarded as signed, with every record filtered.
    let filtering = forwarder_on(
        table,
        destination,
        Some(r#"[{"ReadWriteType": "All", "IncludeManagementEvents": false, "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::no-such-bucket/"]}]}]"#),
    )
    .await;
    let bucket = trail.bucket.name.clone();
    let file = |account: &str, region: &str| trail.log_file(account, region);
    let intact = file(MEMBERS[0], "us-east-1");
    let modified_before = file(MEMBERS[0], "eu-west-1");
    let modified_after = file(MEMBERS[1], "us-east-1");
    let dropped = file(MEMBERS[1], "eu-west-1");
    let notification =
        |key: &str| serde_json::json!({"s3Bucket": bucket, "s3ObjectKey": [key]}).to_string();
    let other_content = gzip(
        format!(
            r#"{{"Records":[{{"eventTime":"{}","eventName":"Planted","eventCategory":"Management"}}]}}"#,
            at(300)
        )
        .as_bytes(),
    );
    trail
        .bucket
        .put_plain(&modified_before, other_content.clone())
        .await;
    forward_message(&filtering, &notification(&intact), "m0").await;
    for (i, key) in [&modified_before, &modified_after].into_iter().enumerate() {
        forward_message(&forwarder, &notification(key), &format!("m{}", i + 1)).await;
    }
    trail.bucket.put_plain(&modified_after, other_content).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let repair_queue = create_queue(&sqs, "provenance-repairs").await;
    let repairs = || validator::aws::sqs::SqsRepairQueue {
        client: sqs.clone(),
        queue_url: repair_queue.clone(),
    };
    let table_reader = || trailwatch::aws::checkpoints::DynamoCheckpoints::new(&sdk, table);

    // When: checked within a grace longer than the digests' age, the lost file is pending.
    let patient = reconciling(&trail, table_reader(), 100 * 365 * 86_400, Some(repairs()));
    let pending = invoke(&patient, trail.range()).await.unwrap();
    assert_eq!(pending["counts"]["logFilesForwardPending"], 1, "{pending}");
    assert_eq!(pending["counts"]["repairsSent"], 0);

    // When: checked after the grace.
    let validator = reconciling(&trail, table_reader(), 3600, Some(repairs()));
    let checked = invoke(&validator, trail.range()).await.unwrap();

    // Then: each file's status, both facts for the file modified after it was forwarded.
    let counts = &checked["counts"];
    assert_eq!(
        (
            counts["logFilesForwarded"].as_u64(),
            counts["logFilesForwardedDiffers"].as_u64(),
            counts["logFilesNotForwarded"].as_u64(),
            counts["repairsSent"].as_u64(),
        ),
        (Some(2), Some(1), Some(1), Some(1)),
        "{checked}"
    );
    let invalid: Vec<&str> = checked["invalid"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line.as_str().unwrap())
        .collect();
    assert!(invalid.iter().any(|line| line.starts_with("Forwarded\t")
        && line.contains(&modified_before)
        && line.contains("DIFFERS from what CloudTrail signed")));
    assert!(invalid.iter().any(|line| *line
        == format!(
            "Not forwarded\ts3://{bucket}/{dropped}\tthe checkpoint table has no record of it"
        )));
    // `validator status` names what to act on, by account and region: exit 1.
    let (code, out) = status(&trail, &[]);
    assert_eq!(code, Some(1), "{out}");
    let verdict = out.lines().last().unwrap();
    assert!(verdict.starts_with("NOT WELL in "), "{out}");
    for problem in [
        "1 log file INVALID",
        "1 log file not forwarded",
        "1 log file forwarded from other content than CloudTrail signed",
    ] {
        assert!(verdict.contains(problem), "{problem} in {out}");
    }
    // A trail the validator never saw: it has not run for it.
    let other = OrganizationTrail {
        arn: trail
            .arn
            .replace("trail/provenance", "trail/never-validated"),
        ..trail
    };
    let (code, out) = status(&other, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.starts_with(
            "No verdicts of the validator for trail never-validated-organization-trail"
        ),
        "{out}"
    );
    let trail = other;
    let trail = OrganizationTrail {
        arn: trail
            .arn
            .replace("trail/never-validated", "trail/provenance"),
        ..trail
    };
    // The command, for the member and region of the lost file: exit 1 with the table.
    let command = |extra: &[&str]| {
        let mut args: Vec<String> = [
            "validate-logs",
            "--trail-arn",
            &trail.arn,
            "--start-time",
            &at(0),
            "--end-time",
            &at(HOUR),
            "--account-id",
            MEMBERS[1],
            "--region",
            "eu-west-1",
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.extend(extra.iter().map(|a| a.to_string()));
        args
    };
    let now = trailwatch::clock::now_seconds();
    let with_table = command(&["--checkpoint-table", table]);
    assert_eq!(
        validator::cli::run(&command(&[]), &trail.clients, REGION, now).await,
        0
    );
    assert_eq!(
        validator::cli::run(&with_table, &trail.clients, REGION, now).await,
        1
    );
    let stream = format!(
        "{}_CloudTrail-Digest_us-east-1_provenance-organization-trail",
        MEMBERS[1]
    );
    let events = stream_events(&trail.logs, &trail.group, &stream).await;
    let after: serde_json::Value = events
        .iter()
        .map(|(_, message)| serde_json::from_str::<serde_json::Value>(message).unwrap())
        .find(|event| event["subject"] == "forwarding" && event["key"] == modified_after.as_str())
        .expect("the reconciliation event of the file modified after it was forwarded");
    assert_eq!(after["status"], "forwarded");
    let (intact_body, _) = trail.bucket.get(&intact).await;
    let intact_records = records_in(&intact_body);
    let intact_stream = format!(
        "{}_CloudTrail-Digest_us-east-1_provenance-organization-trail",
        MEMBERS[0]
    );
    let intact_line = stream_events(&trail.logs, &trail.group, &intact_stream)
        .await
        .into_iter()
        .map(|(_, message)| serde_json::from_str::<serde_json::Value>(&message).unwrap())
        .find(|event| event["subject"] == "forwarding" && event["key"] == intact.as_str())
        .expect("the reconciliation event of the filtered file");
    assert_eq!(intact_line["status"], "forwarded");
    assert_eq!(
        intact_line["verdict"],
        format!(
            "Forwarded\ts3://{bucket}/{intact}\t{intact_records} records: 0 forwarded, {intact_records} filtered, 0 rejected"
        )
    );
    assert_eq!(after["s3Status"], "hashMismatch");
    assert!(
        after["verdict"]
            .as_str()
            .unwrap()
            .ends_with("but what the forwarder sent to CloudWatch Logs is what CloudTrail signed")
    );

    // And the repair: one notification for the lost file, which the forwarder takes (twice,
    // as SQS may deliver it); the next check finds every file forwarded, nothing sent.
    let sent = receive_bodies(&sqs, &repair_queue, 1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].1, notification(&dropped));
    forward_message(&forwarder, &sent[0].1, "repair-1").await;
    forward_message(&forwarder, &sent[0].1, "repair-2").await;
    let healed = invoke(&validator, trail.range()).await.unwrap();
    assert_eq!(
        (
            healed["counts"]["logFilesNotForwarded"].as_u64(),
            healed["counts"]["logFilesForwarded"].as_u64(),
            healed["counts"]["repairsSent"].as_u64()
        ),
        (Some(0), Some(3), Some(0)),
        "{healed}"
    );
    let (body, _) = trail.bucket.get(&dropped).await;
    let organization = dropped.split('/').nth(1).unwrap();
    let healed_stream = format!("{organization}_{}_CloudTrail_eu-west-1", MEMBERS[1]);
    let delivered = stream_events(&trail.logs, destination, &healed_stream).await;
    assert_eq!(delivered.len(), records_in(&body), "each record once");
    assert_eq!(
        validator::cli::run(&with_table, &trail.clients, REGION, now).await,
        0
    );

    // And a table that throttles every read: not checked, never "not forwarded", no repair.
    let throttling = trailwatch_test_support::proxy::start(
        &moto().endpoint,
        Arc::new(|seen: &trailwatch_test_support::proxy::Seen<'_>| {
            seen.target
                .ends_with("BatchGetItem")
                .then_some(trailwatch_test_support::proxy::Fault::ThroughputExceeded)
        }),
    )
    .await;
    let throttled_reader = trailwatch::aws::checkpoints::DynamoCheckpoints::new(
        &sdk_config_for(&throttling).await,
        table,
    );
    let blind = reconciling(&trail, throttled_reader, 3600, Some(repairs()));
    let error = invoke(&blind, trail.range()).await.unwrap_err();
    assert!(
        matches!(
            error,
            validator::HandlerError(trailwatch::validator::InvocationError::Incomplete { .. })
        ),
        "{error}"
    );
    let left = sqs
        .receive_message()
        .queue_url(&repair_queue)
        .send()
        .await
        .unwrap();
    assert!(left.messages().is_empty(), "a repair was sent blind");
}

/// `validator status` for the trail, run as a person runs it, against moto: (exit code, stdout).
fn status(trail: &OrganizationTrail, extra: &[&str]) -> (Option<i32>, String) {
    let mut args = vec![
        "status",
        "--trail-arn",
        &trail.arn,
        "--log-group",
        &trail.group,
        "--endpoint-url",
        &moto().endpoint,
    ];
    args.extend_from_slice(extra);
    let out = trailwatch_test_support::run_binary(
        env!("CARGO_BIN_EXE_validator"),
        &args,
        &[
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "testing"),
            ("AWS_SECRET_ACCESS_KEY", "testing"),
        ],
        &[
            "AWS_PROFILE",
            "AWS_ENDPOINT_URL",
            "INTEGRITY_LOG_GROUP_NAME",
            "AWS_LAMBDA_RUNTIME_API",
        ],
    );
    let stdout = trailwatch_test_support::text(&out.stdout);
    let stderr = trailwatch_test_support::text(&out.stderr);
    assert!(stderr.is_empty(), "{stderr}");
    (out.status.code(), stdout)
}

/// The next message of `queue_url` within `seconds`, as Lambda's SQS integration hands it over.
async fn receive_within(
    sqs: &aws_sdk_sqs::Client,
    queue_url: &str,
    seconds: u64,
) -> Option<aws_sdk_sqs::types::Message> {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < until {
        let received = sqs
            .receive_message()
            .queue_url(queue_url)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        if let Some(message) = received.messages().first() {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
            return Some(message.clone());
        }
    }
    None
}

fn lambda_event(message: &aws_sdk_sqs::types::Message) -> serde_json::Value {
    serde_json::json!({"Records": [{"messageId": message.message_id(), "body": message.body(),
        "eventSource": "aws:sqs"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_notification_is_repaired_by_its_digests_recheck_without_a_range() {
    // Given: an organization trail (two members, two regions); the forwarder forwarded each
    // log file but one, whose notification was lost. The validator as the template deploys
    // it: the digest queue (for rechecks), the forwarder's queue (for repairs), and a grace
    // that ends seconds after the digest is validated.
    let trail = OrganizationTrail::deliver("recheck-organization").await;
    let sdk = sdk_config_for(&moto().endpoint).await;
    let table = "recheck-checkpoints";
    trailwatch_test_support::create_checkpoint_table(&aws_sdk_dynamodb::Client::new(&sdk), table)
        .await;
    let forwarder = forwarder_on(table, "/trailwatch/test/recheck-destination", None).await;
    let bucket = trail.bucket.name.clone();
    let notification =
        |key: &str| serde_json::json!({"s3Bucket": bucket, "s3ObjectKey": [key]}).to_string();
    let lost = (MEMBERS[1].to_owned(), "eu-west-1".to_owned());
    let (dropped, digest) = trail.hours[&lost].clone();
    for (i, (log, _)) in trail.hours.values().enumerate() {
        if *log != dropped {
            forward_message(&forwarder, &notification(log), &format!("m{i}")).await;
        }
    }
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let digest_queue = create_queue(&sqs, "recheck-digests").await;
    let delivery_queue = create_queue(&sqs, "recheck-delivery").await;
    let table_reader = || trailwatch::aws::checkpoints::DynamoCheckpoints::new(&sdk, table);
    let repairs = validator::aws::sqs::SqsRepairQueue {
        client: sqs.clone(),
        queue_url: delivery_queue.clone(),
    };
    let digest_end = t0() + HOUR;
    let grace = trailwatch::clock::now_seconds() - digest_end + 3;
    let validator = reconciling(&trail, table_reader(), grace, Some(repairs))
        .with_fan_out(sqs.clone(), &digest_queue);

    // When: the digest is delivered.
    let delivered = invoke(&validator, sqs_delivery(&bucket, &[&digest]))
        .await
        .unwrap();

    // Then: the file is pending, and its recheck is on the digest queue, held by SQS until
    // the grace has passed.
    assert_eq!(
        delivered["counts"]["logFilesForwardPending"], 1,
        "{delivered}"
    );
    assert_eq!(delivered["rechecksSent"], 1, "{delivered}");
    let at_once = sqs
        .receive_message()
        .queue_url(&digest_queue)
        .send()
        .await
        .unwrap();
    assert!(at_once.messages().is_empty(), "the recheck was not delayed");
    let recheck = receive_within(&sqs, &digest_queue, 20)
        .await
        .expect("the recheck, once its delay has passed");

    // When: the recheck is handed to the validator.
    let rechecked = invoke(&validator, lambda_event(&recheck)).await.unwrap();

    // Then: not forwarded, and repaired through the forwarder's queue; no range ran.
    let counts = &rechecked["counts"];
    assert_eq!(
        (
            counts["logFilesNotForwarded"].as_u64(),
            counts["repairsSent"].as_u64(),
            counts["logFilesValid"].as_u64()
        ),
        (Some(1), Some(1), Some(0)),
        "{rechecked}"
    );
    let repair = receive_within(&sqs, &delivery_queue, 5)
        .await
        .expect("the repair");
    forward_message(&forwarder, repair.body().unwrap(), "repair").await;
    let (account, region) = lost;
    let stream = format!("{account}_CloudTrail-Digest_{region}_recheck-organization-trail");
    let events = stream_events(&trail.logs, &trail.group, &stream).await;
    let statuses: Vec<String> = events
        .iter()
        .map(|(_, message)| serde_json::from_str::<serde_json::Value>(message).unwrap())
        .filter(|event| event["key"] == dropped.as_str() && event["subject"] == "forwarding")
        .map(|event| event["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["forwardPending", "notForwarded"]);

    // And: every file the range lists is now forwarded as signed.
    let checker = reconciling(&trail, table_reader(), 3600, None);
    let checked = invoke(&checker, trail.range()).await.unwrap();
    assert_eq!(checked["counts"]["logFilesForwarded"], 4, "{checked}");

    // And `validator status`: one line per account and region, each file by its newest
    // verdict (the lost one forwarded now, after one repair), all well: exit 0.
    let (code, out) = status(&trail, &[]);
    assert_eq!(code, Some(0), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    for (member, region) in [
        (MEMBERS[0], "eu-west-1"),
        (MEMBERS[0], "us-east-1"),
        (MEMBERS[1], "eu-west-1"),
        (MEMBERS[1], "us-east-1"),
    ] {
        let row: Vec<&str> = lines
            .iter()
            .find(|line| line.starts_with(&format!("{member}  {region}")))
            .unwrap_or_else(|| panic!("{member} {region} in {out}"))
            .split_whitespace()
            .collect();
        // DIGESTS INVALID LATE LOG FILES INVALID FORWARDED PENDING NOT-FWD DIFFERS … REPAIRS
        assert_eq!(
            &row[2..11],
            ["1", "0", "no", "1", "0", "1", "0", "0", "0"],
            "{out}"
        );
        let repairs = if (member, region) == (MEMBERS[1], "eu-west-1") {
            "1"
        } else {
            "0"
        };
        assert_eq!(row[12], repairs, "{out}");
    }
    assert!(
        out.trim_end().ends_with(
            "All well: 4 accounts and regions, 4 digests valid, 4 log files forwarded as signed."
        ),
        "{out}"
    );
    // One member's streams alone.
    let (code, out) = status(&trail, &["--account-id", MEMBERS[0]]);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("All well: 2 accounts and regions"), "{out}");
}
