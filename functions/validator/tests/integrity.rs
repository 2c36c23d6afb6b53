//! Integrity validation against moto: a signed trail (log files, an hourly digest chain with
//! signatures in S3 metadata, a starting digest, an empty hour) and each tamper scenario.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::sync::{Arc, OnceLock};

use flate2::read::GzDecoder;
use trailwatch::clock::iso_text;
use trailwatch::digest::keys::from_cli_json;
use trailwatch::digest::locate::Scope;
use trailwatch::digest::locate::TrailDigests;
use trailwatch::digest::report::Report;
use trailwatch::digest::store::PublicKeys;
use trailwatch::digest::validate::validate_range;
use trailwatch::digest::verdict::{Status, Subject};
use trailwatch::generate::signed::{SignedObject, SignedTrail, gzip};
use trailwatch::generate::{TrailSpec, write_log_file};
use trailwatch_test_support::{
    create_queue, moto, path_style_s3, receive_bodies, run_binary, sdk_config_for, stream_events,
    text,
};
use validator::aws::Clients;
use validator::aws::s3::S3DigestStore;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
/// The signed trail's first hour: midnight UTC two days before the run (read once), so that its
/// files are recent on whatever day the tests run: CloudWatch Logs takes events up to 14 days
/// old, and the checkpoint table keeps an item 15 days.
fn t0() -> i64 {
    static T0: OnceLock<i64> = OnceLock::new();
    *T0.get_or_init(|| (trailwatch::clock::now_seconds() / 86_400 - 2) * 86_400)
}

/// `t0() + seconds`, as `YYYY-MM-DDTHH:MM:SSZ`.
fn at(seconds: i64) -> String {
    iso_text(t0() + seconds)
}

const HOUR: i64 = 3600;
const HOURS: i64 = 3;

fn signer(bucket: &str) -> SignedTrail {
    SignedTrail::new(bucket, ACCOUNT, REGION, "audit", 5)
}

fn keys() -> &'static PublicKeys {
    static KEYS: OnceLock<PublicKeys> = OnceLock::new();
    KEYS.get_or_init(|| from_cli_json(&signer("any").public_keys_json(), REGION).unwrap())
}

struct Bucket {
    name: String,
    s3: aws_sdk_s3::Client,
    /// Log file keys by hour, and digest keys, oldest first.
    logs: Vec<Vec<String>>,
    digests: Vec<String>,
}

impl Bucket {
    /// A new bucket with nothing in it.
    async fn empty(name: &str) -> Self {
        let sdk = sdk_config_for(&moto().endpoint).await;
        let s3 = path_style_s3(&sdk);
        s3.create_bucket().bucket(name).send().await.unwrap();
        Self {
            name: name.into(),
            s3,
            logs: Vec::new(),
            digests: Vec::new(),
        }
    }

    /// A bucket with `HOURS` hours of log files (two per hour, none in the second hour) and a
    /// signed digest per hour, the first a starting digest.
    async fn signed(name: &str) -> Self {
        let sdk = sdk_config_for(&moto().endpoint).await;
        let s3 = path_style_s3(&sdk);
        s3.create_bucket().bucket(name).send().await.unwrap();
        let signer = signer(name);
        let mut bucket = Self {
            name: name.into(),
            s3,
            logs: Vec::new(),
            digests: Vec::new(),
        };
        let mut previous = None;
        for hour in 0..HOURS {
            let start = t0() + hour * HOUR;
            let count = if hour == 1 { 0 } else { 2 };
            let mut listed = Vec::new();
            let mut keys = Vec::new();
            for n in 0..count {
                let spec = TrailSpec::recent(100 + (hour * 10 + n) as u64);
                let (key, inflated) = bucket.put_log_file(spec, start + 600 + n * 60).await;
                listed.push((key.clone(), inflated));
                keys.push(key);
            }
            let digest = signer.digest(start, start + HOUR, &listed, previous.as_ref());
            let mut inflated = Vec::new();
            GzDecoder::new(&digest.body[..])
                .read_to_end(&mut inflated)
                .unwrap();
            previous = Some(signer.link(&digest, &inflated));
            bucket.put_signed(&digest).await;
            bucket.digests.push(digest.key.clone());
            bucket.logs.push(keys);
        }
        bucket
    }

    /// Writes a generated log file delivered at `delivered` (epoch seconds); returns its key and
    /// decompressed bytes (what its digest hashes).
    async fn put_log_file(&self, mut spec: TrailSpec, delivered: i64) -> (String, Vec<u8>) {
        spec.delivery_millis = delivered * 1000;
        spec.newest_event_millis = spec.delivery_millis - 60_000;
        let mut body = Vec::new();
        write_log_file(&spec, 20_000, &mut body).unwrap();
        let mut inflated = Vec::new();
        GzDecoder::new(&body[..])
            .read_to_end(&mut inflated)
            .unwrap();
        self.put_plain(&spec.key(), body).await;
        (spec.key(), inflated)
    }

    async fn put_plain(&self, key: &str, body: Vec<u8>) {
        self.s3
            .put_object()
            .bucket(&self.name)
            .key(key)
            .body(body.into())
            .send()
            .await
            .unwrap();
    }

    async fn put_signed(&self, object: &SignedObject) {
        let mut request = self
            .s3
            .put_object()
            .bucket(&self.name)
            .key(&object.key)
            .body(object.body.clone().into());
        for (name, value) in &object.metadata {
            request = request.metadata(name, value);
        }
        request.send().await.unwrap();
    }

    async fn get(&self, key: &str) -> (Vec<u8>, std::collections::HashMap<String, String>) {
        let response = self
            .s3
            .get_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .unwrap();
        let metadata = response.metadata().cloned().unwrap_or_default();
        (
            response.body.collect().await.unwrap().into_bytes().to_vec(),
            metadata,
        )
    }

    async fn delete(&self, key: &str) {
        self.s3
            .delete_object()
            .bucket(&self.name)
            .key(key)
            .send()
            .await
            .unwrap();
    }

    async fn validate(&self) -> Report {
        let trail = TrailDigests {
            prefix: None,
            organization_id: None,
            account_id: ACCOUNT.into(),
            source_region: REGION.into(),
            home_region: REGION.into(),
            trail_name: "audit".into(),
        };
        let store = Arc::new(S3DigestStore {
            client: self.s3.clone(),
        });
        let scope = Scope {
            trail,
            bucket: self.name.clone(),
            start: t0(),
            end: t0() + HOURS * HOUR,
        };
        validate_range(store, keys(), &scope).await.unwrap()
    }
}

/// The verdicts that are not valid, as (key, status).
fn invalid(report: &Report) -> Vec<(String, Status)> {
    report
        .verdicts
        .iter()
        .filter(|v| !v.status.is_valid())
        .map(|v| (v.key.clone(), v.status.clone()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untouched_chain_validates_clean() {
    let bucket = Bucket::signed("integrity-clean").await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![]);
    let counts = report.counts();
    assert_eq!((counts.digests_valid, counts.log_files_valid), (3, 4));
    assert_eq!(report.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_log_file_fails_its_hash() {
    let bucket = Bucket::signed("integrity-modified-log").await;
    let key = bucket.logs[0][1].clone();
    let (body, _) = bucket.get(&key).await;
    let mut text = String::new();
    GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
    bucket
        .put_plain(
            &key,
            gzip(
                text.replacen("\"eventName\":\"", "\"eventName\":\"X", 1)
                    .as_bytes(),
            ),
        )
        .await;
    assert_eq!(
        invalid(&bucket.validate().await),
        vec![(key, Status::HashMismatch)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_log_file_is_not_found() {
    let bucket = Bucket::signed("integrity-deleted-log").await;
    let key = bucket.logs[2][0].clone();
    bucket.delete(&key).await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(key, Status::NotFound)]);
    assert_eq!(report.counts().log_files_missing, 1);
    assert_eq!(report.exit_code(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailing_bytes_on_a_log_file_are_invalid() {
    let bucket = Bucket::signed("integrity-trailing").await;
    let key = bucket.logs[0][0].clone();
    let (mut body, _) = bucket.get(&key).await;
    body.extend_from_slice(b"appended");
    bucket.put_plain(&key, body).await;
    assert_eq!(
        invalid(&bucket.validate().await),
        vec![(key, Status::TrailingData)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_deleted_mid_chain_is_not_found() {
    let bucket = Bucket::signed("integrity-deleted-digest").await;
    let key = bucket.digests[1].clone();
    bucket.delete(&key).await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(key, Status::NotFound)]);
    assert_eq!(report.counts().digests_valid, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_digest_and_a_replaced_signature_fail_verification() {
    let bucket = Bucket::signed("integrity-digest-tamper").await;
    let (body, metadata) = bucket.get(&bucket.digests[2]).await;
    let mut text = String::new();
    GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
    let tampered = SignedObject {
        key: bucket.digests[2].clone(),
        body: gzip(text.replace("SHA-256", "SHA-256 ").as_bytes()),
        metadata: metadata.clone().into_iter().collect(),
        signature: None,
    };
    bucket.put_signed(&tampered).await;
    let (other_body, _) = bucket.get(&bucket.digests[0]).await;
    let forged = SignedObject {
        key: bucket.digests[0].clone(),
        body: other_body,
        metadata: vec![
            ("signature".into(), "ab".repeat(256)),
            ("signature-algorithm".into(), "SHA256withRSA".into()),
        ],
        signature: None,
    };
    bucket.put_signed(&forged).await;
    let report = bucket.validate().await;
    assert_eq!(
        invalid(&report),
        vec![
            (bucket.digests[2].clone(), Status::SignatureFailed),
            (bucket.digests[0].clone(), Status::SignatureFailed)
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_copied_to_another_key_has_been_moved() {
    let bucket = Bucket::signed("integrity-moved").await;
    let (body, metadata) = bucket.get(&bucket.digests[2]).await;
    let later = bucket.digests[2].replace("T030000Z", "T033000Z");
    bucket
        .put_signed(&SignedObject {
            key: later.clone(),
            body,
            metadata: metadata.into_iter().collect(),
            signature: None,
        })
        .await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(later, Status::Moved)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_from_an_unknown_fingerprint_is_reported() {
    let bucket = Bucket::signed("integrity-unknown-key").await;
    let stranger = SignedTrail::new(&bucket.name, ACCOUNT, REGION, "audit", 99);
    let forged = stranger.digest(t0() + 2 * HOUR, t0() + 3 * HOUR, &[], None);
    bucket.put_signed(&forged).await;
    let report = bucket.validate().await;
    assert_eq!(
        invalid(&report),
        vec![(
            forged.key,
            Status::PublicKeyNotFound {
                region: REGION.into(),
                fingerprint: stranger.fingerprint.clone()
            }
        )]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_planted_log_file_no_digest_lists_is_unreferenced() {
    let bucket = Bucket::signed("integrity-planted").await;
    let mut spec = TrailSpec::recent(777);
    spec.delivery_millis = (t0() + HOUR + 1200) * 1000;
    let mut body = Vec::new();
    write_log_file(&spec, 5_000, &mut body).unwrap();
    bucket.put_plain(&spec.key(), body).await;
    let report = bucket.validate().await;
    assert_eq!(invalid(&report), vec![(spec.key(), Status::Unreferenced)]);
    assert_eq!(report.counts().log_files_unreferenced, 1);
    assert!(
        report
            .verdicts
            .iter()
            .any(|v| v.subject == Subject::Log && v.status == Status::Unreferenced)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_the_aws_cli_lines_and_exits_1_on_tampering() {
    let bucket = Bucket::signed("integrity-cli").await;
    let dir = std::env::temp_dir().join("trailwatch-integrity-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let keys_file = dir.join("keys.json");
    std::fs::write(&keys_file, signer("any").public_keys_json()).unwrap();
    let sdk = sdk_config_for(&moto().endpoint).await;
    let clients = Clients::new(&sdk);
    let args: Vec<String> = [
        "validate-logs",
        "--trail-arn",
        &format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit"),
        "--start-time",
        &at(0),
        "--end-time",
        &at(HOURS * HOUR),
        "--s3-bucket",
        &bucket.name,
        "--public-keys-file",
        keys_file.to_str().unwrap(),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    assert_eq!(
        validator::cli::run(&args, &clients, REGION, t0() + 5 * HOUR).await,
        0
    );
    bucket.delete(&bucket.logs[0][0]).await;
    assert_eq!(
        validator::cli::run(&args, &clients, REGION, t0() + 5 * HOUR).await,
        1
    );
    let mut bad = args.clone();
    bad[2] = "not-an-arn".into();
    assert_eq!(validator::cli::run(&bad, &clients, REGION, t0()).await, 255);
}

/// The binary as a person runs it with the AWS CLI's global options: a profile from the
/// profile files (its credentials and region), the emulator through --endpoint-url, a CA bundle,
/// --no-verify-ssl's note, --debug's log lines, an `s3://` bucket and the times in other forms.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_takes_the_aws_cli_global_options_and_time_forms() {
    let bucket = Bucket::signed("integrity-global-options").await;
    let dir = std::env::temp_dir().join("trailwatch-integrity-global-options");
    std::fs::create_dir_all(&dir).unwrap();
    let keys_file = dir.join("keys.json");
    std::fs::write(&keys_file, signer("any").public_keys_json()).unwrap();
    let config = dir.join("config");
    std::fs::write(&config, format!("[profile audit]\nregion = {REGION}\n")).unwrap();
    let credentials = dir.join("credentials");
    std::fs::write(
        &credentials,
        "[audit]\naws_access_key_id = testing\naws_secret_access_key = testing\n",
    )
    .unwrap();
    let arn = format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit");
    let s3_bucket = format!("s3://{}/", bucket.name);
    let day = &at(0)[..10];
    let (offset_form, basic_form) = (
        format!("{day} 01:00:00+01:00"),
        format!("{}T030000Z", day.replace('-', "")),
    );
    let run_on = |s3_bucket: &str, extra: &[&str]| {
        let mut args = vec![
            "validate-logs",
            "--trail-arn",
            &arn,
            // t0() and three hours later, written as people write them.
            "--start-time",
            &offset_form,
            "--end-time",
            &basic_form,
            "--s3-bucket",
            s3_bucket,
            "--public-keys-file",
            keys_file.to_str().unwrap(),
            "--profile",
            "audit",
            "--endpoint-url",
            &moto().endpoint,
        ];
        args.extend_from_slice(extra);
        run_binary(
            env!("CARGO_BIN_EXE_validator"),
            &args,
            &[
                ("AWS_CONFIG_FILE", config.to_str().unwrap()),
                ("AWS_SHARED_CREDENTIALS_FILE", credentials.to_str().unwrap()),
            ],
            &[
                "AWS_REGION",
                "AWS_DEFAULT_REGION",
                "AWS_PROFILE",
                "AWS_ACCESS_KEY_ID",
                "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN",
                "AWS_ENDPOINT_URL",
                "AWS_LAMBDA_RUNTIME_API",
                "RUST_LOG",
            ],
        )
    };
    let run = |extra: &[&str]| run_on(&s3_bucket, extra);
    let plain = run(&[]);
    let out = text(&plain.stdout);
    assert_eq!(plain.status.code(), Some(0), "{out}{}", text(&plain.stderr));
    assert!(
        out.starts_with(&format!(
            "Validating log files for trail {arn} between {} and {}",
            at(0),
            at(HOURS * HOUR)
        )),
        "{out}"
    );
    assert!(out.contains("3/3 digest files valid"), "{out}");
    assert_eq!(text(&plain.stderr), "", "no logs without --debug");

    let options = run(&[
        "--ca-bundle",
        "/etc/ssl/certs/ca-certificates.crt",
        "--no-verify-ssl",
        "--debug",
    ]);
    let err = text(&options.stderr);
    assert_eq!(options.status.code(), Some(0), "{err}");
    assert_eq!(text(&options.stdout), out, "the same output");
    assert!(
        err.contains(trailwatch::aws::options::VERIFY_SSL_NOTE),
        "{err}"
    );
    assert!(err.contains("DEBUG"), "{err}");
    assert!(err.contains("beginning attempt"), "the SDK's calls: {err}");

    let no_profile = run(&["--profile", "absent"]);
    assert_ne!(no_profile.status.code(), Some(0));
    let bad_bundle = run(&["--ca-bundle", keys_file.to_str().unwrap()]);
    assert_eq!(bad_bundle.status.code(), Some(255));
    assert!(
        text(&bad_bundle.stderr).starts_with("--ca-bundle "),
        "{}",
        text(&bad_bundle.stderr)
    );
    let with_path = run_on("s3://b/AWSLogs/", &[]);
    assert_eq!(with_path.status.code(), Some(2));
    assert!(
        text(&with_path.stderr).contains("give the bucket's name alone"),
        "{}",
        text(&with_path.stderr)
    );
}

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

/// A validator configured as the function is, writing to `group`, with the test key pair.
async fn validator_for(
    bucket: &Bucket,
    group: &str,
) -> (validator::Validator, aws_sdk_cloudwatchlogs::Client) {
    let sdk = sdk_config_for(&moto().endpoint).await;
    let keys_file = std::env::temp_dir().join(format!("trailwatch-{}-keys.json", bucket.name));
    std::fs::write(&keys_file, signer("any").public_keys_json()).unwrap();
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    logs.create_log_group()
        .log_group_name(group)
        .send()
        .await
        .unwrap();
    let clients = Clients::new(&sdk);
    let keys = validator::Keys::new(&clients, Some(keys_file.to_string_lossy().into_owned()));
    let validator = validator::Validator::new(&clients, logs.clone(), group, keys, "test");
    (validator, logs)
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

/// One signed hour of `signer`'s region in `bucket`: a log file of that region and its digest.
/// Returns (log file key, digest key).
async fn signed_hour(bucket: &Bucket, signer: &SignedTrail, seed: u64) -> (String, String) {
    let mut spec = TrailSpec::recent(seed);
    spec.region = signer.region.clone();
    spec.account_id = signer.account_id.clone();
    spec.organization_id = signer.organization_id.clone();
    let (key, inflated) = bucket.put_log_file(spec, t0() + 600).await;
    let digest = signer.digest(t0(), t0() + HOUR, &[(key.clone(), inflated)], None);
    bucket.put_signed(&digest).await;
    (key, digest.key)
}

/// A control plane answering ListPublicKeys with each signer's key in its region.
async fn control_plane_for(signers: &[&SignedTrail]) -> String {
    trailwatch_test_support::control_plane::start(
        signers
            .iter()
            .map(|trail| trailwatch_test_support::control_plane::RegionKey {
                region: trail.region.clone(),
                der: trail.public_key_der(),
                fingerprint: trail.fingerprint.clone(),
            })
            .collect(),
    )
    .await
}

fn sqs_delivery(bucket: &str, keys: &[&str]) -> serde_json::Value {
    let records: Vec<serde_json::Value> = keys
        .iter()
        .enumerate()
        .map(|(i, key)| {
            let body = serde_json::json!({"Records": [{"eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
                "s3": {"bucket": {"name": bucket}, "object": {"key": key}}}]});
            serde_json::json!({"messageId": format!("m{i}"), "body": body.to_string(), "eventSource": "aws:sqs"})
        })
        .collect();
    serde_json::json!({ "Records": records })
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
    let validator = validator::Validator {
        store: Arc::new(S3DigestStore {
            client: through.s3.clone(),
        }),
        ..direct
    };
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

/// An organization trail as the template deploys it: home us-east-1, members 111122223333 and
/// 444455556666 each delivering in us-east-1 and eu-west-1 under `AWSLogs/<o-id>/`, each
/// region signing with its own key pair; bucket and organization learnt from DescribeTrails
/// and DescribeOrganization (moto), keys from the control plane by the request's region.
struct OrganizationTrail {
    bucket: Bucket,
    arn: String,
    clients: Clients,
    logs: aws_sdk_cloudwatchlogs::Client,
    group: String,
    /// (account, region) → (log file key, digest key) of the signed hour at t0().
    hours: std::collections::BTreeMap<(String, String), (String, String)>,
}

const MEMBERS: [&str; 2] = ["111122223333", "444455556666"];

impl OrganizationTrail {
    async fn deliver(name: &str) -> Self {
        let sdk = sdk_config_for(&moto().endpoint).await;
        let bucket = Bucket::empty(name).await;
        let organizations = aws_sdk_organizations::Client::new(&sdk);
        // One organization for the emulator's account, whichever test creates it first.
        let _ = organizations
            .create_organization()
            .feature_set(aws_sdk_organizations::types::OrganizationFeatureSet::All)
            .send()
            .await;
        let described = organizations.describe_organization().send().await.unwrap();
        let organization_id = described.organization().unwrap().id().unwrap().to_owned();
        let trail_name = format!("{name}-trail");
        let created = aws_sdk_cloudtrail::Client::new(&sdk)
            .create_trail()
            .name(&trail_name)
            .s3_bucket_name(name)
            .is_multi_region_trail(true)
            .is_organization_trail(true)
            .enable_log_file_validation(true)
            .send()
            .await
            .unwrap();
        let arn = created.trail_arn().unwrap().to_owned();
        let mut signers = Vec::new();
        for (seed, region) in [(41, "eu-west-1"), (42, "us-east-1")] {
            let mut signer = SignedTrail::new(name, MEMBERS[0], region, &trail_name, seed);
            signer.home_region = REGION.into();
            signer.organization_id = Some(organization_id.clone());
            signers.push(signer);
        }
        let control = control_plane_for(&signers.iter().collect::<Vec<_>>()).await;
        let mut hours = std::collections::BTreeMap::new();
        let mut seed = 500;
        for member in MEMBERS {
            for signer in &signers {
                let mut signer = signer.clone();
                signer.account_id = member.into();
                seed += 1;
                let hour = signed_hour(&bucket, &signer, seed).await;
                hours.insert((member.to_owned(), signer.region.clone()), hour);
            }
        }
        let mut clients = Clients::new(&sdk);
        clients.sdk = sdk_config_for(&control).await;
        let group = format!("/trailwatch/test/{name}");
        let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
        logs.create_log_group()
            .log_group_name(&group)
            .send()
            .await
            .unwrap();
        Self {
            bucket,
            arn,
            clients,
            logs,
            group,
            hours,
        }
    }

    fn validator(&self) -> validator::Validator {
        let keys = validator::Keys::new(&self.clients, None);
        validator::Validator::new(&self.clients, self.logs.clone(), &self.group, keys, "test")
    }

    /// The trail's range around t0(), as the schedule sends it but with fixed times and the
    /// bucket left for DescribeTrails to name.
    fn range(&self) -> serde_json::Value {
        serde_json::json!({"validateRange": {"trailArn": self.arn,
            "startTime": at(0), "endTime": at(HOUR)}})
    }

    fn log_file(&self, account: &str, region: &str) -> String {
        self.hours[&(account.to_owned(), region.to_owned())]
            .0
            .clone()
    }
}

async fn invoke(
    validator: &validator::Validator,
    payload: serde_json::Value,
) -> Result<serde_json::Value, validator::HandlerError> {
    validator::handle(
        validator,
        lambda_runtime::LambdaEvent::new(payload, lambda_runtime::Context::default()),
    )
    .await
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

/// Tamper scenarios of the signed trail (oldest first: digest 0 lists two log files, digest 1
/// none, digest 2 two), each with what `aws cloudtrail validate-logs` prints for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tamper {
    Untouched,
    LogModified,
    LogDeleted,
    LogAppended,
    LogTruncated,
    LogNotGzip,
    LogSwapped,
    DigestDeletedMidChain,
    NewestDigestDeleted,
    OldestDigestDeleted,
    DigestModified,
    DigestModifiedAndItsLogDeleted,
    SignatureReplaced,
    SignatureRemoved,
    DigestMoved,
    UnknownKey,
    DigestNotGzip,
    DigestNotJson,
    DigestMissingAField,
    ChainRestarted,
    PlantedLog,
}

impl Tamper {
    const ALL: [Tamper; 21] = [
        Tamper::Untouched,
        Tamper::LogModified,
        Tamper::LogDeleted,
        Tamper::LogAppended,
        Tamper::LogTruncated,
        Tamper::LogNotGzip,
        Tamper::LogSwapped,
        Tamper::DigestDeletedMidChain,
        Tamper::NewestDigestDeleted,
        Tamper::OldestDigestDeleted,
        Tamper::DigestModified,
        Tamper::DigestModifiedAndItsLogDeleted,
        Tamper::SignatureReplaced,
        Tamper::SignatureRemoved,
        Tamper::DigestMoved,
        Tamper::UnknownKey,
        Tamper::DigestNotGzip,
        Tamper::DigestNotJson,
        Tamper::DigestMissingAField,
        Tamper::ChainRestarted,
        Tamper::PlantedLog,
    ];
}

/// What the AWS CLI prints, and what we print beyond it.
struct Expected {
    /// Standard error, the CLI's lines in its order.
    cli_errors: Vec<String>,
    /// Lines only trailwatch prints (about objects no present digest lists), after the CLI's.
    ours: Vec<String>,
    found: Option<(i64, i64)>,
    digests: (u64, u64),
    logs: (u64, u64),
}

impl Bucket {
    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.name)
    }

    async fn inflated(&self, key: &str) -> String {
        let (body, _) = self.get(key).await;
        let mut text = String::new();
        GzDecoder::new(&body[..]).read_to_string(&mut text).unwrap();
        text
    }

    /// Replaces a digest's body, keeping its signature metadata.
    async fn replace_digest_body(&self, key: &str, body: Vec<u8>) {
        let (_, metadata) = self.get(key).await;
        self.put_signed(&SignedObject {
            key: key.to_owned(),
            body,
            metadata: metadata.into_iter().collect(),
            signature: None,
        })
        .await;
    }

    /// Applies `tamper`; returns what the CLI would print.
    async fn tamper(&self, tamper: Tamper) -> Expected {
        let (d, l) = (&self.digests, &self.logs);
        let log =
            |key: &str, status: &str| format!("Log file\t{}\tINVALID: {status}", self.url(key));
        let digest =
            |key: &str, status: &str| format!("Digest file\t{}\tINVALID: {status}", self.url(key));
        let mut expected = Expected {
            cli_errors: Vec::new(),
            ours: Vec::new(),
            found: Some((t0(), t0() + HOURS * HOUR)),
            digests: (3, 0),
            logs: (4, 0),
        };
        match tamper {
            Tamper::Untouched => {}
            Tamper::LogModified | Tamper::LogSwapped | Tamper::LogTruncated => {
                let key = &l[0][1];
                let body = match tamper {
                    Tamper::LogModified => gzip(
                        self.inflated(key)
                            .await
                            .replacen("\"eventName\":\"", "\"eventName\":\"X", 1)
                            .as_bytes(),
                    ),
                    Tamper::LogSwapped => self.get(&l[2][0]).await.0,
                    _ => {
                        let body = self.get(key).await.0;
                        body[..body.len() / 2].to_vec()
                    }
                };
                self.put_plain(key, body).await;
                expected
                    .cli_errors
                    .push(log(key, "hash value doesn't match"));
                expected.logs = (3, 1);
            }
            Tamper::LogDeleted => {
                self.delete(&l[2][0]).await;
                expected.cli_errors.push(log(&l[2][0], "not found"));
                expected.logs = (3, 1);
            }
            Tamper::LogAppended => {
                let (mut body, _) = self.get(&l[0][0]).await;
                body.extend_from_slice(&gzip(b"more"));
                self.put_plain(&l[0][0], body).await;
                expected.cli_errors.push(log(
                    &l[0][0],
                    "unexpected data after end of compressed stream",
                ));
                expected.logs = (3, 1);
            }
            Tamper::LogNotGzip => {
                let text = self.inflated(&l[2][1]).await;
                self.put_plain(&l[2][1], text.into_bytes()).await;
                expected.cli_errors.push(log(&l[2][1], "invalid format"));
                expected.logs = (3, 1);
            }
            Tamper::DigestDeletedMidChain => {
                self.delete(&d[1]).await;
                expected.cli_errors.push(digest(&d[1], "not found"));
                expected.digests = (2, 1);
            }
            Tamper::NewestDigestDeleted => {
                // Nothing links to the newest digest: the CLI cannot see it is gone, and its
                // log files fall in the last hour, which the next digest could still list.
                self.delete(&d[2]).await;
                expected.found = Some((t0(), t0() + 2 * HOUR));
                expected.digests = (2, 0);
                expected.logs = (2, 0);
            }
            Tamper::OldestDigestDeleted => {
                self.delete(&d[0]).await;
                expected.cli_errors.push(digest(&d[0], "not found"));
                expected.found = Some((t0() + HOUR, t0() + 3 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::DigestModified | Tamper::DigestModifiedAndItsLogDeleted => {
                let text = self.inflated(&d[2]).await;
                self.replace_digest_body(
                    &d[2],
                    gzip(text.replace("SHA-256", "SHA-256 ").as_bytes()),
                )
                .await;
                if tamper == Tamper::DigestModifiedAndItsLogDeleted {
                    self.delete(&l[2][0]).await;
                }
                // Its log files are not proven, so not checked, and not "listed in no digest".
                expected
                    .cli_errors
                    .push(digest(&d[2], "signature verification failed"));
                expected.found = Some((t0(), t0() + 2 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::SignatureReplaced | Tamper::SignatureRemoved => {
                let (body, _) = self.get(&d[0]).await;
                let metadata = if tamper == Tamper::SignatureReplaced {
                    vec![
                        ("signature".into(), "ab".repeat(256)),
                        ("signature-algorithm".into(), "SHA256withRSA".into()),
                    ]
                } else {
                    Vec::new()
                };
                self.put_signed(&SignedObject {
                    key: d[0].clone(),
                    body,
                    metadata,
                    signature: None,
                })
                .await;
                expected
                    .cli_errors
                    .push(digest(&d[0], "signature verification failed"));
                expected.found = Some((t0() + HOUR, t0() + 3 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::DigestMoved => {
                let (body, metadata) = self.get(&d[2]).await;
                let later = d[2].replace("T030000Z", "T033000Z");
                self.put_signed(&SignedObject {
                    key: later.clone(),
                    body,
                    metadata: metadata.into_iter().collect(),
                    signature: None,
                })
                .await;
                expected
                    .cli_errors
                    .push(digest(&later, "has been moved from its original location"));
                expected.digests = (3, 1);
            }
            Tamper::UnknownKey => {
                let stranger = SignedTrail::new(&self.name, ACCOUNT, REGION, "audit", 99);
                let forged = stranger.digest(t0() + 2 * HOUR, t0() + 3 * HOUR, &[], None);
                self.put_signed(&forged).await;
                expected.cli_errors.push(digest(
                    &forged.key,
                    &format!(
                        "public key not found in region {REGION} for fingerprint {}",
                        stranger.fingerprint
                    ),
                ));
                expected.found = Some((t0(), t0() + 2 * HOUR));
                expected.digests = (2, 1);
                expected.logs = (2, 0);
            }
            Tamper::DigestNotGzip | Tamper::DigestNotJson | Tamper::DigestMissingAField => {
                let text = self.inflated(&d[1]).await;
                let body = match tamper {
                    Tamper::DigestNotGzip => text.into_bytes(),
                    Tamper::DigestNotJson => gzip(b"{\"digestEndTime\": "),
                    _ => {
                        let mut value: serde_json::Value = serde_json::from_str(&text).unwrap();
                        value.as_object_mut().unwrap().remove("digestStartTime");
                        gzip(value.to_string().as_bytes())
                    }
                };
                self.replace_digest_body(&d[1], body).await;
                // The chain goes on with the next older digest listed.
                expected.cli_errors.push(digest(&d[1], "invalid format"));
                expected.digests = (2, 1);
            }
            Tamper::ChainRestarted => {
                // Logging stopped after hour 0 and started again: hour 1's digest starts a new
                // chain; the CLI reports the hours between the chains, not an error.
                let restarted = signer(&self.name).digest(t0() + HOUR, t0() + 2 * HOUR, &[], None);
                self.put_signed(&restarted).await;
                expected.cli_errors.push(format!(
                    "No log files were delivered by CloudTrail between {} and {}",
                    iso_text(t0() + HOUR),
                    iso_text(t0() + HOUR)
                ));
            }
            Tamper::PlantedLog => {
                let mut spec = TrailSpec::recent(778);
                spec.delivery_millis = (t0() + HOUR + 1200) * 1000;
                let mut body = Vec::new();
                write_log_file(&spec, 5_000, &mut body).unwrap();
                self.put_plain(&spec.key(), body).await;
                expected
                    .ours
                    .push(log(&spec.key(), "not listed in any digest"));
            }
        }
        expected
    }
}

fn cli_summary(arn: &str, expected: &Expected, extra_invalid_logs: u64) -> String {
    let ratio = |(valid, invalid): (u64, u64), name: &str| {
        let total = valid + invalid;
        match (total, invalid) {
            (0, _) => String::new(),
            (_, 0) => format!("\n{valid}/{total} {name} files valid"),
            _ => format!(
                "\n{valid}/{total} {name} files valid, {invalid}/{total} {name} files INVALID"
            ),
        }
    };
    let (start, end) = (iso_text(t0()), iso_text(t0() + HOURS * HOUR));
    let found = match expected.found {
        Some((from, to)) => format!(
            "Results found for {} to {}:\n",
            iso_text(from),
            iso_text(to)
        ),
        None => "No valid digests found in range\n".to_owned(),
    };
    let logs = (expected.logs.0, expected.logs.1 + extra_invalid_logs);
    format!(
        "Validating log files for trail {arn} between {start} and {end}\n\nResults requested for {start} to {end}\n{found}{}{}\n",
        ratio(expected.digests, "digest"),
        ratio(logs, "log"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_tamper_scenario_prints_what_the_aws_cli_prints() {
    // The CLI's lines, spacing, summary and exit status, read off
    // awscli/customizations/cloudtrail/validation.py, for each scenario; our lines beyond it
    // only about files no present digest lists.
    let arn = format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit");
    let mut disagreements = Vec::new();
    for (index, tamper) in Tamper::ALL.into_iter().enumerate() {
        let bucket = Bucket::signed(&format!("integrity-cli-{index}")).await;
        let expected = bucket.tamper(tamper).await;
        let report = bucket.validate().await;
        let (out, err) =
            validator::render::render_cli(&report, &arn, t0(), t0() + HOURS * HOUR, false);
        let wanted_err: String = expected
            .cli_errors
            .iter()
            .chain(&expected.ours)
            .map(|line| format!("{line}\n\n"))
            .collect();
        let wanted_out = cli_summary(&arn, &expected, expected.ours.len() as u64);
        let cli_exit = i32::from(expected.digests.1 + expected.logs.1 > 0);
        let wanted_exit = if expected.ours.is_empty() {
            cli_exit
        } else {
            1
        };
        if (out.as_str(), err.as_str(), report.exit_code())
            != (wanted_out.as_str(), wanted_err.as_str(), wanted_exit)
        {
            disagreements.push(format!(
                "{tamper:?}\n  stdout {out:?}\n  wanted {wanted_out:?}\n  stderr {err:?}\n  wanted {wanted_err:?}\n  exit {} wanted {wanted_exit}",
                report.exit_code()
            ));
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
}

/// The forwarder as the template deploys it, on the checkpoint table the validator reads,
/// with `selectors` (`EVENT_SELECTORS`) when given.
async fn forwarder_on(
    table: &str,
    group: &str,
    selectors: Option<&str>,
) -> forwarder::AwsForwarder {
    let sdk = sdk_config_for(&moto().endpoint).await;
    let mut vars = std::collections::HashMap::from([
        ("LOG_GROUP_NAME", group),
        ("CHECKPOINT_TABLE_NAME", table),
    ]);
    if let Some(selectors) = selectors {
        vars.insert("EVENT_SELECTORS", selectors);
    }
    let config =
        trailwatch::ForwarderConfig::from_lookup(|name| vars.get(name).map(|v| v.to_string()))
            .unwrap();
    forwarder::build_forwarder(&sdk, &config)
}

/// Forwards what one SQS message body names, as the delivery queue hands it to the forwarder.
async fn forward_message(forwarder: &forwarder::AwsForwarder, body: &str, owner: &str) {
    let event = serde_json::json!({"Records": [
        {"messageId": owner, "eventSource": "aws:sqs", "body": body}]});
    let report = forwarder.handle(&event, None, owner).await.unwrap();
    assert!(report.failed_message_ids.is_empty(), "{report:?}");
}

/// The validator of `trail` reconciling with `table`: `grace_seconds` after each digest, and
/// repairs to `repairs`.
fn reconciling(
    trail: &OrganizationTrail,
    records: trailwatch::aws::checkpoints::DynamoCheckpoints,
    grace_seconds: i64,
    repairs: Option<validator::aws::sqs::RepairQueue>,
) -> validator::Validator {
    let mut validator = trail.validator();
    validator.provenance = Some(validator::provenance::Provenance {
        records,
        grace_seconds,
        repairs,
    });
    validator
}

/// The records of a gzip log file.
fn records_in(body: &[u8]) -> usize {
    let mut text = String::new();
    GzDecoder::new(body).read_to_string(&mut text).unwrap();
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    file["Records"].as_array().unwrap().len()
}

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
    let repairs = || validator::aws::sqs::RepairQueue {
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
            .ends_with("but what CloudWatch Logs holds is what CloudTrail signed")
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
        matches!(error, validator::HandlerError::Incomplete { .. }),
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
