//! The record splitter with string ends found on SIMD lanes against the same splitter finding
//! them eight bytes at a time (the path before SIMD): the same elements, fields and errors for
//! any input; the same block masks; the same escaped request-body strings.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch_fuzz_support::compare_lanes_with_words;

fuzz_target!(|data: &[u8]| {
    compare_lanes_with_words(data);
});
