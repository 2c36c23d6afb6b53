//! S3 object keys of a trail bucket: what an object is, and where it came from.
//!
//! Layouts (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html):
//! - log file: `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail/<region>/<YYYY>/<MM>/<DD>/<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
//! - digest:   `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Digest/<region>/<YYYY>/<MM>/<DD>/<account>_CloudTrail-Digest_<region>_<trail>_<home-region>_<YYYYMMDDTHHmmssZ>[_backfill].json.gz`
//! - Insights: `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Insight/<region>/<YYYY>/<MM>/<DD>/<account>_CloudTrail-Insight_<region>_<YYYYMMDDTHHmmZ>_<unique>.json.gz`
//! - aggregated events: `[prefix/]AWSLogs/[o-id/]<account>/CloudTrail-Aggregated/<region>/<YYYY>/<MM>/<DD>/…json.gz`
//!   (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/aggregating-data-events.html;
//!   AWS does not spell out the file name: read leniently, the account, region and day from
//!   the folders when the name does not follow the log files' pattern)

use std::borrow::Cow;
use std::fmt;

use crate::clock::{iso_seconds, iso_text};

/// What an object in a trail bucket is, judged by its key alone. In a summary, its name
/// (`as_str`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum FileKind {
    Log,
    Digest,
    BackfillDigest,
    Insight,
    /// 5-minute summaries of data events (`CloudTrail-Aggregated/`).
    Aggregated,
    /// Anything else: AWS Config's `ConfigWritabilityCheckFile`, stray uploads, folders.
    #[default]
    Other,
}

impl serde::Serialize for FileKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl FileKind {
    /// The kinds whose records can be forwarded, in the order a backfill lists them.
    pub const FORWARDABLE: [FileKind; 3] = [FileKind::Log, FileKind::Insight, FileKind::Aggregated];

    pub fn as_str(self) -> &'static str {
        match self {
            FileKind::Log => "log",
            FileKind::Digest => "digest",
            FileKind::BackfillDigest => "backfillDigest",
            FileKind::Insight => "insight",
            FileKind::Aggregated => "aggregated",
            FileKind::Other => "other",
        }
    }

    /// The folder under an account that holds files of this kind (`Other`: none of
    /// CloudTrail's, the empty name).
    pub fn folder(self) -> &'static str {
        match self {
            FileKind::Log => "CloudTrail",
            FileKind::Digest | FileKind::BackfillDigest => "CloudTrail-Digest",
            FileKind::Insight => "CloudTrail-Insight",
            FileKind::Aggregated => "CloudTrail-Aggregated",
            FileKind::Other => "",
        }
    }

    /// What a decoded key holds: a CloudTrail layout, or `Other`.
    pub fn of_key(key: &str) -> Self {
        TrailKey::parse(key).map_or(FileKind::Other, |parsed| parsed.kind)
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A parsed trail-file key. Fields borrow from the decoded key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailKey<'a> {
    pub kind: FileKind,
    /// The bucket prefix before `AWSLogs/`, without its trailing slash.
    pub prefix: Option<&'a str>,
    /// The organization id (`o-…`) of an organization trail.
    pub organization_id: Option<&'a str>,
    pub account_id: &'a str,
    pub region: &'a str,
    /// Delivery date folders `YYYY/MM/DD` as written.
    pub date: (&'a str, &'a str, &'a str),
    /// The timestamp in the file name: `YYYYMMDDTHHmmZ` for logs, `YYYYMMDDTHHmmssZ` for digests;
    /// empty for an aggregated-events file whose name has none (its day is in `date`).
    pub file_timestamp: &'a str,
    /// The trail name, for digest files only.
    pub trail_name: Option<&'a str>,
    /// The trail's home region, for digest files only.
    pub home_region: Option<&'a str>,
}

const LOGS_FOLDER: &str = "AWSLogs";

impl<'a> TrailKey<'a> {
    /// Whether the date in the file name is its folder's date, as in every key CloudTrail
    /// writes (both are the delivery's, or the digest's end, in UTC). The account and region
    /// agree by construction: [`TrailKey::parse`] reads the name with the folder's. An
    /// aggregated-events file whose name has no timestamp agrees.
    pub fn name_agrees_with_folder(&self) -> bool {
        let (year, month, day) = self.date;
        self.file_timestamp.is_empty()
            || self.file_timestamp.get(..8) == Some(format!("{year}{month}{day}").as_str())
    }

    /// Parses a decoded key. Anything that does not follow a CloudTrail layout is `None`.
    pub fn parse(key: &'a str) -> Option<Self> {
        let (prefix, rest) = split_logs_folder(key)?;
        let mut parts = rest.split('/');
        let mut first = parts.next()?;
        let organization_id = if first.starts_with("o-") {
            let org = first;
            first = parts.next()?;
            Some(org)
        } else {
            None
        };
        let account_id = first;
        let folder = parts.next()?;
        let region = parts.next()?;
        let date = (parts.next()?, parts.next()?, parts.next()?);
        let file_name = parts.next()?;
        if parts.next().is_some() || !is_account_id(account_id) || !is_date(date) {
            return None;
        }
        let mut key = TrailKey {
            kind: FileKind::Other,
            prefix,
            organization_id,
            account_id,
            region,
            date,
            file_timestamp: "",
            trail_name: None,
            home_region: None,
        };
        let kind = [
            FileKind::Log,
            FileKind::Digest,
            FileKind::Insight,
            FileKind::Aggregated,
        ]
        .into_iter()
        .find(|kind| kind.folder() == folder)?;
        if kind == FileKind::Aggregated {
            key.parse_aggregated_name(file_name)?;
            return Some(key);
        }
        let name = file_name.strip_prefix(account_id)?.strip_prefix('_')?;
        let name = name.strip_suffix(".json.gz")?;
        match kind {
            FileKind::Digest => key.parse_digest_name(name)?,
            // `<account>_<folder>_<region>_…`: a log or Insights file.
            _ => key.parse_log_name(name, folder, kind)?,
        }
        Some(key)
    }

    /// `<region>_<YYYYMMDDTHHmmZ>_<unique>` after the folder's name and `_`.
    fn parse_log_name(&mut self, name: &'a str, folder: &str, kind: FileKind) -> Option<()> {
        let rest = name
            .strip_prefix(folder)?
            .strip_prefix('_')?
            .strip_prefix(self.region)?
            .strip_prefix('_')?;
        let (timestamp, unique) = rest.split_once('_')?;
        if !is_timestamp(timestamp, 14) || unique.is_empty() {
            return None;
        }
        self.file_timestamp = timestamp;
        self.kind = kind;
        Some(())
    }

    /// An aggregated-events file: any `.json.gz` name in its folder. The time is the name's
    /// `<account>_CloudTrail-Aggregated_<region>_<YYYYMMDDTHHmmZ>_…` stamp when it has one, else
    /// the day of its folders (`file_timestamp` stays empty).
    fn parse_aggregated_name(&mut self, file_name: &'a str) -> Option<()> {
        let name = file_name.strip_suffix(".json.gz")?;
        if name.is_empty() || self.region.is_empty() {
            return None;
        }
        self.kind = FileKind::Aggregated;
        if let Some(rest) = name
            .strip_prefix(self.account_id)
            .and_then(|n| n.strip_prefix('_'))
        {
            // A stamp sets file_timestamp; without one it stays empty.
            let _ = self.parse_log_name(rest, FileKind::Aggregated.folder(), FileKind::Aggregated);
        }
        Some(())
    }

    /// `<region>_<trail>_<home-region>_<YYYYMMDDTHHmmssZ>[_backfill]`; trail names may hold `_`.
    fn parse_digest_name(&mut self, name: &'a str) -> Option<()> {
        let rest = name
            .strip_prefix("CloudTrail-Digest_")?
            .strip_prefix(self.region)?
            .strip_prefix('_')?;
        let (rest, kind) = match rest.strip_suffix("_backfill") {
            Some(rest) => (rest, FileKind::BackfillDigest),
            None => (rest, FileKind::Digest),
        };
        let (rest, timestamp) = rest.rsplit_once('_')?;
        let (trail_name, home_region) = rest.rsplit_once('_')?;
        if !is_timestamp(timestamp, 16) || trail_name.is_empty() || home_region.is_empty() {
            return None;
        }
        self.file_timestamp = timestamp;
        self.trail_name = Some(trail_name);
        self.home_region = Some(home_region);
        self.kind = kind;
        Some(())
    }
}

/// Splits `[prefix/]AWSLogs/rest` at the last `AWSLogs` folder, so a prefix may itself
/// contain an `AWSLogs` segment.
fn split_logs_folder(key: &str) -> Option<(Option<&str>, &str)> {
    if let Some(rest) = key.strip_prefix("AWSLogs/") {
        return Some((None, rest));
    }
    let at = key.rfind("/AWSLogs/")?;
    Some((Some(&key[..at]), &key[at + LOGS_FOLDER.len() + 2..]))
}

/// Whether a folder name is an account id (12 digits).
pub fn is_account_id(value: &str) -> bool {
    value.len() == 12 && value.bytes().all(|b| b.is_ascii_digit())
}

fn is_date((year, month, day): (&str, &str, &str)) -> bool {
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    digits(year, 4) && digits(month, 2) && digits(day, 2)
}

/// `YYYYMMDDTHHmmZ` (len 14) or `YYYYMMDDTHHmmssZ` (len 16).
fn is_timestamp(value: &str, len: usize) -> bool {
    let bytes = value.as_bytes();
    bytes.len() == len
        && bytes[8] == b'T'
        && bytes[len - 1] == b'Z'
        && bytes[..8]
            .iter()
            .chain(&bytes[9..len - 1])
            .all(u8::is_ascii_digit)
}

/// `[prefix/]AWSLogs/[o-id/]`: the folder holding a trail's account folders.
pub fn accounts_folder(prefix: Option<&str>, organization_id: Option<&str>) -> String {
    let mut folder = prefix.map(|p| format!("{p}/")).unwrap_or_default();
    folder.push_str("AWSLogs/");
    if let Some(organization) = organization_id {
        folder.push_str(organization);
        folder.push('/');
    }
    folder
}

/// `a/b/c/` → `c`: a listed folder's own name.
pub fn folder_name(folder: &str) -> Option<&str> {
    folder
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .filter(|s| !s.is_empty())
}

/// The time in a trail file's name (`YYYYMMDDTHHmmZ`, a digest's `YYYYMMDDTHHmmssZ`), in
/// epoch seconds.
pub fn key_time(key: &str) -> Option<i64> {
    let parsed = TrailKey::parse(key)?;
    let stamp = parsed.file_timestamp;
    if stamp.is_empty() {
        // An aggregated-events file without a stamp: the start of its day.
        let (year, month, day) = parsed.date;
        return iso_seconds(&format!("{year}-{month}-{day}T00:00:00Z"));
    }
    let iso = format!(
        "{}-{}-{}T{}:{}:{}Z",
        &stamp[0..4],
        &stamp[4..6],
        &stamp[6..8],
        &stamp[9..11],
        &stamp[11..13],
        stamp.get(13..15).unwrap_or("00")
    );
    iso_seconds(&iso)
}

/// `YYYY/MM/DD/`, CloudTrail's date folder; empty for a time that has none (before year 0).
pub fn date_folder(seconds: i64) -> String {
    let text = iso_text(seconds);
    match (text.get(0..4), text.get(5..7), text.get(8..10)) {
        (Some(year), Some(month), Some(day)) => format!("{year}/{month}/{day}/"),
        _ => String::new(),
    }
}

/// Decodes a key from an S3 event notification, which is form-URL-encoded: `+` is a space and
/// a literal `+` arrives as `%2B`, so `+` is replaced before percent-decoding.
/// Returns `None` when the decoded bytes are not UTF-8.
pub fn decode_notification_key(encoded: &str) -> Option<Cow<'_, str>> {
    if !encoded.contains(['+', '%']) {
        return Some(Cow::Borrowed(encoded));
    }
    let spaced = encoded.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()?;
    Some(Cow::Owned(decoded.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/01/111122223333_CloudTrail_us-east-2_20150801T0210Z_Mu0KsOhtH1ar15ZZ.json.gz";

    #[test]
    fn aggregated_events_files_are_read_leniently_from_their_folders() {
        let stamped = "p/AWSLogs/o-aa11bb22cc/111122223333/CloudTrail-Aggregated/eu-west-1/2026/11/25/111122223333_CloudTrail-Aggregated_eu-west-1_20261125T1230Z_AbCdEf.json.gz";
        let key = TrailKey::parse(stamped).unwrap();
        assert_eq!(key.kind, FileKind::Aggregated);
        assert_eq!(
            (key.organization_id, key.account_id, key.region),
            (Some("o-aa11bb22cc"), "111122223333", "eu-west-1")
        );
        assert_eq!(key.file_timestamp, "20261125T1230Z");
        assert_eq!(key_time(stamped), Some(1_795_609_800));
        // A name of another pattern: the account, region and day from the folders.
        let other =
            "AWSLogs/111122223333/CloudTrail-Aggregated/us-east-1/2026/11/25/summary-0001.json.gz";
        let key = TrailKey::parse(other).unwrap();
        assert_eq!(
            (key.kind, key.account_id, key.region, key.file_timestamp),
            (FileKind::Aggregated, "111122223333", "us-east-1", "")
        );
        assert_eq!(key_time(other), Some(1_795_564_800));
        assert_eq!(FileKind::Aggregated.as_str(), "aggregated");
        for not_one in [
            "AWSLogs/111122223333/CloudTrail-Aggregated/us-east-1/2026/11/25/summary.json",
            "AWSLogs/111122223333/CloudTrail-Aggregated/us-east-1/2026/11/25/.json.gz",
            "AWSLogs/1111/CloudTrail-Aggregated/us-east-1/2026/11/25/a.json.gz",
        ] {
            assert_eq!(FileKind::of_key(not_one), FileKind::Other, "{not_one}");
        }
    }

    #[test]
    fn a_name_dated_another_day_than_its_folder_is_told_apart() {
        let key = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/25/111122223333_CloudTrail_us-east-1_20261125T2359Z_abc.json.gz";
        assert!(TrailKey::parse(key).unwrap().name_agrees_with_folder());
        let planted = key.replace("20261125T2359Z", "20261124T2359Z");
        let parsed = TrailKey::parse(&planted).unwrap();
        assert_eq!(parsed.kind, FileKind::Log);
        assert!(!parsed.name_agrees_with_folder());
        let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/26/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20261125T235959Z.json.gz";
        assert!(!TrailKey::parse(digest).unwrap().name_agrees_with_folder());
        let unstamped =
            "AWSLogs/111122223333/CloudTrail-Aggregated/us-east-1/2026/11/25/summary.json.gz";
        assert!(
            TrailKey::parse(unstamped)
                .unwrap()
                .name_agrees_with_folder()
        );
    }

    #[test]
    fn log_file_key_is_parsed_into_its_parts() {
        let key = TrailKey::parse(LOG).unwrap();
        assert_eq!(key.kind, FileKind::Log);
        assert_eq!(key.prefix, None);
        assert_eq!(key.organization_id, None);
        assert_eq!(key.account_id, "111122223333");
        assert_eq!(key.region, "us-east-2");
        assert_eq!(key.date, ("2015", "08", "01"));
        assert_eq!(key.file_timestamp, "20150801T0210Z");
    }

    #[test]
    fn prefix_and_organization_id_are_recognised() {
        let key = TrailKey::parse(
            "audit/trails/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2024/02/29/111122223333_CloudTrail_eu-west-1_20240229T2355Z_abcdefABCDEF0123.json.gz",
        )
        .unwrap();
        assert_eq!(key.kind, FileKind::Log);
        assert_eq!(key.prefix, Some("audit/trails"));
        assert_eq!(key.organization_id, Some("o-exampleorgid"));
        assert_eq!(key.account_id, "111122223333");
        assert_eq!(key.region, "eu-west-1");
    }

    #[test]
    fn digest_and_backfill_digest_keys_carry_trail_and_home_region() {
        let digest = TrailKey::parse("AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_my_trail_us-east-1_20150801T021015Z.json.gz").unwrap();
        assert_eq!(digest.kind, FileKind::Digest);
        assert_eq!(digest.trail_name, Some("my_trail"));
        assert_eq!(digest.home_region, Some("us-east-1"));
        assert_eq!(digest.file_timestamp, "20150801T021015Z");

        let backfill = TrailKey::parse("p/AWSLogs/o-aa11bb22cc/111122223333/CloudTrail-Digest/us-east-2/2015/08/01/111122223333_CloudTrail-Digest_us-east-2_t_us-east-1_20150801T021015Z_backfill.json.gz").unwrap();
        assert_eq!(backfill.kind, FileKind::BackfillDigest);
        assert_eq!(backfill.trail_name, Some("t"));
        assert_eq!(backfill.organization_id, Some("o-aa11bb22cc"));
    }

    #[test]
    fn insight_files_are_their_own_kind() {
        let key = "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/01/02/111122223333_CloudTrail-Insight_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";
        assert_eq!(FileKind::of_key(key), FileKind::Insight);
    }

    #[test]
    fn non_trail_objects_are_other() {
        for key in [
            "AWSLogs/111122223333/Config/ConfigWritabilityCheckFile",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/notes.txt",
            "AWSLogs/1111/CloudTrail/us-east-1/2024/01/02/1111_CloudTrail_us-east-1_20240102T0305Z_x.json.gz",
            // account in the name differs from the folder
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/999988887777_CloudTrail_us-east-1_20240102T0305Z_x.json.gz",
            // region in the name differs from the folder
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-west-2_20240102T0305Z_x.json.gz",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/1/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_x.json.gz",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_2024010T0305Z_x.json.gz",
            "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_x.json",
            "",
        ] {
            assert_eq!(FileKind::of_key(key), FileKind::Other, "{key}");
        }
    }

    #[test]
    fn notification_keys_are_form_decoded() {
        assert_eq!(
            decode_notification_key("red+flower.jpg").unwrap(),
            "red flower.jpg"
        );
        assert_eq!(decode_notification_key("a%2Bb").unwrap(), "a+b");
        assert_eq!(decode_notification_key("a%2Bb+c%20d").unwrap(), "a+b c d");
        assert_eq!(decode_notification_key("x%2Fy").unwrap(), "x/y");
        assert!(matches!(
            decode_notification_key(LOG).unwrap(),
            Cow::Borrowed(_)
        ));
        assert_eq!(decode_notification_key("%FF"), None);
    }

    #[test]
    fn encoded_prefix_decodes_to_a_parsable_key() {
        let encoded = "my+trails%2Bx/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0305Z_0123456789abcdef.json.gz";
        let decoded = decode_notification_key(encoded).unwrap();
        let key = TrailKey::parse(&decoded).unwrap();
        assert_eq!(key.prefix, Some("my trails+x"));
    }
}
