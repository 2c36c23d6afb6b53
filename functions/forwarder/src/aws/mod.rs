//! The forwarder's own AWS adapters: trail objects from S3, continuations to SQS, checkpoints
//! in DynamoDB. The
//! CloudWatch Logs sink is shared with the validator (`trailwatch::aws::logs`).

pub mod dynamodb;
pub mod s3;
pub mod sqs;
