//! What the fuzz targets share: the differential checks of the record splitter against the
//! serde reference reader, and of its SIMD lanes against the word-at-a-time path.

use trailwatch::json_text::{
    BLOCK, FindSpecial, Lanes, Words, classify_lanes, classify_scalar, write_string,
    write_string_words,
};
use trailwatch::trail::{FileError, RecordFields};
use trailwatch::trail::read_records;
use trailwatch::trail::split::{Element, split_records, split_records_with};

/// Records longer than this are only measured: small, so short inputs reach that path (the
/// product's limit, 1,048,550 bytes, is a unit test of the splitter).
const MAX_ELEMENT: usize = 4096;

/// Splits `data` with both readers and checks they agree:
/// - a record read in one pass is one serde reads, with the same fields;
/// - every record the reference yields before it stops is, byte for byte, the splitter's
///   element at that index (unless the splitter only measured it: too large, too deep; or the
///   record is a bare number or literal, which is never a CloudTrail record and is counted as
///   `invalidRecord` either way: the splitter does not check a literal's spelling);
/// - when the reference reads the whole file, so does the splitter, with the same count, except
///   where the splitter enforces a documented limit (a top-level key too long);
/// - the splitter may go on past an element the reference refuses: an invalid record costs that
///   record only (it then fails to parse and is counted as `invalidRecord`).
pub fn compare_with_reference(data: &[u8]) {
    let mut split: Vec<Option<Vec<u8>>> = Vec::new();
    let split_result = split_records(data, MAX_ELEMENT, |_, element| {
        split.push(match element {
            Element::Record { text, fields } => {
                // The one pass reads a record only as serde reads it.
                let expected = RecordFields::parse(text)
                    .unwrap_or_else(|e| panic!("one pass read a record serde refuses: {e}"));
                assert_eq!(format!("{fields:?}"), format!("{expected:?}"), "fields differ");
                // The record's time: eventTime, or an aggregated event's window start, read
                // from its text; any outcome but a panic.
                let _ = fields.timestamp_millis(text);
                Some(text.as_bytes().to_vec())
            }
            Element::Text(bytes) => Some(bytes.to_vec()),
            Element::TooLarge(_) | Element::TooDeep(_) => None,
        });
        Ok(())
    });
    let mut reference: Vec<Vec<u8>> = Vec::new();
    let reference_result = read_records(data, |_, raw| {
        reference.push(raw.get().as_bytes().to_vec());
        Ok(())
    });
    for (index, record) in reference.iter().enumerate() {
        if !matches!(record.first(), Some(b'{' | b'[' | b'"')) {
            continue;
        }
        match split.get(index) {
            Some(Some(bytes)) => assert_eq!(bytes, record, "record {index} differs"),
            Some(None) => {}
            None => assert!(
                split_result.is_err(),
                "the splitter ended at {} elements, the reference yielded {}",
                split.len(),
                reference.len()
            ),
        }
    }
    match (&split_result, &reference_result) {
        (Ok(count), Ok(expected)) => assert_eq!(count, expected, "record counts differ"),
        (Err(FileError::KeyTooLong { .. }), Ok(_)) => {}
        (Err(error), Ok(_)) => panic!("the splitter refused a file the reference reads: {error}"),
        _ => {}
    }
}

/// Splits `data` with string ends found on SIMD lanes (the product) and eight bytes at a time
/// (the splitter before SIMD), and checks every element, field and error is the same; checks
/// the lanes classify each 64-byte block as the scalar classifier does, and that the request
/// body escaper writes what the word-at-a-time escaper writes.
pub fn compare_lanes_with_words(data: &[u8]) {
    assert_eq!(
        elements_with::<Lanes>(data),
        elements_with::<Words>(data),
        "the lanes and the words split differently"
    );
    // Every alignment of the first bytes (the rest repeat what these show).
    let head = &data[..data.len().min(4096)];
    for start in 0..head.len().min(BLOCK) {
        for block in head[start..].chunks(BLOCK) {
            let mut padded = [b' '; BLOCK];
            padded[..block.len()].copy_from_slice(block);
            assert_eq!(classify_lanes(&padded), classify_scalar(&padded));
        }
    }
    let text = String::from_utf8_lossy(data);
    let (mut lanes, mut words) = (Vec::new(), Vec::new());
    write_string(&text, &mut lanes);
    write_string_words(&text, &mut words);
    assert_eq!(lanes, words, "the escapers differ");
}

/// Each element as text (kind, bytes, fields), then the result, for comparison.
fn elements_with<S: FindSpecial>(data: &[u8]) -> Vec<String> {
    let mut seen = Vec::new();
    let result = split_records_with::<S, _, _>(data, MAX_ELEMENT, |index, element| {
        seen.push(format!("{index}: {element:?}"));
        Ok(())
    });
    seen.push(format!("{result:?}"));
    seen
}
