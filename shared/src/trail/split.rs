//! The fast path of the log file reader: one pass over the decompressed bytes that finds each
//! element of `Records` by tracking strings, escapes and bracket nesting, and hands over the
//! element's exact bytes. The element is not parsed here: the caller parses it once (and so
//! validates it). serde_json's reader, used by [`super::read_records`], takes the input a byte
//! at a time through `io::Read` and was the bound on throughput (see `shared/benches`).
//!
//! Accepted: `{"Records": [ … ]}` with any whitespace, other top-level keys (their values are
//! skipped), and nothing but whitespace after the closing brace.

use std::io::{self, Read};

use super::file::FileError;

const BUFFER: usize = 64 * 1024;
/// Deeper nesting than any CloudTrail record has; beyond it the file is refused.
const MAX_DEPTH: usize = 512;

/// One element of `Records`.
#[derive(Debug, PartialEq, Eq)]
pub enum Element<'a> {
    /// The element's exact bytes, without surrounding whitespace.
    Text(&'a [u8]),
    /// An element longer than the caller's limit: its bytes were not kept.
    TooLarge(u64),
}

/// Calls `visit(index, element)` for each element of `Records` in file order; returns the
/// number of elements. Elements longer than `max_element` bytes are reported as too large.
pub fn split_records<R, F, E>(input: R, max_element: usize, mut visit: F) -> Result<u64, FileError>
where
    R: Read,
    F: FnMut(u64, Element<'_>) -> Result<(), E>,
    E: std::fmt::Display,
{
    let mut scanner = Scanner {
        input,
        buf: vec![0; BUFFER],
        pos: 0,
        len: 0,
        offset: 0,
    };
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
            count = Some(scanner.elements(max_element, &mut visit)?);
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
}

impl<R: Read> Scanner<R> {
    /// Ensures a byte is available; false at the end of input.
    fn fill(&mut self) -> Result<bool, FileError> {
        if self.pos < self.len {
            return Ok(true);
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

    /// A top-level key. Keys with escapes are compared unescaped only for plain ASCII.
    fn string_key(&mut self) -> Result<String, FileError> {
        self.expect(b'"', "expected a key")?;
        let mut key = Vec::new();
        loop {
            match self.next()? {
                None => return Err(self.syntax("unterminated key")),
                Some(b'"') => break,
                Some(b'\\') => {
                    key.push(b'\\');
                    key.extend(self.next()?);
                }
                Some(byte) => key.push(byte),
            }
        }
        Ok(String::from_utf8_lossy(&key).into_owned())
    }

    /// Skips one value of any kind (other top-level keys).
    fn skip_value(&mut self) -> Result<(), FileError> {
        let mut sink = Capture::Discard(0);
        self.value(&mut sink, u64::MAX)
    }

    /// The elements of the Records array, after its `[`.
    fn elements<F, E>(&mut self, max_element: usize, visit: &mut F) -> Result<u64, FileError>
    where
        F: FnMut(u64, Element<'_>) -> Result<(), E>,
        E: std::fmt::Display,
    {
        let mut record = Vec::new();
        let mut count = 0u64;
        self.skip_ws()?;
        if self.peek()? == Some(b']') {
            self.pos += 1;
            return Ok(0);
        }
        loop {
            record.clear();
            let mut capture = Capture::Keep(&mut record);
            self.value(&mut capture, max_element as u64)?;
            let element = match capture {
                Capture::Keep(bytes) => Element::Text(bytes),
                Capture::Discard(length) => Element::TooLarge(length),
            };
            visit(count, element).map_err(|reason| FileError::Stopped(reason.to_string()))?;
            count += 1;
            self.skip_ws()?;
            match self.next()? {
                Some(b',') => self.skip_ws()?,
                Some(b']') => return Ok(count),
                _ => return Err(self.syntax("expected ',' or ']' after a record")),
            }
        }
    }

    /// Scans one value, capturing its bytes (or only its length once past `limit`).
    fn value(&mut self, capture: &mut Capture<'_>, limit: u64) -> Result<(), FileError> {
        let mut stack: Vec<u8> = Vec::new();
        let mut in_string = false;
        let mut escaped = false;
        let mut scalar = false;
        loop {
            if !self.fill()? {
                return if scalar && stack.is_empty() && !in_string {
                    Ok(())
                } else {
                    Err(self.syntax("the file ends inside a value"))
                };
            }
            let start = self.pos;
            let chunk = &self.buf[start..self.len];
            let mut index = 0;
            let mut done = false;
            while index < chunk.len() {
                let byte = chunk[index];
                if in_string {
                    if escaped {
                        escaped = false;
                    } else if let Some(found) = memchr::memchr2(b'"', b'\\', &chunk[index..]) {
                        index += found;
                        if chunk[index] == b'\\' {
                            escaped = true;
                        } else {
                            in_string = false;
                            if stack.is_empty() {
                                index += 1;
                                done = true;
                                break;
                            }
                        }
                    } else {
                        index = chunk.len();
                        continue;
                    }
                    index += 1;
                    continue;
                }
                match byte {
                    b'"' if !scalar => in_string = true,
                    b'{' | b'[' if !scalar => {
                        if stack.len() == MAX_DEPTH {
                            return Err(self.syntax("records nest too deeply"));
                        }
                        stack.push(if byte == b'{' { b'}' } else { b']' });
                    }
                    b'}' | b']' if !stack.is_empty() => {
                        if stack.pop() != Some(byte) {
                            return Err(self.syntax("mismatched brackets"));
                        }
                        if stack.is_empty() {
                            index += 1;
                            done = true;
                            break;
                        }
                    }
                    b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t' if stack.is_empty() => {
                        if !scalar {
                            return Err(self.syntax("expected a value"));
                        }
                        done = true;
                        break;
                    }
                    _ if stack.is_empty() => scalar = true,
                    _ => {}
                }
                index += 1;
            }
            capture.take(&self.buf[start..start + index], limit);
            self.pos = start + index;
            if done {
                return Ok(());
            }
        }
    }
}

/// Where a value's bytes go: kept while within the limit, then only counted.
enum Capture<'a> {
    Keep(&'a mut Vec<u8>),
    Discard(u64),
}

impl Capture<'_> {
    fn take(&mut self, bytes: &[u8], limit: u64) {
        match self {
            Capture::Keep(kept) if (kept.len() + bytes.len()) as u64 <= limit => {
                kept.extend_from_slice(bytes)
            }
            Capture::Keep(kept) => *self = Capture::Discard((kept.len() + bytes.len()) as u64),
            Capture::Discard(length) => *length += bytes.len() as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trail::read_records;
    use std::convert::Infallible;

    /// Hands out at most `size` bytes per read, to cross every buffer boundary.
    struct Chopped<'a> {
        bytes: &'a [u8],
        size: usize,
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
                    Element::Text(bytes) => String::from_utf8(bytes.to_vec()).unwrap(),
                    Element::TooLarge(n) => format!("<too large: {n}>"),
                });
                Ok::<_, Infallible>(())
            },
        )?;
        Ok(found)
    }

    fn reference(text: &[u8]) -> Vec<String> {
        let mut found = Vec::new();
        read_records(text, |_, raw| {
            found.push(raw.get().to_owned());
            Ok::<_, Infallible>(())
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
    fn nesting_beyond_the_limit_is_refused() {
        let deep = format!(
            r#"{{"Records":[{}{}]}}"#,
            "[".repeat(MAX_DEPTH + 1),
            "]".repeat(MAX_DEPTH + 1)
        );
        assert!(
            split(deep.as_bytes(), 4096, usize::MAX)
                .unwrap_err()
                .to_string()
                .contains("nest too deeply")
        );
    }
}
