//! CloudWatch Logs: the batch rules, destinations, log group names, and what a put did.

pub mod batch;
pub mod destination;
pub mod group;
pub mod outcome;
pub mod put_body;

pub use batch::{Batch, BatchBuilder, BatchLimits, EventTooLarge, LogEvent};
pub use destination::{
    DEFAULT_STREAM_TEMPLATE, Destination, KeyFacts, StreamTemplate, StreamTemplateError,
};
pub use group::{
    GroupSettingError, GroupSettings, GroupSettingsByName, LogGroupClass, RETENTION_DAYS,
    parse_retention_days, validate_log_group_name,
};
pub use outcome::{PutOutcome, RejectedIndexes, RejectedReasons, outcome};
pub use put_body::put_log_events_body;
