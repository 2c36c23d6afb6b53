//! Byte-level JSON string helpers for the hot paths: finding the bytes of a string that end it
//! or need escaping (`"`, `\`, and the control characters U+0000–U+001F, which RFC 8259 §7
//! forbids unescaped), eight at a time, and escaping text into a request body with bulk copies
//! between them.

/// Eight copies of a byte, for comparing a word's bytes at once.
const fn splat(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

const ONES: u64 = splat(0x01);
const HIGH_BITS: u64 = splat(0x80);

/// A mask with the high bit set in each byte of `word` (little-endian) that is `"`, `\` or
/// below 0x20. The usual zero-byte test (`(x - 0x01…) & !x & 0x80…`) can report false
/// positives only in bytes above a true one, so the lowest set bit is always a true one.
fn special_mask(word: u64) -> u64 {
    let quote = word ^ splat(b'"');
    let backslash = word ^ splat(b'\\');
    let found = (quote.wrapping_sub(ONES) & !quote)
        | (backslash.wrapping_sub(ONES) & !backslash)
        | (word.wrapping_sub(splat(0x20)) & !word);
    found & HIGH_BITS
}

/// The index of the first byte of `bytes` that is `"`, `\` or a control character.
pub(crate) fn find_special(bytes: &[u8]) -> Option<usize> {
    let mut index = 0;
    while index < bytes.len() {
        let mut word = [b' '; 8];
        match bytes.get(index..index + 8) {
            Some(chunk) => word.copy_from_slice(chunk),
            // The last few bytes, padded with spaces, which are not special.
            None => word[..bytes.len() - index].copy_from_slice(&bytes[index..]),
        }
        let mask = special_mask(u64::from_le_bytes(word));
        if mask != 0 {
            return Some(index + (mask.trailing_zeros() / 8) as usize);
        }
        index += 8;
    }
    None
}

/// Appends `text` as a JSON string (quotes included), escaped exactly as the AWS SDK for Rust
/// escapes strings (`aws_smithy_json`): `"` and `\` with a backslash, the five short control
/// escapes, other control characters as lowercase `\u00xx`, everything else as it is.
pub(crate) fn write_string(text: &str, out: &mut Vec<u8>) {
    let mut rest = text.as_bytes();
    out.reserve(rest.len() + 2);
    out.push(b'"');
    while let Some(found) = find_special(rest) {
        out.extend_from_slice(&rest[..found]);
        let byte = rest[found];
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(b"\\u00");
                out.push(HEX[usize::from(byte >> 4)]);
                out.push(HEX[usize::from(byte & 0x0f)]);
            }
        }
        rest = &rest[found + 1..];
    }
    out.extend_from_slice(rest);
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
        }
        let mut out = Vec::new();
        write_string("\u{1}\u{8}", &mut out);
        assert_eq!(out, br#""\u0001\b""#);
    }
}
