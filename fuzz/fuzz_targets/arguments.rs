//! What people type on the commands: times in the AWS CLI's forms and bucket names.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch::arguments::{parse_bucket, parse_time};
use trailwatch::clock::iso_text;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(seconds) = parse_time(text) {
        // Every time read is an instant that reads back as itself in the canonical form,
        // within the years a four-digit year can name.
        let canonical = iso_text(seconds);
        if !canonical.is_empty() {
            assert_eq!(parse_time(&canonical), Ok(seconds), "{text:?} -> {canonical}");
        }
    }
    if let Ok(name) = parse_bucket(text) {
        assert!(!name.is_empty() && !name.contains('/'), "{text:?} -> {name:?}");
        assert!(text.contains(name.as_str()));
    }
});
