//! The record splitter over raw JSON, checked against the serde reference reader: every record
//! the splitter yields is, byte for byte, the one the reference yields at that index, or both
//! refuse the file. Elements the splitter only measures (too large, too deep) are not compared.
#![no_main]

use libfuzzer_sys::fuzz_target;
use trailwatch_fuzz_support::compare_with_reference;

fuzz_target!(|data: &[u8]| {
    compare_with_reference(data);
});
