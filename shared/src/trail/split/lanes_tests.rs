//! The differential test of the splitter on SIMD lanes against the splitter before them (string
//! ends found eight bytes at a time, `Words`): generated trail files and seeded mutations of them
//! (escapes and string ends on each side of the 64-byte blocks, backslash runs, short escapes,
//! operators inside strings, control characters, invalid UTF-8, deep nesting, truncated files,
//! flipped bytes), read through every buffer boundary.
//! Every element, its fields, and the file's result must be the same.

use super::split_records_with;
use super::tests::Chopped;
use crate::json_text::{FindSpecial, Lanes, Words};

/// Each element as text (index, kind, bytes, fields), then the file's result.
fn elements<S: FindSpecial>(file: &[u8], chunk: usize) -> Vec<String> {
    let mut seen = Vec::new();
    let input = Chopped {
        bytes: file,
        size: chunk,
    };
    let result = split_records_with::<S, _, _>(input, 4096, |index, element| {
        seen.push(format!("{index}: {element:?}"));
        Ok(())
    });
    seen.push(format!("{result:?}"));
    seen
}

fn generated_file(seed: u64, records: usize) -> Vec<u8> {
    let records: Vec<String> = crate::generate::TrailSpec::recent(seed)
        .records()
        .take(records)
        .map(|record| record.text)
        .collect();
    format!("{{\"Records\":[{}]}}", records.join(",")).into_bytes()
}

/// One seeded change of the kinds the issue of SIMD scanning is about.
fn mutate(file: &mut Vec<u8>, rng: &mut fastrand::Rng) {
    // Near a block boundary of the buffer or of a record: where lanes and words could differ.
    let at = match rng.u8(0..2) {
        0 => {
            (rng.usize(1..file.len().div_ceil(64).max(2)) * 64 + rng.usize(0..5)).saturating_sub(2)
        }
        _ => rng.usize(0..file.len()),
    }
    .min(file.len());
    let insert: &[u8] = match rng.u8(0..15) {
        0 => br#"\""#,
        1 => br"\\",
        2 => br"\u00e9",
        3 => br"\ud83d\ude42",
        4 => b"\x01",
        5 => b"\xff\xfe",
        6 => b"\"",
        7 => b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
        // Five backslashes before a quote (the quote escaped: where the run straddles a block
        // end, the parity is carried), an escape cut short, operators (inside a string when
        // they land in one), whitespace, and an exponent with a stray letter.
        8 => br#"\\\\\""#,
        9 => br"\u12",
        10 => br#"{":,]"#,
        11 => b" \n\t\r",
        12 => b"e5x",
        13 => {
            file.truncate(at);
            return;
        }
        _ => {
            if let Some(byte) = file.get_mut(at) {
                *byte ^= 1 << rng.u8(0..8);
            }
            return;
        }
    };
    file.splice(at..at, insert.iter().copied());
}

#[test]
fn lanes_split_generated_files_exactly_as_words_do_at_every_chunking() {
    for seed in 0..4 {
        let file = generated_file(seed, 200);
        let expected = elements::<Words>(&file, 1 << 20);
        assert!(expected.len() > 200 && expected.last().unwrap().starts_with("Ok"));
        for chunk in [1, 63, 64, 65, 4093, 1 << 20] {
            assert_eq!(
                elements::<Lanes>(&file, chunk),
                expected,
                "seed {seed} chunk {chunk}"
            );
        }
    }
}

#[test]
fn lanes_split_mutated_files_exactly_as_words_do() {
    let mut rng = fastrand::Rng::with_seed(35);
    let base = generated_file(5, 12);
    let mut unlike_the_original = 0;
    for case in 0..900 {
        let mut file = base.clone();
        for _ in 0..rng.usize(1..4) {
            mutate(&mut file, &mut rng);
        }
        let chunk = [7, 64, 1000, 1 << 20][case % 4];
        let words = elements::<Words>(&file, chunk);
        assert_eq!(elements::<Lanes>(&file, chunk), words, "case {case}");
        if words != elements::<Words>(&base, chunk) {
            unlike_the_original += 1;
        }
    }
    // The mutations reach the reader: most cases read differently from the original file.
    assert!(unlike_the_original > 600, "{unlike_the_original}");
}
