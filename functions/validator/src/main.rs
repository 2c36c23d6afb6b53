use lambda_runtime::{Error, LambdaEvent, run, service_fn};

/// Set by Lambda (and by `cargo lambda watch`) for the runtime client to poll.
const RUNTIME_API: &str = "AWS_LAMBDA_RUNTIME_API";

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() && std::env::var_os(RUNTIME_API).is_none() {
        eprintln!("{}", validator::NOT_IN_LAMBDA);
        std::process::exit(2);
    }
    if !args.is_empty() {
        // Command mode: `validator validate-logs …`, as the AWS CLI.
        std::process::exit(validate_logs(&args).await);
    }
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(trailwatch::aws::http::https_client())
        .load()
        .await;
    // Lambda's log level and format, with the SDK held at WARN (it would log request bodies).
    trailwatch::aws::logging::init_subscriber();
    let validator = match validator::ValidatorConfig::from_env() {
        Ok(config) => validator::Validator::from_config(&sdk, &config),
        Err(error) => {
            // In words: Lambda shows the init failure's output, not a Debug dump.
            eprintln!("validator: {error}");
            std::process::exit(1);
        }
    };
    run(service_fn(|event: LambdaEvent<_>| {
        validator::handle(&validator, event)
    }))
    .await
}

/// `validator validate-logs …`: the AWS CLI's arguments (its global options included), output
/// and exit codes.
async fn validate_logs(args: &[String]) -> i32 {
    let parsed = match validator::cli::parse(args) {
        Ok(parsed) => parsed,
        Err(error) => {
            let _ = error.print();
            return error.exit_code();
        }
    };
    // Only --debug logs: without it the output is the AWS CLI's alone.
    if parsed.aws.debug {
        trailwatch::aws::logging::init_command_subscriber(true);
    }
    if parsed.aws.no_verify_ssl {
        eprintln!("{}", trailwatch::aws::options::VERIFY_SSL_NOTE);
    }
    let sdk = match parsed.aws.sdk_config(parsed.region.as_deref()).await {
        Ok(sdk) => sdk,
        Err(error) => {
            eprintln!("{error}");
            return 255;
        }
    };
    let Some(region) = sdk.region().map(|r| r.to_string()) else {
        eprintln!("{}, or give --region", trailwatch::aws::options::NO_REGION);
        return 255;
    };
    let clients = validator::aws::Clients::new(&sdk);
    validator::cli::execute(&parsed, &clients, &region, trailwatch::clock::now_seconds()).await
}
