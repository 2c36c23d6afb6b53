//! The word-at-a-time path (the reference the SIMD lanes are held to) and what both finders
//! share: the [`FindSpecial`] interface and escaping between the bytes a finder finds.

/// Finds, front to back, the bytes of `bytes` that end a string or need escaping. A finder is
/// used on one slice throughout (it may keep what it learned of it); a new slice, a new finder.
pub trait FindSpecial: Default {
    /// The index of the first special byte of `bytes` at or after `from`.
    fn find(&mut self, bytes: &[u8], from: usize) -> Option<usize>;
}

/// The word-at-a-time finder.
#[derive(Debug, Default)]
pub struct Words;

impl FindSpecial for Words {
    fn find(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        find_special(&bytes[from..]).map(|found| from + found)
    }
}

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
pub fn find_special(bytes: &[u8]) -> Option<usize> {
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

/// `bytes` escaped, without quotes around them.
pub(crate) fn write_escaped<F: FindSpecial>(bytes: &[u8], out: &mut Vec<u8>) {
    let mut finder = F::default();
    let mut copied = 0;
    while let Some(found) = finder.find(bytes, copied) {
        out.extend_from_slice(&bytes[copied..found]);
        write_escape(bytes[found], out);
        copied = found + 1;
    }
    out.extend_from_slice(&bytes[copied..]);
}

fn write_escape(byte: u8, out: &mut Vec<u8>) {
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
}
