use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
    let config = trailwatch::ForwarderConfig::from_env()?;
    let sdk = aws_config::load_from_env().await;
    let forwarder = forwarder::build_forwarder(&sdk, &config);
    run(service_fn(|event: LambdaEvent<_>| {
        forwarder::handle(&forwarder, event)
    }))
    .await
}
