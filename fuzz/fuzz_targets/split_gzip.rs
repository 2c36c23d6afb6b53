//! Gzip bytes into the reader the forwarder uses (members, the decompressed ceiling), then the
//! splitter against the reference on the same decompressed bytes.
#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use trailwatch::trail::file::decompress_at_most;
use trailwatch_fuzz_support::compare_with_reference;

/// Small, so inflating past it is cheap to reach.
const CEILING: u64 = 1 << 20;

fuzz_target!(|data: &[u8]| {
    let Ok(mut reader) = decompress_at_most(data, CEILING) else {
        return;
    };
    let mut inflated = Vec::new();
    if reader.read_to_end(&mut inflated).is_ok() {
        assert!(inflated.len() as u64 <= CEILING, "the ceiling held");
        compare_with_reference(&inflated);
    }
});
