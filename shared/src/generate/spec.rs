//! Where a generated file belongs and what its records look like: the spec every generator
//! reads, and the key CloudTrail would deliver it under.

use aws_smithy_types::DateTime;
use aws_smithy_types::date_time::Format;

use crate::clock::now_millis;

/// Which kind of CloudTrail file to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// A `CloudTrail/` log file of management, data and network activity events.
    Log,
    /// A `CloudTrail-Insight/` file of Insights events.
    Insight,
    /// A `CloudTrail-Aggregated/` file of 5-minute summaries of data events, in the three
    /// documented template shapes.
    Aggregated,
}

/// Where a generated file belongs and what its records look like.
#[derive(Debug, Clone)]
pub struct TrailSpec {
    pub account_id: String,
    pub region: String,
    pub organization_id: Option<String>,
    pub prefix: Option<String>,
    pub seed: u64,
    pub content: Content,
    /// The newest event time; records fall in `[newest - spread, newest]`.
    pub newest_event_millis: i64,
    pub event_spread_millis: i64,
    /// When CloudTrail "delivered" the file: its key's date and timestamp.
    pub delivery_millis: i64,
}

impl TrailSpec {
    /// A single-account trail in us-east-1 with events of the last five minutes.
    pub fn recent(seed: u64) -> Self {
        let now = now_millis();
        Self {
            account_id: "111122223333".into(),
            region: "us-east-1".into(),
            organization_id: None,
            prefix: None,
            seed,
            content: Content::Log,
            newest_event_millis: now,
            event_spread_millis: 5 * 60 * 1000,
            delivery_millis: now,
        }
    }

    /// The S3 key CloudTrail would deliver this file under.
    pub fn key(&self) -> String {
        let folder = match self.content {
            Content::Log => "CloudTrail",
            Content::Insight => "CloudTrail-Insight",
            Content::Aggregated => "CloudTrail-Aggregated",
        };
        let stamp = iso_seconds(self.delivery_millis);
        // "2024-01-02T03:04:05Z" → date folders and the file's YYYYMMDDTHHmmZ.
        let (year, month, day) = (&stamp[0..4], &stamp[5..7], &stamp[8..10]);
        let file_time = format!("{year}{month}{day}T{}{}Z", &stamp[11..13], &stamp[14..16]);
        let unique = unique_string(self.seed);
        let mut key = String::new();
        if let Some(prefix) = &self.prefix {
            key.push_str(prefix);
            key.push('/');
        }
        key.push_str("AWSLogs/");
        if let Some(org) = &self.organization_id {
            key.push_str(org);
            key.push('/');
        }
        let (account, region) = (&self.account_id, &self.region);
        key.push_str(&format!(
            "{account}/{folder}/{region}/{year}/{month}/{day}/{account}_{folder}_{region}_{file_time}_{unique}.json.gz"
        ));
        key
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ`, CloudTrail's eventTime format (whole seconds).
pub fn iso_seconds(millis: i64) -> String {
    let seconds = DateTime::from_secs(millis.div_euclid(1000));
    seconds.fmt(Format::DateTime).unwrap_or_default()
}

/// CloudTrail's 16-character file-name suffix, derived from the seed.
fn unique_string(seed: u64) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = fastrand::Rng::with_seed(seed ^ 0x5eed_f11e);
    (0..16)
        .map(|_| char::from(ALPHABET[rng.usize(..ALPHABET.len())]))
        .collect()
}
