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
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(trailwatch::aws::http::https_client())
        .load()
        .await;
    if !args.is_empty() {
        // Command mode: `validator validate-logs …`, as the AWS CLI.
        let region = sdk.region().map(|r| r.to_string()).unwrap_or_default();
        let now = trailwatch::clock::now_seconds();
        std::process::exit(
            validator::cli::run(&args, &validator::aws::Clients::new(&sdk), &region, now).await,
        );
    }
    // Lambda's log level and format, with the SDK held at WARN (it would log request bodies).
    trailwatch::aws::logging::init_subscriber();
    let validator = match validator::Validator::from_env(&sdk) {
        Ok(validator) => validator,
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
