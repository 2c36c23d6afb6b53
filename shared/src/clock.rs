//! The wall clock, as epoch milliseconds or seconds, and ISO-8601 UTC times: one place for
//! every layer and binary.

use std::time::{SystemTime, UNIX_EPOCH};

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

/// Now, as epoch milliseconds (0 before 1970, which no clock here reports).
pub fn now_millis() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Now, as epoch seconds.
pub fn now_seconds() -> i64 {
    now_millis() / 1000
}

/// `YYYY-MM-DDTHH:MM:SSZ` (with or without fractions) as epoch seconds.
pub fn iso_seconds(text: &str) -> Option<i64> {
    DateTime::from_str(text, Format::DateTime)
        .ok()
        .map(|t| t.secs())
}

/// Epoch seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn iso_text(seconds: i64) -> String {
    DateTime::from_secs(seconds)
        .fmt(Format::DateTime)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_tell_the_same_time_after_2025() {
        let (millis, seconds) = (now_millis(), now_seconds());
        assert!(millis > 1_735_689_600_000, "{millis}");
        assert!((seconds - millis / 1000).abs() <= 1);
    }

    #[test]
    fn iso_times_read_and_write_epoch_seconds() {
        assert_eq!(iso_seconds("2026-11-25T12:00:00Z"), Some(1_795_608_000));
        assert_eq!(iso_text(1_795_608_000), "2026-11-25T12:00:00Z");
        assert_eq!(iso_seconds("yesterday"), None);
    }
}
