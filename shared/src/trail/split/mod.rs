//! The log file reader: one pass over the decompressed bytes that finds each element of
//! `Records`. A record is read in place by [`one_pass`](super::one_pass), which finds its end,
//! checks it and reads its fields at once ([`Element::Record`]); a record that pass is not sure
//! of is found by tracking strings, escapes and bracket nesting only, and handed over as its
//! exact bytes for the caller to parse with serde ([`Element::Text`]). serde_json's streaming
//! reader, used by [`super::read_records`], takes the input a byte at a time through
//! `io::Read` and was the bound on throughput (see `shared/benches`).
//!
//! Accepted: `{"Records": [ … ]}` with any whitespace, a UTF-8 byte-order mark before it, other
//! top-level keys (their values are skipped; keys are compared unescaped, so `"Rec\u006frds"` is
//! `Records`), and nothing but whitespace after the closing brace. Memory is bounded: a record
//! is kept only up to the caller's limit, a top-level key up to [`MAX_KEY_BYTES`], and nesting
//! beyond [`MAX_DEPTH`] is counted, not stacked; such a record costs itself only.

use std::io::{self, Read};

use super::file::{FileError, Stop};
use super::one_pass::{Scan, read_record};
use super::record::RecordFields;
use crate::json_text::{FindSpecial, Lanes};

mod value;
pub use value::MAX_DEPTH;
use value::{Capture, ValueScan};

const BUFFER: usize = 64 * 1024;
/// Longer than any top-level key of a log file (`Records`); a longer key refuses the file.
pub(crate) const MAX_KEY_BYTES: usize = 4096;
const BYTE_ORDER_MARK: [u8; 3] = [0xef, 0xbb, 0xbf];

/// One element of `Records`.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once per record and moved once, on the stack: boxing would allocate per record"
)]
pub enum Element<'a> {
    /// A record read in one pass: its exact text, without surrounding whitespace, and its
    /// fields, as [`RecordFields::parse`] reads them.
    Record {
        text: &'a str,
        fields: RecordFields<'a>,
    },
    /// The element's exact bytes, without surrounding whitespace, not yet parsed.
    Text(&'a [u8]),
    /// An element longer than the caller's limit: its bytes were not kept.
    TooLarge(u64),
    /// An element nested deeper than [`MAX_DEPTH`]: its bytes were not kept.
    TooDeep(u64),
}

/// Calls `visit(index, element)` for each element of `Records` in file order; returns the
/// number of elements. Elements longer than `max_element` bytes are reported as too large.
pub fn split_records<R, F>(input: R, max_element: usize, visit: F) -> Result<u64, FileError>
where
    R: Read,
    F: FnMut(u64, Element<'_>) -> Result<(), Stop>,
{
    split_records_with::<Lanes, R, F>(input, max_element, visit)
}

/// [`split_records`], finding string ends with `S`: [`Lanes`] in the product, [`Words`] (the
/// splitter before SIMD) as the reference the tests and the `split_lanes` fuzz target compare
/// it with.
///
/// [`Words`]: crate::json_text::Words
pub fn split_records_with<S, R, F>(
    input: R,
    max_element: usize,
    mut visit: F,
) -> Result<u64, FileError>
where
    S: FindSpecial,
    R: Read,
    F: FnMut(u64, Element<'_>) -> Result<(), Stop>,
{
    let mut scanner = Scanner {
        input,
        buf: vec![0; BUFFER],
        pos: 0,
        len: 0,
        offset: 0,
        deferred: None,
    };
    scanner.skip_byte_order_mark()?;
    scanner.skip_ws()?;
    scanner.expect(b'{', "the file is not a JSON object")?;
    let mut count = None;
    loop {
        scanner.skip_ws()?;
        if count.is_none() && scanner.peek()? == Some(b'}') {
            scanner.pos += 1;
            break;
        }
        let key = scanner.string_key()?;
        scanner.skip_ws()?;
        scanner.expect(b':', "expected ':' after a key")?;
        scanner.skip_ws()?;
        if key == "Records" {
            if count.is_some() {
                return Err(FileError::DuplicateRecordsArray);
            }
            if scanner.peek()? != Some(b'[') {
                return Err(FileError::NoRecordsArray);
            }
            scanner.pos += 1;
            count = Some(scanner.elements::<S, _>(max_element, &mut visit)?);
        } else {
            scanner.skip_value()?;
        }
        scanner.skip_ws()?;
        match scanner.next()? {
            Some(b',') => continue,
            Some(b'}') => break,
            _ => return Err(scanner.syntax("expected ',' or '}' after a value")),
        }
    }
    scanner.skip_ws()?;
    if scanner.peek()?.is_some() {
        return Err(scanner.syntax("unexpected data after the top-level object"));
    }
    count.ok_or(FileError::NoRecordsArray)
}

struct Scanner<R> {
    input: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// Bytes consumed before `buf`, for error positions.
    offset: u64,
    /// A read error met while reading ahead, reported when the bytes before it are used up.
    deferred: Option<FileError>,
}

impl<R: Read> Scanner<R> {
    /// Ensures a byte is available; false at the end of input.
    fn fill(&mut self) -> Result<bool, FileError> {
        if self.pos < self.len {
            return Ok(true);
        }
        if let Some(error) = self.deferred.take() {
            return Err(error);
        }
        self.offset += self.len as u64;
        self.pos = 0;
        self.len = loop {
            match self.input.read(&mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(super::file::classify_read_error(e)),
            }
        };
        Ok(self.len > 0)
    }

    fn peek(&mut self) -> Result<Option<u8>, FileError> {
        Ok(if self.fill()? {
            Some(self.buf[self.pos])
        } else {
            None
        })
    }

    fn next(&mut self) -> Result<Option<u8>, FileError> {
        let byte = self.peek()?;
        if byte.is_some() {
            self.pos += 1;
        }
        Ok(byte)
    }

    fn skip_ws(&mut self) -> Result<(), FileError> {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek()? {
            self.pos += 1;
        }
        Ok(())
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), FileError> {
        match self.next()? {
            Some(b) if b == byte => Ok(()),
            None if self.offset == 0 && self.len == 0 => {
                Err(FileError::Syntax("the file is empty".to_owned()))
            }
            _ => Err(self.syntax(what)),
        }
    }

    fn syntax(&self, what: &str) -> FileError {
        FileError::Syntax(format!(
            "{what} (at byte {})",
            self.offset + self.pos as u64
        ))
    }

    /// A UTF-8 byte-order mark at the start of the file, which some tools write.
    fn skip_byte_order_mark(&mut self) -> Result<(), FileError> {
        while self.len < BYTE_ORDER_MARK.len() {
            let more = self.input.read(&mut self.buf[self.len..]);
            match more {
                Ok(0) => break,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(super::file::classify_read_error(e)),
            }
        }
        if self.buf[..self.len].starts_with(&BYTE_ORDER_MARK) {
            self.pos = BYTE_ORDER_MARK.len();
        }
        Ok(())
    }

    /// A top-level key, unescaped as JSON defines (so escaped spellings of `Records` match);
    /// at most [`MAX_KEY_BYTES`] of raw key text are read.
    fn string_key(&mut self) -> Result<String, FileError> {
        self.expect(b'"', "expected a key")?;
        let mut raw = Vec::new();
        loop {
            if raw.len() > MAX_KEY_BYTES {
                return Err(FileError::KeyTooLong {
                    limit: MAX_KEY_BYTES,
                });
            }
            match self.next()? {
                None => return Err(self.syntax("unterminated key")),
                Some(b'"') => break,
                Some(b'\\') => {
                    raw.push(b'\\');
                    raw.extend(self.next()?);
                }
                Some(byte) => raw.push(byte),
            }
        }
        Ok(unescape_key(&raw).unwrap_or_default())
    }

    /// Skips one value of any kind (other top-level keys).
    fn skip_value(&mut self) -> Result<(), FileError> {
        let mut sink = Capture::Discard(0);
        self.value(&mut sink, u64::MAX).map(|_| ())
    }

    /// The elements of the Records array, after its `[`.
    fn elements<S, F>(&mut self, max_element: usize, visit: &mut F) -> Result<u64, FileError>
    where
        S: FindSpecial,
        F: FnMut(u64, Element<'_>) -> Result<(), Stop>,
    {
        let mut record = Vec::new();
        let mut count = 0u64;
        self.skip_ws()?;
        if self.peek()? == Some(b']') {
            self.pos += 1;
            return Ok(0);
        }
        loop {
            if !self.visit_in_one_pass::<S, F>(max_element, count, visit)? {
                record.clear();
                let mut capture = Capture::Keep(&mut record);
                let too_deep = self.value(&mut capture, max_element as u64)?;
                let element = match capture {
                    Capture::Discard(length) if too_deep => Element::TooDeep(length),
                    Capture::Keep(bytes) => Element::Text(bytes),
                    Capture::Discard(length) => Element::TooLarge(length),
                };
                visit(count, element).map_err(|Stop| FileError::Stopped)?;
            }
            count += 1;
            self.skip_ws()?;
            match self.next()? {
                Some(b',') => self.skip_ws()?,
                Some(b']') => return Ok(count),
                _ => return Err(self.syntax("expected ',' or ']' after a record")),
            }
        }
    }

    /// The record at `pos`, read in place in one pass and visited; false when it must take
    /// the splitting path instead (nothing consumed). The buffer grows to hold a record of up
    /// to `max_element` bytes whole.
    fn visit_in_one_pass<S, F>(
        &mut self,
        max_element: usize,
        index: u64,
        visit: &mut F,
    ) -> Result<bool, FileError>
    where
        S: FindSpecial,
        F: FnMut(u64, Element<'_>) -> Result<(), Stop>,
    {
        loop {
            match read_record::<S>(&self.buf[self.pos..self.len]) {
                Scan::Complete { text, .. } if text.len() > max_element => return Ok(false),
                Scan::Complete { text, fields } => {
                    let length = text.len();
                    visit(index, Element::Record { text, fields })
                        .map_err(|Stop| FileError::Stopped)?;
                    self.pos += length;
                    return Ok(true);
                }
                Scan::Unsure => return Ok(false),
                Scan::Incomplete => {
                    if self.len - self.pos > max_element || !self.read_ahead(max_element)? {
                        return Ok(false);
                    }
                }
            }
        }
    }

    /// Moves the unread bytes to the front, grows the buffer when they fill it (up to a
    /// record of `max_element` bytes and a read's worth more), and reads until the buffer is
    /// full or the input ends. False when no byte could be added.
    fn read_ahead(&mut self, max_element: usize) -> Result<bool, FileError> {
        if self.deferred.is_some() {
            return Ok(false);
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.offset += self.pos as u64;
            self.len -= self.pos;
            self.pos = 0;
        }
        if self.len == self.buf.len() {
            let most = max_element.saturating_add(BUFFER);
            if self.buf.len() >= most {
                return Ok(false);
            }
            let grown = self.buf.len().saturating_mul(2).min(most);
            self.buf.resize(grown, 0);
        }
        let before = self.len;
        while self.len < self.buf.len() {
            match self.input.read(&mut self.buf[self.len..]) {
                Ok(0) => break,
                Ok(n) => self.len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.deferred = Some(super::file::classify_read_error(e));
                    break;
                }
            }
        }
        Ok(self.len > before)
    }

    /// Scans one value, capturing its bytes (or only its length once past `limit`). Returns
    /// whether it nests deeper than [`MAX_DEPTH`]: the levels beyond are counted, not checked.
    fn value(&mut self, capture: &mut Capture<'_>, limit: u64) -> Result<bool, FileError> {
        let mut scan = ValueScan::default();
        loop {
            if !self.fill()? {
                return if scan.complete_at_end() {
                    Ok(scan.too_deep)
                } else {
                    Err(self.syntax("the file ends inside a value"))
                };
            }
            let start = self.pos;
            let (index, done) = scan
                .scan(&self.buf[start..self.len])
                .map_err(|what| self.syntax(what))?;
            if scan.too_deep {
                capture.discard(index as u64);
            } else {
                capture.take(&self.buf[start..start + index], limit);
            }
            self.pos = start + index;
            if done {
                return Ok(scan.too_deep);
            }
        }
    }
}

/// A key's text with its JSON escapes resolved; `None` when it is not valid JSON string text
/// (such a key is never `Records`).
fn unescape_key(raw: &[u8]) -> Option<String> {
    let mut quoted = Vec::with_capacity(raw.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(raw);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted).ok()
}

#[cfg(test)]
mod lanes_tests;
#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::RecordFields;
    use crate::trail::read_records;

    /// Hands out at most `size` bytes per read, to cross every buffer boundary.
    pub(super) struct Chopped<'a> {
        pub(super) bytes: &'a [u8],
        pub(super) size: usize,
    }

    impl Read for Chopped<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.size.min(buf.len()).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    fn split(text: &[u8], chunk: usize, limit: usize) -> Result<Vec<String>, FileError> {
        let mut found = Vec::new();
        split_records(
            Chopped {
                bytes: text,
                size: chunk,
            },
            limit,
            |index, element| {
                assert_eq!(index as usize, found.len());
                found.push(match element {
                    Element::Record { text, .. } => text.to_owned(),
                    Element::Text(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                    Element::TooLarge(n) => format!("<too large: {n}>"),
                    Element::TooDeep(n) => format!("<too deep: {n}>"),
                });
                Ok(())
            },
        )?;
        Ok(found)
    }

    fn reference(text: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        read_records(text, |_, raw| {
            found.push(raw.get().to_owned());
            Ok(())
        })
        .unwrap();
        found
    }

    const TRICKY: &str = r#" {"Meta":{"x":[1,{"Records":"]"}],"y":"\"}"}, "Records" : [
        {"a":"b\\","c":"\"quoted\" {[","d":[1,[2,{"e":null}]],"f":"é\u00e9"} ,
        7, -1.5e3 , "text with ] and }", true,null,[],{},
        {"deep":[[[[{"x":"y"}]]]]}
      ] , "Tail": {"z": [true]} }
    "#;

    #[test]
    fn elements_match_the_serde_reader_byte_for_byte_at_every_chunking() {
        let expected = reference(TRICKY.as_bytes());
        assert_eq!(expected.len(), 9);
        for chunk in [1, 2, 3, 7, 64, 1 << 20] {
            assert_eq!(
                split(TRICKY.as_bytes(), chunk, usize::MAX).unwrap(),
                expected,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn generated_files_split_exactly_as_the_serde_reader_reads_them() {
        for seed in 0..8 {
            let records: Vec<String> = crate::generate::TrailSpec::recent(seed)
                .records()
                .take(300)
                .map(|r| r.text)
                .collect();
            let text = format!("{{\"Records\":[{}]}}", records.join(","));
            assert_eq!(
                split(text.as_bytes(), 4093, usize::MAX).unwrap(),
                records,
                "seed {seed}"
            );
            assert_eq!(reference(text.as_bytes()), records);
        }
    }

    #[test]
    fn generated_records_take_the_one_pass_path_with_serdes_fields_at_every_chunking() {
        let records: Vec<String> = crate::generate::TrailSpec::recent(9)
            .records()
            .take(200)
            .map(|r| r.text)
            .collect();
        let text = format!("{{\"Records\": [ {} ] }}", records.join(" ,\n"));
        for chunk in [1, 5, 4093, 1 << 20] {
            let mut seen = 0;
            split_records(
                Chopped {
                    bytes: text.as_bytes(),
                    size: chunk,
                },
                usize::MAX,
                |index, element| {
                    let Element::Record { text, fields } = element else {
                        panic!("record {index} took the splitting path");
                    };
                    assert_eq!(text, records[index as usize]);
                    let expected = RecordFields::parse(text).unwrap();
                    assert_eq!(format!("{fields:?}"), format!("{expected:?}"));
                    seen += 1;
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, records.len(), "chunk {chunk}");
        }
    }

    #[test]
    fn a_read_error_comes_after_every_record_read_before_it() {
        /// The bytes, then an error in place of the rest.
        struct FailsAfter<'a>(&'a [u8]);
        impl Read for FailsAfter<'_> {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0.is_empty() {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "corrupt deflate stream",
                    ));
                }
                let n = buf.len().min(self.0.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let text = br#"{"Records":[{"a":1},{"b":2},{"c":"#;
        let mut found = Vec::new();
        let result = split_records(FailsAfter(text), 4096, |_, element| {
            if let Element::Record { text, .. } = element {
                found.push(text.to_owned());
            }
            Ok(())
        });
        assert_eq!(found, [r#"{"a":1}"#, r#"{"b":2}"#]);
        assert!(result.is_err());
    }

    #[test]
    fn elements_over_the_limit_are_counted_not_kept() {
        let text = br#"{"Records":[{"a":"xxxxxxxxxx"},{"b":1},"0123456789012345"]}"#;
        let found = split(text, 3, 12).unwrap();
        assert_eq!(
            found,
            vec!["<too large: 18>", r#"{"b":1}"#, "<too large: 18>"]
        );
    }

    #[test]
    fn malformed_files_are_errors_naming_the_problem() {
        let error = |text: &str| {
            split(text.as_bytes(), 5, usize::MAX)
                .unwrap_err()
                .to_string()
        };
        for (text, expected) in [
            ("", "empty"),
            ("[1,2]", "not a JSON object"),
            (
                r#"{"Records":[]} x"#,
                "unexpected data after the top-level object",
            ),
            (r#"{"Records":[{"a":[1}]}"#, "mismatched brackets"),
            (r#"{"Records":[{"a":"b}]}"#, "ends inside a value"),
            (r#"{"Records":[{"a":1} {"b":2}]}"#, "expected ',' or ']'"),
            (r#"{"Records":[1,]}"#, "expected a value"),
            (r#"{"Other":1}"#, "no \"Records\" array"),
            (r#"{"Records":{}}"#, "no \"Records\" array"),
            (r#"{"Records":[],"Records":[]}"#, "more than one"),
            (r#"{"Records":[] "x":1}"#, "expected ',' or '}'"),
        ] {
            let message = error(text);
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }

    #[test]
    fn a_record_nested_beyond_the_limit_costs_itself_only() {
        for depth in [MAX_DEPTH, MAX_DEPTH + 1, 100_000] {
            let deep = format!(
                r#"{{"Records":[{{"a":{}{}}},{{"b":"]"}}]}}"#,
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            );
            let found = split(deep.as_bytes(), 4096, usize::MAX).unwrap();
            assert_eq!(found.len(), 2, "{depth}");
            assert_eq!(
                found[0].starts_with("<too deep"),
                depth > MAX_DEPTH,
                "{depth}"
            );
            assert_eq!(found[1], r#"{"b":"]"}"#);
        }
    }

    #[test]
    fn a_byte_order_mark_and_escaped_keys_are_accepted() {
        let text = b"\xef\xbb\xbf{\"Rec\\u006frds\":[{\"a\":1}],\"\\\"x\":2}";
        assert_eq!(split(text, 1, usize::MAX).unwrap(), [r#"{"a":1}"#]);
        assert_eq!(split(text, 4096, usize::MAX).unwrap(), [r#"{"a":1}"#]);
    }

    #[test]
    fn a_top_level_key_is_bounded() {
        let long = format!(r#"{{"{}":1,"Records":[]}}"#, "a".repeat(MAX_KEY_BYTES + 1));
        assert!(matches!(
            split(long.as_bytes(), 4096, usize::MAX),
            Err(FileError::KeyTooLong {
                limit: MAX_KEY_BYTES
            })
        ));
        let fits = format!(r#"{{"{}":1,"Records":[]}}"#, "a".repeat(MAX_KEY_BYTES));
        assert!(split(fits.as_bytes(), 4096, usize::MAX).is_ok());
    }

    #[test]
    fn records_at_cloudwatch_logs_limit_are_kept_and_one_byte_more_only_measured() {
        use crate::logs::batch::MAX_MESSAGE_BYTES;
        // A record of exactly `size` bytes whose last padding character is two bytes long.
        let record = |size: usize| {
            let head = r#"{"eventTime":"2026-11-25T12:00:00Z","pad":""#;
            let tail = "\u{e9}\"}";
            format!("{head}{}{tail}", "p".repeat(size - head.len() - tail.len()))
        };
        for (size, kept) in [(MAX_MESSAGE_BYTES, true), (MAX_MESSAGE_BYTES + 1, false)] {
            let text = format!(r#"{{"Records":[{},{{"a":1}}]}}"#, record(size));
            let found = split(text.as_bytes(), 65_536, MAX_MESSAGE_BYTES).unwrap();
            assert_eq!(found[0].len() == size, kept, "{size}");
            assert_eq!(found[0] == format!("<too large: {size}>"), !kept, "{size}");
            assert_eq!(found[1], r#"{"a":1}"#);
        }
    }

    #[test]
    fn a_bare_literal_ends_where_a_literal_can_end() {
        // Found by fuzzing: the scalar took in the quote and bracket after it, so the splitter
        // yielded an element the reference parser never sees.
        let found = split(br#"{"Records":[truecords":[tru""e]}"#, 4096, usize::MAX);
        assert!(matches!(found, Err(FileError::Syntax(_))), "{found:?}");
        assert_eq!(
            split(br#"{"Records":[true,-1.5e3,null]}"#, 4096, usize::MAX).unwrap(),
            ["true", "-1.5e3", "null"]
        );
    }

    /// `{"` and then `a` without end, produced as it is read: nothing holds it.
    struct EndlessKey {
        sent: u64,
    }

    impl Read for EndlessKey {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            buf.fill(b'a');
            if self.sent == 0 {
                buf[..2].copy_from_slice(b"{\"");
            }
            self.sent += buf.len() as u64;
            Ok(buf.len())
        }
    }

    #[test]
    fn an_endless_top_level_key_is_refused_at_the_limit_not_buffered() {
        let mut source = EndlessKey { sent: 0 };
        let result = split_records(&mut source, 4096, |_, _| Ok(()));
        assert!(matches!(
            result,
            Err(FileError::KeyTooLong {
                limit: MAX_KEY_BYTES
            })
        ));
        // Refused within the first read buffer, not after a gigabyte.
        assert!(
            source.sent <= 2 * BUFFER as u64,
            "{} bytes read",
            source.sent
        );
    }
}
