//! How the binary starts: as the Lambda function (`serve`), or as `validator validate-logs …`.

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
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(trailwatch::aws::http::https_client())
        .load()
        .await;
    // Lambda's log level and format, with the SDK held at WARN (it would log request bodies).
    trailwatch::aws::logging::init_subscriber();
    let validator = match crate::ValidatorConfig::from_env() {
        Ok(config) => crate::Validator::from_config(&sdk, &config),
        Err(error) => {
            // In words: Lambda shows the init failure's output, not a Debug dump.
            trailwatch::stderr_line!("validator: {error}");
            std::process::exit(1);
        }
    };
    run(service_fn(|event: LambdaEvent<_>| {
        crate::handle(&validator, event)
    }))
    .await
}

/// `validator validate-logs …` or `validator audit-logs …`: the AWS CLI's arguments (its
/// global options included), output and exit codes.
pub async fn command(args: &[String]) -> i32 {
    let command = match crate::cli::parse(args) {
        Ok(command) => command,
        Err(error) => {
            let _ = error.print();
            return error.exit_code();
        }
    };
    let (aws, region) = command.aws_and_region();
    // Only --debug logs: without it the output is the command's alone.
    if aws.debug {
        trailwatch::aws::logging::init_command_subscriber(true);
    }
    if aws.no_verify_ssl {
        trailwatch::stderr_line!("{}", trailwatch::aws::options::VERIFY_SSL_NOTE);
    }
    let sdk = match aws.sdk_config(region).await {
        Ok(sdk) => sdk,
        Err(error) => {
            trailwatch::stderr_line!("{error}");
            return 255;
        }
    };
    let Some(region) = sdk.region().map(|r| r.to_string()) else {
        trailwatch::stderr_line!("{}, or give --region", trailwatch::aws::options::NO_REGION);
        return 255;
    };
    let clients = crate::aws::Clients::new(&sdk);
    let now = trailwatch::clock::now_seconds();
    crate::cli::dispatch(&command, &clients, &region, now).await
}
