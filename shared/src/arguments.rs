//! What a person types on the commands that stand in for the AWS CLI: times and bucket names,
//! read as `aws cloudtrail validate-logs` reads them.
//!
//! Times (`--start-time`, `--end-time`, a `validateRange` request's `startTime`) become UTC
//! epoch seconds. The AWS CLI reads them with python-dateutil's free-form parser
//! (awscli/customizations/cloudtrail/validation.py, `parse_date`). The forms people use are
//! read here the same way:
//!
//! - a date: `2026-11-25`, `2026/11/25`, `20261125`, `Nov 25 2026`, `25 November 2026`;
//! - then optionally a time after `T` or a space: `10`, `10:30`, `10:30:15`, `10:30:15.250`,
//!   or the basic `1030` and `103015`; fractions of a second are dropped;
//! - then optionally a zone: `Z`, `UTC`, `GMT`, `+01:00`, `+0100`, `+01`.
//!
//! A time without a zone is UTC, as the CLI's help says. Two differences are deliberate:
//! - an offset is converted to UTC (`01:00+01:00` is `00:00Z`); the AWS CLI replaces the zone
//!   instead, reading the clock time as UTC (`normalize_date`), which silently shifts the range;
//! - what dateutil guesses at is refused with the form to use: `11/25/2026` (month or day
//!   first?), zone names such as `PST` (dateutil ignores them with a warning), words such as
//!   `yesterday`.
//!
//! A bucket (`--s3-bucket`) is its name; `s3://name` and `s3://name/` are read as the name.

use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

/// Why a typed bucket was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BucketArgumentError {
    #[error("--s3-bucket {0}: give the bucket's name alone, and its key prefix with --s3-prefix")]
    HasPath(String),
    #[error("--s3-bucket is empty: give the trail bucket's name")]
    Empty,
    #[error(
        "--s3-bucket {0}: a bucket name has 3 to 63 lower-case letters, digits, dots and hyphens"
    )]
    NotABucketName(String),
}

/// A bucket's name from `name`, `s3://name` or `s3://name/` (clap's value parser).
pub fn parse_bucket(text: &str) -> Result<String, BucketArgumentError> {
    let name = text.strip_prefix("s3://").unwrap_or(text);
    let name = name.strip_suffix('/').unwrap_or(name);
    if name.is_empty() {
        return Err(BucketArgumentError::Empty);
    }
    if name.contains('/') {
        return Err(BucketArgumentError::HasPath(text.to_owned()));
    }
    Ok(name.to_owned())
}

/// Why a typed time was refused: the AWS CLI's message, then what was wrong and the fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "Unable to parse date value: {text} ({reason}; write it as 2026-11-25, 2026-11-25T10:00:00Z or 2026-11-25 11:00:00+01:00)"
)]
pub struct TimeArgumentError {
    pub text: String,
    pub reason: Reason,
}

/// What was wrong with a typed time.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error("no date: a time starts with the year, or a month name")]
    NoDate,
    #[error("month and day are ambiguous in {0}")]
    Ambiguous(String),
    #[error("{0} is not a date of the calendar")]
    NotADate(String),
    #[error("{0} is not a time of day")]
    NotATime(String),
    #[error("the time zone {0:?} is not known here; give its offset, such as -08:00")]
    UnknownZone(String),
    #[error("{0} is not an offset from UTC")]
    NotAnOffset(String),
    #[error("unexpected {0:?} after the time")]
    Trailing(String),
}

/// Reads a typed time; returns UTC epoch seconds.
pub fn parse_time(text: &str) -> Result<i64, TimeArgumentError> {
    let fail = |reason| TimeArgumentError {
        text: text.to_owned(),
        reason,
    };
    let mut input = Cursor::new(text.trim());
    let date = read_date(&mut input).map_err(fail)?;
    let time = read_time(&mut input).map_err(fail)?;
    let offset = read_zone(&mut input).map_err(fail)?;
    input.skip_spaces();
    if !input.rest().is_empty() {
        return Err(fail(Reason::Trailing(input.rest().to_owned())));
    }
    Ok(PrimitiveDateTime::new(date, time)
        .assume_offset(offset)
        .unix_timestamp())
}

/// A position in the text: every read consumes what it recognised and leaves the rest.
struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self { text, at: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.at..]
    }

    fn peek(&self) -> Option<u8> {
        self.rest().bytes().next()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.at += 1;
        }
        found
    }

    fn skip_spaces(&mut self) -> bool {
        let before = self.at;
        while self.peek().is_some_and(|b| b.is_ascii_whitespace()) {
            self.at += 1;
        }
        self.at > before
    }

    /// A run of ASCII digits (possibly empty).
    fn digits(&mut self) -> &'a str {
        self.take_while(|b| b.is_ascii_digit())
    }

    /// A run of ASCII letters (possibly empty).
    fn word(&mut self) -> &'a str {
        self.take_while(|b| b.is_ascii_alphabetic())
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.at;
        while self.peek().is_some_and(&keep) {
            self.at += 1;
        }
        &self.text[start..self.at]
    }
}

fn read_date(input: &mut Cursor) -> Result<Date, Reason> {
    let start = input.at;
    let first = input.digits();
    let written = |input: &Cursor| input.text[start..input.at].to_owned();
    match first.len() {
        8 => calendar_date(&first[..4], &first[4..6], &first[6..], first),
        4 => {
            let Some(separator) = [b'-', b'/'].into_iter().find(|&s| input.eat(s)) else {
                return Err(Reason::NotADate(written(input)));
            };
            let month = input.digits();
            if !input.eat(separator) {
                return Err(Reason::NotADate(written(input)));
            }
            let day = input.digits();
            calendar_date(first, month, day, &written(input))
        }
        0 => {
            // `Nov 25 2026` or `Nov 25, 2026`.
            let name = input.word();
            let month = month_named(name).ok_or(Reason::NoDate)?;
            input.skip_spaces();
            let day = input.digits();
            input.eat(b',');
            input.skip_spaces();
            let year = input.digits();
            named_date(year, month, day, &written(input))
        }
        1 | 2 if input.peek() == Some(b':') => Err(Reason::NoDate),
        1 | 2 => {
            if input
                .peek()
                .is_some_and(|b| b == b'/' || b == b'-' || b == b'.')
            {
                input.take_while(|b| b.is_ascii_digit() || b == b'/' || b == b'-' || b == b'.');
                return Err(Reason::Ambiguous(written(input)));
            }
            // `25 Nov 2026`.
            input.skip_spaces();
            let month =
                month_named(input.word()).ok_or_else(|| Reason::NotADate(written(input)))?;
            input.skip_spaces();
            let year = input.digits();
            named_date(year, month, first, &written(input))
        }
        _ => Err(Reason::NotADate(written(input))),
    }
}

fn named_date(year: &str, month: Month, day: &str, written: &str) -> Result<Date, Reason> {
    let not_a_date = || Reason::NotADate(written.to_owned());
    if year.len() != 4 || !(1..=2).contains(&day.len()) {
        return Err(not_a_date());
    }
    let year = year.parse().map_err(|_| not_a_date())?;
    let day = day.parse().map_err(|_| not_a_date())?;
    Date::from_calendar_date(year, month, day).map_err(|_| not_a_date())
}

fn calendar_date(year: &str, month: &str, day: &str, written: &str) -> Result<Date, Reason> {
    let not_a_date = || Reason::NotADate(written.to_owned());
    if !(1..=2).contains(&month.len()) {
        return Err(not_a_date());
    }
    let month: u8 = month.parse().map_err(|_| not_a_date())?;
    let month = Month::try_from(month).map_err(|_| not_a_date())?;
    named_date(year, month, day, written)
}

fn month_named(word: &str) -> Option<Month> {
    const MONTHS: [(&str, Month); 12] = [
        ("january", Month::January),
        ("february", Month::February),
        ("march", Month::March),
        ("april", Month::April),
        ("may", Month::May),
        ("june", Month::June),
        ("july", Month::July),
        ("august", Month::August),
        ("september", Month::September),
        ("october", Month::October),
        ("november", Month::November),
        ("december", Month::December),
    ];
    let word = word.to_ascii_lowercase();
    MONTHS
        .iter()
        .find(|(name, _)| word.len() >= 3 && name.starts_with(word.as_str()))
        .map(|&(_, month)| month)
}

/// The time of day after `T` or spaces; midnight when there is none.
fn read_time(input: &mut Cursor) -> Result<Time, Reason> {
    let before = input.at;
    let separated = input.eat(b'T') || input.eat(b't') || input.skip_spaces();
    if !separated || !input.peek().is_some_and(|b| b.is_ascii_digit()) {
        // A zone may follow a date's spaces directly (`2026-11-25 UTC`); no time is midnight.
        input.at = before;
        return Ok(Time::MIDNIGHT);
    }
    let start = input.at;
    let first = input.digits();
    // Minutes and seconds, when written, take two digits each; left out, they are zero.
    let (hour, minute, second) = match first.len() {
        1 | 2 => {
            let minute = if input.eat(b':') {
                input.digits()
            } else {
                "00"
            };
            let second = if minute.len() == 2 && input.eat(b':') {
                input.digits()
            } else {
                "00"
            };
            (first, minute, second)
        }
        4 => (&first[..2], &first[2..], "00"),
        6 => (&first[..2], &first[2..4], &first[4..]),
        _ => ("", "", ""),
    };
    if input.eat(b'.') || input.eat(b',') {
        input.digits();
    }
    let written = &input.text[start..input.at];
    let not_a_time = || Reason::NotATime(written.to_owned());
    if hour.is_empty() || minute.len() != 2 || second.len() != 2 {
        return Err(not_a_time());
    }
    let number = |part: &str| part.parse::<u8>().map_err(|_| not_a_time());
    Time::from_hms(number(hour)?, number(minute)?, number(second)?).map_err(|_| not_a_time())
}

/// `Z`, `UTC`, `GMT` or an offset, after optional spaces; UTC when there is none.
fn read_zone(input: &mut Cursor) -> Result<UtcOffset, Reason> {
    input.skip_spaces();
    let sign = match input.peek() {
        Some(b'+') => 1,
        Some(b'-') => -1,
        Some(b) if b.is_ascii_alphabetic() => {
            let name = input.word();
            return match name.to_ascii_uppercase().as_str() {
                "Z" | "UTC" | "GMT" => Ok(UtcOffset::UTC),
                _ => Err(Reason::UnknownZone(name.to_owned())),
            };
        }
        _ => return Ok(UtcOffset::UTC),
    };
    let start = input.at;
    input.at += 1;
    let hours = input.digits();
    let (hours, minutes) = match hours.len() {
        2 if input.eat(b':') => (hours, input.digits()),
        2 => (hours, "00"),
        4 => (&hours[..2], &hours[2..]),
        _ => ("", ""),
    };
    let written = &input.text[start..input.at];
    let not_an_offset = || Reason::NotAnOffset(written.to_owned());
    if minutes.len() != 2 || hours.len() != 2 {
        return Err(not_an_offset());
    }
    let hours: i8 = hours.parse().map_err(|_| not_an_offset())?;
    let minutes: i8 = minutes.parse().map_err(|_| not_an_offset())?;
    if hours > 23 || minutes > 59 {
        return Err(not_an_offset());
    }
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).map_err(|_| not_an_offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_is_its_name_with_or_without_the_s3_scheme() {
        for text in ["trail-bucket", "s3://trail-bucket", "s3://trail-bucket/"] {
            assert_eq!(parse_bucket(text), Ok("trail-bucket".to_owned()), "{text}");
        }
        assert_eq!(
            parse_bucket("s3://b/AWSLogs/"),
            Err(BucketArgumentError::HasPath("s3://b/AWSLogs/".into()))
        );
        assert_eq!(parse_bucket("s3://"), Err(BucketArgumentError::Empty));
        // Older us-east-1 buckets may have capitals and underscores: names are not checked.
        assert_eq!(parse_bucket("Old_Bucket"), Ok("Old_Bucket".to_owned()));
    }

    /// 2026-11-25T00:00:00Z.
    const DAY: i64 = 1_795_564_800;

    #[test]
    fn the_forms_the_aws_cli_accepts_read_as_utc() {
        for (text, seconds) in [
            ("2026-11-25", DAY),
            ("20261125T000000Z", DAY),
            ("2026-11-25 00:00:00", DAY),
            ("2026-11-25T00:00:00Z", DAY),
            ("2026-11-25T01:00:00+01:00", DAY),
            ("2026-11-24T19:00:00-0500", DAY),
            ("2026-11-25T02:00:00+02", DAY),
            ("2026-11-25T00:00:00.999Z", DAY),
            ("  2026/11/25  ", DAY),
            ("20261125", DAY),
            ("2026-11-25t00:00:00z", DAY),
            ("2026-11-25 00:00 UTC", DAY),
            ("2026-11-25T00:00:00 GMT", DAY),
            ("Nov 25 2026", DAY),
            ("November 25, 2026", DAY),
            ("25 nov 2026", DAY),
            ("2026-11-25T10", DAY + 36_000),
            ("2026-11-25 10:30", DAY + 37_800),
            ("20261125T1030Z", DAY + 37_800),
            ("2026-2-3", DAY - 295 * 86_400),
            ("2024-02-29", 1_709_164_800),
        ] {
            assert_eq!(parse_time(text), Ok(seconds), "{text}");
        }
    }

    #[test]
    fn guesses_and_nonsense_are_refused_with_the_reason_and_the_form_to_use() {
        for (text, reason) in [
            ("11/25/2026", Reason::Ambiguous("11/25/2026".into())),
            ("2026-11-25T10:00:00 PST", Reason::UnknownZone("PST".into())),
            ("yesterday", Reason::NoDate),
            ("", Reason::NoDate),
            ("10:30", Reason::NoDate),
            ("2026-02-30", Reason::NotADate("2026-02-30".into())),
            ("2026-13-01", Reason::NotADate("2026-13-01".into())),
            ("1795608000", Reason::NotADate("1795608000".into())),
            ("2026-11-25T24:00:00", Reason::NotATime("24:00:00".into())),
            ("2026-11-25T10:0", Reason::NotATime("10:0".into())),
            ("2026-11-25T10:00+1", Reason::NotAnOffset("+1".into())),
            (
                "2026-11-25T10:00+24:00",
                Reason::NotAnOffset("+24:00".into()),
            ),
            (
                "2026-11-25T10:00:00Z and more",
                Reason::Trailing("and more".into()),
            ),
        ] {
            assert_eq!(
                parse_time(text).map_err(|e| e.reason),
                Err(reason),
                "{text}"
            );
        }
        let message = parse_time("11/25/2026").unwrap_err().to_string();
        assert!(
            message.starts_with("Unable to parse date value: 11/25/2026 (month and day"),
            "{message}"
        );
        assert!(message.contains("write it as 2026-11-25"), "{message}");
    }
}
