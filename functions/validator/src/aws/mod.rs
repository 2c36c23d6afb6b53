//! The validator's own AWS adapters: digests and log files from S3, public keys and trails from
//! CloudTrail, the organization id from Organizations. The CloudWatch Logs sink is shared with the forwarder (`trailwatch::aws::logs`).

pub mod cloudtrail;
pub mod s3;
pub mod sqs;

/// The validator's clients, built once, and the configuration more are built from (a
/// CloudTrail client per region for public keys).
#[derive(Clone)]
pub struct Clients {
    pub sdk: aws_config::SdkConfig,
    pub s3: aws_sdk_s3::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub organizations: aws_sdk_organizations::Client,
    /// The forwarder's checkpoint table (the reconciliation).
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The forwarder's log groups, read back by the audit.
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    /// S3 with path-style addressing when an endpoint is configured (local emulators).
    pub fn new(sdk: &aws_config::SdkConfig) -> Self {
        Self {
            sdk: sdk.clone(),
            s3: trailwatch::aws::s3::client(sdk),
            cloudtrail: aws_sdk_cloudtrail::Client::new(sdk),
            organizations: aws_sdk_organizations::Client::new(sdk),
            dynamodb: aws_sdk_dynamodb::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
        }
    }
}
