//! The `validate-logs` command as a person runs it: the AWS CLI's lines, exit codes, global
//! options and time forms.

// Test helpers outside #[test] functions: failures should panic the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]
mod common;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_prints_the_aws_cli_lines_and_exits_1_on_tampering() {
    let bucket = Bucket::signed("integrity-cli").await;
    let sdk = sdk_config_for(&moto().endpoint).await;
    let clients = Clients::new(&sdk);
    let args = command_args(&bucket, "integrity-cli", HOURS * HOUR);
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

/// A trail ARN the account has no trail of: the AWS CLI's words, exit 255. In a region no other
/// test creates trails in, so the emulator's answer is empty whatever runs beside it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_trail_is_said_in_the_aws_cli_words() {
    const EMPTY_REGION: &str = "ap-south-2";
    let endpoint = moto().endpoint.clone();
    let arn = format!("arn:aws:cloudtrail:{EMPTY_REGION}:{ACCOUNT}:trail/no-such-trail");
    let args = [
        "validate-logs",
        "--trail-arn",
        arn.as_str(),
        "--start-time",
        "2026-11-25T00:00:00Z",
        "--endpoint-url",
        endpoint.as_str(),
    ];
    let set = [
        ("AWS_REGION", EMPTY_REGION),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
    ];
    let out = trailwatch_test_support::run_binary(
        env!("CARGO_BIN_EXE_validator"),
        &args,
        &set,
        &["AWS_LAMBDA_RUNTIME_API", "AWS_PROFILE"],
    );
    assert_eq!(out.status.code(), Some(255));
    let err = trailwatch_test_support::text(&out.stderr);
    assert!(
        err.contains(&format!("A trail could not be found for {arn}")),
        "{err}"
    );
}

/// A region with log files and no digest at all: the AWS CLI says only "No digests found" and
/// exits 0; here each file is INVALID (not listed in any digest) and the exit status is 1.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn log_files_of_a_region_without_digests_are_not_passed_over() {
    let bucket = Bucket::empty("integrity-no-digests").await;
    for n in 0..3 {
        bucket
            .put_log_file(TrailSpec::recent(900 + n), t0() + 600 + n as i64 * 60)
            .await;
    }
    let sdk = sdk_config_for(&moto().endpoint).await;
    let clients = Clients::new(&sdk);
    let args = command_args(&bucket, "integrity-no-digests", 2 * HOUR);
    assert_eq!(
        validator::cli::run(&args, &clients, REGION, t0() + 5 * HOUR).await,
        1
    );
    // Within the last hour a region's first digest may still be on its way: nothing is called
    // unlisted yet.
    assert_eq!(
        validator::cli::run(&args, &clients, REGION, t0() + 700).await,
        0
    );
}

/// `validate-logs` of the test trail in `bucket` from t0 to `end` seconds after it, with the
/// test keys from a file (written under a folder named for `name`).
fn command_args(bucket: &Bucket, name: &str, end: i64) -> Vec<String> {
    let dir = std::env::temp_dir().join(format!("trailwatch-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let keys_file = dir.join("keys.json");
    std::fs::write(&keys_file, signer("any").public_keys_json()).unwrap();
    [
        "validate-logs",
        "--trail-arn",
        &format!("arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/audit"),
        "--start-time",
        &at(0),
        "--end-time",
        &at(end),
        "--s3-bucket",
        &bucket.name,
        "--public-keys-file",
        keys_file.to_str().unwrap(),
    ]
    .iter()
    .map(|a| a.to_string())
    .collect()
}
