//! `validator status`: what the validator function concluded of a trail over the last hours, read
//! back from its integrity group, one line per account and region and a verdict. Cheap: it
//! reads the events the function wrote and validates nothing itself. Each file counts by its
//! newest event (a `forwardPending` later `forwarded` counts as forwarded).

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use crate::arguments::parse_time;
use crate::clock::{iso_seconds, iso_text};
use crate::human::{count, counted};

/// One event of the integrity group, as CloudWatch Logs returns it.
#[derive(Debug, Clone, Copy)]
pub struct StoredEvent<'a> {
    pub stream: &'a str,
    pub timestamp_millis: i64,
    pub message: &'a str,
}

/// The fields of an integrity event `status` reads.
#[derive(Deserialize)]
struct Event {
    status: String,
    subject: String,
    #[serde(default)]
    key: Option<String>,
    /// A late report's newest digest (its end time), when one was found.
    #[serde(default, rename = "newestDigest")]
    newest_digest: Option<String>,
}

/// What the function concluded of one account and region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegionStatus {
    pub account: String,
    pub region: String,
    pub digests_valid: u64,
    pub digests_invalid: u64,
    /// Reported late by the hourly check, and no digest newer than the report's newest has
    /// been validated.
    pub late: bool,
    pub log_files_valid: u64,
    pub log_files_invalid: u64,
    pub forwarded: u64,
    pub pending: u64,
    pub not_forwarded: u64,
    pub differs: u64,
    pub not_checked: u64,
    /// The newest valid digest's time (its key's), epoch seconds.
    pub last_digest: Option<i64>,
    /// `notForwarded` verdicts written: each one a repair sent (with `REPAIR_QUEUE_URL`).
    pub repairs: u64,
}

impl RegionStatus {
    /// Whether an operator must act here.
    pub fn is_well(&self) -> bool {
        self.digests_invalid
            + self.log_files_invalid
            + self.not_forwarded
            + self.differs
            + self.not_checked
            == 0
            && !self.late
            && self.digests_valid > 0
    }

    /// What is wrong, in words; empty when well.
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut say = |n: u64, singular: &str, plural: &str| {
            if n > 0 {
                problems.push(counted(n, singular, plural));
            }
        };
        say(self.digests_invalid, "digest INVALID", "digests INVALID");
        say(
            self.log_files_invalid,
            "log file INVALID",
            "log files INVALID",
        );
        say(
            self.not_forwarded,
            "log file not forwarded",
            "log files not forwarded",
        );
        say(
            self.differs,
            "log file forwarded from other content than CloudTrail signed",
            "log files forwarded from other content than CloudTrail signed",
        );
        say(
            self.not_checked,
            "forwarding check incomplete",
            "forwarding checks incomplete",
        );
        if self.late {
            problems.push("digests late".into());
        } else if self.digests_valid == 0 {
            problems.push("no valid digest".into());
        }
        problems
    }
}

/// What the function concluded of a trail over a window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrailStatus {
    /// By account, then region.
    pub regions: Vec<RegionStatus>,
    /// Events of the trail's streams that are not integrity events (counted, not read).
    pub unreadable: u64,
}

/// Newest event of one file: (timestamp, its place in the read, status).
type Newest = (i64, usize, String);

impl TrailStatus {
    /// Reads the events of `trail_name`'s streams (`<account>_CloudTrail-Digest_<region>_<trail>`)
    /// among `events`; others are left out.
    pub fn from_events<'a>(
        trail_name: &str,
        events: impl IntoIterator<Item = StoredEvent<'a>>,
    ) -> Self {
        let mut regions: BTreeMap<(String, String), RegionStatus> = BTreeMap::new();
        let mut newest: HashMap<(String, String, &'static str, String), Newest> = HashMap::new();
        // By account and region: the newest digest a late report had seen (MIN: none).
        let mut late_at: HashMap<(String, String), Option<i64>> = HashMap::new();
        let mut unreadable = 0;
        for (order, event) in events.into_iter().enumerate() {
            let Some((account, region)) = stream_of(event.stream, trail_name) else {
                continue;
            };
            let place = (account.to_owned(), region.to_owned());
            let status = regions
                .entry(place.clone())
                .or_insert_with(|| RegionStatus {
                    account: account.to_owned(),
                    region: region.to_owned(),
                    ..RegionStatus::default()
                });
            let Ok(read) = serde_json::from_str::<Event>(event.message) else {
                unreadable += 1;
                continue;
            };
            let class = match read.subject.as_str() {
                "digest" | "backfillDigest" => "digest",
                "log" => "log",
                "forwarding" => "forwarding",
                "digests" if read.status == "late" => {
                    let newest = read.newest_digest.as_deref().and_then(iso_seconds);
                    let at = late_at.entry(place).or_insert(None);
                    *at = (*at).max(Some(newest.unwrap_or(i64::MIN)));
                    continue;
                }
                _ => continue,
            };
            if class == "forwarding" && read.status == "notForwarded" {
                status.repairs += 1;
            }
            let Some(key) = read.key else { continue };
            let slot = newest.entry((place.0, place.1, class, key)).or_insert((
                i64::MIN,
                0,
                String::new(),
            ));
            if (event.timestamp_millis, order) >= (slot.0, slot.1) {
                *slot = (event.timestamp_millis, order, read.status);
            }
        }
        count_newest(&mut regions, newest);
        for (place, seen) in late_at {
            if let (Some(status), Some(seen)) = (regions.get_mut(&place), seen) {
                status.late = status.last_digest.unwrap_or(i64::MIN) <= seen;
            }
        }
        Self {
            regions: regions.into_values().collect(),
            unreadable,
        }
    }

    /// Exit 0 only when every account and region is well (and there is one at all).
    pub fn is_well(&self) -> bool {
        !self.regions.is_empty() && self.regions.iter().all(RegionStatus::is_well)
    }

    /// The table, one line per account and region, then the verdict line.
    pub fn render(&self) -> String {
        let header = [
            "ACCOUNT",
            "REGION",
            "DIGESTS",
            "INVALID",
            "LATE",
            "LOG FILES",
            "INVALID",
            "FORWARDED",
            "PENDING",
            "NOT FWD",
            "DIFFERS",
            "LAST DIGEST",
            "REPAIRS",
        ];
        let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
        for region in &self.regions {
            rows.push(vec![
                region.account.clone(),
                region.region.clone(),
                count(region.digests_valid),
                count(region.digests_invalid),
                if region.late { "LATE" } else { "no" }.to_owned(),
                count(region.log_files_valid),
                count(region.log_files_invalid),
                count(region.forwarded),
                count(region.pending),
                count(region.not_forwarded),
                count(region.differs),
                region
                    .last_digest
                    .map(iso_text)
                    .unwrap_or_else(|| "-".into()),
                count(region.repairs),
            ]);
        }
        let widths: Vec<usize> = (0..header.len())
            .map(|column| rows.iter().map(|row| row[column].len()).max().unwrap_or(0))
            .collect();
        let mut text = String::new();
        for row in &rows {
            let cells: Vec<String> = row
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(column, (cell, width))| match column {
                    // Names left, numbers right.
                    0 | 1 | 4 | 11 => format!("{cell:<width$}"),
                    _ => format!("{cell:>width$}"),
                })
                .collect();
            text.push_str(cells.join("  ").trim_end());
            text.push('\n');
        }
        text.push_str(&self.verdict());
        text.push('\n');
        text
    }

    /// The verdict line: all well, or what is wrong where.
    pub fn verdict(&self) -> String {
        let places = counted(
            self.regions.len() as u64,
            "account and region",
            "accounts and regions",
        );
        if self.is_well() {
            let digests: u64 = self.regions.iter().map(|r| r.digests_valid).sum();
            let forwarded: u64 = self.regions.iter().map(|r| r.forwarded).sum();
            return format!(
                "All well: {places}, {} valid, {} forwarded as signed.",
                counted(digests, "digest", "digests"),
                counted(forwarded, "log file", "log files")
            );
        }
        let wrong: Vec<String> = self
            .regions
            .iter()
            .filter(|r| !r.is_well())
            .map(|r| format!("{} {}: {}", r.account, r.region, r.problems().join(", ")))
            .collect();
        format!(
            "NOT WELL in {} of {places}: {}.",
            wrong.len(),
            wrong.join("; ")
        )
    }
}

/// Each file's newest verdict, counted in its account and region.
fn count_newest(
    regions: &mut BTreeMap<(String, String), RegionStatus>,
    newest: HashMap<(String, String, &'static str, String), Newest>,
) {
    for ((account, region, class, key), (_, _, code)) in newest {
        let Some(status) = regions.get_mut(&(account, region)) else {
            continue;
        };
        match (class, code.as_str()) {
            ("digest", "valid") => {
                status.digests_valid += 1;
                status.last_digest = status.last_digest.max(digest_time(&key));
            }
            ("digest", _) => status.digests_invalid += 1,
            ("log", "valid") => status.log_files_valid += 1,
            ("log", _) => status.log_files_invalid += 1,
            (_, "forwarded") => status.forwarded += 1,
            (_, "forwardPending") => status.pending += 1,
            (_, "notForwarded") => status.not_forwarded += 1,
            (_, "forwardedDiffers") => status.differs += 1,
            _ => status.not_checked += 1,
        }
    }
}

/// The account and region of a verdict stream of `trail_name`, or `None` for another's.
fn stream_of<'s>(stream: &'s str, trail_name: &str) -> Option<(&'s str, &'s str)> {
    let (account, rest) = stream.split_once("_CloudTrail-Digest_")?;
    let (region, trail) = rest.split_once('_')?;
    (trail == trail_name).then_some((account, region))
}

/// A digest's time, from its key (`…_20261125T130000Z.json.gz`).
fn digest_time(key: &str) -> Option<i64> {
    let name = key.rsplit('/').next()?.strip_suffix(".json.gz")?;
    parse_time(name.rsplit('_').next()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRAIL: &str = "org-trail";

    fn event(stream: &str, at: i64, json: &str) -> (String, i64, String) {
        (stream.to_owned(), at, json.to_owned())
    }

    fn status(events: &[(String, i64, String)]) -> TrailStatus {
        TrailStatus::from_events(
            TRAIL,
            events.iter().map(|(stream, at, message)| StoredEvent {
                stream,
                timestamp_millis: *at,
                message,
            }),
        )
    }

    const EAST: &str = "111122223333_CloudTrail-Digest_us-east-1_org-trail";
    const WEST: &str = "444455556666_CloudTrail-Digest_eu-west-1_org-trail";
    const DIGEST: &str = r#"{"status":"valid","subject":"digest","key":"AWSLogs/o-1/111122223333/CloudTrail-Digest/us-east-1/2026/11/25/111122223333_CloudTrail-Digest_us-east-1_org-trail_us-east-1_20261125T130000Z.json.gz"}"#;

    #[test]
    fn each_file_counts_by_its_newest_verdict_and_all_well_exits_zero() {
        let events = [
            event(EAST, 1, DIGEST),
            event(EAST, 1, r#"{"status":"valid","subject":"log","key":"a"}"#),
            event(
                EAST,
                1,
                r#"{"status":"forwardPending","subject":"forwarding","key":"a"}"#,
            ),
            event(
                EAST,
                2,
                r#"{"status":"forwarded","subject":"forwarding","key":"a"}"#,
            ),
            // Another trail's stream, and a line that is not an integrity event.
            event("111122223333_CloudTrail-Digest_us-east-1_other", 1, DIGEST),
            event(EAST, 3, "not json"),
        ];
        let found = status(&events);
        assert_eq!(found.regions.len(), 1);
        let east = &found.regions[0];
        assert_eq!(
            (
                east.digests_valid,
                east.log_files_valid,
                east.forwarded,
                east.pending
            ),
            (1, 1, 1, 0)
        );
        assert_eq!(east.last_digest, Some(1_795_611_600));
        assert_eq!(found.unreadable, 1);
        assert!(found.is_well());
        assert_eq!(
            found.verdict(),
            "All well: 1 account and region, 1 digest valid, 1 log file forwarded as signed."
        );
        let table = found.render();
        assert!(
            table.starts_with("ACCOUNT       REGION     DIGESTS"),
            "{table}"
        );
        assert!(table.contains("  2026-11-25T13:00:00Z  "), "{table}");
    }

    #[test]
    fn problems_and_lateness_are_named_by_account_and_region() {
        let events = [
            event(EAST, 1, DIGEST),
            event(
                EAST,
                1,
                r#"{"status":"notForwarded","subject":"forwarding","key":"b"}"#,
            ),
            event(
                EAST,
                2,
                r#"{"status":"notForwarded","subject":"forwarding","key":"b"}"#,
            ),
            event(
                WEST,
                1,
                r#"{"status":"hashMismatch","subject":"log","key":"c"}"#,
            ),
            event(
                WEST,
                2,
                r#"{"status":"late","subject":"digests","account":"444455556666"}"#,
            ),
        ];
        let found = status(&events);
        assert!(!found.is_well());
        assert_eq!(found.regions[0].repairs, 2);
        assert_eq!(found.regions[0].not_forwarded, 1);
        assert!(found.regions[1].late);
        assert_eq!(
            found.verdict(),
            "NOT WELL in 2 of 2 accounts and regions: 111122223333 us-east-1: 1 log file not forwarded; 444455556666 eu-west-1: 1 log file INVALID, digests late."
        );
    }

    #[test]
    fn only_a_digest_newer_than_the_late_reports_ends_the_lateness() {
        // The report saw 13:00 as the newest digest: a verdict on that digest written later (a
        // range over the past) does not end it; a newer digest does.
        let late = r#"{"status":"late","subject":"digests","newestDigest":"2026-11-25T13:00:00Z"}"#;
        let still = [event(EAST, 1, late), event(EAST, 2, DIGEST)];
        assert!(status(&still).regions[0].late);
        let newer = DIGEST.replace("20261125T130000Z", "20261125T140000Z");
        let ended = [event(EAST, 1, late), event(EAST, 2, &newer)];
        assert!(status(&ended).is_well());
        // A report that found no digest at all: late until one is validated.
        let none = [event(EAST, 1, r#"{"status":"late","subject":"digests"}"#)];
        assert!(status(&none).regions[0].late);
        assert!(!status(&[]).is_well());
    }
}
