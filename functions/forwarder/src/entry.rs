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
    // From the environment: said before anything is called. From the stack: once the SDK is.
    let from_environment = match parsed.stack_name {
        None => match configured(trailwatch::ForwarderConfig::from_env()) {
            Some(config) => Some(config),
            None => return 2,
        },
        Some(_) => None,
    };
    if let Some(config) = &from_environment {
        warn_without_table(parsed, config);
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
    let (parsed, config) = match from_environment {
        Some(config) => (parsed.clone(), config),
        None => match stack_configuration(parsed, &sdk).await {
            Some((parsed, config)) => {
                warn_without_table(&parsed, &config);
                (parsed, config)
            }
            None => return 2,
        },
    };
    let now = trailwatch::clock::now_seconds();
    let progress = crate::backfill::Progress::for_stderr();
    match crate::backfill::run(&parsed, &sdk, config, now, progress).await {
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

/// Forwarding here without the checkpoint table duplicates on a rerun: said before it starts.
fn warn_without_table(parsed: &crate::backfill::Args, config: &trailwatch::ForwarderConfig) {
    let forwards_here = !parsed.dry_run && parsed.queue_url.is_none();
    if forwards_here && config.checkpoint_table_name.is_none() {
        trailwatch::stderr_line!("backfill: {}", crate::backfill::NO_CHECKPOINT_TABLE);
    }
}

/// The configuration, or `None` once its error and where configuration comes from are said.
fn configured(
    config: Result<trailwatch::ForwarderConfig, trailwatch::config::ConfigError>,
) -> Option<trailwatch::ForwarderConfig> {
    match config {
        Ok(config) => Some(config),
        Err(error) => {
            trailwatch::stderr_line!("backfill: {error}");
            trailwatch::stderr_line!("backfill: {}", crate::backfill::CONFIGURATION_HINT);
            None
        }
    }
}

/// `--stack-name`: the deployed forwarder's configuration, and with `--via-stack-queue` the
/// stack's delivery queue as the queue; `None` once why not is said.
async fn stack_configuration(
    parsed: &crate::backfill::Args,
    sdk: &aws_config::SdkConfig,
) -> Option<(crate::backfill::Args, trailwatch::ForwarderConfig)> {
    let stack = parsed.stack_name.as_deref()?;
    let deployed = match crate::backfill::stack::read(sdk, stack).await {
        Ok(deployed) => deployed,
        Err(error) => {
            trailwatch::stderr_line!("backfill: {error}");
            return None;
        }
    };
    trailwatch::stderr_line!(
        "backfill: the configuration of {} (stack {stack})",
        deployed.function
    );
    let mut parsed = parsed.clone();
    if parsed.via_stack_queue {
        let Some(queue_url) = deployed.delivery_queue_url.clone() else {
            trailwatch::stderr_line!(
                "backfill: the stack has no DeliveryQueueUrl output: give --queue-url"
            );
            return None;
        };
        parsed.queue_url = Some(queue_url);
    }
    let config = configured(trailwatch::ForwarderConfig::from_lookup(|name| {
        deployed.variables.get(name).cloned()
    }))?;
    Some((parsed, config))
}
