//! S3 keys: classification of any key, and decoding of notification keys.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch::trail::{FileKind, TrailKey, decode_notification_key};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(key) = TrailKey::parse(text) {
        // What a key says is read off the key itself.
        assert!(text.contains(key.account_id));
        assert!(text.contains(key.region));
        assert_eq!(FileKind::of_key(text), key.kind);
    }
    if let Some(decoded) = decode_notification_key(text) {
        let _ = FileKind::of_key(&decoded);
    }
});
