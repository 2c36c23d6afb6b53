//! Byte-level JSON string helpers for the hot paths: finding the bytes of a string that end it
//! or need escaping (`"`, `\`, and the control characters U+0000–U+001F, which RFC 8259 §7
//! forbids unescaped), and escaping text into a request body with bulk copies between them.
//! Two finders do the same job: [`lanes`] (64 bytes at a time on SIMD lanes: what the product
//! uses) and [`Words`] (eight bytes at a time in a machine word: the earlier path, kept as the
//! reference the lanes are tested and fuzzed against).

mod lanes;
mod words;
pub use lanes::{BLOCK, Lanes, Masks, classify, classify_lanes, classify_scalar};
use words::write_escaped;
pub use words::{FindSpecial, Words, find_special};

/// Appends `text` as a JSON string (quotes included), escaped exactly as the AWS SDK for Rust
/// escapes strings (`aws_smithy_json`): `"` and `\` with a backslash, the five short control
/// escapes, other control characters as lowercase `\u00xx`, everything else as it is.
pub fn write_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let (blocks, tail) = bytes.as_chunks::<BLOCK>();
    for block in blocks {
        let masks = classify(block);
        if masks.control == 0 {
            lanes::expand(block, masks.quote | masks.backslash, out);
        } else {
            // Control characters take longer escapes; CloudTrail's records rarely hold one.
            write_escaped::<Lanes>(block, out);
        }
    }
    write_escaped::<Lanes>(tail, out);
    out.push(b'"');
}

/// [`write_string`] with the word-at-a-time finder: the reference for tests and fuzzing.
pub fn write_string_words(text: &str, out: &mut Vec<u8>) {
    write_string_with::<Words>(text, out);
}

fn write_string_with<F: FindSpecial>(text: &str, out: &mut Vec<u8>) {
    out.reserve(text.len() + 2);
    out.push(b'"');
    write_escaped::<F>(text.as_bytes(), out);
    out.push(b'"');
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_special_byte_is_found_at_every_position_and_alignment() {
        for length in 0..40 {
            for at in 0..length {
                for special in [b'"', b'\\', 0x00, 0x1f, b'\n'] {
                    let mut bytes = vec![b'a'; length];
                    // Bytes just above the specials must not count.
                    if at + 1 < length {
                        bytes[at + 1] = b' ';
                    }
                    bytes[at] = special;
                    assert_eq!(find_special(&bytes), Some(at), "{length} {at} {special}");
                }
            }
            let plain: Vec<u8> = (0..length)
                .map(|i| [b' ', b'!', b'#', b'[', b']', 0x7f, 0xc3, 0xff][i % 8])
                .collect();
            assert_eq!(find_special(&plain), None, "{length}");
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_reads_them_back() {
        for text in [
            "",
            "plain",
            r#"{"a":"b \"quoted\" c\\d"}"#,
            "tab\tnew\nline\r\u{8}\u{c}\u{0}\u{1f}\u{7f}",
            "é ü 漢字 🙂 and \" at the end\"",
        ] {
            let mut out = Vec::new();
            write_string(text, &mut out);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, text);
            let mut words = Vec::new();
            write_string_words(text, &mut words);
            assert_eq!(out, words);
        }
        let mut out = Vec::new();
        write_string("\u{1}\u{8}", &mut out);
        assert_eq!(out, br#""\u0001\b""#);
    }

    #[test]
    fn the_lanes_escape_random_text_exactly_as_the_words_do() {
        let mut rng = fastrand::Rng::with_seed(35);
        let alphabet = [
            'a', '"', '\\', '\n', '\u{1}', '\u{1f}', 'é', '🙂', ' ', '\u{7f}',
        ];
        for case in 0..2_000 {
            // Every other case without control characters: the blocks the expander writes.
            let choices = if case % 2 == 0 { 4 } else { alphabet.len() };
            let length = rng.usize(0..300);
            let text: String = (0..length)
                .map(|_| match rng.u8(0..3) {
                    0 => alphabet[[0, 1, 2, 6, 7, 8, 3, 4, 5, 9][rng.usize(0..choices)]],
                    _ => 'x',
                })
                .collect();
            let (mut lanes, mut words) = (Vec::new(), Vec::new());
            write_string(&text, &mut lanes);
            write_string_words(&text, &mut words);
            assert_eq!(lanes, words, "{text:?}");
        }
    }
}
