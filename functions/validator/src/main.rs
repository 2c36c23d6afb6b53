use lambda_runtime::{Error, LambdaEvent, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
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
    let validator = validator::Validator::from_env(&sdk)?;
    run(service_fn(|event: LambdaEvent<_>| {
        validator::handle(&validator, event)
    }))
    .await
}
