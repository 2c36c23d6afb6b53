use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if !args.is_empty() {
        // Command mode: `forwarder backfill …`; its logs on standard error.
        trailwatch::aws::logging::init_subscriber_with_writer(std::io::stderr);
        std::process::exit(command(&args).await);
    }
    // Lambda's log level and format, with the SDK held at WARN (it would log request bodies).
    trailwatch::aws::logging::init_subscriber();
    let config = trailwatch::ForwarderConfig::from_env()?;
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
    let forwarder = forwarder::build_forwarder(&sdk, &config);
    let visibility = forwarder::build_visibility_keeper(&sdk);
    let namespace = config.metrics_namespace.as_str();
    run(service_fn(|event: LambdaEvent<_>| {
        forwarder::handle(&forwarder, &visibility, namespace, event)
    }))
    .await
}

/// `forwarder backfill …`: the summary JSON on standard output, progress on standard error;
/// exit status 0 all forwarded, 1 an object failed, 2 could not run.
async fn command(args: &[String]) -> i32 {
    if args.first().map(String::as_str) != Some("backfill") {
        eprintln!(
            "unknown command {:?}\n\n{}",
            args[0],
            forwarder::backfill::USAGE
        );
        return 2;
    }
    let parsed = match forwarder::backfill::parse(args) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}\n\n{}", forwarder::backfill::USAGE);
            return 2;
        }
    };
    let config = match trailwatch::ForwarderConfig::from_env() {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{error}");
            return 2;
        }
    };
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(trailwatch::aws::http::https_client())
        .load()
        .await;
    let now = trailwatch::clock::now_seconds();
    let progress = forwarder::backfill::Progress::for_stderr();
    match forwarder::backfill::run(&parsed, &sdk, config, now, progress).await {
        Ok(outcome) => {
            if let Some(summary) = &outcome.summary {
                println!("{}", serde_json::to_string(summary).unwrap_or_default());
            }
            outcome.exit_code()
        }
        Err(error) => {
            eprintln!("backfill: {error}");
            2
        }
    }
}
