//! CloudWatch Logs: the batch rules, destinations, and delivery.

pub mod batch;
pub mod destination;
pub mod publish;

pub use batch::{Batch, BatchBuilder, EventTooLarge, LogEvent};
pub use destination::{DEFAULT_STREAM_TEMPLATE, Destination, KeyFacts, StreamTemplate};
pub use publish::{LogPublisher, PublishError, PutOutcome};
