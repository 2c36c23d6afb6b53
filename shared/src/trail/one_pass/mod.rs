//! The record splitter's fast path: one pass over a record that finds its end, checks that it
//! is JSON, and reads the fields selection, routing and timestamps need ([`RecordFields`]), so
//! that a record is not scanned once to split it and parsed again for its fields.
//!
//! The serde reader ([`RecordFields::parse`]) stays the definition: this pass gives exactly its
//! fields, and for anything it is not sure to read the same way it gives up
//! ([`Scan::Unsure`]) and the record takes the reference path (split, then parsed by serde),
//! which also words every error. It gives up on: a record that is not an object, invalid JSON
//! anywhere, nesting deeper than [`MAX_NESTING`], escapes in a key or value it reads, `\u`
//! escapes of UTF-16 surrogates, numbers serde would convert (a fraction, an exponent or more
//! than 18 digits where a field is read), and text that is not UTF-8. Real CloudTrail records
//! have none of these where the fields are, so they all take the fast path.

use super::record::RecordFields;
use crate::json_text::FindSpecial;

mod parser;
mod spans;
pub use parser::MAX_NESTING;
use parser::{Parser, Stop};

/// What one pass over the start of `bytes` found.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once per record and moved once, on the stack: boxing would allocate per record"
)]
pub(crate) enum Scan<'a> {
    /// A record, its exact text (the first `text.len()` bytes) and its fields.
    Complete {
        text: &'a str,
        fields: RecordFields<'a>,
    },
    /// `bytes` ends inside the record: more input is needed.
    Incomplete,
    /// The record must take the reference path.
    Unsure,
}

/// Reads the record at the start of `bytes` (no whitespace before it), finding string ends
/// with `S`.
pub(crate) fn read_record<S: FindSpecial>(bytes: &[u8]) -> Scan<'_> {
    let mut parser = Parser::<S>::new(bytes);
    let spans = match parser.record() {
        Ok(spans) => spans,
        Err(Stop::Incomplete) => return Scan::Incomplete,
        Err(Stop::Unsure) => return Scan::Unsure,
    };
    let Ok(text) = std::str::from_utf8(&bytes[..parser.at]) else {
        return Scan::Unsure;
    };
    Scan::Complete {
        text,
        fields: spans.into_fields(text),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json_text::{Lanes, Words};

    /// The fields as the serde reader gives them, written out for comparison.
    fn reference(text: &str) -> Option<String> {
        RecordFields::parse(text)
            .ok()
            .map(|fields| format!("{fields:?}"))
    }

    /// One pass over `text` alone: its fields, or `None` when it gave up; the same whichever
    /// finder looks for string ends.
    fn one_pass(text: &str) -> Option<String> {
        let words = match read_record::<Words>(text.as_bytes()) {
            Scan::Complete { text, fields } => Some((text, format!("{fields:?}"))),
            _ => None,
        };
        let lanes = match read_record::<Lanes>(text.as_bytes()) {
            Scan::Complete { text, fields } => Some((text, format!("{fields:?}"))),
            _ => None,
        };
        assert_eq!(lanes, words, "{text}");
        match read_record::<Lanes>(text.as_bytes()) {
            Scan::Complete { text: read, fields } => {
                assert_eq!(read, text);
                Some(format!("{fields:?}"))
            }
            Scan::Incomplete => panic!("a whole record read as incomplete: {text}"),
            Scan::Unsure => None,
        }
    }

    #[test]
    fn generated_records_are_read_in_one_pass_exactly_as_serde_reads_them() {
        for seed in 0..8 {
            for record in crate::generate::TrailSpec::recent(seed).records().take(400) {
                assert_eq!(
                    one_pass(&record.text),
                    reference(&record.text),
                    "{}",
                    record.text
                );
            }
        }
    }

    #[test]
    fn every_prefix_of_a_record_is_incomplete() {
        let record = crate::generate::TrailSpec::recent(3)
            .records()
            .next()
            .unwrap()
            .text;
        for end in 0..record.len() {
            assert!(
                matches!(
                    read_record::<Lanes>(&record.as_bytes()[..end]),
                    Scan::Incomplete
                ),
                "{end}"
            );
        }
    }

    #[test]
    fn lenient_and_odd_fields_are_read_as_serde_reads_them_or_left_to_it() {
        // Read here, the same as serde.
        for text in [
            r#"{}"#,
            r#"{ "eventTime" : "2024-03-01T12:34:56Z" , "eventTime":"later" }"#,
            r#"{"eventTime":1,"eventTime":"2024-03-01T12:34:56Z","eventName":["x"],"eventSource":{"a":"b"}}"#,
            r#"{"managementEvent":"true","readOnly":"maybe","readOnly":false,"sessionCredentialFromConsole":true}"#,
            r#"{"managementEvent":null,"managementEvent":"false","errorCode":403,"vpcEndpointId":-0}"#,
            r#"{"eventID":"a","eventId":"b"}"#,
            r#"{"eventId":"agg","resources":[7,"s",[1,{"type":"x"}],{"type":1,"ARN":"arn:x","type":"T","arn":"lower"},{},null]}"#,
            r#"{"resources":{"type":"x"},"resources":[{"ARN":"second"}]}"#,
            r#"{"resources":[],"resources":[{"ARN":"second"}]}"#,
            r#"{"resources":"text","resources":true}"#,
            r#"{"userIdentity":"root","userIdentity":{"accountId":"1"},"userIdentity":{"type":"Root","arn":5,"arn":"arn:aws:iam::1:root"}}"#,
            r#"{"userIdentity":{"ARN":"upper"}}"#,
            r#"{"x":{"a":[1.5e3,-0.25,1E+2,12345678901234567890123,true,false,null,"\"\\\/\b\f\n\r\t\u00e9"]}}"#,
            "{\"a\":\"é 漢字 🙂\",\n\t\"eventName\" :\"Run\" }",
        ] {
            assert!(one_pass(text).is_some(), "gave up on {text}");
            assert_eq!(one_pass(text), reference(text), "{text}");
        }
        // Left to serde: it may read them differently or refuse them.
        for text in [
            r#"[1]"#,
            r#""text""#,
            r#"{"event\u0054ime":"2024-03-01T12:34:56Z"}"#,
            r#"{"eventName":"Run\u0049nstances"}"#,
            r#"{"readOnly":"tru\u0065"}"#,
            r#"{"userIdentity":{"\u0061rn":"x"}}"#,
            r#"{"eventTime":1e400}"#,
            r#"{"errorCode":1.5}"#,
            r#"{"errorCode":12345678901234567890}"#,
            r#"{"resources":[1e999]}"#,
            r#"{"x":"\ud83d\ude42"}"#,
            r#"{"x":"\ud800"}"#,
            r#"{"x":"\q"}"#,
            r#"{"x":"\u12g4"}"#,
            "{\"x\":\"a\u{1}b\"}",
            r#"{"x":01}"#,
            r#"{"x":1.}"#,
            r#"{"x":-}"#,
            r#"{"x":tru}"#,
            r#"{"x":[1,]}"#,
            r#"{"x":{"a":1,}}"#,
            r#"{"x":1,}"#,
            r#"{"x" 1}"#,
            r#"{"x":1 "y":2}"#,
            r#"{"x":[1 2]}"#,
            r#"{"x":}"#,
        ] {
            assert_eq!(one_pass(text), None, "read {text}");
        }
    }

    #[test]
    fn invalid_utf8_is_left_to_the_reference_path() {
        assert!(matches!(
            read_record::<Lanes>(b"{\"a\":\"\xff\"}"),
            Scan::Unsure
        ));
    }

    #[test]
    fn nesting_is_followed_to_the_limit_then_left_to_serde() {
        let nested = |depth: usize| {
            format!(
                r#"{{"eventName":"x","a":{}{}}}"#,
                "[".repeat(depth - 1),
                "]".repeat(depth - 1)
            )
        };
        assert_eq!(
            one_pass(&nested(MAX_NESTING)),
            reference(&nested(MAX_NESTING))
        );
        assert_eq!(one_pass(&nested(MAX_NESTING + 1)), None);
        assert!(reference(&nested(MAX_NESTING + 1)).is_some());
    }
}
