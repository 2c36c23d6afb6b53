//! CloudTrail's own artefacts: S3 keys of trail files, the streaming file reader, records.

pub mod file;
pub mod key;
pub mod record;
pub mod split;

pub use file::{FileError, decompress, read_records};
pub use key::{FileKind, TrailKey, classify, decode_notification_key};
pub use record::{EventCategory, RecordError, RecordFields};
