//! One value of the `Records` array, scanned chunk by chunk: where it ends, and whether it nests
//! deeper than [`MAX_DEPTH`]. Brackets are matched and strings skipped; the value's JSON is
//! checked further by whoever reads it.

/// Deeper nesting than any CloudTrail record has; a record nested deeper is reported as
/// `Element::TooDeep` and the file goes on.
pub const MAX_DEPTH: usize = 512;

/// The scan's state between chunks.
#[derive(Default)]
pub(super) struct ValueScan {
    /// The closers expected, innermost last.
    stack: Vec<u8>,
    /// Open brackets beyond MAX_DEPTH; while any, closers are not matched against openers.
    beyond: u64,
    /// The value nests deeper than MAX_DEPTH: its bytes are counted, not kept.
    pub(super) too_deep: bool,
    in_string: bool,
    escaped: bool,
    /// Inside a bare number or literal.
    scalar: bool,
}

/// What one byte outside a string does to the value.
enum Step {
    Continue,
    /// The value ends with this byte.
    EndsWith,
    /// The value ended before this byte.
    EndedBefore,
}

impl ValueScan {
    /// Whether input ending now ends the value (a bare number or literal at the top).
    pub(super) fn complete_at_end(&self) -> bool {
        self.scalar && self.stack.is_empty() && !self.in_string
    }

    /// Scans `chunk`: how many of its bytes belong to the value, and whether the value ended
    /// in it. `Err`: the syntax problem found.
    pub(super) fn scan(&mut self, chunk: &[u8]) -> Result<(usize, bool), &'static str> {
        let mut index = 0;
        while index < chunk.len() {
            if self.in_string {
                let (next, ended) = self.in_string_from(chunk, index);
                if ended {
                    return Ok((next, true));
                }
                index = next;
                continue;
            }
            match self.structural(chunk[index])? {
                Step::Continue => index += 1,
                Step::EndsWith => return Ok((index + 1, true)),
                Step::EndedBefore => return Ok((index, true)),
            }
        }
        Ok((index, false))
    }

    /// Inside a string at `index`: where scanning goes on, and whether the value ended there
    /// (a top-level string closed).
    fn in_string_from(&mut self, chunk: &[u8], index: usize) -> (usize, bool) {
        if self.escaped {
            self.escaped = false;
            return (index + 1, false);
        }
        let Some(found) = memchr::memchr2(b'"', b'\\', &chunk[index..]) else {
            return (chunk.len(), false);
        };
        let at = index + found;
        if chunk[at] == b'\\' {
            self.escaped = true;
        } else {
            self.in_string = false;
            if self.stack.is_empty() {
                return (at + 1, true);
            }
        }
        (at + 1, false)
    }

    fn structural(&mut self, byte: u8) -> Result<Step, &'static str> {
        match byte {
            b'"' if !self.scalar => self.in_string = true,
            b'{' | b'[' if !self.scalar => {
                if self.stack.len() == MAX_DEPTH {
                    self.beyond += 1;
                    self.too_deep = true;
                } else {
                    self.stack.push(if byte == b'{' { b'}' } else { b']' });
                }
            }
            b'}' | b']' if self.beyond > 0 => self.beyond -= 1,
            b'}' | b']' if !self.stack.is_empty() => {
                if self.stack.pop() != Some(byte) {
                    return Err("mismatched brackets");
                }
                if self.stack.is_empty() {
                    return Ok(Step::EndsWith);
                }
            }
            // A bare number or literal ends at the first byte that cannot be part of one, so
            // what follows it is checked as the reference parser checks it.
            _ if self.stack.is_empty() && !is_scalar_byte(byte) => {
                return if self.scalar {
                    Ok(Step::EndedBefore)
                } else {
                    Err("expected a value")
                };
            }
            _ if self.stack.is_empty() => self.scalar = true,
            _ => {}
        }
        Ok(Step::Continue)
    }
}

/// A byte of a JSON number or of `true`, `false`, `null`.
fn is_scalar_byte(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'+' | b'.')
}

/// Where a value's bytes go: kept while within the limit, then only counted.
pub(super) enum Capture<'a> {
    Keep(&'a mut Vec<u8>),
    Discard(u64),
}

impl Capture<'_> {
    /// Stops keeping bytes: from now on only their number counts.
    pub(super) fn discard(&mut self, more: u64) {
        if let Capture::Keep(kept) = self {
            *self = Capture::Discard(kept.len() as u64);
        }
        if let Capture::Discard(length) = self {
            *length += more;
        }
    }

    pub(super) fn take(&mut self, bytes: &[u8], limit: u64) {
        match self {
            Capture::Keep(kept) if (kept.len() + bytes.len()) as u64 <= limit => {
                kept.extend_from_slice(bytes)
            }
            Capture::Keep(kept) => *self = Capture::Discard((kept.len() + bytes.len()) as u64),
            Capture::Discard(length) => *length += bytes.len() as u64,
        }
    }
}
