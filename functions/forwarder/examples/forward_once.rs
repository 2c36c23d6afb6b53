//! Forwards one S3 object with the forwarder's own code, outside Lambda, and prints the summary.
//! Configured like the function (`LOG_GROUP_NAME`, the SDK's `AWS_*` variables), for
//! whole-process measurements against a local emulator (`/usr/bin/time -v`).
//!
//! cargo run --release -p forwarder --example forward_once -- BUCKET KEY

use lambda_runtime::Error;
use trailwatch::pipeline::Deadline;
use trailwatch::{ForwarderConfig, NotifiedObject};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let (Some(bucket), Some(key)) = (args.next(), args.next()) else {
        return Err("usage: forward_once BUCKET KEY (the key as stored, not URL-encoded)".into());
    };
    let config = ForwarderConfig::from_env()?;
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(trailwatch::aws::http::https_client())
        .load()
        .await;
    let forwarder = forwarder::build_forwarder(&sdk, &config);
    // The key as stored: not form-encoded like a notification's.
    let summary = forwarder
        .forward(
            &NotifiedObject::plain(&bucket, &key),
            &Deadline::none(),
            &format!("forward_once-{}", std::process::id()),
            true,
        )
        .await
        .summary;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}
