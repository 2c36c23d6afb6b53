//! The forwarder's own AWS adapters: trail objects from S3, continuations to SQS, the dry
//! run's log group classes. The checkpoint
//! table (`trailwatch::aws::checkpoints`) and the CloudWatch Logs sink (`trailwatch::aws::logs`)
//! are shared with the validator.

pub mod logs;
pub mod s3;
pub mod sqs;
