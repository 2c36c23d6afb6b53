//! The forwarder's own AWS adapters: trail objects from S3, continuations to SQS. The checkpoint
//! table (`trailwatch::aws::checkpoints`) and the CloudWatch Logs sink (`trailwatch::aws::logs`)
//! are shared with the validator.

pub mod s3;
pub mod sqs;
