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

use std::borrow::Cow;
use std::ops::Range;

use super::record::{RecordFields, Resource, UserIdentity};
use crate::json_text::find_special;

/// Nesting this pass follows; deeper records take the reference path (serde_json stops at 128).
pub const MAX_NESTING: usize = 100;

/// What one pass over the start of `bytes` found.
#[derive(Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "built once per record and moved once, on the stack: boxing would allocate per record"
)]
pub enum Scan<'a> {
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

/// Reads the record at the start of `bytes` (no whitespace before it).
pub fn read_record(bytes: &[u8]) -> Scan<'_> {
    let mut parser = Parser { bytes, at: 0 };
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    Incomplete,
    Unsure,
}

type Step<T> = Result<T, Stop>;

/// The top-level text fields, in [`Spans::texts`].
const EVENT_TIME: usize = 0;
const EVENT_VERSION: usize = 1;
const EVENT_CATEGORY: usize = 2;
const EVENT_TYPE: usize = 3;
const EVENT_SOURCE: usize = 4;
const EVENT_NAME: usize = 5;
const AWS_REGION: usize = 6;
const RECIPIENT_ACCOUNT_ID: usize = 7;
const EVENT_ID: usize = 8;
const ERROR_CODE: usize = 9;
const VPC_ENDPOINT_ID: usize = 10;
const ACCOUNT_ID: usize = 11;
const TEXT_FIELDS: usize = 12;
/// The top-level flags, in [`Spans::flags`].
const MANAGEMENT_EVENT: usize = 0;
const READ_ONLY: usize = 1;
const SESSION_CREDENTIAL_FROM_CONSOLE: usize = 2;

/// What a top-level key is to [`RecordFields`].
enum Field {
    Text(usize),
    Flag(usize),
    Resources,
    UserIdentity,
    Other,
}

fn field_of(key: &[u8]) -> Field {
    match key {
        b"eventTime" => Field::Text(EVENT_TIME),
        b"eventVersion" => Field::Text(EVENT_VERSION),
        b"eventCategory" => Field::Text(EVENT_CATEGORY),
        b"eventType" => Field::Text(EVENT_TYPE),
        b"eventSource" => Field::Text(EVENT_SOURCE),
        b"eventName" => Field::Text(EVENT_NAME),
        b"awsRegion" => Field::Text(AWS_REGION),
        b"recipientAccountId" => Field::Text(RECIPIENT_ACCOUNT_ID),
        b"eventID" | b"eventId" => Field::Text(EVENT_ID),
        b"errorCode" => Field::Text(ERROR_CODE),
        b"vpcEndpointId" => Field::Text(VPC_ENDPOINT_ID),
        b"accountId" => Field::Text(ACCOUNT_ID),
        b"managementEvent" => Field::Flag(MANAGEMENT_EVENT),
        b"readOnly" => Field::Flag(READ_ONLY),
        b"sessionCredentialFromConsole" => Field::Flag(SESSION_CREDENTIAL_FROM_CONSOLE),
        b"resources" => Field::Resources,
        b"userIdentity" => Field::UserIdentity,
        _ => Field::Other,
    }
}

/// Where each field's text is in the record, before the record is known to be UTF-8.
#[derive(Debug, Default)]
struct Spans {
    texts: [Option<Range<usize>>; TEXT_FIELDS],
    flags: [Option<bool>; 3],
    resources: Option<Vec<Entries>>,
    user_identity: Option<Entries>,
}

/// The `type`, `ARN` and `arn` strings of an object; `any` when one of those keys was there
/// (whatever its value), which is what makes `userIdentity` present for the serde reader.
#[derive(Debug, Default)]
struct Entries {
    resource_type: Option<Range<usize>>,
    upper_arn: Option<Range<usize>>,
    lower_arn: Option<Range<usize>>,
    any: bool,
}

impl Spans {
    fn into_fields(self, text: &str) -> RecordFields<'_> {
        let [
            event_time,
            event_version,
            event_category,
            event_type,
            event_source,
            event_name,
            aws_region,
            recipient_account_id,
            event_id,
            error_code,
            vpc_endpoint_id,
            account_id,
        ] = self.texts.map(|span| slice(text, span));
        let [management_event, read_only, session_credential_from_console] = self.flags;
        RecordFields {
            event_time,
            event_version,
            event_category,
            event_type,
            management_event,
            read_only,
            event_source,
            event_name,
            aws_region,
            recipient_account_id,
            account_id,
            event_id,
            resources: self.resources.map(|list| {
                list.into_iter()
                    .map(|entries| Resource {
                        resource_type: slice(text, entries.resource_type),
                        arn: slice(text, entries.upper_arn),
                    })
                    .collect()
            }),
            user_identity: self.user_identity.map(|entries| UserIdentity {
                arn: slice(text, entries.lower_arn),
            }),
            error_code,
            vpc_endpoint_id,
            session_credential_from_console,
        }
    }
}

/// Spans start and end at quotes, so they are character boundaries of the record's text.
fn slice(text: &str, span: Option<Range<usize>>) -> Option<Cow<'_, str>> {
    span.and_then(|span| text.get(span)).map(Cow::Borrowed)
}

/// A value where the serde reader reads (not merely skips) a scalar.
enum Value {
    String { span: Range<usize>, escaped: bool },
    Bool(bool),
    Other,
}

struct Parser<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Step<u8> {
        self.bytes.get(self.at).copied().ok_or(Stop::Incomplete)
    }

    /// The next byte that is not JSON whitespace, not consumed.
    fn skip_ws(&mut self) -> Step<u8> {
        loop {
            match self.peek()? {
                b' ' | b'\n' | b'\r' | b'\t' => self.at += 1,
                byte => return Ok(byte),
            }
        }
    }

    fn expect(&mut self, byte: u8) -> Step<()> {
        if self.skip_ws()? != byte {
            return Err(Stop::Unsure);
        }
        self.at += 1;
        Ok(())
    }

    /// After `{` or `[`: true (and consumed) when the container closes at once.
    fn closes_at_once(&mut self, close: u8) -> Step<bool> {
        let empty = self.skip_ws()? == close;
        if empty {
            self.at += 1;
        }
        Ok(empty)
    }

    /// After a member or element: true when another follows, false when `close` ended it.
    fn another(&mut self, close: u8) -> Step<bool> {
        match self.skip_ws()? {
            b',' => {
                self.at += 1;
                Ok(true)
            }
            byte if byte == close => {
                self.at += 1;
                Ok(false)
            }
            _ => Err(Stop::Unsure),
        }
    }

    /// A string, from its opening quote: the span of its content and whether it has escapes.
    fn string(&mut self) -> Step<(Range<usize>, bool)> {
        self.expect(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            let Some(found) = find_special(&self.bytes[self.at..]) else {
                self.at = self.bytes.len();
                return Err(Stop::Incomplete);
            };
            self.at += found;
            match self.bytes[self.at] {
                b'"' => {
                    self.at += 1;
                    return Ok((start..self.at - 1, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                // A control character, which JSON strings may not hold unescaped.
                _ => return Err(Stop::Unsure),
            }
        }
    }

    /// One escape, from its backslash.
    fn escape(&mut self) -> Step<()> {
        let kind = *self.bytes.get(self.at + 1).ok_or(Stop::Incomplete)?;
        match kind {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 2,
            b'u' => {
                let hex = self
                    .bytes
                    .get(self.at + 2..self.at + 6)
                    .ok_or(Stop::Incomplete)?;
                if !hex.iter().all(u8::is_ascii_hexdigit) {
                    return Err(Stop::Unsure);
                }
                // U+D800–U+DFFF: whether a pair is well formed is left to serde.
                if hex[0].eq_ignore_ascii_case(&b'd') && !matches!(hex[1], b'0'..=b'7') {
                    return Err(Stop::Unsure);
                }
                self.at += 6;
            }
            _ => return Err(Stop::Unsure),
        }
        Ok(())
    }

    /// A key without escapes (the serde reader unescapes keys before matching them) and its
    /// colon.
    fn plain_key(&mut self) -> Step<Range<usize>> {
        let (span, escaped) = self.string()?;
        if escaped {
            return Err(Stop::Unsure);
        }
        self.expect(b':')?;
        Ok(span)
    }

    fn literal(&mut self, word: &[u8]) -> Step<()> {
        let available = &self.bytes[self.at..self.bytes.len().min(self.at + word.len())];
        if !word.starts_with(available) {
            return Err(Stop::Unsure);
        }
        if available.len() < word.len() {
            return Err(Stop::Incomplete);
        }
        self.at += word.len();
        Ok(())
    }

    fn digits(&mut self) -> Step<()> {
        if !self.peek()?.is_ascii_digit() {
            return Err(Stop::Unsure);
        }
        while self.peek()?.is_ascii_digit() {
            self.at += 1;
        }
        Ok(())
    }

    /// A number as RFC 8259 §6 spells it. `read`: serde converts it here, so only integers it
    /// surely holds are taken.
    fn number(&mut self, read: bool) -> Step<()> {
        let start = self.at;
        if self.peek()? == b'-' {
            self.at += 1;
        }
        if self.peek()? == b'0' {
            self.at += 1;
        } else {
            self.digits()?;
        }
        let mut integer = true;
        if self.peek()? == b'.' {
            integer = false;
            self.at += 1;
            self.digits()?;
        }
        if matches!(self.peek()?, b'e' | b'E') {
            integer = false;
            self.at += 1;
            if matches!(self.peek()?, b'+' | b'-') {
                self.at += 1;
            }
            self.digits()?;
        }
        if read && (!integer || self.at - start > 18) {
            return Err(Stop::Unsure);
        }
        Ok(())
    }

    /// Any value, checked and skipped (serde's `IgnoredAny`).
    fn skip(&mut self, depth: usize) -> Step<()> {
        match self.skip_ws()? {
            b'"' => self.string().map(|_| ()),
            b'{' => {
                let depth = self.deeper(depth)?;
                if self.closes_at_once(b'}')? {
                    return Ok(());
                }
                loop {
                    self.string()?;
                    self.expect(b':')?;
                    self.skip(depth)?;
                    if !self.another(b'}')? {
                        return Ok(());
                    }
                }
            }
            b'[' => {
                let depth = self.deeper(depth)?;
                if self.closes_at_once(b']')? {
                    return Ok(());
                }
                loop {
                    self.skip(depth)?;
                    if !self.another(b']')? {
                        return Ok(());
                    }
                }
            }
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(false),
            _ => Err(Stop::Unsure),
        }
    }

    /// Consumes an opening bracket; the depth inside it.
    fn deeper(&mut self, depth: usize) -> Step<usize> {
        if depth >= MAX_NESTING {
            return Err(Stop::Unsure);
        }
        self.at += 1;
        Ok(depth + 1)
    }

    /// A value the serde reader reads as any JSON value: strings and booleans are kept,
    /// containers skipped.
    fn value(&mut self, depth: usize) -> Step<Value> {
        match self.skip_ws()? {
            b'"' => {
                let (span, escaped) = self.string()?;
                Ok(Value::String { span, escaped })
            }
            b't' => self.literal(b"true").map(|()| Value::Bool(true)),
            b'f' => self.literal(b"false").map(|()| Value::Bool(false)),
            b'-' | b'0'..=b'9' => self.number(true).map(|()| Value::Other),
            _ => self.skip(depth).map(|()| Value::Other),
        }
    }

    /// A string value that is read: its span, or none for any other value.
    fn text(&mut self, depth: usize) -> Step<Option<Range<usize>>> {
        match self.value(depth)? {
            Value::String { escaped: true, .. } => Err(Stop::Unsure),
            Value::String { span, .. } => Ok(Some(span)),
            _ => Ok(None),
        }
    }

    /// A boolean, or the strings `"true"` / `"false"`.
    fn flag(&mut self, depth: usize) -> Step<Option<bool>> {
        Ok(match self.value(depth)? {
            Value::Bool(value) => Some(value),
            Value::String { escaped: true, .. } => return Err(Stop::Unsure),
            Value::String { span, .. } => match &self.bytes[span] {
                b"true" => Some(true),
                b"false" => Some(false),
                _ => None,
            },
            Value::Other => None,
        })
    }

    /// An object's `type`, `ARN` and `arn` strings; any other value has none.
    fn entries(&mut self, depth: usize) -> Step<Entries> {
        let mut entries = Entries::default();
        if self.skip_ws()? != b'{' {
            self.value(depth)?;
            return Ok(entries);
        }
        let depth = self.deeper(depth)?;
        if self.closes_at_once(b'}')? {
            return Ok(entries);
        }
        loop {
            let key = self.plain_key()?;
            let slot = match &self.bytes[key] {
                b"type" => Some(&mut entries.resource_type),
                b"ARN" => Some(&mut entries.upper_arn),
                b"arn" => Some(&mut entries.lower_arn),
                _ => None,
            };
            match slot {
                Some(slot) => {
                    let found = self.text(depth)?;
                    if slot.is_none() {
                        *slot = found;
                    }
                    entries.any = true;
                }
                None => self.skip(depth)?,
            }
            if !self.another(b'}')? {
                return Ok(entries);
            }
        }
    }

    /// `resources`: a list of objects; any other value is none.
    fn resources(&mut self, depth: usize) -> Step<Option<Vec<Entries>>> {
        if self.skip_ws()? != b'[' {
            self.value(depth)?;
            return Ok(None);
        }
        let depth = self.deeper(depth)?;
        let mut list = Vec::new();
        if self.closes_at_once(b']')? {
            return Ok(Some(list));
        }
        loop {
            list.push(self.entries(depth)?);
            if !self.another(b']')? {
                return Ok(Some(list));
            }
        }
    }

    /// The record: an object whose fields are read, the first usable value of each counting.
    fn record(&mut self) -> Step<Spans> {
        if self.peek()? != b'{' {
            return Err(Stop::Unsure);
        }
        let depth = self.deeper(0)?;
        let mut spans = Spans::default();
        if self.closes_at_once(b'}')? {
            return Ok(spans);
        }
        loop {
            let key = self.plain_key()?;
            match field_of(&self.bytes[key]) {
                Field::Text(slot) => {
                    let found = self.text(depth)?;
                    if spans.texts[slot].is_none() {
                        spans.texts[slot] = found;
                    }
                }
                Field::Flag(slot) => {
                    let found = self.flag(depth)?;
                    spans.flags[slot] = spans.flags[slot].or(found);
                }
                Field::Resources => {
                    let found = self.resources(depth)?;
                    if spans.resources.is_none() {
                        spans.resources = found;
                    }
                }
                Field::UserIdentity => {
                    let found = self.entries(depth)?;
                    if spans.user_identity.is_none() && found.any {
                        spans.user_identity = Some(found);
                    }
                }
                Field::Other => self.skip(depth)?,
            }
            if !self.another(b'}')? {
                return Ok(spans);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fields as the serde reader gives them, written out for comparison.
    fn reference(text: &str) -> Option<String> {
        RecordFields::parse(text)
            .ok()
            .map(|fields| format!("{fields:?}"))
    }

    /// One pass over `text` alone: its fields, or `None` when it gave up.
    fn one_pass(text: &str) -> Option<String> {
        match read_record(text.as_bytes()) {
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
                matches!(read_record(&record.as_bytes()[..end]), Scan::Incomplete),
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
        assert!(matches!(read_record(b"{\"a\":\"\xff\"}"), Scan::Unsure));
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
