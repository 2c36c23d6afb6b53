//! CloudWatch Logs: the batch rules, destinations, and delivery.

pub mod batch;
pub mod destination;
pub mod publish;

pub use batch::{Batch, BatchBuilder, EventTooLarge, LogEvent};
pub use destination::{CloudTrailStreamNaming, Destination};
pub use publish::{LogPublisher, PublishError, PutOutcome};
