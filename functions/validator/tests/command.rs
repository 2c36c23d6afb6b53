//! What a person sees running the `validator` binary: help, usage errors with the AWS CLI's exit
//! status, runtime errors without the usage, outside Lambda, a bad configuration. None of these
//! reaches AWS.

use std::process::Output;

use trailwatch_test_support::{run_binary, run_binary_unread, text, version_line_start};

fn validator(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut set = vec![("AWS_REGION", "us-east-1")];
    set.extend_from_slice(env);
    let unset = [
        "AWS_LAMBDA_RUNTIME_API",
        "INTEGRITY_LOG_GROUP_NAME",
        "LOG_GROUP_NAME",
        "ROUTES",
        "EVENT_SELECTORS",
    ];
    run_binary(env!("CARGO_BIN_EXE_validator"), args, &set, &unset)
}

#[test]
fn help_covers_the_command_and_its_flags() {
    let help = validator(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    assert!(text(&help.stdout).contains("validate-logs"));
    let command = validator(&["validate-logs", "--help"], &[]);
    assert_eq!(command.status.code(), Some(0));
    let out = text(&command.stdout);
    for flag in [
        "--trail-arn <ARN>",
        "--start-time <TIME>",
        "--checkpoint-table <NAME>",
        "--verbose",
    ] {
        assert!(out.contains(flag), "{flag} in {out}");
    }
    let status = validator(&["status", "--help"], &[]);
    assert_eq!(status.status.code(), Some(0));
    let out = text(&status.stdout);
    for flag in [
        "--trail-arn <ARN>",
        "--hours <HOURS>",
        "[default: 25]",
        "--log-group <NAME>",
        "--account-id <ID>",
        "Exit status: 0 all well",
    ] {
        assert!(out.contains(flag), "{flag} in {out}");
    }
    assert!(text(&help.stdout).contains("status"));
    let zero_hours = validator(
        &[
            "status",
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
            "--hours",
            "0",
        ],
        &[],
    );
    assert_eq!(zero_hours.status.code(), Some(2));
    let version = text(&validator(&["--version"], &[]).stdout);
    let expected = version_line_start("validator", env!("CARGO_PKG_VERSION"));
    assert!(
        version.starts_with(&expected),
        "{version} starts with {expected}"
    );
}

#[test]
fn usage_errors_exit_2_as_the_aws_cli_does_and_runtime_errors_255_without_the_usage() {
    let missing = validator(
        &["validate-logs", "--start-time", "2026-11-25T00:00:00Z"],
        &[],
    );
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing.stderr).contains("--trail-arn <ARN>"));
    let unknown = validator(&["frobnicate"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    let bad_arn = validator(
        &[
            "validate-logs",
            "--trail-arn",
            "not-an-arn",
            "--start-time",
            "2026-11-25T00:00:00Z",
            "--s3-bucket",
            "b",
        ],
        &[],
    );
    assert_eq!(bad_arn.status.code(), Some(255));
    let err = text(&bad_arn.stderr);
    assert_eq!(err.trim(), "Invalid trail ARN provided: not-an-arn");
}

#[test]
fn audit_logs_takes_validate_logs_arguments_and_says_where_its_configuration_comes_from() {
    let help = validator(&["audit-logs", "--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    let out = text(&help.stdout);
    for part in [
        "--trail-arn <ARN>",
        "--account-id <ID>",
        "--delivery-delay-minutes <MINUTES>",
        "--endpoint-url <URL>",
        "LOG_GROUP_NAME or ROUTES, EVENT_SELECTORS",
    ] {
        assert!(out.contains(part), "{part} in {out}");
    }
    // Without the forwarder's configuration: one line in words, exit 255, no AWS call.
    let unconfigured = validator(
        &[
            "audit-logs",
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/t",
            "--start-time",
            "2026-11-25T00:00:00Z",
        ],
        &[],
    );
    assert_eq!(unconfigured.status.code(), Some(255));
    let err = text(&unconfigured.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with(
            "audit-logs reads where the forwarder writes from the forwarder's environment variables"
        ) && err.contains("LOG_GROUP_NAME"),
        "{err}"
    );
}

#[test]
fn outside_lambda_it_says_what_it_is_and_a_bad_configuration_is_said_in_words() {
    let plain = validator(&[], &[]);
    assert_eq!(plain.status.code(), Some(2));
    assert_eq!(text(&plain.stderr).trim(), validator::NOT_IN_LAMBDA);
    let bad = validator(&[], &[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")]);
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    assert!(
        err.starts_with("validator: ") && err.contains("INTEGRITY_LOG_GROUP_NAME"),
        "{err}"
    );
    assert!(!err.contains("ConfigError {"), "a Debug dump: {err}");
}

#[test]
fn a_reader_that_went_away_is_not_a_panic() {
    // `validator … 2>&1 | head -0`: each line fails to write; the exit status is the command's.
    let run = |args: &[&str]| {
        let set = [("AWS_REGION", "us-east-1")];
        run_binary_unread(
            env!("CARGO_BIN_EXE_validator"),
            args,
            &set,
            &["AWS_LAMBDA_RUNTIME_API"],
        )
        .code()
    };
    assert_eq!(run(&[]), Some(2));
    assert_eq!(run(&["--help"]), Some(0));
    let bad_arn = [
        "validate-logs",
        "--trail-arn",
        "not-an-arn",
        "--start-time",
        "2026-11-25T00:00:00Z",
    ];
    assert_eq!(run(&bad_arn), Some(255));
}

#[test]
fn a_profile_the_files_do_not_define_is_refused_as_the_aws_cli_does() {
    // Credentials in the environment would otherwise be used instead, silently.
    let dir = std::env::temp_dir().join("trailwatch-validator-profiles");
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let config = dir.join("config");
    std::fs::write(&config, "[profile audit]\nregion = us-east-1\n").expect("written");
    let config = config.display().to_string();
    let env = [
        ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
        ("AWS_SECRET_ACCESS_KEY", "secret"),
        ("AWS_CONFIG_FILE", config.as_str()),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
    ];
    let args = |profile| {
        [
            "validate-logs",
            "--profile",
            profile,
            "--trail-arn",
            "arn:aws:cloudtrail:us-east-1:111122223333:trail/T",
            "--start-time",
            "2026-11-25T00:00:00Z",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ]
    };
    let missing = validator(&args("nosuch"), &env);
    assert_eq!(missing.status.code(), Some(255));
    assert_eq!(
        text(&missing.stderr).trim(),
        "The config profile (nosuch) could not be found"
    );
    // A defined profile gets past the check (and fails later, on the closed endpoint).
    let defined = validator(&args("audit"), &env);
    assert!(
        !text(&defined.stderr).contains("could not be found"),
        "{}",
        text(&defined.stderr)
    );
}

#[test]
fn no_credentials_anywhere_is_said_as_the_aws_cli_says_it() {
    let unset = [
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ];
    let set = [
        ("AWS_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
        ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let args = [
        "validate-logs",
        "--trail-arn",
        "arn:aws:cloudtrail:us-east-1:111122223333:trail/T",
        "--start-time",
        "2026-11-25T00:00:00Z",
        "--endpoint-url",
        "http://127.0.0.1:9",
    ];
    let out = run_binary(env!("CARGO_BIN_EXE_validator"), &args, &set, &unset);
    assert_eq!(out.status.code(), Some(255));
    let err = text(&out.stderr);
    assert!(err.contains("Unable to locate credentials"), "{err}");
    assert!(
        !err.contains("dispatch failure") && !err.contains("Attempted:"),
        "{err}"
    );
}
