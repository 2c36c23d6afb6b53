//! The bytes that end or escape a JSON string (`"`, `\` and the control characters
//! U+0000–U+001F, which RFC 8259 §7 forbids unescaped), found 64 bytes at a time: a block is
//! classified once into a bit mask (bit `i` for byte `i`), then each string's end is a shift
//! and a trailing-zero count, and the next string in the same block costs no new scan.
//! CloudTrail records hold a quote every few bytes, so this per-block work is what makes
//! reading and escaping them fast.
//!
//! The classification runs on 16-byte SIMD lanes through the `wide` crate (SSE2 on x86-64,
//! NEON on aarch64, the same source for both; no `unsafe` in this crate). Where neither is
//! available a scalar classifier does the same job; the tests hold the two to each other.

use wide::u8x16;

use super::words::{FindSpecial, Words, write_escaped};

/// The bytes classified at once.
pub const BLOCK: usize = 64;

/// Which bytes of a block are `"`, `\` or control characters (bit `i` for byte `i`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Masks {
    pub quote: u64,
    pub backslash: u64,
    pub control: u64,
}

impl Masks {
    /// The bytes that end a string or need escaping.
    pub fn special(self) -> u64 {
        self.quote | self.backslash | self.control
    }
}

/// Whether this build classifies on SIMD lanes: where the target has SSE2 or NEON.
const ON_LANES: bool = cfg!(any(
    target_feature = "sse2",
    all(target_arch = "aarch64", target_feature = "neon")
));

/// Classifies a block on SIMD lanes.
pub fn classify_lanes(block: &[u8; BLOCK]) -> Masks {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let highest_control = u8x16::splat(0x1f);
    let mut masks = Masks::default();
    let (lanes, _) = block.as_chunks::<16>();
    for (index, lane) in lanes.iter().enumerate() {
        let bytes = u8x16::new(*lane);
        let shift = index * 16;
        masks.quote |= u64::from(bytes.simd_eq(quote).to_bitmask()) << shift;
        masks.backslash |= u64::from(bytes.simd_eq(backslash).to_bitmask()) << shift;
        // An unsigned byte is at most 0x1f exactly when the smaller of it and 0x1f is itself.
        masks.control |= u64::from(bytes.min(highest_control).simd_eq(bytes).to_bitmask()) << shift;
    }
    masks
}

/// The special bytes of a block on SIMD lanes, as one mask: what the finder needs.
fn special_lanes(block: &[u8; BLOCK]) -> u64 {
    let quote = u8x16::splat(b'"');
    let backslash = u8x16::splat(b'\\');
    let highest_control = u8x16::splat(0x1f);
    let (lanes, _) = block.as_chunks::<16>();
    let mut mask = 0;
    for (index, lane) in lanes.iter().enumerate() {
        let bytes = u8x16::new(*lane);
        let special = bytes.simd_eq(quote)
            | bytes.simd_eq(backslash)
            | bytes.min(highest_control).simd_eq(bytes);
        mask |= u64::from(special.to_bitmask()) << (index * 16);
    }
    mask
}

/// Classifies a block one byte at a time: the path without SIMD, and the lanes' reference.
pub fn classify_scalar(block: &[u8; BLOCK]) -> Masks {
    let mut masks = Masks::default();
    for (index, &byte) in block.iter().enumerate() {
        let bit = 1u64 << index;
        match byte {
            b'"' => masks.quote |= bit,
            b'\\' => masks.backslash |= bit,
            0x00..=0x1f => masks.control |= bit,
            _ => {}
        }
    }
    masks
}

/// The classifier this build uses: lanes where the target has SIMD, else the scalar one.
pub fn classify(block: &[u8; BLOCK]) -> Masks {
    if ON_LANES {
        classify_lanes(block)
    } else {
        classify_scalar(block)
    }
}

/// Appends `block` with a backslash before each byte whose bit is set in `escape` (its quotes
/// and backslashes; it holds no control character). The runs between them are copied 16 bytes
/// at a time from a padded copy of the block straight into `out`, so a run costs one
/// fixed-size copy whatever its length, instead of a call to copy a few bytes.
pub(super) fn expand(block: &[u8; BLOCK], mut escape: u64, out: &mut Vec<u8>) {
    if escape == 0 {
        out.extend_from_slice(block);
        return;
    }
    let mut source = [0u8; BLOCK + STEP];
    source[..BLOCK].copy_from_slice(block);
    // Written in place, then cut to what was written: no second copy.
    let start = out.len();
    out.resize(start + EXPANDED, 0);
    // A fixed-size array, so the copies' bounds are known when compiling: as a plain slice the
    // escaper ran at 1.2 GiB/s instead of 1.6–2.0 in the stages bench.
    let Some(expanded) = out[start..].first_chunk_mut::<EXPANDED>() else {
        // Not reached (`resize` made the room); escaped the plain way all the same.
        out.truncate(start);
        return write_escaped::<Words>(block, out);
    };
    let (mut from, mut at) = (0, 0);
    while escape != 0 {
        let index = escape.trailing_zeros() as usize;
        copy_run(&source, from, expanded, at, index - from);
        at += index - from;
        expanded[at] = b'\\';
        expanded[at + 1] = block[index];
        at += 2;
        from = index + 1;
        escape &= escape - 1;
    }
    copy_run(&source, from, expanded, at, BLOCK - from);
    at += BLOCK - from;
    out.truncate(start + at);
}

/// Room for a block whose every byte is escaped, and one copy step past it.
const EXPANDED: usize = 2 * BLOCK + STEP;

/// The copy step of [`expand`]: the buffers are padded by one step past anything copied.
const STEP: usize = 16;

/// Copies `length` bytes from `source[from..]` to `expanded[at..]` a step at a time (the bytes
/// past `length` are overwritten later or never used).
#[inline]
fn copy_run(
    source: &[u8; BLOCK + STEP],
    from: usize,
    expanded: &mut [u8; EXPANDED],
    at: usize,
    length: usize,
) {
    let mut done = 0;
    while done < length {
        expanded[at + done..at + done + STEP]
            .copy_from_slice(&source[from + done..from + done + STEP]);
        done += STEP;
    }
}

/// The special-byte mask of the block of `bytes` starting at `base`; the bytes past the end of
/// a short last block count as spaces, which are not special.
fn special_mask(bytes: &[u8], base: usize) -> u64 {
    let block: &[u8; BLOCK] = match bytes
        .get(base..base + BLOCK)
        .and_then(|b| b.try_into().ok())
    {
        Some(full) => full,
        None => {
            let mut padded = [b' '; BLOCK];
            let rest = &bytes[base..];
            padded[..rest.len()].copy_from_slice(rest);
            return special_of(&padded);
        }
    };
    special_of(block)
}

fn special_of(block: &[u8; BLOCK]) -> u64 {
    if ON_LANES {
        special_lanes(block)
    } else {
        classify_scalar(block).special()
    }
}

/// The lanes' finder: classifies each block of the slice once, the first time it is reached.
#[derive(Debug)]
pub struct Lanes {
    /// Where the classified block starts, or `usize::MAX` before the first.
    base: usize,
    mask: u64,
}

impl Default for Lanes {
    fn default() -> Self {
        Self {
            base: usize::MAX,
            mask: 0,
        }
    }
}

impl FindSpecial for Lanes {
    #[inline]
    fn find(&mut self, bytes: &[u8], from: usize) -> Option<usize> {
        let mut at = from;
        while at < bytes.len() {
            let base = at - at % BLOCK;
            if base != self.base {
                self.mask = special_mask(bytes, base);
                self.base = base;
            }
            let ahead = self.mask >> (at - base);
            if ahead != 0 {
                return Some(at + ahead.trailing_zeros() as usize);
            }
            at = base + BLOCK;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lambda runs x86-64 and arm64: both must take the lanes, not the scalar stand-in.
    /// `scripts/test` runs these tests on arm64 too, under qemu.
    #[test]
    fn the_lanes_are_taken_on_both_architectures_lambda_runs() {
        if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
            // black_box: the assertion is on the build's configuration, which is constant.
            assert!(
                std::hint::black_box(ON_LANES),
                "SIMD lanes are off on this target"
            );
        }
    }

    /// Every byte value at every position, and seeded random blocks weighted to the specials.
    #[test]
    fn lanes_classify_every_byte_as_the_scalar_path_does() {
        for value in 0..=255u8 {
            for at in 0..BLOCK {
                let mut block = [b'a'; BLOCK];
                block[at] = value;
                assert_eq!(
                    classify_lanes(&block),
                    classify_scalar(&block),
                    "{value} {at}"
                );
                assert_eq!(special_lanes(&block), classify_scalar(&block).special());
            }
        }
        let mut rng = fastrand::Rng::with_seed(35);
        for _ in 0..20_000 {
            let mut block = [0u8; BLOCK];
            for byte in &mut block {
                *byte = match rng.u8(0..4) {
                    0 => [b'"', b'\\', 0x1f, 0x20, 0x00, 0x7f, 0x80, 0xff][rng.usize(0..8)],
                    _ => rng.u8(..),
                };
            }
            assert_eq!(classify_lanes(&block), classify_scalar(&block));
            assert_eq!(classify(&block), classify_scalar(&block));
            assert_eq!(special_lanes(&block), classify_scalar(&block).special());
        }
    }

    #[test]
    fn the_first_special_byte_from_each_position_is_found_across_blocks_and_short_tails() {
        let mut rng = fastrand::Rng::with_seed(7);
        for length in [0, 1, 63, 64, 65, 127, 128, 129, 300] {
            for _ in 0..20 {
                let bytes: Vec<u8> = (0..length)
                    .map(|_| [b'a', b'a', b'a', b'"', b'\\', b'\n', 0xc3, b' '][rng.usize(0..8)])
                    .collect();
                let naive = |from: usize| {
                    (from..length).find(|&i| matches!(bytes[i], b'"' | b'\\' | 0x00..=0x1f))
                };
                // One finder walked forward, as the parser walks it, and a fresh one each time.
                let mut walked = Lanes::default();
                for from in 0..=length {
                    assert_eq!(
                        walked.find(&bytes, from),
                        naive(from),
                        "{from} in {bytes:?}"
                    );
                    assert_eq!(Lanes::default().find(&bytes, from), naive(from));
                }
            }
        }
    }
}
