//! How the binary starts: as the Lambda function (`serve`), or as `forwarder backfill …`.

use lambda_runtime::{Error, LambdaEvent, run, service_fn};

/// Set by Lambda (and by `cargo lambda watch`) for the runtime client to poll.
const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

/// Whether the Lambda runtime API is there to poll.
pub fn in_lambda() -> bool {
    std::env::var_os(RUNTIME_API).is_some()
}

/// Runs the Lambda function: configuration from the environment, then events until the
/// runtime stops it.
pub async fn serve() -> Result<(), Error> {
    // Lambda's log level and format, with the SDK held at WARN (it would log request bodies).
    trailwatch::aws::logging::init_subscriber();
    let config = match trailwatch::ForwarderConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            // In words: Lambda shows the init failure's output, not a Debug dump.
            trailwatch::stderr_line!("forwarder: {error}");
            std::process::exit(1);
        }
    };
    if config.checkpoint_table_name.is_none() {
        tracing::warn!(
            "CHECKPOINT_TABLE_NAME is not set: delivery is at least once (a redelivered notification, a retry or a crash forwards records again)"
        );
    }
    if config.continuation_queue_url.is_none() {
        tracing::info!(
            "CONTINUATION_QUEUE_URL is not set: an object stopped by the deadline is retried whole"
        );
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(trailwatch::aws::http::https_client())
        .load()
        .await;
    let forwarder = crate::build_forwarder(&sdk, &config);
    let visibility = crate::build_visibility_keeper(&sdk);
    let namespace = config.metrics_namespace.as_str();
    run(service_fn(|event: LambdaEvent<_>| {
        crate::handle(&forwarder, &visibility, namespace, event)
    }))
    .await
}

/// `forwarder backfill …`: progress and the summary on standard error, the summary JSON on
/// standard output (with --json, or when it is not a terminal); exit status 0 all forwarded,
/// 1 an object failed, 2 could not run.
pub async fn backfill(parsed: &crate::backfill::Args) -> i32 {
    // Command mode: warnings on standard error, everything with --debug (or RUST_LOG).
    trailwatch::aws::logging::init_command_subscriber(parsed.aws.debug);
    let config = match trailwatch::ForwarderConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            trailwatch::stderr_line!("backfill: {error}");
            trailwatch::stderr_line!("backfill: {}", crate::backfill::CONFIGURATION_HINT);
            return 2;
        }
    };
    let forwards_here = !parsed.dry_run && parsed.queue_url.is_none();
    if forwards_here && config.checkpoint_table_name.is_none() {
        trailwatch::stderr_line!("backfill: {}", crate::backfill::NO_CHECKPOINT_TABLE);
    }
    if parsed.aws.no_verify_ssl {
        trailwatch::stderr_line!("{}", trailwatch::aws::options::VERIFY_SSL_NOTE);
    }
    let sdk = match parsed.aws.sdk_config(None).await {
        Ok(sdk) if sdk.region().is_some() => sdk,
        Ok(_) => {
            trailwatch::stderr_line!("backfill: {}", trailwatch::aws::options::NO_REGION);
            return 2;
        }
        Err(error) => {
            trailwatch::stderr_line!("backfill: {error}");
            return 2;
        }
    };
    let now = trailwatch::clock::now_seconds();
    let progress = crate::backfill::Progress::for_stderr();
    match crate::backfill::run(parsed, &sdk, config, now, progress).await {
        Ok(outcome) => {
            use std::io::IsTerminal;
            // On a terminal the summary above is enough; scripts and --json get every object.
            let json = parsed.json || !std::io::stdout().is_terminal();
            if let Some(summary) = outcome.summary.as_ref().filter(|_| json) {
                trailwatch::stdout_text!(
                    "{}\n",
                    serde_json::to_string(summary).unwrap_or_default()
                );
            }
            outcome.exit_code()
        }
        Err(error) => {
            trailwatch::stderr_line!("backfill: {error}");
            2
        }
    }
}
