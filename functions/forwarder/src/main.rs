use lambda_runtime::{Error, LambdaEvent, run, service_fn, tracing};

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing::init_default_subscriber();
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
