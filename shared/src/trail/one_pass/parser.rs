//! The one pass itself: a JSON scanner over a record's bytes that follows the serde reader's
//! rules for the fields it reads and gives up ([`Stop::Unsure`]) where it is not sure to.

use std::ops::Range;

use super::spans::*;
use crate::json_text::FindSpecial;

/// Nesting this pass follows; deeper records take the reference path (serde_json stops at 128).
pub const MAX_NESTING: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    Incomplete,
    Unsure,
}

pub(super) type Step<T> = Result<T, Stop>;

/// A value where the serde reader reads (not merely skips) a scalar.
enum Value {
    String { span: Range<usize>, escaped: bool },
    Bool(bool),
    Other,
}

pub(super) struct Parser<'b, S> {
    bytes: &'b [u8],
    /// The first byte not read yet.
    pub(super) at: usize,
    /// Where strings end.
    specials: S,
}

impl<'b, S: FindSpecial> Parser<'b, S> {
    pub(super) fn new(bytes: &'b [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            specials: S::default(),
        }
    }

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
            let Some(found) = self.specials.find(self.bytes, self.at) else {
                self.at = self.bytes.len();
                return Err(Stop::Incomplete);
            };
            self.at = found;
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
    pub(super) fn record(&mut self) -> Step<Spans> {
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
