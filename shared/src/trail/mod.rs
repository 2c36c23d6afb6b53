//! CloudTrail's own artefacts: S3 keys of trail files, the streaming file reader, records.

pub mod accounts;
pub mod file;
pub mod key;
pub mod one_pass;
pub mod record;
#[cfg(any(test, feature = "reference"))]
pub mod reference;
pub mod split;

pub use accounts::AllowedAccounts;
pub use file::{FileError, Stop, decompress};
pub use key::{
    FileKind, TrailKey, accounts_folder, date_folder, decode_notification_key, folder_name,
    is_account_id, key_time,
};
pub use record::{EventCategory, RecordError, RecordFields};
#[cfg(any(test, feature = "reference"))]
pub use reference::read_records;
