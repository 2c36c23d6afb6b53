//! The validator as a Lambda function against moto: delivered digests, scheduled ranges, backfill
//! digests, each region's keys, an organization trail, the fan-out, late digests and reads that
//! fail.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_digest_is_validated_with_its_link_and_each_verdict_logged() {
    // Given: a validator configured like the function, and a tampered log file.
    let bucket = Bucket::signed("integrity-handler").await;
    bucket.delete(&bucket.logs[2][1]).await;
    let (validator, logs) = validator_for(&bucket, "/trailwatch/test/integrity").await;
    let group = "/trailwatch/test/integrity";
    let body =
        serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": bucket.name}, "object": {"key": bucket.digests[2]}}}]})
        .to_string();
    // Beside it, a message that names no object (a stray sender): counted, not read.
    let event = serde_json::json!({"Records": [
        {"messageId": "m1", "body": body, "eventSource": "aws:sqs"},
        {"messageId": "m2", "body": "{\"hello\": 1}", "eventSource": "aws:sqs"}]});

    // When: the newest digest is delivered.
    let context = lambda_runtime::Context::default();
    let result = validator::handle(&validator, lambda_runtime::LambdaEvent::new(event, context))
        .await
        .unwrap();

    // Then: that digest, its log files and the previous digest were checked; the missing log
    // file is the one invalid verdict, in the summary and in CloudWatch Logs.
    assert_eq!(result["counts"]["digestsValid"], 2);
    assert_eq!(result["counts"]["logFilesMissing"], 1);
    assert_eq!(result["unreadableMessages"], 1);
    let missing = format!(
        "Log file\ts3://{}/{}\tINVALID: not found",
        bucket.name, bucket.logs[2][1]
    );
    assert_eq!(result["invalid"], serde_json::json!([missing]));
    let stream = format!("{ACCOUNT}_CloudTrail-Digest_{REGION}_audit");
    let events = stream_events(&logs, group, &stream).await;
    assert_eq!(events.len(), 4, "two digests and two log files");
    assert!(
        events
            .iter()
            .any(|(_, message)| message.contains("\"status\":\"notFound\""))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scheduled_range_validates_the_whole_chain() {
    let bucket = Bucket::signed("integrity-range").await;
    let (validator, _) = validator_for(&bucket, "/trailwatch/test/integrity-range").await;
    let event = serde_json::json!({"validateRange": {"trailArn": format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit"),
        "startTime": at(0), "endTime": at(HOURS * HOUR), "s3Bucket": bucket.name, "s3Prefix": ""}});
    let result = validator::handle(
        &validator,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(result["counts"]["digestsValid"], 3);
    assert_eq!(result["counts"]["logFilesValid"], 4);
    assert_eq!(result["invalid"], serde_json::json!([]));

    // The schedule's form: the last hours up to now (nothing delivered then in this bucket).
    let event = serde_json::json!({"validateRange": {"trailArn": format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit"),
        "hoursBack": 25, "s3Bucket": bucket.name, "s3Prefix": ""}});
    let result = validator::handle(
        &validator,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    assert_eq!(result["counts"]["digestsValid"], 0);
    let event = serde_json::json!({"validateRange": {"trailArn": format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit"), "s3Bucket": bucket.name}});
    let error = validator::handle(
        &validator,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("startTime (ISO-8601 UTC) or hoursBack"),
        "{error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backfill_digest_vouches_for_a_late_log_file() {
    // Given: a log file of the first hour that its hourly digest missed, and a backfill digest
    // listing it; plus a backfill digest without its generation timestamp.
    let bucket = Bucket::signed("integrity-backfill").await;
    let mut spec = TrailSpec::recent(888);
    spec.delivery_millis = (t0() + 1800) * 1000;
    let mut body = Vec::new();
    write_log_file(&spec, 5_000, &mut body).unwrap();
    let mut inflated = Vec::new();
    GzDecoder::new(&body[..])
        .read_to_end(&mut inflated)
        .unwrap();
    bucket.put_plain(&spec.key(), body).await;
    let signer = signer(&bucket.name);
    let backfill = signer.backfill_digest(
        t0(),
        t0() + HOUR,
        &[(spec.key(), inflated)],
        t0() + 2 * HOUR,
    );
    bucket.put_signed(&backfill).await;

    // When / Then: the late file is valid and referenced; the backfill digest is valid.
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![]);
    assert_eq!(report.counts().backfill_digests_valid, 1);
    assert!(
        report
            .verdicts
            .iter()
            .any(|v| v.key == spec.key() && v.status == Status::Valid)
    );
    assert!(
        report
            .verdicts
            .iter()
            .any(|v| v.to_string().starts_with("(backfill) Digest file\t"))
    );

    // And without the generation timestamp it is of invalid format; the file it names is not
    // proven by it, so neither hashed nor called unlisted (as for an hourly digest).
    let mut stripped = backfill.clone();
    stripped
        .metadata
        .retain(|(name, _)| name != "backfill-generation-timestamp");
    bucket.put_signed(&stripped).await;
    let report = bucket.validate().await;
    assert_eq!(
        invalid(&report),
        vec![(backfill.key.clone(), Status::InvalidFormat)]
    );
    assert!(report.verdicts.iter().all(|v| v.key != spec.key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivered_invalid_or_unreadable_backfill_digest_is_counted_for_the_alarm() {
    // Given: a backfill digest without its generation timestamp, and one that is not gzip.
    let bucket = Bucket::signed("integrity-backfill-delivered").await;
    let signer = signer(&bucket.name);
    let mut stripped = signer.backfill_digest(t0(), t0() + HOUR, &[], t0() + 2 * HOUR);
    stripped
        .metadata
        .retain(|(name, _)| name != "backfill-generation-timestamp");
    bucket.put_signed(&stripped).await;
    let mut unreadable = signer.backfill_digest(t0() + HOUR, t0() + 2 * HOUR, &[], t0() + 3 * HOUR);
    unreadable.body = b"not gzip".to_vec();
    bucket.put_signed(&unreadable).await;
    let (validator, _) =
        validator_for(&bucket, "/trailwatch/test/integrity-backfill-delivered").await;
    // When: both are delivered, as CloudTrail's notifications are.
    let event = sqs_delivery(&bucket.name, &[&stripped.key, &unreadable.key]);
    let result = validator::handle(
        &validator,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap();
    // Then: each is validated (not skipped as "not a digest file") and counted invalid, the
    // count IntegrityFailures adds (BackfillDigestsInvalid). A delivered digest's validation
    // covers the hour after it too, so each is counted in both validations here.
    let counted = result["counts"]["backfillDigestsInvalid"].as_u64().unwrap();
    assert!(counted >= 2, "{result}");
    assert_eq!(result["counts"]["backfillDigestsValid"], 0, "{result}");
    let invalid = result["invalid"].as_array().unwrap();
    for key in [&stripped.key, &unreadable.key] {
        assert!(
            invalid
                .iter()
                .any(|line| line.as_str().unwrap().starts_with(&format!(
                    "(backfill) Digest file\ts3://{}/{key}\tINVALID",
                    bucket.name
                ))),
            "{result}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_regions_digests_are_checked_with_that_regions_keys() {
    // Given: a multi-region trail (home us-east-1) whose us-east-1 and eu-west-1 digests are
    // signed by each region's own key pair, a control plane that answers ListPublicKeys by the
    // region of the request's signature, and the validator running in us-east-1.
    let sdk = sdk_config_for(&moto().endpoint).await;
    let name = "integrity-regions";
    let bucket = Bucket::empty(name).await;
    let east = SignedTrail::new(name, ACCOUNT, "us-east-1", "audit", 21);
    let mut west = SignedTrail::new(name, ACCOUNT, "eu-west-1", "audit", 22);
    west.home_region = "us-east-1".into();
    let (_, east_digest) = signed_hour(&bucket, &east, 301).await;
    let (west_log, west_digest) = signed_hour(&bucket, &west, 302).await;
    let control = control_plane_for(&[&east, &west]).await;
    let mut clients = Clients::new(&sdk);
    clients.sdk = sdk_config_for(&control).await;
    let group = "/trailwatch/test/integrity-regions";
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let keys = validator::Keys::new(&clients, None);
    let validator = validator::Validator::new(&clients, logs, group, keys, "test");
    let deliver = |keys: &[&str]| {
        let event = sqs_delivery(name, keys);
        validator::handle(
            &validator,
            lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
        )
    };

    // When both regions' digests are delivered, then both validate, with their log files.
    let result = deliver(&[&east_digest, &west_digest]).await.unwrap();
    assert_eq!(result["invalid"], serde_json::json!([]), "{result}");
    assert_eq!(
        (
            result["counts"]["digestsValid"].as_u64(),
            result["counts"]["logFilesValid"].as_u64()
        ),
        (Some(2), Some(2))
    );

    // And a modified eu-west-1 log file is reported as such, not as a key problem.
    bucket.put_plain(&west_log, gzip(b"{\"Records\":[]}")).await;
    let result = deliver(&[&west_digest]).await.unwrap();
    assert_eq!(
        result["invalid"],
        serde_json::json!([format!(
            "Log file\ts3://{name}/{west_log}\tINVALID: hash value doesn't match"
        )])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_file_throttled_on_every_read_is_not_checked_and_the_delivery_retried() {
    // Given: every GetObject of one log file answered with S3's 503 SlowDown.
    let bucket = Bucket::signed("integrity-throttled").await;
    let throttled = bucket.logs[2][0].clone();
    let marker = throttled.rsplit('/').next().unwrap().to_owned();
    let rule: trailwatch_test_support::proxy::Rule = Arc::new(move |seen| {
        (seen.method == "GET" && seen.path.contains(&marker))
            .then_some(trailwatch_test_support::proxy::Fault::SlowDown)
    });
    let endpoint = trailwatch_test_support::proxy::start(&moto().endpoint, rule).await;
    let (direct, logs) = validator_for(&bucket, "/trailwatch/test/integrity-throttled").await;
    let through = Clients::new(&sdk_config_for(&endpoint).await);
    let mut validator = direct;
    validator.core.store = Arc::new(S3DigestStore {
        client: through.s3.clone(),
    });
    let event = sqs_delivery(&bucket.name, &[&bucket.digests[2]]);

    // When
    let error = validator::handle(
        &validator,
        lambda_runtime::LambdaEvent::new(event, lambda_runtime::Context::default()),
    )
    .await
    .unwrap_err();

    // Then: the invocation fails for a retry, the file is NOT CHECKED (never valid, never
    // INVALID), and the other files' verdicts stand.
    assert!(error.to_string().contains("did not complete"), "{error}");
    let stream = format!("{ACCOUNT}_CloudTrail-Digest_{REGION}_audit");
    let events = stream_events(&logs, "/trailwatch/test/integrity-throttled", &stream).await;
    let statuses: Vec<String> = events
        .iter()
        .map(|(_, message)| serde_json::from_str::<serde_json::Value>(message).unwrap())
        .filter(|verdict| verdict["key"] == throttled.as_str())
        .map(|verdict| verdict["status"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(statuses, ["notChecked"]);
    assert!(
        events
            .iter()
            .all(|(_, message)| !message.contains("\"valid\":false")
                || message.contains("notChecked"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_inflating_past_its_ceiling_is_invalid_without_being_held() {
    // Given: the newest digest replaced by 17 MiB of zeros (17 KiB compressed), signature kept.
    let bucket = Bucket::signed("integrity-digest-bomb").await;
    let (_, metadata) = bucket.get(&bucket.digests[2]).await;
    let bomb = SignedObject {
        key: bucket.digests[2].clone(),
        body: gzip(&vec![0u8; 17 << 20]),
        metadata: metadata.into_iter().collect(),
        signature: None,
    };
    bucket.put_signed(&bomb).await;
    // When / Then: INVALID with the reason, and the walk goes on to the older digests.
    let report = bucket.validate().await;
    let digest = report
        .verdicts
        .iter()
        .find(|v| v.key == bucket.digests[2])
        .unwrap();
    assert_eq!(digest.status, Status::TooLarge { limit: 16 << 20 });
    assert_eq!(
        digest.to_string(),
        format!(
            "Digest file\ts3://{}/{}\tINVALID: larger than 16777216 bytes",
            bucket.name, bucket.digests[2]
        )
    );
    assert_eq!(report.counts().digests_valid, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_validates_every_member_and_region_of_an_organization_trail() {
    // Given: the organization trail, one log file modified in the member's non-home region.
    let trail = OrganizationTrail::deliver("integrity-organization").await;
    let validator = trail.validator();
    let tampered = trail.log_file(MEMBERS[1], "eu-west-1");
    trail
        .bucket
        .put_plain(&tampered, gzip(b"{\"Records\":[]}"))
        .await;

    // When the range is validated, then every account and region found is (4 digests, 4 log
    // files), and only the modified file is invalid.
    let result = invoke(&validator, trail.range()).await.unwrap();
    assert_eq!(
        (
            result["counts"]["digestsValid"].as_u64(),
            result["counts"]["logFilesValid"].as_u64(),
            result["counts"]["logFilesInvalid"].as_u64()
        ),
        (Some(4), Some(3), Some(1)),
        "{result}"
    );
    assert_eq!(
        result["invalid"],
        serde_json::json!([format!(
            "Log file\ts3://{}/{tampered}\tINVALID: hash value doesn't match",
            trail.bucket.name
        )])
    );
    // And each account and region has its verdict stream.
    let trail_name = trail.arn.rsplit('/').next().unwrap();
    let stream = format!("{}_CloudTrail-Digest_eu-west-1_{trail_name}", MEMBERS[1]);
    let verdicts = stream_events(&trail.logs, &trail.group, &stream).await;
    assert!(
        verdicts
            .iter()
            .any(|(_, m)| m.contains("hashMismatch") && m.contains(&tampered)),
        "{verdicts:?}"
    );

    // The command keeps the AWS CLI's rule: an organization trail needs --account-id; with it,
    // the member's region is validated and the tampering found (exit 1), the other member's
    // region is clean (exit 0).
    let command = |account: Option<&str>, region: &str| {
        let mut args = vec![
            "validate-logs".to_owned(),
            "--trail-arn".into(),
            trail.arn.clone(),
            "--start-time".into(),
            at(0),
            "--end-time".into(),
            at(HOUR),
        ];
        if let Some(account) = account {
            args.extend(["--account-id".to_owned(), account.to_owned()]);
        }
        let clients = trail.clients.clone();
        let region = region.to_owned();
        async move { validator::cli::run(&args, &clients, &region, 0).await }
    };
    assert_eq!(command(None, "eu-west-1").await, 255);
    assert_eq!(command(Some(MEMBERS[1]), "eu-west-1").await, 1);
    assert_eq!(command(Some(MEMBERS[0]), "eu-west-1").await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_trail_range_fans_out_one_message_per_account_and_region() {
    // Given: the organization trail and the digest queue as the fan-out target.
    let trail = OrganizationTrail::deliver("integrity-fan-out").await;
    let sdk = sdk_config_for(&moto().endpoint).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue_url = create_queue(&sqs, "integrity-fan-out").await;
    let validator = trail.validator().with_fan_out(sqs.clone(), &queue_url);
    let tampered = trail.log_file(MEMBERS[0], "us-east-1");
    trail.bucket.put_plain(&tampered, gzip(b"{}")).await;

    // When the schedule's range arrives, then it validates nothing itself and sends 4 messages.
    let result = invoke(&validator, trail.range()).await.unwrap();
    assert_eq!(result["fannedOut"], 4, "{result}");
    assert_eq!(result["validated"], serde_json::json!([]));
    let records: Vec<serde_json::Value> = receive_bodies(&sqs, &queue_url, 4)
        .await
        .into_iter()
        .map(|(id, body)| serde_json::json!({"messageId": id, "eventSource": "aws:sqs", "body": body}))
        .collect();

    // And each message, delivered to the validator as SQS would, validates its one part; the
    // same message twice only validates it twice.
    let mut parts = std::collections::BTreeSet::new();
    let mut invalid = Vec::new();
    for record in records.iter().chain(records.first()) {
        let result = invoke(&validator, serde_json::json!({ "Records": [record] }))
            .await
            .unwrap();
        assert_eq!(result["fannedOut"], 0);
        assert_eq!(result["counts"]["digestsValid"], 1, "{result}");
        let body: serde_json::Value =
            serde_json::from_str(record["body"].as_str().unwrap()).unwrap();
        let range = &body["validateRange"];
        parts.insert((
            range["accountId"].as_str().unwrap().to_owned(),
            range["region"].as_str().unwrap().to_owned(),
        ));
        invalid.extend(result["invalid"].as_array().unwrap().iter().cloned());
    }
    let expected: std::collections::BTreeSet<(String, String)> =
        trail.hours.keys().cloned().collect();
    assert_eq!(parts, expected);
    // The tampered file: once per delivery of its part's message (the first message is
    // delivered twice; whichever part it is).
    let first_part: serde_json::Value =
        serde_json::from_str(records[0]["body"].as_str().unwrap()).unwrap();
    let twice = first_part["validateRange"]["accountId"] == MEMBERS[0]
        && first_part["validateRange"]["region"] == "us-east-1";
    assert_eq!(invalid.len(), if twice { 2 } else { 1 }, "{invalid:?}");
    assert!(invalid[0].as_str().unwrap().contains(&tampered));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_whose_digests_stop_coming_is_reported_late() {
    // Given: the organization trail, and fresh digests in three of its four account-regions;
    // the fourth's newest digest is three hours old (the trail stopped logging there).
    let trail = OrganizationTrail::deliver("integrity-silence").await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let organization_id = {
        let key = trail.log_file(MEMBERS[0], "us-east-1");
        key.split('/').nth(1).unwrap().to_owned()
    };
    let trail_name = trail.arn.rsplit('/').next().unwrap().to_owned();
    for (account, region) in trail.hours.keys() {
        let silent = account == MEMBERS[1] && region == "eu-west-1";
        let mut signer = SignedTrail::new(&trail.bucket.name, account, region, &trail_name, 7);
        signer.home_region = REGION.into();
        signer.organization_id = Some(organization_id.clone());
        let end = if silent {
            now - 3 * HOUR
        } else {
            now - 20 * 60
        };
        let digest = signer.digest(end - HOUR, end, &[], None);
        trail.bucket.put_signed(&digest).await;
    }

    // When the hourly check runs, then exactly that account and region is late.
    let check = serde_json::json!({"checkDigestsLate": {"trailArn": trail.arn}});
    let result = invoke(&trail.validator(), check).await.unwrap();
    assert_eq!(result["checkedForLateness"], 4, "{result}");
    let late = result["late"].as_array().unwrap();
    assert_eq!(late.len(), 1, "{result}");
    let line = late[0].as_str().unwrap();
    assert!(
        line.starts_with(&format!(
            "Digests late\t{} eu-west-1\tno digest since ",
            MEMBERS[1]
        )),
        "{line}"
    );
    let stream = format!("{}_CloudTrail-Digest_eu-west-1_{trail_name}", MEMBERS[1]);
    let lines = stream_events(&trail.logs, &trail.group, &stream).await;
    assert!(
        lines.iter().any(|(_, m)| m.contains("\"status\":\"late\"")),
        "{lines:?}"
    );
}
