//! The wall clock, as epoch milliseconds or seconds: one place for every layer and binary.

use std::time::{SystemTime, UNIX_EPOCH};

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_and_milliseconds_tell_the_same_time_after_2025() {
        let (millis, seconds) = (now_millis(), now_seconds());
        assert!(millis > 1_735_689_600_000, "{millis}");
        assert!((seconds - millis / 1000).abs() <= 1);
    }
}
