//! What a person sees running the `forwarder` binary: help, usage errors, outside Lambda, a bad
//! configuration. No emulator: none of these reaches AWS.

use std::process::Output;

use trailwatch_test_support::{run_binary, run_binary_unread, text, version_line_start};

fn forwarder(args: &[&str], env: &[(&str, &str)]) -> Output {
    let unset = ["AWS_LAMBDA_RUNTIME_API", "LOG_GROUP_NAME", "ROUTES"];
    run_binary(env!("CARGO_BIN_EXE_forwarder"), args, env, &unset)
}

#[test]
fn help_names_the_commands_and_how_to_run_the_function() {
    let help = forwarder(&["--help"], &[]);
    assert_eq!(help.status.code(), Some(0));
    let out = text(&help.stdout);
    assert!(
        out.contains("backfill") && out.contains("cargo lambda watch"),
        "{out}"
    );
    let backfill = forwarder(&["backfill", "--help"], &[]);
    assert_eq!(backfill.status.code(), Some(0));
    let out = text(&backfill.stdout);
    for flag in [
        "--s3-bucket <BUCKET>",
        "--start-time <TIME>",
        "--dry-run",
        "--queue-url <URL>",
        "--stack-name <NAME>",
        "--via-stack-queue",
    ] {
        assert!(out.contains(flag), "{flag} in {out}");
    }
    let version = forwarder(&["--version"], &[]);
    let printed = text(&version.stdout);
    let expected = version_line_start("forwarder", env!("CARGO_PKG_VERSION"));
    assert!(
        printed.starts_with(&expected),
        "{printed} starts with {expected}"
    );
}

#[test]
fn usage_errors_name_the_flag_and_exit_2() {
    let missing = forwarder(&["backfill", "--start-time", "2026-11-25T00:00:00Z"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    let err = text(&missing.stderr);
    assert!(err.contains("--s3-bucket <BUCKET>"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let unknown = forwarder(&["backfill", "--bogus", "x"], &[]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("unexpected argument '--bogus'"));
    let command = forwarder(&["frobnicate"], &[]);
    assert_eq!(command.status.code(), Some(2));
    assert!(text(&command.stderr).contains("unrecognized subcommand 'frobnicate'"));
}

#[test]
fn outside_lambda_it_says_what_it_is_in_one_line() {
    let plain = forwarder(&[], &[]);
    assert_eq!(plain.status.code(), Some(2));
    assert_eq!(text(&plain.stderr).trim(), forwarder::NOT_IN_LAMBDA);
}

#[test]
fn a_bad_configuration_is_said_in_words() {
    // Under a runtime API (none listens: the configuration fails first).
    let bad = forwarder(
        &[],
        &[
            ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
            ("LOG_GROUP_NAME", "aws/bad"),
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
    let err = text(&bad.stderr);
    assert!(
        err.starts_with("forwarder: ") && err.contains("LOG_GROUP_NAME"),
        "{err}"
    );
    assert!(!err.contains("ConfigError {"), "a Debug dump: {err}");
}

#[test]
fn routes_and_selectors_may_name_a_file_and_a_path_given_as_json_gets_the_hint() {
    let dir = std::env::temp_dir().join("trailwatch-forwarder-routes-file");
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let routes = dir.join("routes.json");
    // Read from the file: the refusal can only come from its content.
    std::fs::write(&routes, r#"[{"logGroupName": "aws/from-the-file"}]"#).expect("written");
    let under_lambda = |variable: &str, value: &str| {
        forwarder(
            &[],
            &[("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"), (variable, value)],
        )
    };
    let from_file = under_lambda("ROUTES", &format!("file://{}", routes.display()));
    let err = text(&from_file.stderr);
    assert_eq!(from_file.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("forwarder: configuration ROUTES: ") && err.contains("aws/from-the-file"),
        "{err}"
    );
    let missing = under_lambda("ROUTES", "file:///nonexistent/routes.json");
    let err = text(&missing.stderr);
    assert!(
        err.contains("file:///nonexistent/routes.json cannot be read"),
        "{err}"
    );
    let path = under_lambda("ROUTES", "events/config/routes-three-groups.json");
    let err = text(&path.stderr);
    assert!(
        err.contains("write file://events/config/routes-three-groups.json"),
        "{err}"
    );
}

#[test]
fn a_reader_that_went_away_is_not_a_panic() {
    // `forwarder … 2>&1 | head -0`: each line fails to write; the exit status is the command's.
    let unset = ["AWS_LAMBDA_RUNTIME_API", "LOG_GROUP_NAME", "ROUTES"];
    let run = |args: &[&str], set: &[(&str, &str)]| {
        run_binary_unread(env!("CARGO_BIN_EXE_forwarder"), args, set, &unset).code()
    };
    assert_eq!(run(&[], &[]), Some(2));
    let bad_configuration = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
        ("LOG_GROUP_NAME", "aws/bad"),
    ];
    assert_eq!(run(&[], &bad_configuration), Some(1));
    assert_eq!(run(&["--help"], &[]), Some(0));
    assert_eq!(run(&["backfill", "--bogus"], &[]), Some(2));
}

#[test]
fn backfill_says_where_its_configuration_comes_from_and_refuses_a_price_without_a_dry_run() {
    let help = text(&forwarder(&["backfill", "--help"], &[]).stdout);
    assert!(help.contains("environment variables"), "{help}");
    assert!(help.contains("20261125T100000Z"), "{help}");
    assert!(
        !help.contains("Organizations, DynamoDB"),
        "the validator's services: {help}"
    );
    assert!(
        help.contains("A filter, not the AWS CLI's --region"),
        "{help}"
    );

    let args = [
        "backfill",
        "--s3-bucket",
        "b",
        "--start-time",
        "2026-11-25T00:00:00Z",
    ];
    let unconfigured = forwarder(&args, &[]);
    assert_eq!(unconfigured.status.code(), Some(2));
    let err = text(&unconfigured.stderr);
    assert!(
        err.contains("LOG_GROUP_NAME") && err.contains(forwarder::backfill::CONFIGURATION_HINT),
        "{err}"
    );

    let mut priced = args.to_vec();
    priced.extend(["--price-per-gb", "0.5"]);
    let refused = forwarder(&priced, &[("LOG_GROUP_NAME", "/trailwatch/test")]);
    assert_eq!(refused.status.code(), Some(2));
    let err = text(&refused.stderr);
    assert!(err.contains("--dry-run"), "{err}");
}

#[test]
fn backfill_without_the_checkpoint_table_warns_that_a_rerun_duplicates() {
    // No region: it stops right after the warning, before any call.
    let args = [
        "backfill",
        "--s3-bucket",
        "b",
        "--start-time",
        "2026-11-25T00:00:00Z",
    ];
    let unset = [
        "AWS_LAMBDA_RUNTIME_API",
        "ROUTES",
        "CHECKPOINT_TABLE_NAME",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ];
    let set = [
        ("LOG_GROUP_NAME", "/trailwatch/test"),
        ("AWS_CONFIG_FILE", "/nonexistent/config"),
    ];
    let run = |extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend_from_slice(extra);
        text(&run_binary(env!("CARGO_BIN_EXE_forwarder"), &all, &set, &unset).stderr)
    };
    assert!(
        run(&[]).contains(forwarder::backfill::NO_CHECKPOINT_TABLE),
        "{}",
        run(&[])
    );
    // A dry run and --queue-url forward nothing here: no warning.
    assert!(!run(&["--dry-run"]).contains("CHECKPOINT_TABLE_NAME"));
    assert!(!run(&["--queue-url", "http://127.0.0.1:9/q"]).contains("CHECKPOINT_TABLE_NAME"));
}

#[test]
fn a_runtime_api_that_does_not_answer_is_said_in_words() {
    // As Lambda starts it, but nothing listens at the runtime API.
    let lambda = [
        ("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9"),
        ("AWS_LAMBDA_FUNCTION_NAME", "trailwatch-forwarder"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "stream"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "group"),
        ("AWS_REGION", "us-east-1"),
        ("LOG_GROUP_NAME", "/trailwatch/test"),
    ];
    let out = forwarder(&[], &lambda);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("forwarder: the Lambda runtime API failed: ")
            && err.contains("Connection refused"),
        "{err}"
    );
    assert!(
        !err.contains("hyper_util") && !err.contains("Os {"),
        "a Debug dump: {err}"
    );
}
